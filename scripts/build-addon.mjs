#!/usr/bin/env node
// Assembles the Odoo addon `tabbus_bus` once per Odoo series, after the rollup build of @tabbus/odoo:
// dist/addon/<series>/tabbus_bus/ = the shared Python (addon/common), the series' own files (on 14 its
// assets template) from addon/series/<series>, the series' adapter from addon/static, a __manifest__.py
// written here from one description (the series differ only in version, data and assets), and the
// script-tag build copied in from dist (so the addon always carries the TabBus of this very build, never
// a hand-edited copy): the build for the series' transport family, long-polling on 14 and 15, WebSocket from
// 16, so an Odoo page never downloads the transport its server does not speak. Run from packages/odoo (its
// `build` script does).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const pkg = process.cwd();
const source = resolve(pkg, 'addon');
/** The script-tag build of a transport family, as the rollup build wrote it (`buildOptions.globals`). */
const builtFile = (family) => `tabbus.${family}.global.min.js`;
for (const family of ['longpolling', 'websocket']) {
  const built = resolve(pkg, 'dist', builtFile(family));
  if (!existsSync(built)) throw new Error(`build-addon: ${built} is missing; run rollup first`);
}

/**
 * What each series loads: the TabBus script of its transport family (`family`), the session news (session_news.js, every series),
 * the adapter (the legacy service class on 14 and 15, the services registry on 16 to 19), and in the web
 * client the page's own news: whose session it is, and the user menu's "Log out" (`news`: web.UserMenu
 * on 14, the user_menuitems registry from 15).
 */
export const SERIES = {
  '14.0': { family: 'longpolling', adapter: 'adapter_legacy.js', news: 'client_news_legacy.js' },
  '15.0': { family: 'longpolling', adapter: 'adapter_legacy.js', news: 'client_news.js' },
  '16.0': { family: 'websocket', adapter: 'adapter_services.js', news: 'client_news.js' },
  '17.0': { family: 'websocket', adapter: 'adapter_services.js', news: 'client_news.js' },
  '18.0': { family: 'websocket', adapter: 'adapter_services.js', news: 'client_news.js' },
  '19.0': { family: 'websocket', adapter: 'adapter_services.js', news: 'client_news.js' },
};

const SUMMARY = "One bus connection per browser under Odoo's own bus client: fast failover, slow polling while hidden, one sound";

/** The manifest of one series: 14 loads its assets through an XML template, 15+ through `assets`. */
function manifest(series, { family, adapter, news }) {
  const js = (file) => `tabbus_bus/static/src/js/${file}`;
  // The website and the login page: the bus (livechat) and the login form's news; the web client also its
  // own news (whose session it is, and the user menu's "Log out").
  const frontend = [`tabbus_bus/static/lib/tabbus/${builtFile(family)}`, js('session_news.js'), js(adapter)];
  const backend = [...frontend, js(news)];
  const legacyAssets = series === '14.0';
  // 15+ load `web.assets_frontend` on the website and the login page lazily, after the page's load event: a
  // login form submitted before would say nothing. So the login form's news goes in the bundle they load
  // at once (deferred), `web.assets_frontend_minimal`. The lazy bundle includes the frontend one, which
  // includes the minimal one: taken out of the lazy one, the script runs once per page.
  const frontendAssets = {
    'web.assets_frontend_minimal': [js('session_news.js')],
    'web.assets_frontend': frontend.filter((file) => file !== js('session_news.js')),
    'web.assets_frontend_lazy': [tuple('remove', js('session_news.js'))],
  };
  return {
    name: 'tabbus bus',
    summary: SUMMARY,
    // 1.1.0: the script of the series' transport family. A version Odoo sees change is one it offers to
    // upgrade, and 14 must be upgraded to load the new file name (its asset template lives in the database).
    version: `${series}.1.1.0`,
    category: 'Hidden',
    author: 'tabbus',
    website: 'https://www.npmjs.com/package/@tabbus/odoo',
    license: 'Other OSI approved licence',
    depends: ['bus'],
    data: legacyAssets ? ['views/assets.xml'] : [],
    // After Odoo's bus files (this module depends on bus): the TabBus script, the session news, the adapter.
    ...(legacyAssets ? {} : { assets: { 'web.assets_backend': backend, ...frontendAssets } }),
    installable: true,
    auto_install: false,
  };
}

/** A Python tuple in a manifest (Odoo's asset directives, `('remove', path)`), for python(). */
const TUPLE = Symbol('tuple');
const tuple = (...items) => ({ [TUPLE]: items });

/** A JSON-like value as a Python literal (what Odoo reads a manifest as). */
function python(value, indent = '') {
  const inner = `${indent}    `;
  if (value && value[TUPLE]) return `(${value[TUPLE].map((v) => python(v, inner)).join(', ')})`;
  if (value === true || value === false) return value ? 'True' : 'False';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.length ? `[\n${value.map((v) => `${inner}${python(v, inner)},`).join('\n')}\n${indent}]` : '[]';
  return `{\n${Object.entries(value).map(([k, v]) => `${inner}${python(k)}: ${python(v, inner)},`).join('\n')}\n${indent}}`;
}

const out = resolve(pkg, 'dist/addon');
rmSync(out, { recursive: true, force: true });
// Odoo concatenates the file into its asset bundles, and V8's compile hint applies to every function after
// it in a script: left in, it could make the browser compile the rest of Odoo's bundle eagerly. Out it goes.
const withoutCompileHint = (family) => readFileSync(resolve(pkg, 'dist', builtFile(family)), 'utf8').replace(/^\/\/# allFunctionsCalledOnLoad\n/m, '');
for (const [series, files] of Object.entries(SERIES)) {
  const addon = resolve(out, series, 'tabbus_bus');
  mkdirSync(resolve(addon, 'static/src/js'), { recursive: true });
  mkdirSync(resolve(addon, 'static/lib/tabbus'), { recursive: true });
  cpSync(resolve(source, 'common'), addon, { recursive: true });
  if (existsSync(resolve(source, 'series', series))) cpSync(resolve(source, 'series', series), addon, { recursive: true });
  writeFileSync(resolve(addon, '__manifest__.py'), `# Written by scripts/build-addon.mjs; do not edit.\n${python(manifest(series, files))}\n`);
  cpSync(resolve(source, 'README.md'), resolve(addon, 'README.md'));
  for (const file of ['session_news.js', files.adapter, files.news]) cpSync(resolve(source, 'static', file), resolve(addon, 'static/src/js', file));
  writeFileSync(resolve(addon, 'static/lib/tabbus', builtFile(files.family)), withoutCompileHint(files.family));
  // 14 names its files in a template of its own (views/assets.xml): it must load the file copied here.
  const template = resolve(addon, 'views/assets.xml');
  if (existsSync(template) && !readFileSync(template, 'utf8').includes(`static/lib/tabbus/${builtFile(files.family)}`)) {
    throw new Error(`build-addon: ${series}'s views/assets.xml does not load static/lib/tabbus/${builtFile(files.family)}`);
  }
  writeFileSync(resolve(addon, 'static/lib/tabbus/README'), `Copied from @tabbus/odoo dist/${builtFile(files.family)} by the build, less its compile-hint line; do not edit.\n`);
}
console.log(`build-addon: tabbus_bus for ${Object.keys(SERIES).join(', ')} in ${out}`);
