#!/usr/bin/env node
// The API reference, generated from the TSDoc of every public export (TypeDoc, typedoc.json): Markdown in
// docs/api/, committed so the README can link it and a reader on GitHub or npm sees it.
//   node scripts/api-docs.mjs          writes docs/api/
//   node scripts/api-docs.mjs --check  builds it aside and fails if it differs from docs/api/ (run without
//                                      --check and commit), so the reference can never drift from the code
// Both fail on any TypeDoc warning (an undocumented export, a broken {@link}, a type that is used but not
// exported), except those of packages/core/src listed in api-docs-core-allowlist.mjs, which is temporary.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { root } from './pack.mjs';
import { coreAllowlist } from './api-docs-core-allowlist.mjs';

const check = process.argv.includes('--check');
const committed = join(root, 'docs/api');
const out = check ? mkdtempSync(join(tmpdir(), 'tabbus-api-')) : committed;
if (!check) rmSync(committed, { recursive: true, force: true });

const typedocManifest = createRequire(join(root, 'package.json')).resolve('typedoc/package.json');
const typedoc = join(dirname(typedocManifest), JSON.parse(readFileSync(typedocManifest, 'utf8')).bin.typedoc);
// TypeDoc writes its warnings to stderr and exits non-zero only on errors (a source that does not compile).
const run = spawnSync(process.execPath, [typedoc, '--out', out], { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });
const output = `${run.stdout}${run.stderr}`;
if (run.status !== 0) {
  console.error(output);
  process.exit(1);
}

// Every warning, reduced to what it is about, so the allowlist survives files moving inside the core.
const warnings = output
  .replace(/\x1b\[[0-9;]*m/g, '')
  .split('\n')
  .filter((line) => line.startsWith('[warning]') && !/^\[warning\] Found \d+ errors and \d+ warnings$/.test(line))
  .map((line) => line.slice('[warning] '.length));
const subject = (message) => {
  let m = /^(\S+) \(\w+\), defined in (\S+), does not have any documentation$/.exec(message);
  if (m) return { key: m[1], core: m[2].startsWith('@tabbus/core/src/') };
  m = /^(\S+), defined in (\S+), is referenced by \S+ but not included in the documentation$/.exec(message);
  if (m) return { key: m[1], core: m[2].startsWith('@tabbus/core/src/') };
  m = /^The comment for (\S+) links to "([^"]+)" which was resolved but is not included/.exec(message);
  if (m) return { key: `${m[1]} → ${m[2]}`, core: m[1].startsWith('@tabbus/core.') };
  return { key: message, core: false };
};

const problems = [];
const allowedSeen = new Set();
for (const message of warnings) {
  const { key, core } = subject(message);
  if (core && coreAllowlist.includes(key)) allowedSeen.add(key);
  else problems.push(message);
}
const stale = coreAllowlist.filter((key) => !allowedSeen.has(key));
for (const key of stale) problems.push(`${key}: listed in scripts/api-docs-core-allowlist.mjs but no longer warned about: remove it from the list`);

if (allowedSeen.size) {
  console.log(`${allowedSeen.size} warning(s) in packages/core/src allowed for now (scripts/api-docs-core-allowlist.mjs, temporary):`);
  for (const key of allowedSeen) console.log(`  - ${key}`);
}

if (check) {
  const files = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort() : []);
  const built = files(out);
  const have = files(committed);
  const differing = [...new Set([...built, ...have])].filter(
    (file) => !built.includes(file) || !have.includes(file) || readFileSync(join(out, file), 'utf8') !== readFileSync(join(committed, file), 'utf8'),
  );
  if (differing.length) problems.push(`docs/api/ is not what the code documents (${differing.join(', ')}): run pnpm api-docs and commit docs/api/`);
  rmSync(out, { recursive: true, force: true });
}

if (problems.length) {
  for (const problem of problems) console.error(`✗ ${problem}`);
  console.error(`${problems.length} API documentation problem(s)`);
  process.exit(1);
}
console.log(check ? '✓ docs/api/ matches the code; TypeDoc reported no warning outside the allowlist' : `✓ wrote ${relative(root, committed)}/`);
