// One rollup config for every package. Each package declares what it ships in the
// `buildOptions` block of its package.json; this file turns that into rollup builds,
// so formats and file names stay consistent across packages.
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import esbuild from 'rollup-plugin-esbuild';
import { dts } from 'rollup-plugin-dts';
import nodeResolve from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';
import terser from '@rollup/plugin-terser';

const pkgDir = process.cwd();
// Start from an empty dist/: chunk names carry a content hash, so files of an earlier build would linger
// beside the new ones and be packed and published with them.
rmSync(resolve(pkgDir, 'dist'), { recursive: true, force: true });
const pkg = JSON.parse(readFileSync(resolve(pkgDir, 'package.json'), 'utf8'));
const opts = pkg.buildOptions;
const banner = `/*! ${pkg.name} v${pkg.version} | MIT */`;
// The browser bundles (script tag, browser ESM) also carry V8's compile hint: Chromium then compiles
// every function while it streams the file, off the main thread, rather than each on its first call. A
// tab's first term runs code it never ran before (the transport, the first request), and compiling it
// there cost a new leader about 4 ms between the lock's grant and its first request; the hint moved
// that off the failover path (README, "Performance", has the figures, load time too). Browsers
// without it read a comment. The npm builds go through the user's bundler, which decides for itself.
const COMPILE_HINT = '//# allFunctionsCalledOnLoad';
const browserBanner = `${banner}\n${COMPILE_HINT}`;
const external = (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0') && !/^[A-Za-z]:/.test(id);
// Workspace packages resolve to their TypeScript source while building bundles that
// inline them (the script-tag build), so a stale dist of a sibling can never leak in. A subpath
// (`@tabbus/core/effects`) is the source its package lists under that name in `buildOptions.entries`.
const sourceAliases = {
  name: 'tabbus-source-aliases',
  resolveId(id) {
    const m = /^@tabbus\/(core|odoo)(?:\/([\w-]+))?$/.exec(id);
    if (!m) return null;
    const dir = resolve(pkgDir, '..', m[1]);
    if (!m[2]) return resolve(dir, 'src/index.ts');
    const file = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8')).buildOptions?.entries?.[m[2]];
    if (!file) throw new Error(`${id}: no "${m[2]}" in the buildOptions.entries of @tabbus/${m[1]}`);
    return resolve(dir, file);
  },
};
const ts = () => esbuild({ target: 'es2022', minify: false, sourceMap: false, tsconfig: resolve(pkgDir, '../../tsconfig.base.json') });
const terse = (module) =>
  terser({ ecma: 2022, module, compress: { passes: 3, pure_getters: true, unsafe_arrows: true, unsafe_methods: true, hoist_funs: true }, format: { comments: /^!|^# allFunctionsCalledOnLoad$/ } });
const browserResolve = () => [
  sourceAliases,
  nodeResolve({ browser: true, exportConditions: ['browser'], extensions: ['.ts', '.mjs', '.js'] }),
  commonjs(),
];

// The package's entry points for its npm builds (esm, cjs, dts): `entries` maps each output name to a
// source file (`{"index": "src/index.ts", "testing": "src/testing/index.ts"}` gives dist/index.* and
// dist/testing.*); `entry` alone means `{"index": entry}`. Code shared by several entries goes to
// dist/chunks/. The browser bundles (global, browser-esm) are built from `entry`/`globalEntry` only, so
// secondary entries (a test kit, say) never reach them.
// Further script-tag builds, for optional add-ons, go in `globals: [{entry, fileBase, name}]`: each is a
// file of its own (dist/<fileBase>.global[.min].js defining the global <name>), so an add-on never weighs
// on the main bundle. They are built with the `global` format.
const entries = Object.fromEntries(Object.entries(opts.entries ?? { index: opts.entry }).map(([name, file]) => [name, resolve(pkgDir, file)]));
if (!entries.index) throw new Error(`${pkg.name}: buildOptions.entries needs an "index" entry`);
const input = entries.index;
const npmOutput = (extension, format) => ({
  dir: 'dist',
  format,
  entryFileNames: `[name].${extension}`,
  chunkFileNames: `chunks/[name]-[hash].${extension}`,
});

const builds = [];
for (const format of opts.formats) {
  if (format === 'esm' || format === 'cjs') {
    builds.push({
      input: entries,
      external,
      plugins: [ts()],
      output: { ...npmOutput(format === 'esm' ? 'mjs' : 'cjs', format === 'esm' ? 'es' : 'cjs'), banner, exports: 'named' },
    });
  } else if (format === 'dts') {
    // Declarations for each module format: `.d.ts` beside the `.mjs` (ESM, as the package is `"type":
    // "module"`), and `.d.cts` beside the `.cjs`. A `require` condition typed by an ESM `.d.ts` makes
    // TypeScript believe the CommonJS build is ESM ("masquerading as ESM"), so CJS consumers get wrong types.
    const extensions = ['d.ts', ...(opts.formats.includes('cjs') ? ['d.cts'] : [])];
    for (const extension of extensions) {
      builds.push({ input: entries, external, plugins: [dts({ tsconfig: resolve(pkgDir, '../../tsconfig.base.json'), compilerOptions: { paths: {} } })], output: npmOutput(extension, 'es') });
    }
  } else if (format === 'global') {
    // The script-tag builds: everything inlined, one global each, minified and not.
    const globals = [{ entry: opts.globalEntry, fileBase: opts.fileBase, name: opts.globalName }, ...(opts.globals ?? [])];
    for (const { entry, fileBase, name } of globals) {
      if (!entry || !fileBase || !name) throw new Error(`${pkg.name}: a script-tag build needs an entry, a fileBase and a global name`);
      for (const min of [false, true]) {
        builds.push({
          input: resolve(pkgDir, entry),
          plugins: [...browserResolve(), ts(), ...(min ? [terse(false)] : [])],
          output: { file: `dist/${fileBase}.global${min ? '.min' : ''}.js`, format: 'iife', name, banner: browserBanner, exports: 'default' },
        });
      }
    }
  } else if (format === 'browser-esm') {
    // ESM for browsers without a bundler: dependencies inlined, minified.
    builds.push({
      input,
      plugins: [...browserResolve(), ts(), terse(true)],
      output: { file: `dist/${opts.fileBase}.browser.min.mjs`, format: 'es', banner: browserBanner },
    });
  } else if (format === 'node') {
    const nodeExternal = (id) => id.startsWith('node:') || external(id);
    builds.push({ input, external: nodeExternal, plugins: [ts()], output: { file: 'dist/index.mjs', format: 'es', banner } });
    builds.push({ input: resolve(pkgDir, opts.cliEntry), external: nodeExternal, plugins: [ts()], output: { file: 'dist/cli.mjs', format: 'es', banner: `#!/usr/bin/env node\n${banner}` } });
    builds.push({ input, external: nodeExternal, plugins: [dts({ tsconfig: resolve(pkgDir, '../../tsconfig.base.json') })], output: { file: 'dist/index.d.ts', format: 'es' } });
  } else {
    throw new Error(`${pkg.name}: unknown build format "${format}" in buildOptions.formats`);
  }
}
export default builds;
