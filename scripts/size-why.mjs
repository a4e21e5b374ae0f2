#!/usr/bin/env node
// `pnpm size:why [all|websocket|longpolling|core]`: where the bytes of a browser bundle go, source file by
// source file. The bundle is rebuilt from the TypeScript sources by esbuild (minified, its metafile says how
// many bytes of the output each file is); the budgets themselves are checked on the rollup + terser builds
// by scripts/check-size.mjs, so the totals differ a little. Gzip works on the whole file, so a file's share
// of the min+gzip size is an estimate: its share of the minified bytes.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUNDLES = {
  all: { entry: 'packages/odoo/src/global.ts', what: 'the script tag for every Odoo version (tabbus.global.min.js)' },
  websocket: { entry: 'packages/odoo/src/global-websocket.ts', what: 'the script tag for Odoo 16+ (tabbus.websocket.global.min.js)' },
  longpolling: { entry: 'packages/odoo/src/global-longpolling.ts', what: 'the script tag for Odoo 8-15 (tabbus.longpolling.global.min.js)' },
  core: { entry: 'packages/core/src/index.ts', what: "@tabbus/core's every export (no Odoo)" },
};

const name = process.argv[2] ?? 'all';
const bundle = BUNDLES[name];
if (!bundle) {
  console.error(`size:why: unknown bundle "${name}"; one of ${Object.keys(BUNDLES).join(', ')}`);
  process.exit(2);
}

const result = await build({
  entryPoints: [root + bundle.entry],
  bundle: true, minify: true, format: name === 'core' ? 'esm' : 'iife', write: false, metafile: true,
  target: 'es2022', platform: 'browser', logLevel: 'error',
  // The workspace packages from their sources, as the script-tag builds take them.
  alias: { '@tabbus/core': root + 'packages/core/src/index.ts' },
});
const output = Object.values(result.metafile.outputs)[0];
const minified = output.bytes;
const gzipped = gzipSync(result.outputFiles[0].contents, { level: 9 }).length;
const rows = Object.entries(output.inputs)
  .map(([file, { bytesInOutput }]) => ({ file: file.replace(/^packages\//, ''), bytes: bytesInOutput }))
  .filter((row) => row.bytes > 0)
  .sort((a, b) => b.bytes - a.bytes);

const kb = (bytes) => (bytes / 1024).toFixed(2);
console.log(`${bundle.what}: ${kb(minified)} KB minified, ${kb(gzipped)} KB min+gzip (esbuild)\n`);
console.log('minified  share  ≈ min+gzip  file');
for (const { file, bytes } of rows) {
  const share = bytes / minified;
  console.log(`${String(bytes).padStart(8)}  ${(share * 100).toFixed(1).padStart(4)}%  ${kb(share * gzipped).padStart(7)} KB  ${file}`);
}
const rest = minified - rows.reduce((sum, row) => sum + row.bytes, 0);
console.log(`${String(rest).padStart(8)}  ${((rest / minified) * 100).toFixed(1).padStart(4)}%  ${' '.repeat(10)}  (the bundle's own wrapper)`);
