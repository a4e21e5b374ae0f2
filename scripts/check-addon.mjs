#!/usr/bin/env node
// After `pnpm build`: the static checks of the Odoo addon (scripts/check-addon.py) with the system's Python 3.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../packages/odoo/dist/addon', import.meta.url));
const script = fileURLToPath(new URL('check-addon.py', import.meta.url));
const run = spawnSync('python3', [script, dist], { stdio: 'inherit' });
if (run.error) {
  console.error(`check-addon: python3 is needed to check the Odoo addon (${run.error.message}); .ci/run installs it`);
  process.exit(1);
}
process.exit(run.status ?? 1);
