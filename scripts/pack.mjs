#!/usr/bin/env node
// Packs every published package with `pnpm pack` (which rewrites `workspace:*` to real versions, as
// `pnpm publish` does) into .packed/, after `pnpm build`. The tarball checks (check-published.mjs,
// check-consumer.mjs) look at these files: what npm users would download, not the workspace.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const packedDir = fileURLToPath(new URL('../.packed/', import.meta.url));

/** The workspace's publishable packages (not private), as `{ name, dir }`. */
export function publishedPackages() {
  return readdirSync(new URL('../packages/', import.meta.url))
    .map((dir) => ({ dir: `${root}packages/${dir}`, manifest: JSON.parse(readFileSync(`${root}packages/${dir}/package.json`, 'utf8')) }))
    .filter(({ manifest }) => !manifest.private)
    .map(({ dir, manifest }) => ({ name: manifest.name, dir }));
}

/** Packs every package afresh; returns `{ name, tarball }` for each. */
export function packAll() {
  rmSync(packedDir, { recursive: true, force: true });
  mkdirSync(packedDir, { recursive: true });
  return publishedPackages().map(({ name, dir }) => {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', packedDir, '--json'], { cwd: dir, encoding: 'utf8' });
    return { name, tarball: JSON.parse(out).filename };
  });
}

/** The tarballs of the last `packAll()`, by package name. */
export function packedTarballs() {
  const files = readdirSync(packedDir).filter((f) => f.endsWith('.tgz'));
  return publishedPackages().map(({ name }) => {
    const base = name.replace(/^@/, '').replace('/', '-');
    const file = files.find((f) => f.startsWith(`${base}-`) && /^\d/.test(f.slice(base.length + 1)));
    if (!file) throw new Error(`${name}: no tarball in ${packedDir} (run node scripts/pack.mjs after pnpm build)`);
    return { name, tarball: packedDir + file };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { name, tarball } of packAll()) console.log(`packed ${name} → ${tarball.slice(root.length)}`);
}
