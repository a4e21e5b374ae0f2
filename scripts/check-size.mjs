#!/usr/bin/env node
// Size budget: every entry of .size-limit.json must stay under its limit, measured min+gzip (gzip -9)
// on the built file. Exits 1 with the offenders listed; run it after `pnpm build`.
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const KB = 1024;
const parseLimit = (text) => {
  const m = /^\s*([\d.]+)\s*(B|KB|kB)\s*$/.exec(text);
  if (!m) throw new Error(`.size-limit.json: cannot read the limit "${text}" (use "12 KB" or "900 B")`);
  return Number(m[1]) * (m[2] === 'B' ? 1 : KB);
};

/**
 * What a user's bundler makes of an ESM import of the built packages (`entry.code`, resolved from the
 * repository root): bundled and minified by esbuild, as a user's bundler would. It shows what a page that
 * does not import a feature pays for it.
 */
async function bundled(code) {
  const result = await build({
    stdin: { contents: code, resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'js' },
    bundle: true, minify: true, format: 'esm', write: false, target: 'es2022', platform: 'browser', logLevel: 'silent',
  });
  return Buffer.from(result.outputFiles[0].contents);
}

const entries = JSON.parse(readFileSync(new URL('../.size-limit.json', import.meta.url), 'utf8'));
let failed = false;
for (const entry of entries) {
  let raw;
  if (entry.code) {
    raw = await bundled(entry.code);
  } else {
    const path = new URL(`../${entry.path}`, import.meta.url);
    if (!existsSync(path)) {
      console.error(`✗ ${entry.name}: ${entry.path} is missing (run pnpm build first)`);
      failed = true;
      continue;
    }
    raw = readFileSync(path);
  }
  const gzipped = gzipSync(raw, { level: 9 }).length;
  const limit = parseLimit(entry.limit);
  const ok = gzipped <= limit;
  failed ||= !ok;
  console.log(`${ok ? '✓' : '✗'} ${entry.name}: ${(gzipped / KB).toFixed(2)} KB min+gzip (limit ${entry.limit}; ${(raw.length / KB).toFixed(1)} KB minified) ${entry.path ?? 'bundled ESM import'}`);
}
// A browser bundle without a budget would grow unseen: every built script-tag and browser ESM file
// (a new add-on's included) must have its entry above.
const budgeted = new Set(entries.filter((entry) => entry.path).map((entry) => entry.path));
for (const pkg of readdirSync(new URL('../packages/', import.meta.url))) {
  const dist = new URL(`../packages/${pkg}/dist/`, import.meta.url);
  if (!existsSync(dist)) continue;
  for (const file of readdirSync(dist).filter((name) => /\.(global\.min\.js|browser\.min\.mjs)$/.test(name))) {
    if (budgeted.has(`packages/${pkg}/dist/${file}`)) continue;
    console.error(`✗ packages/${pkg}/dist/${file} has no budget in .size-limit.json`);
    failed = true;
  }
}
if (failed) {
  console.error('size budget check failed');
  process.exit(1);
}
