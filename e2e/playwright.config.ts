import { defineConfig } from '@playwright/test';
import { existsSync } from 'node:fs';

// The system Chromium (Debian's `chromium`) unless CHROMIUM_PATH says otherwise; where neither exists,
// Playwright's own browser (for machines that can run `playwright install`).
const systemChromium = ['/usr/bin/chromium', '/usr/lib/chromium/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const executablePath = process.env.CHROMIUM_PATH ?? systemChromium;

export default defineConfig({
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
  use: {
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      ...(executablePath ? { executablePath } : {}),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
});
