import { test as base, expect } from '@playwright/test';
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import type { BusState } from '@tabbus/core';
import { visibilityControl } from '../support/browsers';
import { DevServer } from '../support/dev-server';
import type { DemoWindow } from '../support/fixtures';

// The Firefox tier: the core multi-tab scenarios in Debian's stock Firefox ESR, driven over WebDriver BiDi by
// puppeteer-core (Playwright's own Firefox build cannot be downloaded here, and Playwright cannot drive a
// stock Firefox). Playwright's runner still runs the specs (expect, projects, reporting); the pages are
// puppeteer's. One Firefox per worker (so per run, with one worker); one user context (its own cookies,
// storage, locks and channels, like a fresh profile) per test.

export { expect };

/** Where Firefox is: FIREFOX_PATH, else Debian's firefox-esr. */
export const firefoxPath = process.env['FIREFOX_PATH'] ?? ['/usr/bin/firefox-esr', '/usr/bin/firefox'].find((path) => existsSync(path));

/** Background tabs of Firefox throttle their timers (1 s and more); the tests choose visibility themselves. */
const PREFS = {
  'dom.min_background_timeout_value': 4,
  'dom.min_background_timeout_value_without_budget_throttling': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  'browser.tabs.remote.warmup.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
};

/** One demo tab in Firefox, with the few page operations the scenarios need. */
export class FirefoxTab {
  constructor(readonly page: Page) {}

  /** Runs `fn` in the page with one JSON argument. */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<Awaited<R>> {
    return this.page.evaluate(fn as (arg: unknown) => R, arg) as Promise<Awaited<R>>;
  }

  state(): Promise<BusState> {
    return this.evaluate(() => (window as unknown as DemoWindow).demo.bus.state());
  }

  receivedIds(): Promise<number[]> {
    return this.evaluate(() => (window as unknown as DemoWindow).demo.received.map((n) => n.id));
  }

  /** Hides or shows the page (see the visibility init script in `open`). */
  setVisibility(visibility: DocumentVisibilityState): Promise<void> {
    return this.evaluate((v) => (window as unknown as { __setVisibility(v: DocumentVisibilityState): void }).__setVisibility(v), visibility);
  }

  /** Closes the tab as a user does: the page's pagehide runs. */
  async close(): Promise<void> {
    await this.page.close({ runBeforeUnload: true });
  }
}

interface Tabs {
  /**
   * Opens `count` demo tabs (`index.html` + `query`) in this test's user context, each after `init`
   * (scripts run before the page's own, as Playwright's addInitScript), and waits until each is running.
   */
  open(count: number, options?: { query?: string; init?: (() => void)[] }): Promise<FirefoxTab[]>;
}

interface Fixtures {
  tabs: Tabs;
  /** Sends one notification in the shape the server's version expects. */
  publish(channel: string, text: string): Promise<number>;
}

interface WorkerFixtures {
  odoo: number;
  server: DevServer;
  firefox: Browser;
}

export const test = base.extend<Fixtures, WorkerFixtures>({
  odoo: [15, { option: true, scope: 'worker' }],
  server: [
    async ({ odoo }, use) => {
      const server = await DevServer.start(['--odoo', String(odoo)]);
      await use(server);
      await server.stop();
    },
    { scope: 'worker' },
  ],
  firefox: [
    async ({}, use) => {
      if (!firefoxPath) throw new Error('Firefox not found: install firefox-esr or set FIREFOX_PATH');
      const browser = await puppeteer.launch({ browser: 'firefox', executablePath: firefoxPath, headless: true, protocol: 'webDriverBiDi', extraPrefsFirefox: PREFS });
      await use(browser);
      await browser.close();
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  tabs: async ({ firefox, server }, use) => {
    const context: BrowserContext = await firefox.createBrowserContext();
    const problems: string[] = [];
    await use({
      async open(count, { query = '', init = [] } = {}) {
        const opened: FirefoxTab[] = [];
        for (let i = 0; i < count; i++) {
          const page = await context.newPage();
          page.on('console', (message) => {
            if (message.type() === 'error') problems.push(`console.error on ${page.url()}: ${message.text()}`);
          });
          page.on('pageerror', (error) => problems.push(`uncaught on ${page.url()}: ${error instanceof Error ? error.message : String(error)}`));
          for (const script of [visibilityControl, ...init]) await page.evaluateOnNewDocument(script);
          await page.goto(`${server.url}/index.html${query}`);
          await page.waitForSelector('body[data-ready="true"]');
          opened.push(new FirefoxTab(page));
        }
        return opened;
      },
    });
    await context.close();
    expect(problems, 'pages logged errors').toEqual([]);
  },
  publish: async ({ server, odoo }, use) => {
    await use((channel, text) => server.send(odoo >= 15 ? { channel, type: 'demo/message', payload: { text } } : { channel, message: { text } }));
  },
});

/** Waits until the tabs agree on one leader, each knows all of them and the connection is open; returns the leader. */
export async function settledLeader(tabs: FirefoxTab[]): Promise<FirefoxTab> {
  let last: BusState[] = [];
  await expect
    .poll(
      async () => {
        last = await Promise.all(tabs.map((tab) => tab.state()));
        const leaders = last.filter((s) => s.role === 'leader');
        return leaders.length === 1 && last.every((s) => s.leaderId === leaders[0]!.tabId && s.tabs === tabs.length && s.transport === 'open');
      },
      { message: 'one leader, known by every tab, with an open transport' },
    )
    .toBe(true)
    .catch((error: Error) => {
      const summary = last.map((s) => `${s.tabId}: ${s.role} leader=${s.leaderId} epoch=${s.epoch} tabs=${s.tabs} transport=${s.transport}`);
      throw new Error(`${error.message}\n${tabs.length} tabs:\n${summary.join('\n')}`);
    });
  return tabs[last.findIndex((s) => s.role === 'leader')]!;
}

/** Waits until `tab` delivered exactly `sent` (from its first id on): each once, in order. */
export async function expectDelivered(tab: FirefoxTab, sent: number[], timeout = 15_000): Promise<void> {
  const first = sent[0] ?? 0;
  await expect.poll(async () => (await tab.receivedIds()).filter((id) => id >= first), { timeout }).toEqual(sent);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
