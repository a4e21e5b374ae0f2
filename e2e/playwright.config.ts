import { defineConfig } from '@playwright/test';
import { existsSync } from 'node:fs';

// The system Chromium (Debian's `chromium`) unless CHROMIUM_PATH says otherwise; where neither exists,
// Playwright's own browser (for machines that can run `playwright install`).
const systemChromium = ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const executablePath = process.env.CHROMIUM_PATH ?? systemChromium;

/**
 * The multi-tab scenarios that apply to both transports run twice: against Odoo 15's long-polling and
 * against Odoo 17's WebSocket. Everything else (visibility pacing, presence, fallbacks, chaos, the Odoo addon, which
 * starts its own servers for 14, 15, 16 and 17) runs once, plus the WebSocket-only cases in websocket.spec.ts.
 */
const BOTH_TRANSPORTS = ['one-connection', 'delivery', 'failover', 'crash', 'channels', 'session', 'outage', 'frozen', 'gap', 'wire'];

export default defineConfig<object, { odoo: number }>({
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
    { name: 'longpolling-15', use: { odoo: 15 }, testIgnore: /websocket\.spec\.ts$/ },
    { name: 'websocket-17', use: { odoo: 17 }, testMatch: new RegExp(`/(${[...BOTH_TRANSPORTS, 'websocket'].join('|')})\\.spec\\.ts$`) },
  ],
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      ...(executablePath ? { executablePath } : {}),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
