import type { BrowserContext, BrowserType, LaunchOptions, Page } from '@playwright/test';
import { expect, leaderSince, receivedIds, settledLeader, state, test, type DemoWindow } from '../support/fixtures';

test('bus.stop() hands the connection over; bus.start() rejoins as a follower and gets new notifications', async ({ openTabs, server, publish }) => {
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  await leader.evaluate(() => (window as unknown as DemoWindow).demo.bus.stop());
  expect((await state(leader)).role).toBe('stopped');
  const others = pages.filter((p) => p !== leader);
  const next = await settledLeader(others);
  expect((await state(next)).epoch).toBe(2);
  const whileStopped = await publish('chat', 'while stopped');
  await expect.poll(() => receivedIds(next)).toContain(whileStopped);
  expect(await receivedIds(leader)).not.toContain(whileStopped);

  await leader.evaluate(() => (window as unknown as DemoWindow).demo.bus.start());
  await settledLeader(pages);
  expect((await state(leader)).role).toBe('follower');
  const afterRestart = await publish('chat', 'after restart');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(afterRestart);
  await expect.poll(async () => (await server.connections()).open).toBe(1);
});

// The leader stores the cursor a moment after each fan-out (CURSOR_WRITE_DELAY, 50 ms), and at once when it
// gives the connection up: a page that reloads right after a batch must not get that batch again. Stopped in
// the same task as the delivery, the tab has had no time for the delayed write, so only the write on leaving
// can have stored it; then a reload starts from it.
test('a tab alone that stops right after a batch has stored its cursor: the next page does not get that batch again', async ({ openTabs, publish }) => {
  const [page] = (await openTabs(1)) as [Page];
  await settledLeader([page]);
  const key = `tabbus:${(await state(page)).scope}:cursor`;
  type Stopped = { delivered: number; stored: number | undefined };
  await page.evaluate((key) => {
    const bus = (window as unknown as DemoWindow).demo.bus as unknown as { on(event: 'notification', fn: (items: { id: number }[]) => void): () => void; stop(): Promise<void> };
    const off = bus.on('notification', (items) => {
      off();
      void bus.stop();
      (window as unknown as { stopped: Stopped }).stopped = { delivered: items.at(-1)!.id, stored: JSON.parse(localStorage.getItem(key) ?? 'null')?.id };
    });
  }, key);
  const id = await publish('chat', 'just before the reload');
  await expect.poll(() => page.evaluate(() => (window as unknown as { stopped?: Stopped }).stopped)).toEqual({ delivered: id, stored: id });
  await page.reload();
  await page.waitForFunction(() => (window as unknown as Partial<DemoWindow>).demo?.bus.state().role === 'leader');
  const next = await publish('chat', 'after the reload');
  await expect.poll(() => receivedIds(page)).toContain(next);
  expect(await receivedIds(page)).not.toContain(id);
});

// Alone, the leader stores the cursor with each reply: no other tab of ours competes with the write, and a
// tab that crashes before a delayed write would cost the next page that batch again. The tab's listener
// blocks its main thread after the delivery (no timer can run: a delayed write would wait), says so on the
// console (sent as it is called) and is crashed while blocked.
test('a tab alone that crashes right after a batch has stored its cursor: the next page does not get that batch again', async ({ context, openTabs, publish }) => {
  const [page] = (await openTabs(1)) as [Page];
  await settledLeader([page]);
  // A cursor stored before: the next page would poll from it, one batch behind, rather than from nothing.
  const key = `tabbus:${(await state(page)).scope}:cursor`;
  const before = await publish('chat', 'stored before');
  await expect.poll(() => page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? 'null')?.id, key)).toBe(before);
  await page.evaluate(() => {
    const bus = (window as unknown as DemoWindow).demo.bus as unknown as { on(event: 'notification', fn: (items: { id: number }[]) => void): () => void };
    const off = bus.on('notification', (items) => {
      off();
      console.log(`tabbus-test delivered ${items.at(-1)!.id}`);
      for (const end = Date.now() + 5_000; Date.now() < end; );
    });
  });
  // Attached first: the crash must not wait for anything of the blocked page.
  const cdp = await context.newCDPSession(page);
  const delivered = page.waitForEvent('console', { predicate: (message) => message.text().startsWith('tabbus-test delivered') });
  const id = await publish('chat', 'just before the crash');
  expect((await delivered).text()).toBe(`tabbus-test delivered ${id}`);
  const crashed = page.waitForEvent('crash');
  cdp.send('Page.crash').catch(() => undefined);
  await crashed;
  const [next] = (await openTabs(1)) as [Page];
  await settledLeader([next]);
  const after = await publish('chat', 'after the crash');
  await expect.poll(() => receivedIds(next)).toContain(after);
  expect(await receivedIds(next)).not.toContain(id);
  expect(await receivedIds(next)).not.toContain(before);
});

// `unload` and `beforeunload` listeners keep a page out of the bfcache (and `unload` is being removed
// from Chromium): tabbus must never add one, in any role or mode, from either build.
const recordUnloadListeners = (context: BrowserContext) =>
  context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __unloadRegistrations: string[] }).__unloadRegistrations = seen;
    const watched = new Set(['unload', 'beforeunload']);
    const where = () => (new Error().stack ?? '').split('\n').slice(2, 5).join(' | ');
    const add = EventTarget.prototype.addEventListener;
    EventTarget.prototype.addEventListener = function (this: EventTarget, type: string, ...rest: unknown[]) {
      if (watched.has(String(type).toLowerCase())) seen.push(`addEventListener('${type}') on ${Object.prototype.toString.call(this)} at ${where()}`);
      return (add as (...args: unknown[]) => void).call(this, type, ...rest);
    } as typeof add;
    const setAttribute = Element.prototype.setAttribute;
    Element.prototype.setAttribute = function (this: Element, name: string, value: string) {
      if (/^on(before)?unload$/i.test(name)) seen.push(`setAttribute('${name}') on <${this.localName}> at ${where()}`);
      return setAttribute.call(this, name, value);
    };
    // Event handler properties: window.onunload/onbeforeunload, and <body>/<frameset>'s, which set the window's.
    const targets: [object, string][] = [[window, 'window'], [HTMLBodyElement.prototype, 'body'], [HTMLFrameSetElement.prototype, 'frameset']];
    for (const [target, label] of targets) {
      for (const name of ['onunload', 'onbeforeunload']) {
        let owner: object | null = target;
        let descriptor: PropertyDescriptor | undefined;
        while (owner && !(descriptor = Object.getOwnPropertyDescriptor(owner, name))) owner = Object.getPrototypeOf(owner);
        if (!descriptor?.set) continue;
        const { set } = descriptor;
        Object.defineProperty(target, name, {
          ...descriptor,
          configurable: true,
          set(value: unknown) {
            if (value != null) seen.push(`${label}.${name} = … at ${where()}`);
            set!.call(this, value);
          },
        });
      }
    }
  });
const unloadRegistrations = (page: Page) => page.evaluate(() => (window as unknown as { __unloadRegistrations: string[] }).__unloadRegistrations);
const withoutLocks = (context: BrowserContext) =>
  context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { configurable: true, get: () => undefined }));

for (const mode of ['locks', 'elector'] as const) {
  for (const path of ['index.html', 'esm.html']) {
    test(`no unload or beforeunload listener, as leader and follower (${mode} mode, ${path})`, async ({ context, openTabs, publish }) => {
      await recordUnloadListeners(context);
      if (mode === 'elector') await withoutLocks(context);
      const pages = await openTabs(2, { path });
      const first = await settledLeader(pages);
      expect((await state(first)).mode).toBe(mode);
      const a = await publish('chat', 'A');
      for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(a);
      // Swap roles, so each tab both leads and follows: the leader stops (the other takes over), then
      // starts again as a follower. (stop/start rather than handoff(): in elector mode handoff() may
      // re-elect the same tab.)
      const second = pages.find((p) => p !== first)!;
      await first.evaluate(() => (window as unknown as DemoWindow).demo.bus.stop());
      await expect.poll(async () => (await state(second)).role).toBe('leader');
      await first.evaluate(() => (window as unknown as DemoWindow).demo.bus.start());
      await settledLeader(pages);
      expect((await state(first)).role).toBe('follower');
      const b = await publish('chat', 'B');
      for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(b);
      // And back: a leader's own departure from the other side.
      await second.evaluate(() => (window as unknown as DemoWindow).demo.bus.stop());
      await expect.poll(async () => (await state(first)).role).toBe('leader');
      await second.evaluate(() => (window as unknown as DemoWindow).demo.bus.start());
      await settledLeader(pages);
      const c = await publish('chat', 'C');
      for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(c);

      for (const page of pages) expect(await unloadRegistrations(page)).toEqual([]);
      // The recorder itself works (so an empty list means something).
      await second.evaluate(() => {
        addEventListener('beforeunload', () => undefined);
        window.onunload = () => undefined;
      });
      expect(await unloadRegistrations(second)).toEqual([expect.stringMatching(/^addEventListener\('beforeunload'\)/), expect.stringMatching(/^window\.onunload/)]);
    });
  }
}

/**
 * The leader navigates away (a same-origin static file), then comes back with the Back button. Run with
 * Playwright's default (it launches Chromium with the back/forward cache off: the page reloads) and with
 * the bfcache on (the page may be restored as it was, its bus restarted on `pageshow`).
 */
async function leaveAndComeBack(
  context: BrowserContext,
  openTabs: (n: number) => Promise<Page[]>,
  server: { url: string; connections(): Promise<{ bySession: Record<string, number> }> },
  publish: (c: string, t: string) => Promise<number>,
  consoleProblems: string[],
) {
  await context.addInitScript(() => {
    const shows: boolean[] = [];
    (window as unknown as { __pageshows: boolean[] }).__pageshows = shows;
    addEventListener('pageshow', (e) => shows.push(e.persisted));
  });
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  const rest = pages.filter((p) => p !== leader);
  const before = await state(leader);
  const cdp = await context.newCDPSession(leader);
  await cdp.send('Page.enable');
  const notRestored: string[] = [];
  cdp.on('Page.backForwardCacheNotUsed', (e) => notRestored.push(...e.notRestoredExplanations.map((x) => `${x.type}: ${x.reason}`)));
  const a = await publish('chat', 'A');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(a);

  // A static file of the same origin; Chromium then asks for /favicon.ico, which the dev server does not
  // have: that 404 is logged by the browser as a console error, and is the only one tolerated here.
  const faviconMisses: string[] = [];
  leader.on('console', (msg) => {
    if (msg.type() === 'error' && new URL(msg.location().url || 'about:blank').pathname === '/favicon.ico') faviconMisses.push(msg.text());
  });
  const leftAt = Date.now();
  await leader.goto(`${server.url}/style.css`);
  const next = await settledLeader(rest);
  const handover = (await leaderSince(next)) - leftAt;
  expect((await state(next)).epoch).toBeGreaterThan(before.epoch);
  expect(handover, 'a new leader within 5 s of leaving').toBeLessThan(5000);
  const whileAway = await publish('chat', 'while away');
  for (const page of rest) await expect.poll(() => receivedIds(page)).toContain(whileAway);

  await leader.goBack({ waitUntil: 'commit' });
  await leader.waitForSelector('body[data-ready="true"]');
  const shows = await leader.evaluate(() => (window as unknown as { __pageshows: boolean[] }).__pageshows);
  const restored = shows.at(-1) === true;
  await settledLeader(pages);
  const back = await state(leader);
  expect(back.role).toBe('follower');
  if (restored) expect(back.tabId, 'a page restored from the bfcache keeps its bus').toBe(before.tabId);
  const c = await publish('chat', 'C');
  const d = await publish('chat', 'D');
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= c)).toEqual([c, d]);
  // One poll held for the whole browser (one session): the returning tab did not open a second one.
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
  // No id twice and in order, in every tab.
  for (const page of pages) {
    const ids = await receivedIds(page);
    expect(ids).toEqual([...new Set(ids)].sort((x, y) => x - y));
  }
  const gotWhileAway = (await receivedIds(leader)).includes(whileAway);
  const gaps = await leader.evaluate(() => (window as unknown as DemoWindow).demo.gaps.length);
  test.info().annotations.push(
    { type: 'pageshow', description: `persisted=${restored} (pageshow events: ${JSON.stringify(shows)})` },
    { type: 'bfcache', description: notRestored.length ? `not restored: ${notRestored.join('; ')}` : 'no not-restored reasons reported' },
    { type: 'measurement', description: `handover after navigating away: ${handover} ms` },
    { type: 'observation', description: `the returning tab ${gotWhileAway ? 'delivered' : 'did not deliver'} the id published while it was away; gap events: ${gaps}` },
  );
  for (const text of faviconMisses) {
    const i = consoleProblems.findIndex((p) => p.endsWith(`/style.css: ${text}`));
    if (i >= 0) consoleProblems.splice(i, 1);
  }
  return { restored, gotWhileAway, gaps };
}

test('a leader that navigates away hands over; back (bfcache off, Playwright default): it rejoins as follower, one poll', async ({ context, openTabs, server, publish, consoleProblems }) => {
  const { restored } = await leaveAndComeBack(context, openTabs, server, publish, consoleProblems);
  expect(restored, 'Playwright launches Chromium with the bfcache off: the page reloads').toBe(false);
});

/**
 * A browser of its own, launched like the configured one but without Playwright's
 * --disable-back-forward-cache, console-checked like the default context. The dev server sends
 * `Cache-Control: no-store` with every static file, and Chromium keeps such a page out of the bfcache
 * once an HttpOnly cookie changes (every poll refreshes the session cookie): measured reasons
 * MainResourceHasCacheControlNoStore, CacheControlNoStoreHTTPOnlyCookieModified. The demo page is
 * therefore served here without that header, so that Back really restores it from the cache.
 */
async function withBfcache(
  { playwright, launchOptions, consoleProblems }: { playwright: { chromium: BrowserType }; launchOptions: LaunchOptions; consoleProblems: string[] },
  body: (context: BrowserContext) => Promise<void>,
): Promise<void> {
  const browser = await playwright.chromium.launch({ ...launchOptions, ignoreDefaultArgs: ['--disable-back-forward-cache'] });
  try {
    const context = await browser.newContext();
    await context.route(/\/index\.html(\?|$)/, async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cache-control'];
      await route.fulfill({ response, headers });
    });
    context.on('page', (page) => {
      page.on('console', (msg) => msg.type() === 'error' && consoleProblems.push(`console.error on ${page.url()}: ${msg.text()}`));
      page.on('pageerror', (error) => consoleProblems.push(`uncaught on ${page.url()}: ${error.message}`));
    });
    await body(context);
  } finally {
    await browser.close();
  }
}

test('a leader that navigates away hands over; back (bfcache on): it rejoins as follower, one poll', async ({ playwright, launchOptions, openTabs, server, publish, consoleProblems }) => {
  await withBfcache({ playwright, launchOptions, consoleProblems }, async (context) => {
    await leaveAndComeBack(context, (n) => openTabs(n, { context }), server, publish, consoleProblems);
  });
});

test('a tab restored from the bfcache does not silently miss what was published while it was away', async ({ playwright, launchOptions, openTabs, server, publish, consoleProblems }) => {
  // The page keeps its state (the chat it shows) across the bfcache: a notification published while it
  // was cached must either be delivered when it comes back (the server still has it) or be announced
  // with a `gap` event, so the application knows to reload its state.
  await withBfcache({ playwright, launchOptions, consoleProblems }, async (context) => {
    const { restored, gotWhileAway, gaps } = await leaveAndComeBack(context, (n) => openTabs(n, { context }), server, publish, consoleProblems);
    expect(restored, 'this test needs Chromium to restore the page from the bfcache').toBe(true);
    expect({ gotWhileAway, gaps: gaps > 0 }, 'delivered after the restore, or announced as a gap').not.toEqual({ gotWhileAway: false, gaps: false });
  });
});
