import type { Browser, BrowserContext, Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { DevServer } from '../support/dev-server';
import { expect, test } from '../support/fixtures';

// The tabbus_bus Odoo addon, as built (dist/addon/<series>/tabbus_bus), loaded into stand-ins of Odoo's
// web client and bus client (e2e/standin/: the same public surface, written from the protocol notes) and
// driven the way Odoo's callers drive them, against the dev server in the matching --odoo mode.

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
const statics = ['--static', `/standin/=${root('e2e/standin')}`, '--static', `/dist/odoo/=${root('packages/odoo/dist')}`];

interface StandinWindow {
  standin: {
    bus: Record<string, (...args: unknown[]) => unknown> & { tabbus?: unknown };
    multiTab: { isOnMainTab(): boolean | Promise<boolean> };
    received: unknown[];
    typed: unknown[];
    events: string[];
    masterEvents: string[];
    env: { beeps?: number; services: Record<string, unknown> };
    beeps: number;
  };
}

async function withServer(browser: Browser, odoo: number, run: (server: DevServer, context: BrowserContext, open: (count: number, query?: string) => Promise<Page[]>) => Promise<void>) {
  const server = await DevServer.start(['--odoo', String(odoo), ...statics]);
  const context = await browser.newContext();
  const problems: string[] = [];
  context.on('page', (page) => page.on('pageerror', (error) => problems.push(error.message)));
  const page = odoo >= 16 ? 'odoo-services.html' : 'odoo15.html';
  const open = async (count: number, query = '') => {
    const pages: Page[] = [];
    for (let i = 0; i < count; i++) {
      const p = await context.newPage();
      await p.goto(`${server.url}/standin/${page}${query}`);
      await p.waitForSelector('body[data-ready="true"]');
      pages.push(p);
    }
    return pages;
  };
  try {
    await run(server, context, open);
    expect(problems, 'uncaught errors in the pages').toEqual([]);
  } finally {
    await context.close();
    await server.stop();
  }
}

const masterOf15 = (page: Page) => page.evaluate(() => (window as unknown as StandinWindow).standin.bus.isMasterTab!() as boolean);
const received = (page: Page) => page.evaluate(() => (window as unknown as StandinWindow).standin.received);
const beeps15 = (page: Page) => page.evaluate(() => (window as unknown as StandinWindow).standin.env.beeps ?? 0);

for (const odoo of [14, 15] as const) {
  test(`Odoo ${odoo} stand-in + addon: five tabs, one long-poll, Odoo's item shapes in every tab, one master, one ting per message, failover`, async ({ browser }) => {
    await withServer(browser, odoo, async (server, _context, open) => {
      const pages = await open(5);
      await expect.poll(async () => (await Promise.all(pages.map(masterOf15))).filter(Boolean).length).toBe(1);
      await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
      const send = (text: string) => server.send(odoo >= 15 ? { channel: 'chat', type: 'demo/message', payload: { text } } : { channel: 'chat', message: { text } });
      const ids = [await send('one'), await send('two'), await send('three')];
      const shapes = odoo >= 15 ? [{ type: 'demo/message', payload: { text: 'one' } }, { type: 'demo/message', payload: { text: 'two' } }, { type: 'demo/message', payload: { text: 'three' } }] : ['one', 'two', 'three'].map((text) => ['chat', { text }]);
      for (const page of pages) await expect.poll(() => received(page)).toEqual(shapes);
      // mail's ting: sendNotification in every tab, the beep only where isMasterTab().
      await expect.poll(async () => (await Promise.all(pages.map(beeps15))).reduce((a, b) => a + b, 0)).toBe(ids.length);
      expect((await server.stats()).peakOpenPollsPerSession).toBe(1);

      // Failover: the master tab closes; another becomes master (Odoo's become_master event) and goes on.
      const masters = await Promise.all(pages.map(masterOf15));
      const master = pages[masters.indexOf(true)]!;
      await master.close();
      const rest = pages.filter((p) => p !== master);
      await expect.poll(async () => (await Promise.all(rest.map(masterOf15))).filter(Boolean).length).toBe(1);
      const next = rest[(await Promise.all(rest.map(masterOf15))).indexOf(true)]!;
      expect(await next.evaluate(() => (window as unknown as StandinWindow).standin.masterEvents)).toContain('become_master');
      await send('after failover');
      for (const page of rest) await expect.poll(async () => (await received(page)).length).toBe(4);
      await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
    });
  });
}

// Odoo 14/15's CrossTab shares the window focus through localStorage: isOdooFocused() is true in every tab
// while any Odoo tab has the focus, and mail notifies a chat message (ting and desktop notification in the
// master tab, a toast and a title counter in the others) only when it is false. Kept per tab, a message that
// comes while the user reads Odoo in one tab rings in the master tab and counts in the title of every other.
test('Odoo 15 stand-in + addon: isOdooFocused() and window_focus follow the focus of any Odoo tab, as CrossTab shares it', async ({ browser }) => {
  await withServer(browser, 15, async (_server, _context, open) => {
    const [a, b] = await open(2);
    const focused = (page: Page) => page.evaluate(() => (window as unknown as StandinWindow).standin.bus.isOdooFocused!() as boolean);
    const fire = (page: Page, type: 'focus' | 'blur') => page.evaluate((t) => window.dispatchEvent(new Event(t)), type);
    await a!.evaluate(() => {
      const s = (window as unknown as StandinWindow).standin;
      const events: boolean[] = ((window as unknown as { focusEvents: boolean[] }).focusEvents = []);
      (s.bus.on as (e: string, r: null, f: (v: boolean) => void) => void)('window_focus', null, (v) => events.push(v));
    });
    // The user goes from tab a to tab b: Odoo keeps the focus.
    await fire(a!, 'focus');
    await fire(a!, 'blur');
    await fire(b!, 'focus');
    await expect.poll(() => focused(a!)).toBe(true);
    expect(await focused(b!)).toBe(true);
    // Then to another application: no Odoo tab has it.
    await fire(b!, 'blur');
    await expect.poll(() => focused(a!)).toBe(false);
    expect(await focused(b!)).toBe(false);
    // Back to tab b: every tab hears window_focus(true) (mail resets its out-of-focus counter on it).
    await fire(b!, 'focus');
    await expect.poll(() => focused(a!)).toBe(true);
    await expect.poll(() => a!.evaluate(() => (window as unknown as { focusEvents: boolean[] }).focusEvents.at(-1))).toBe(true);
  });
});

test('Odoo 15 stand-in without the addon: every tab polls and every tab is master (the baseline the addon replaces)', async ({ browser }) => {
  await withServer(browser, 15, async (server, _context, open) => {
    const pages = await open(5, '?adapter=0');
    await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([5]);
    expect((await Promise.all(pages.map(masterOf15))).every(Boolean)).toBe(true);
    await server.send({ channel: 'chat', type: 'demo/message', payload: { text: 'one' } });
    await expect.poll(async () => (await Promise.all(pages.map(beeps15))).reduce((a, b) => a + b, 0)).toBe(5);
  });
});

const mainTabs = (pages: Page[]) => Promise.all(pages.map((p) => p.evaluate(async () => Boolean(await (window as unknown as StandinWindow).standin.multiTab.isOnMainTab()))));
const std = (page: Page) => page.evaluate(() => {
  const s = (window as unknown as StandinWindow).standin;
  return { received: s.received, typed: s.typed, events: s.events, beeps: s.beeps, tabbus: Boolean(s.bus.tabbus), role: document.documentElement.dataset['tabbusRole'] };
});

for (const odoo of [16, 17, 18, 19] as const) {
  test(`Odoo ${odoo} stand-in without SharedWorker + addon: five tabs, one socket, notifications in every tab, one main tab, one ting, presence on ask, failover`, async ({ browser }) => {
    await withServer(browser, odoo, async (server, _context, open) => {
      const pages = await open(5, '?sharedWorker=0');
      for (const page of pages) expect((await std(page)).tabbus).toBe(true);
      await expect.poll(async () => (await mainTabs(pages)).filter(Boolean).length).toBe(1);
      // The page knows its user (18/19 from `@web/core/user`): no tab asks the server whose session it is
      // before it starts. The stand-in's own boot asks once per page, and the leader checks the session once.
      expect((await server.stats()).requests['/web/session/get_session_info'] ?? 0).toBe(pages.length + 1);
      await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
      const ids = [];
      for (const text of ['one', 'two', 'three']) ids.push(await server.send({ channel: 'chat', type: 'demo/message', payload: { text } }));
      for (const page of pages) {
        await expect.poll(async () => (await std(page)).typed).toEqual([{ text: 'one' }, { text: 'two' }, { text: 'three' }]);
        const s = await std(page);
        // The batch event exists on 16/17 only (18 and 19 deliver through subscribe()).
        expect(s.received).toEqual(odoo <= 17 ? ids.map((id, i) => ({ id, type: 'demo/message', payload: { text: ['one', 'two', 'three'][i] } })) : []);
        expect(s.events).toContain('connect');
      }
      await expect.poll(async () => (await Promise.all(pages.map(std))).reduce((n, s) => n + s.beeps, 0)).toBe(3);
      const roles = (await Promise.all(pages.map(std))).map((s) => s.role).sort();
      expect(roles).toEqual(['follower', 'follower', 'follower', 'follower', 'leader']);

      // Odoo's im_status service asks for a presence update (on connect, when the server says the user
      // went offline): the tab that holds the socket sends one at once, in the series' shape.
      const main = pages[(await mainTabs(pages)).indexOf(true)]!;
      const writes = (await server.stats()).presenceWrites;
      await main.evaluate(() => (window as unknown as StandinWindow).standin.bus.send!('update_presence', { inactivity_period: 0, im_status_ids_by_model: {} }));
      await expect.poll(async () => (await server.stats()).presenceWrites).toBe(writes + 1);

      await main.close();
      const rest = pages.filter((p) => p !== main);
      await expect.poll(async () => (await mainTabs(rest)).filter(Boolean).length).toBe(1);
      const next = rest[(await mainTabs(rest)).indexOf(true)]!;
      expect((await std(next)).events).toContain('become_main_tab');
      await server.send({ channel: 'chat', type: 'demo/message', payload: { text: 'after failover' } });
      for (const page of rest) await expect.poll(async () => (await std(page)).typed.length).toBe(4);
      await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
      // The browser's cursor, where Odoo's own client (and 18/19's outdated-page check) reads it.
      const key = odoo >= 19 ? 'legacy_multi_tab' : 'multi_tab';
      const shared = await next.evaluate((k) => JSON.parse(localStorage.getItem(`${k}.${location.origin}.last_notification_id`) ?? '0') as number, key);
      expect(shared).toBeGreaterThan(ids.at(-1)!);
    });
  });
}

for (const odoo of [16, 17, 18, 19] as const) {
  test(`Odoo ${odoo} stand-in without SharedWorker + addon: Odoo's own localStorage election ${odoo >= 17 ? 'stops' : 'keeps running (16 cannot stop it)'}, its events never contradict tabbus, and stop() says disconnect`, async ({ browser }) => {
    await withServer(browser, odoo, async (_server, context, open) => {
      // Every localStorage write of the page, by key (the election's keys end in heartbeat, main, lastPresenceByTab).
      await context.addInitScript(() => {
        const writes: string[] = [];
        (window as unknown as { storageWrites: string[] }).storageWrites = writes;
        const { setItem, removeItem } = Storage.prototype;
        Storage.prototype.setItem = function (key: string, value: string) {
          writes.push(key);
          return setItem.call(this, key, value);
        };
        Storage.prototype.removeItem = function (key: string) {
          writes.push(key);
          return removeItem.call(this, key);
        };
      });
      const pages = await open(3, '?sharedWorker=0&election=heartbeat');
      await expect.poll(async () => (await Promise.all(pages.map(std))).map((s) => s.role).sort()).toEqual(['follower', 'follower', 'leader']);
      const electionWrites = () => Promise.all(pages.map((p) => p.evaluate(() => (window as unknown as { storageWrites: string[] }).storageWrites.filter((key) => /\.(heartbeat|main|lastPresenceByTab)$/.test(key)).length)));
      const before = await electionWrites();
      // Odoo's main tab writes its heartbeat every 1.5 s, each other tab its presence every 10 s.
      await pages[0]!.waitForTimeout(3500);
      const during = (await electionWrites()).reduce((sum, n, i) => sum + n - before[i]!, 0);
      if (odoo >= 17) expect(during, 'election writes in 3.5 s, 3 tabs').toBe(0);
      else expect(during, "16's election runs on (the stand-in's must, or this test proves nothing)").toBeGreaterThan(0);

      const mainTabEvents = async (page: Page) => (await std(page)).events.filter((e) => e.endsWith('main_tab'));
      const roles = (await Promise.all(pages.map(std))).map((s) => s.role);
      const leader = pages[roles.indexOf('leader')]!;
      const followers = pages.filter((p) => p !== leader);
      expect(await mainTabEvents(leader)).toEqual(['become_main_tab']);
      for (const page of followers) expect(await mainTabEvents(page)).toEqual([]);
      // Odoo's election thinks the leader is no longer main (the branch where it meets another main's
      // heartbeat), and thinks a follower is: neither reaches the listeners, and the ting stays with the leader.
      await leader.evaluate(() => (window as unknown as { standinLoseMain(): void }).standinLoseMain());
      await followers[0]!.evaluate(() => (window as unknown as { standin: { multiTab: { bus: { trigger(name: string): void } } } }).standin.multiTab.bus.trigger('become_main_tab'));
      expect(await mainTabEvents(leader)).toEqual(['become_main_tab']);
      expect(await mainTabEvents(followers[0]!)).toEqual([]);
      expect(await mainTabs(pages)).toEqual(pages.map((p) => p === leader));

      // stop() in a tab: Odoo's worker closes the socket and says disconnect; start() again says reconnect.
      const tab = followers[1]!;
      await expect.poll(async () => (await std(tab)).events.filter((e) => !e.endsWith('main_tab'))).toEqual(['connect']);
      await tab.evaluate(() => (window as unknown as StandinWindow).standin.bus.stop!());
      await expect.poll(async () => (await std(tab)).events.filter((e) => !e.endsWith('main_tab'))).toEqual(['connect', 'disconnect']);
      await tab.evaluate(() => (window as unknown as StandinWindow).standin.bus.start!());
      await expect.poll(async () => (await std(tab)).events.filter((e) => !e.endsWith('main_tab'))).toEqual(['connect', 'disconnect', 'reconnect']);
    });
  });
}

for (const odoo of [17, 19] as const) {
  test(`Odoo ${odoo} stand-in with SharedWorker: the addon keeps Odoo's own service, unless the websocket setting says always`, async ({ browser }) => {
    await withServer(browser, odoo, async (server, _context, open) => {
      const [kept] = await open(1);
      expect((await std(kept!)).tabbus).toBe(false);
      expect((await std(kept!)).role).toBeUndefined();
      await kept!.close();
      await expect.poll(async () => (await server.connections()).open).toBe(0);
      const pages = await open(3, '?websocket=always');
      for (const page of pages) expect((await std(page)).tabbus).toBe(true);
      await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
    });
  });
}

test("Odoo 16 stand-in in the iOS app (SharedWorker present, Odoo takes a Worker per tab there): the addon takes over; 19's Odoo keeps its SharedWorker there, and so does the addon", async ({ browser }) => {
  await withServer(browser, 16, async (server, _context, open) => {
    const pages = await open(3, '?ios=1');
    for (const page of pages) expect((await std(page)).tabbus).toBe(true);
    await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
  });
  await withServer(browser, 19, async (_server, _context, open) => {
    const [page] = await open(1, '?ios=1');
    expect((await std(page!)).tabbus).toBe(false);
  });
});

for (const odoo of [16, 19] as const) {
  test(`Odoo ${odoo} stand-in without the addon and without SharedWorker: one socket per tab (the baseline the addon replaces)`, async ({ browser }) => {
    await withServer(browser, odoo, async (server, _context, open) => {
      await open(5, '?adapter=0&sharedWorker=0');
      await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([5]);
    });
  });
}

test('an adapter loaded on a version it does not know warns and changes nothing', async ({ browser }) => {
  await withServer(browser, 19, async (server, context, open) => {
    const warnings: string[] = [];
    context.on('console', (msg) => msg.type() === 'warning' && warnings.push(msg.text()));
    const [page] = await open(1, '?series=19.0&serverVersion=20&sharedWorker=0');
    expect((await std(page!)).tabbus).toBe(false);
    expect(warnings.join('\n')).toMatch(/tabbus_bus: this adapter is for Odoo 16 to 19, not 20/);
    await expect.poll(async () => (await server.connections()).open).toBe(1);
  });
});

// Odoo's frontend pages (the website, the login page) carry a session info without the server's version on
// 14/15, and on 16+ for visitors: the adapters leave Odoo's bus in place there, without a word in the console
// (they warned on every such page before).
for (const odoo of [15, 17] as const) {
  test(`Odoo ${odoo} stand-in + addon on a page whose session info names no version: Odoo's own bus, and no warning`, async ({ browser }) => {
    await withServer(browser, odoo, async (server, context, open) => {
      const warnings: string[] = [];
      context.on('console', (msg) => msg.type() === 'warning' && warnings.push(msg.text()));
      const [page] = await open(1, `?series=${odoo}.0&serverVersion=none${odoo >= 16 ? '&sharedWorker=0' : ''}`);
      const tabbus = await page!.evaluate(() => {
        const bus = (window as unknown as StandinWindow).standin.bus as Record<string, unknown>;
        return Boolean(bus['tabbus'] ?? bus['_tabbus']);
      });
      expect(tabbus).toBe(false);
      expect(warnings.filter((w) => w.includes('tabbus'))).toEqual([]);
      await expect.poll(async () => (await server.connections()).open).toBe(1);
    });
  });
}

// Odoo's own login form, in one more tab of a browser whose tabs run the addon: the addon's script says a
// login is pending (the leader holds its next request: on 8–15 it gives up the poll the server holds, whose
// answer would bring back the old cookie), and on the page the form leads to, that it is over (the leader asks
// whose session it is and goes on). Without that end the tabs waited LOGIN_PENDING_FOR (30 s) for a notification.
for (const odoo of [15, 17] as const) {
  test(`Odoo ${odoo} stand-in + addon: a login through Odoo's form in one more tab holds the tabs only until the page it leads to says the login is over`, async ({ browser }, testInfo) => {
    await withServer(browser, odoo, async (server, context, open) => {
      const query = odoo >= 16 ? '?sharedWorker=0' : '';
      const pages = await open(3, query);
      await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
      const texts = (page: Page) =>
        page.evaluate((websocket) => {
          const s = (window as unknown as StandinWindow).standin;
          const payloads = websocket ? s.typed : s.received.map((n) => (n as { payload: unknown }).payload);
          return payloads.map((p) => (p as { text?: string }).text);
        }, odoo >= 16);
      const login = await context.newPage();
      const next = `${odoo >= 16 ? 'odoo-services.html' : 'odoo15.html'}${query}`;
      await login.goto(`${server.url}/standin/login.html?series=${odoo}.0&next=${encodeURIComponent(next)}`);
      await login.waitForSelector('body[data-ready="true"]');
      await login.click('button[type="submit"]');
      await login.waitForURL(/standin\/odoo/);
      await login.waitForSelector('body[data-ready="true"]');
      const tabs = [...pages, login];
      const sentAt = Date.now();
      await server.send({ channel: 'chat', type: 'demo/message', payload: { text: 'after the login' } });
      // Well below the 30 s a login never said to be over holds the tabs.
      const arrived: number[] = [];
      for (const page of tabs) {
        await expect.poll(() => texts(page), { timeout: 10_000 }).toContain('after the login');
        arrived.push(Date.now() - sentAt);
      }
      await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
      const line = `odoo ${odoo} stand-in: after a login through Odoo's form, a message reached the 4 tabs within ${arrived.join(', ')} ms (checked in turn)`;
      console.log(line);
      testInfo.annotations.push({ type: 'form-login', description: line });
    });
  });
}
