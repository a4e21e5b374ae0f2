#!/usr/bin/env node
// After `pnpm build`: the static checks of the Odoo addon: each adapter parses (here), then scripts/check-addon.py
// with the system's Python 3.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../packages/odoo/dist/addon', import.meta.url));
const script = fileURLToPath(new URL('check-addon.py', import.meta.url));
// The adapters are shipped as written (Odoo bundles them without transpiling): each must parse.
let syntaxErrors = 0;
for (const series of readdirSync(dist)) {
  const dir = join(dist, series, 'tabbus_bus/static/src/js');
  for (const file of readdirSync(dir)) {
    try {
      new Script(readFileSync(join(dir, file), 'utf8'), { filename: join(series, file) });
      console.log(`✓ ${series}: ${file} parses`);
    } catch (error) {
      syntaxErrors++;
      console.log(`✗ ${series}: ${file} parses (${error.message})`);
    }
  }
}
const run = spawnSync('python3', [script, dist], { stdio: 'inherit' });
if (run.error) {
  console.error(`check-addon: python3 is needed to check the Odoo addon (${run.error.message}); .ci/run installs it`);
  process.exit(1);
}
process.exit(syntaxErrors > 0 ? 1 : (run.status ?? 1));
