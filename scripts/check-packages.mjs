#!/usr/bin/env node
// After `pnpm build`: every published entry point loads the way its users load it, and exposes the
// names other code relies on (ESM and CJS in Node, the script-tag global, the browser ESM bundle).
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';

const root = new URL('..', import.meta.url);
const failures = [];
const check = (what, ok, detail = '') => {
  console.log(`${ok ? '✓' : '✗'} ${what}${detail ? ` (${detail})` : ''}`);
  if (!ok) failures.push(what);
};
const require = createRequire(new URL('packages/odoo/package.json', root));

for (const [pkg, names] of [
  ['@tabbus/core', ['createBus', 'TabBus', 'TabBusError', 'createBackoff', 'lockElection', 'messageElection', 'storageChannel', 'browserEnv']],
  ['@tabbus/odoo', ['createOdooBus', 'createOdooWebsocketBus', 'createOdooLongpollingBus', 'LongpollingTransport', 'WebsocketTransport', 'TabBusError', 'isSessionExpired']],
]) {
  const esm = await import(pathToFileURL(require.resolve(pkg)).href.replace(/index\.cjs$/, 'index.mjs'));
  const cjs = require(pkg);
  for (const name of names) {
    check(`${pkg} ESM exports ${name}`, typeof esm[name] === 'function');
    check(`${pkg} CJS exports ${name}`, typeof cjs[name] === 'function');
  }
  check(`${pkg} ESM has no stray default export`, !('default' in esm));
}

// Subpath exports, resolved the way users resolve them: `import` in an ES module (a child process whose
// module base is packages/odoo, so the `import` condition of the exports map is the one that applies),
// `require` in CommonJS, and the types as TypeScript finds them under each resolution mode.
const odooDir = fileURLToPath(new URL('packages/odoo/', root));
const importNames = (specifier) => {
  const script = `const m = await import(${JSON.stringify(specifier)});
console.log(JSON.stringify({ url: import.meta.resolve(${JSON.stringify(specifier)}), names: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, typeof v])) }));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: odooDir, encoding: 'utf8' }));
};
const tsRequire = createRequire(new URL('package.json', root));
const ts = tsRequire('typescript');
// Types are resolved from a consumer outside the workspace, whose node_modules links the built packages:
// a package cannot resolve its own subpaths under node10 (no self-reference), but its users must.
const consumer = mkdtempSync(join(tmpdir(), 'tabbus-consumer-'));
mkdirSync(join(consumer, 'node_modules/@tabbus'), { recursive: true });
for (const name of ['core', 'odoo']) symlinkSync(fileURLToPath(new URL(`packages/${name}/`, root)), join(consumer, 'node_modules/@tabbus', name), 'dir');
const typeResolutions = [
  ['node16 import', { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 }, ts.ModuleKind.ESNext],
  ['node16 require', { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 }, ts.ModuleKind.CommonJS],
  ['bundler', { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }, undefined],
  ['node10', { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 }, undefined],
];
for (const [specifier, file, names] of [
  ['@tabbus/core/testing', 'testing', ['FakeBrowser', 'FakeTab', 'FakeTransport', 'FakeServer', 'ManualElection', 'MemoryStorage', 'VirtualClock', 'FakeLockManager', 'FakeChannelHub', 'FakePage', 'settle']],
  ['@tabbus/core/effects', 'effects', ['createEffects', 'createSound', 'requestDesktopPermission']],
  ['@tabbus/odoo/jobs', 'jobs', ['watchJobs']],
]) {
  const esm = importNames(specifier);
  check(`${specifier} import resolves to ${file}.mjs`, esm.url.endsWith(`/dist/${file}.mjs`), esm.url);
  const cjsPath = require.resolve(specifier);
  check(`${specifier} require resolves to ${file}.cjs`, cjsPath.endsWith(`/dist/${file}.cjs`), cjsPath);
  const cjs = require(specifier);
  for (const name of names) {
    check(`${specifier} ESM exports ${name}`, esm.names[name] === 'function');
    check(`${specifier} CJS exports ${name}`, typeof cjs[name] === 'function');
  }
  check(`${specifier} ESM has no stray default export`, !('default' in esm.names));
  for (const [mode, options, resolutionMode] of typeResolutions) {
    const resolved = ts.resolveModuleName(specifier, join(consumer, 'index.ts'), options, ts.sys, undefined, undefined, resolutionMode).resolvedModule?.resolvedFileName;
    // CommonJS resolutions get the `.d.cts` declarations (CJS types for the `.cjs` build), ESM ones the `.d.ts`.
    const declarations = mode === 'node16 require' || mode === 'node10' ? 'd.cts' : 'd.ts';
    check(`${specifier} types resolve (${mode}) to ${file}.${declarations}`, resolved?.endsWith(`/dist/${file}.${declarations}`) === true, resolved ?? 'unresolved');
  }
}

// The script tag: evaluate the IIFE in a bare context and look for the global.
const globalBuild = readFileSync(new URL('packages/odoo/dist/tabbus.global.min.js', root), 'utf8');
const sandbox = {};
sandbox.window = sandbox;
runInNewContext(globalBuild, sandbox);
check('tabbus.global.min.js defines TabBus.createOdooBus', typeof sandbox.TabBus?.createOdooBus === 'function');
check('tabbus.global.min.js defines TabBus.TabBusError', typeof sandbox.TabBus?.TabBusError === 'function');
// The builds of one transport family (the addon's): the same TabBus members, and none of the other family's code
// (nor the version detection, which they do not offer). Route names and Odoo's close reasons survive minification.
const families = {
  websocket: { absent: ['bus_inactivity', '/web/webclient/version_info'], present: ['update_presence'] },
  longpolling: { absent: ['update_presence', 'OUTDATED_VERSION', '/web/webclient/version_info'], present: ['bus_inactivity'] },
};
for (const [family, { absent, present }] of Object.entries(families)) {
  const file = `tabbus.${family}.global.min.js`;
  const text = readFileSync(new URL(`packages/odoo/dist/${file}`, root), 'utf8');
  const familySandbox = {};
  familySandbox.window = familySandbox;
  runInNewContext(text, familySandbox);
  const members = Object.keys(familySandbox.TabBus ?? {}).sort().join();
  check(`${file} defines TabBus with the members of tabbus.global.min.js`, members === Object.keys(sandbox.TabBus ?? {}).sort().join(), members);
  for (const name of absent) check(`${file} holds no ${name}`, !text.includes(name));
  for (const name of present) check(`${file} holds ${name}`, text.includes(name));
  // Its createOdooBus refuses, before anything is made, what only the full build speaks.
  for (const version of family === 'websocket' ? [15, 'auto', undefined] : [16, 'auto']) {
    let code = null;
    try {
      familySandbox.TabBus?.createOdooBus({ version, start: false });
    } catch (error) {
      code = error instanceof familySandbox.TabBus.TabBusError ? error.code : String(error);
    }
    check(`${file}: TabBus.createOdooBus({ version: ${JSON.stringify(version)} }) is a config TabBusError`, code === 'config', String(code));
  }
}

// The effects add-on's script tag: its own global, and usable in a page without any audio or Notification
// API (a bare context is one): it must answer 'unsupported', not throw.
const effectsBuild = readFileSync(new URL('packages/odoo/dist/tabbus.effects.global.min.js', root), 'utf8');
const effectsSandbox = { setTimeout, clearTimeout };
effectsSandbox.window = effectsSandbox;
runInNewContext(effectsBuild, effectsSandbox);
const effectsGlobal = effectsSandbox.TabBusEffects;
for (const name of ['createEffects', 'createSound', 'requestDesktopPermission']) {
  check(`tabbus.effects.global.min.js defines TabBusEffects.${name}`, typeof effectsGlobal?.[name] === 'function');
}
if (typeof effectsGlobal?.createEffects === 'function') {
  const claimed = [];
  const soloBus = { once: async (key, fn) => (claimed.push(key), fn(), true) };
  const bare = effectsGlobal.createEffects(soloBus);
  const results = [await bare.beep(7), await bare.notify(7, 'hello'), await effectsGlobal.requestDesktopPermission()];
  check('TabBusEffects without audio or Notification answers unsupported', results.every((r) => r === 'unsupported'), results.join(', '));
  check('TabBusEffects leaves the key to other tabs where it cannot play', claimed.length === 0, claimed.join());
  // With a (minimal) running AudioContext the tone plays, through bus.once('sound:' + key).
  const node = () => ({ connect: (next) => next, disconnect() {}, start() {}, stop() {}, frequency: {}, gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} } });
  effectsSandbox.AudioContext = class { state = 'running'; currentTime = 0; destination = node(); createOscillator = node; createGain = node; };
  const heard = await effectsGlobal.createEffects(soloBus).beep(8);
  check('TabBusEffects.beep plays through bus.once("sound:" + key)', heard === 'played' && claimed.join() === 'sound:8', `${heard}; ${claimed.join()}`);
}
// The script-tag files are scripts, not modules (an IIFE imported as a module would define no global): they
// are reached by URL (unpkg, jsdelivr, the package's dist/), never through the exports map.
for (const subpath of ['global', 'global-websocket', 'global-longpolling', 'effects-global', 'jobs-global']) {
  let resolved = null;
  try {
    resolved = require.resolve(`@tabbus/odoo/${subpath}`);
  } catch {
    // ERR_PACKAGE_PATH_NOT_EXPORTED: what we want.
  }
  check(`@tabbus/odoo/${subpath} is not exported as a module`, resolved === null, resolved ?? '');
}
check('TabBus global holds no effects', !('createEffects' in (sandbox.TabBus ?? {})));

const browserEsm = await import(new URL('packages/odoo/dist/tabbus.browser.min.mjs', root).href);
for (const name of ['createOdooBus', 'createOdooWebsocketBus', 'createOdooLongpollingBus']) check(`tabbus.browser.min.mjs exports ${name}`, typeof browserEsm[name] === 'function');

// The test kit must never ship to browsers: its messages survive minification, so look for them.
for (const bundle of ['tabbus.global.js', 'tabbus.global.min.js', 'tabbus.websocket.global.min.js', 'tabbus.longpolling.global.min.js', 'tabbus.browser.min.mjs', 'tabbus.effects.global.js', 'tabbus.effects.global.min.js']) {
  const text = readFileSync(new URL(`packages/odoo/dist/${bundle}`, root), 'utf8');
  check(`${bundle} holds nothing of @tabbus/core/testing`, !/VirtualClock|FakeServer|FakeTransport/.test(text));
}
// The effects are an add-on: the main bundles (budget spent) must not carry them. DOM names survive minification.
for (const bundle of ['tabbus.global.min.js', 'tabbus.websocket.global.min.js', 'tabbus.longpolling.global.min.js', 'tabbus.browser.min.mjs']) {
  const text = readFileSync(new URL(`packages/odoo/dist/${bundle}`, root), 'utf8');
  check(`${bundle} holds nothing of @tabbus/core/effects`, !/createOscillator|requestPermission/.test(text));
}
// And the effects bundle carries nothing of the bus (its own dependency-free code only).
check('tabbus.effects.global.min.js holds nothing of the bus', !/navigator\.locks|BroadcastChannel|localStorage/.test(effectsBuild));

// V8's compile hint: on the second line of every browser bundle (after the licence banner), where Chromium
// honours it; not in the addon's copy, which Odoo concatenates with its own files.
for (const bundle of ['tabbus.global.js', 'tabbus.global.min.js', 'tabbus.websocket.global.min.js', 'tabbus.longpolling.global.min.js', 'tabbus.browser.min.mjs', 'tabbus.effects.global.min.js', 'tabbus.jobs.global.min.js']) {
  const [banner, second] = readFileSync(new URL(`packages/odoo/dist/${bundle}`, root), 'utf8').split('\n');
  check(`${bundle} opens with its banner and the compile hint`, banner?.startsWith('/*! @tabbus/odoo') && second === '//# allFunctionsCalledOnLoad');
}
// Each series' addon carries the build of its transport family (long-polling up to 15), and that one only.
for (const series of readdirSync(new URL('packages/odoo/dist/addon/', root))) {
  const file = `tabbus.${Number.parseInt(series, 10) >= 16 ? 'websocket' : 'longpolling'}.global.min.js`;
  const lib = new URL(`packages/odoo/dist/addon/${series}/tabbus_bus/static/lib/tabbus/`, root);
  const scripts = readdirSync(lib).filter((name) => name.endsWith('.js'));
  check(`the ${series} addon carries ${file} and no other script`, scripts.join() === file, scripts.join());
  if (!scripts.includes(file)) continue;
  const built = readFileSync(new URL(`packages/odoo/dist/${file}`, root), 'utf8');
  const copy = readFileSync(new URL(file, lib), 'utf8');
  check(`the ${series} addon's ${file} has no compile hint and is the bundle otherwise`, !copy.includes('allFunctionsCalledOnLoad') && copy === built.replace('//# allFunctionsCalledOnLoad\n', ''));
}

if (failures.length) {
  console.error(`${failures.length} packaging check(s) failed`);
  process.exit(1);
}
