import { defineConfig } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromiumUse } from './support/browsers';


/**
 * The multi-tab scenarios that apply to both transports run twice: against Odoo 15's long-polling and
 * against Odoo 17's WebSocket. Everything else (visibility pacing, presence, fallbacks, chaos, the Odoo addon, which
 * starts its own servers for 14, 15, 16 and 17) runs once, plus the WebSocket-only cases in websocket*.spec.ts.
 */
const BOTH_TRANSPORTS = ['one-connection', 'builds', 'delivery', 'failover', 'crash', 'channels', 'session', 'users', 'outage', 'frozen', 'gap', 'wire'];

/** The scenarios run once more with the dev server on PostgreSQL (`--pg-temp`): the same wire behaviour. */
const ON_POSTGRESQL = ['one-connection', 'delivery', 'channels', 'jobs'];
const specs = (names: string[]) => new RegExp(`/(${names.join('|')})\\.spec\\.ts$`);
const hasInitdb = (() => {
  try {
    execFileSync('initdb', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// Firefox: Debian's stock firefox-esr (or FIREFOX_PATH), driven over WebDriver BiDi by puppeteer-core (see
// e2e/firefox/fixtures.ts). Its specs re-run the core multi-tab scenarios; where Firefox is missing they
// are skipped with the reason printed (.ci/run installs it).
const firefox = process.env.FIREFOX_PATH ?? ['/usr/bin/firefox-esr', '/usr/bin/firefox'].find((p) => existsSync(p));
/** The Firefox scenarios that apply to both transports run on Odoo 17's WebSocket too. */
const FIREFOX_BOTH_TRANSPORTS = ['one-connection', 'delivery', 'failover'];
if (!firefox) console.log('Firefox e2e SKIPPED: no firefox-esr at /usr/bin/firefox-esr and no FIREFOX_PATH (the firefox-esr projects need it)');
if (!hasInitdb) console.log('PostgreSQL e2e SKIPPED: initdb is not on PATH (the longpolling-15-pg project and postgresql.spec.ts need a throwaway cluster)');

export default defineConfig<object, { odoo: number; pg: boolean }>({
  testDir: './tests',
  outputDir: './test-results',
  // Two cores: one worker is faster than two fighting over the CPU.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [['list']] : [['list']],
  projects: [
    { name: 'longpolling-15', use: { odoo: 15 }, testIgnore: /websocket(-[a-z]+)?\.spec\.ts$/ },
    { name: 'websocket-17', use: { odoo: 17 }, testMatch: specs([...BOTH_TRANSPORTS, 'websocket', 'websocket-users']) },
    ...(hasInitdb ? [{ name: 'longpolling-15-pg', use: { odoo: 15, pg: true }, testMatch: specs(ON_POSTGRESQL) }] : []),
    ...(firefox
      ? [
          { name: 'firefox-esr-longpolling-15', testDir: './firefox', use: { odoo: 15 } },
          { name: 'firefox-esr-websocket-17', testDir: './firefox', use: { odoo: 17 }, testMatch: specs(FIREFOX_BOTH_TRANSPORTS) },
        ]
      : []),
  ],
  use: chromiumUse(),
});
