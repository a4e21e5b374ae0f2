import { defineConfig } from '@playwright/test';
import { chromiumUse } from '../support/browsers';
import { serversFromEnv } from './servers';

// `pnpm test:real-odoo`: tabbus_bus in the real Odoo web client, one project per server named in
// TABBUS_REAL_ODOO (addon installed) and TABBUS_REAL_ODOO_PLAIN (baseline without it); see servers.ts.
// Not part of `pnpm test`: CI has no Odoo. Without any server it says so and passes (--pass-with-no-tests).
const servers = serversFromEnv();
if (servers.length === 0) {
  console.log('SKIPPED: no real Odoo (set TABBUS_REAL_ODOO=<series>=<url>,… to check tabbus_bus on running Odoo servers; see packages/odoo/addon/README.md)');
}


export default defineConfig({
  testDir: '.',
  testMatch: servers.length ? /real-odoo\.spec\.ts$/ : /^$/,
  outputDir: '../test-results/real-odoo',
  // One browser at a time: the servers (and this machine) see one user's 4 tabs, as in real life.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  reporter: [['list']],
  projects: servers.map((server) => ({ name: `odoo${server.series}${server.addon ? '' : '-plain'}`, metadata: { server } })),
  use: chromiumUse(),
});
