#!/usr/bin/env node
// Lints the tarballs npm users would download (packed by scripts/pack.mjs) with the two tools users and
// registries judge packages by: publint (exports map, files, fields) and Are the Types Wrong? (whether
// TypeScript finds the right types under node10, node16 from ESM and from CJS, and bundler resolution).
// Any message fails, suggestions included: a clean package has none.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { packedTarballs, root } from './pack.mjs';

// A subpath whose exports entry has no `require` condition is ESM only by design (the dev server, a Node
// program; `@tabbus/odoo/browser`, the bundle for browsers without a bundler): attw's esm-only profile checks it
// under the resolutions that apply to it (node16 from ESM, bundler). Every other subpath is held to all four.
const esmOnly = (exportsMap) =>
  Object.entries(exportsMap ?? {})
    .filter(([subpath, target]) => subpath !== './package.json' && typeof target === 'object' && !('require' in target))
    .map(([subpath]) => subpath);
// The CLI (its package exports no programmatic entry): run its bin with this Node.
const attwManifest = createRequire(import.meta.url).resolve('@arethetypeswrong/cli/package.json');
const attwBin = join(dirname(attwManifest), JSON.parse(readFileSync(attwManifest, 'utf8')).bin.attw);

let failed = 0;
for (const { name, tarball } of packedTarballs()) {
  const bytes = readFileSync(tarball);
  const { messages, pkg } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, strict: true, level: 'suggestion' });
  if (messages.length === 0) console.log(`✓ publint --strict ${name}: no message`);
  for (const message of messages) {
    failed++;
    console.error(`✗ publint ${name} (${message.type}): ${formatMessage(message, pkg, { color: false })}`);
  }

  const onlyEsm = esmOnly(pkg.exports);
  const allSubpaths = Object.keys(pkg.exports ?? { '.': null }).filter((subpath) => !onlyEsm.includes(subpath));
  const runs = [
    ...(allSubpaths.length ? [{ profile: 'strict', entrypoints: allSubpaths }] : []),
    ...(onlyEsm.length ? [{ profile: 'esm-only', entrypoints: onlyEsm }] : []),
  ];
  for (const { profile, entrypoints } of runs) {
    const args = [attwBin, tarball, '--format', 'table-flipped', '--no-emoji', '--no-color', '--no-definitely-typed', '--profile', profile, '--entrypoints', ...entrypoints];
    const what = `attw --profile ${profile} ${name} (${entrypoints.join(', ')})`;
    try {
      const out = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
      console.log(`✓ ${what}: no problem`);
      console.log(out.trim().replace(/^/gm, '    '));
    } catch (error) {
      failed++;
      console.error(`✗ ${what}:\n${String(error.stdout ?? '')}${String(error.stderr ?? '')}`);
    }
  }
}
if (failed) {
  console.error(`${failed} problem(s) in the packed packages`);
  process.exit(1);
}
