import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';
import { visibilityControl } from './browsers';
import type { BusState } from '@tabbus/core';
import { DevServer } from './dev-server';

export { expect };

/** What a demo page exposes for tests (see demo/app.js). */
export interface DemoWindow {
  demo: {
    bus: {
      state(): BusState;
      addChannel(name: string): void;
      deleteChannel(name: string): void;
      start(): Promise<void>;
      stop(): Promise<void>;
      handoff(): boolean;
      once(key: string, fn: () => void): Promise<boolean>;
      shared<T>(key: string): { get(): T | undefined; set(value: T): void };
      sessionExpired(detail?: string): void;
      tabId: string;
    };
    received: { id: number; channel?: unknown; type?: string; payload?: unknown; message?: unknown }[];
    arrivals: Record<number, number>;
    leaderSince: number | null;
    session: { uid: number };
    gaps: { cursor: number; age: number; reason: 'retention' | 'reset' }[];
    expired: string[];
    /** Messages of the `outdated` events this tab heard. */
    outdated: string[];
    /** Every leader this tab saw per epoch: more than one for an epoch would be a split brain. */
    leaders: Record<number, Set<string>>;
    /** Ids whose once-per-browser effect ran in this tab. */
    effects: number[];
  };
}

interface Fixtures {
  /** Opens `count` tabs of a demo page in `context` and waits until each is running. */
  openTabs(count: number, options?: { context?: BrowserContext; path?: string }): Promise<Page[]>;
  /** A new browser context (a second "browser"), console-checked like the default one. */
  newContext(): Promise<BrowserContext>;
  /** Sends one notification in the shape the server's version expects. */
  publish(channel: string, text: string): Promise<number>;
}

interface WorkerFixtures {
  /** The Odoo version the dev server emulates (`test.use({ odoo: 14 })`). */
  odoo: number;
  /** Run the dev server on a throwaway PostgreSQL cluster (`--pg-temp`) instead of its memory store. */
  pg: boolean;
  server: DevServer;
}

/** Fails the test when any page of the context logs an error or throws. */
function watchConsole(context: BrowserContext, problems: string[]): void {
  const watch = (page: Page) => {
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console.error on ${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`uncaught on ${page.url()}: ${error.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
}

export const test = base.extend<Fixtures & { consoleProblems: string[] }, WorkerFixtures>({
  odoo: [15, { option: true, scope: 'worker' }],
  pg: [false, { option: true, scope: 'worker' }],
  server: [
    async ({ odoo, pg }, use) => {
      const server = await DevServer.start(['--odoo', String(odoo), ...(pg ? ['--pg-temp'] : [])]);
      await use(server);
      await server.stop();
    },
    { scope: 'worker' },
  ],
  consoleProblems: [
    async ({ context }, use) => {
      const problems: string[] = [];
      watchConsole(context, problems);
      await use(problems);
      expect(problems, 'pages logged errors').toEqual([]);
    },
    { auto: true },
  ],
  newContext: async ({ browser, consoleProblems }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async () => {
      const context = await browser.newContext();
      watchConsole(context, consoleProblems);
      contexts.push(context);
      return context;
    });
    for (const c of contexts) await c.close();
  },
  openTabs: async ({ context, server }, use) => {
    await use(async (count, options = {}) => {
      const ctx = options.context ?? context;
      const pages: Page[] = [];
      for (let i = 0; i < count; i++) {
        const page = await ctx.newPage();
        await page.goto(`${server.url}/${options.path ?? 'index.html'}`);
        await page.waitForSelector('body[data-ready="true"]');
        pages.push(page);
      }
      return pages;
    });
  },
  publish: async ({ server, odoo }, use) => {
    await use((channel, text) =>
      server.send(odoo >= 15 ? { channel, type: 'demo/message', payload: { text } } : { channel, message: { text } }),
    );
  },
});

export const state = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).demo.bus.state());
export const receivedIds = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).demo.received.map((n) => n.id));

/** Opens `count` demo tabs (`index.html` + `query`) of `server` in `context`, for tests that run servers of their own. */
export async function openOn(server: DevServer, context: BrowserContext, count: number, query = ''): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < count; i++) {
    const page = await context.newPage();
    await page.goto(`${server.url}/index.html${query}`);
    await page.waitForSelector('body[data-ready="true"]');
    pages.push(page);
  }
  return pages;
}

/**
 * Waits until the tabs agree on one leader and each knows all of them; returns the leader's page. `pages`
 * may be a function, read again on every try, for callers whose set of tabs changes meanwhile (a crash may
 * take more than one tab).
 */
export async function settledLeader(pages: Page[] | (() => Page[])): Promise<Page> {
  const current = typeof pages === 'function' ? pages : () => pages;
  let leader: Page | undefined;
  let last: string[] = [];
  await expect
    .poll(
      async () => {
        const tabs = current();
        // A tab that cannot answer (crashed, closing) is named in the failure rather than hiding the others.
        const states = await Promise.all(tabs.map((page) => state(page).catch((error: Error) => error)));
        last = states.map((s) => (s instanceof Error ? `no state: ${s.message.split('\n')[0]}` : `${s.tabId}: ${s.role} leader=${s.leaderId} epoch=${s.epoch} tabs=${s.tabs} transport=${s.transport}`));
        const answered = states.filter((s): s is BusState => !(s instanceof Error));
        const leaders = answered.filter((s) => s.role === 'leader');
        const agreed =
          answered.length === tabs.length &&
          leaders.length === 1 &&
          answered.every((s) => s.leaderId === leaders[0]!.tabId && s.tabs === tabs.length && s.transport === 'open');
        leader = agreed ? tabs[states.indexOf(leaders[0]!)] : undefined;
        return agreed;
      },
      // Longer than the default 10 s: settling is what is checked here, not how fast (the gaps are measured
      // apart); ten tabs on a slowed 2-core machine have taken over 10 s to answer one round of state().
      { message: 'one leader, known by every tab, with an open transport', timeout: 30_000 },
    )
    .toBe(true)
    .catch((error: Error) => {
      throw new Error(`${error.message}\n${current().length} tabs:\n${last.join('\n')}`);
    });
  return leader!;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Crashes a tab's renderer, as the browser's "Aw, Snap!" does: no pagehide, no goodbye. */
export async function crash(context: BrowserContext, page: Page): Promise<void> {
  const cdp = await context.newCDPSession(page);
  const crashed = page.waitForEvent('crash');
  // The CDP call never resolves: the renderer dies before it can answer.
  cdp.send('Page.crash').catch(() => undefined);
  await crashed;
}

/** When (page clock, ms since epoch) this tab last became leader. */
export const leaderSince = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).demo.leaderSince!);

/** The leaders each epoch had, as this tab saw them. */
export const leadersSeen = (page: Page) =>
  page.evaluate(() => Object.fromEntries(Object.entries((window as unknown as DemoWindow).demo.leaders).map(([epoch, ids]) => [epoch, [...ids]])));

/** Publishes one notification every `everyMs` until `stop()`; `sent` holds the ids in order with when each send began. */
export function publishStream(publish: (channel: string, text: string) => Promise<number>, everyMs: number) {
  const sent: { id: number; at: number }[] = [];
  let running = true;
  const done = (async () => {
    const start = Date.now();
    for (let i = 0; running; i++) {
      const at = Date.now();
      sent.push({ id: await publish('chat', `stream ${i}`), at });
      // Keep the rate: the next send is due at start + (i + 1) × everyMs, however long this one took.
      await new Promise((r) => setTimeout(r, Math.max(0, start + (i + 1) * everyMs - Date.now())));
    }
  })();
  return {
    sent,
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Waits until `page` delivered exactly `sent` (from its first id on), each once and in order; on failure, says what the tab saw. */
export async function expectDelivered(page: Page, sent: number[], timeout = 15_000): Promise<void> {
  const first = sent[0] ?? 0;
  await expect
    .poll(async () => (await receivedIds(page)).filter((id) => id >= first), { timeout })
    .toEqual(sent)
    .catch(async (error: Error) => {
      const ids = (await receivedIds(page)).filter((id) => id >= first);
      const s = await state(page);
      throw new Error(`${error.message}\ntab ${s.tabId} (${s.role}, epoch ${s.epoch}, leader ${s.leaderId}, cursor ${s.cursor}, transport ${s.transport}) counters ${JSON.stringify(s.counters)}\ngot ${ids.length} of ${sent.length}: ${ids.slice(0, 5).join(',')}…${ids.slice(-5).join(',')}; last sent ${sent.slice(-3).join(',')}`);
    });
}

/** Lets a test hide and show tabs (headless pages are always visible): install before the pages load. */
export const controllableVisibility = (context: BrowserContext) => context.addInitScript(visibilityControl);

export const setVisibility = (page: Page, visibility: DocumentVisibilityState) =>
  page.evaluate((v) => (window as unknown as { __setVisibility(v: DocumentVisibilityState): void }).__setVisibility(v), visibility);

/** Lets a test move the pages' clock forward (the dev server's clock moves through /tabbus/clock): install before the pages load. */
export const shiftableClock = (context: BrowserContext) =>
  context.addInitScript(() => {
    const realNow = Date.now.bind(Date);
    let shift = 0;
    Date.now = () => realNow() + shift;
    (window as unknown as { __shiftClock(ms: number): void }).__shiftClock = (ms) => (shift += ms);
  });

/** Moves the clock of every page in `pages` forward by `ms` (see shiftableClock). */
export const shiftClocks = (pages: Page[], ms: number) =>
  Promise.all(pages.map((p) => p.evaluate((ms) => (window as unknown as { __shiftClock(ms: number): void }).__shiftClock(ms), ms)));
