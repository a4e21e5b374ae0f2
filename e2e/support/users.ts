// One browser, several users (issue 16): Odoo keeps one session cookie per host, so a login in a new tab
// (as another user, or into another database of the same server) changes the cookie every tab sends, and a
// logout in one tab ends the session of all of them. These helpers drive that in real tabs and measure, in
// the pages (Date.now(), the clock pages and Node share), what the other tabs do about it.
import type { BrowserContext, Page } from '@playwright/test';
import { DevServer } from './dev-server';
import { expect, expectDelivered, openOn, publishStream, receivedIds, settledLeader, state, test, type DemoWindow } from './fixtures';

/** One `session_expired` a tab reported, with when (page clock). */
export interface Expiry {
  at: number;
  message: string;
  context: unknown;
}

interface UsersWindow {
  __expiries: Expiry[];
  __loginStartedAt?: number;
  __logoutStartedAt?: number;
}

/** Starts recording every `session_expired` the tab's bus reports. */
export async function recordExpiries(pages: Page[]): Promise<void> {
  for (const page of pages) {
    await page.evaluate(() => {
      const w = window as unknown as DemoWindow & UsersWindow;
      w.__expiries = [];
      const bus = w.demo.bus as unknown as { on(event: 'session_expired', listener: (error: { message: string; context?: unknown }) => void): () => void };
      bus.on('session_expired', (error) => {
        w.__expiries.push({ at: Date.now(), message: error.message, context: JSON.parse(JSON.stringify(error.context ?? null)) as unknown });
      });
    });
  }
}

export const expiries = (page: Page): Promise<Expiry[]> => page.evaluate(() => (window as unknown as UsersWindow).__expiries);

/**
 * Installs, before the page loads, a note of when its first `/web/session/authenticate` request started
 * (page clock): the moment of the login the demo page makes when `?login=` names another user.
 */
export async function noteLoginStart(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const original = window.fetch.bind(window);
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      const w = window as unknown as UsersWindow;
      if (url.endsWith('/web/session/authenticate')) w.__loginStartedAt ??= Date.now();
      return original(input, init);
    };
  });
}

/** A notification body for `/tabbus/send` in the server's shape, on a channel or a partner's personal channel. */
export function sendBody(odoo: number, target: { channel: string } | { partner: number }, text: string, db?: string): Record<string, unknown> {
  return {
    ...target,
    ...(db === undefined ? {} : { db }),
    ...(odoo >= 15 ? { type: 'demo/message', payload: { text } } : { message: { text } }),
  };
}

/** What one run of "a fourth tab logs in as someone else" measured. */
export interface LoginReport {
  /** Notifications sent to the new user's personal channel from the login on. */
  sent: number;
  /** Of those, how many each old tab delivered (must be 0). */
  leakedPerTab: number[];
  /** ms from the start of the login request to the first of them an old tab delivered; null: none. */
  firstLeakMs: number | null;
  /** ms from the start of the login request to each old tab's `session_expired`; null: none by the deadline. */
  stopMsPerTab: (number | null)[];
  /** Of `sent`, how many the new user's tab did not deliver (must be 0). */
  missingInNewTab: number;
  /** The `session_expired` errors the old tabs reported (message and context). */
  expiries: Expiry[];
}

/** How long to wait for the old tabs to stop before giving up: well past the 1 s the tests require, so a slow stop is measured. */
export const STOP_DEADLINE_MS = 5_000;
/** The required bound on the time from a login or logout to every old tab's `session_expired`. */
export const STOP_BOUND_MS = 1_000;

/** Resolves true once `check` holds, false after `timeoutMs`. */
async function within(timeoutMs: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface LoginScenario {
  server: DevServer;
  context: BrowserContext;
  /** The old user's tabs, open and settled. */
  oldTabs: Page[];
  /** The demo page query of the new tab, e.g. `?login=demo` or `?db=other`. */
  newTabQuery: string;
  /** The new user's partner and database: the personal channel the stream goes to. */
  partner: number;
  db?: string;
  /**
   * Send a `chat` message every 500 ms in the old user's database (default true): it ends the old
   * leader's held long-poll, as any traffic does on a real Odoo, so its next request goes out.
   */
  chatStream?: boolean;
  /** Runs right after the login's reply, before the stream starts (e.g. a socket drop at that moment). */
  afterLogin?: () => Promise<unknown>;
}

/**
 * A fourth tab of the same browser logs in as another user (or into another database). From the moment of
 * the login, one notification every 100 ms goes to the new user's personal channel; a `chat` message every
 * 500 ms in the old user's database keeps the old leader's poll from sitting out its 50 s hold, as any
 * traffic does on a real Odoo. Measures what reaches the old tabs, when they report `session_expired`,
 * and whether the new tab gets all of its own.
 */
export async function loginInNewTab(s: LoginScenario): Promise<LoginReport> {
  const { server, context, oldTabs } = s;
  const odoo = server.odoo;
  await settledLeader(oldTabs);
  await recordExpiries(oldTabs);
  const newTab = await context.newPage();
  await noteLoginStart(newTab);
  const loggedIn = newTab.waitForResponse((r) => r.url().endsWith('/web/session/authenticate'));
  const loaded = newTab.goto(`${server.url}/index.html${s.newTabQuery}`);
  expect((await loggedIn).ok()).toBe(true);
  await s.afterLogin?.();

  const send = async (target: { channel: string } | { partner: number }, text: string, db?: string) => server.send(sendBody(odoo, target, text, db));
  const personal = publishStream((_channel, text) => send({ partner: s.partner }, `private ${text}`, s.db), 100);
  const chat = s.chatStream === false ? undefined : publishStream((_channel, text) => send({ channel: 'chat' }, `public ${text}`), 500);

  await loaded;
  await newTab.waitForSelector('body[data-ready="true"]');
  const loginAt = await newTab.evaluate(() => (window as unknown as UsersWindow).__loginStartedAt!);
  const allStopped = async () => (await Promise.all(oldTabs.map(expiries))).every((list) => list.length > 0);
  const stopped = await within(STOP_DEADLINE_MS - (Date.now() - loginAt), allStopped);
  // Once they stopped, keep sending for a second: nothing may reach a stopped tab either. (A fixed window:
  // what it checks is that something does not happen.)
  if (stopped) await new Promise((r) => setTimeout(r, 1_000));
  await Promise.all([personal.stop(), chat?.stop()]);

  const sentIds = personal.sent.map((item) => item.id);
  const sentSet = new Set(sentIds);
  // The new tab must get every one of its own; the report says how many it lacks if it does not.
  await within(10_000, async () => (await receivedIds(newTab)).filter((id) => sentSet.has(id)).length === sentIds.length);
  const newIds = new Set(await receivedIds(newTab));
  const lists = await Promise.all(oldTabs.map(expiries));
  const leakedAt = (
    await Promise.all(oldTabs.map((tab) => tab.evaluate(() => Object.entries((window as unknown as DemoWindow).demo.arrivals).map(([id, at]) => [Number(id), at] as const))))
  )
    .flat()
    .filter(([id]) => sentSet.has(id))
    .map(([, at]) => at);
  return {
    sent: sentIds.length,
    leakedPerTab: await Promise.all(oldTabs.map(async (tab) => (await receivedIds(tab)).filter((id) => sentSet.has(id)).length)),
    firstLeakMs: leakedAt.length === 0 ? null : Math.min(...leakedAt) - loginAt,
    stopMsPerTab: lists.map((list) => (list[0] ? list[0].at - loginAt : null)),
    missingInNewTab: sentIds.filter((id) => !newIds.has(id)).length,
    expiries: lists.flat(),
  };
}

/** What a logout in one tab measured. */
export interface LogoutReport {
  /** ms from the start of the logout request to each tab's `session_expired`; null: none by the deadline. */
  stopMsPerTab: (number | null)[];
  /** Requests to the bus (polls on 8–15, subscribes on 16+) that reached the server after the logout. */
  busRequestsAfter: number;
  expiries: Expiry[];
}

/**
 * Logs out in `tab` the way the demo's "log out" does (tabbus's `logout()`: every tab of the server hears
 * of it, then `POST /web/session/destroy`; the addon hooks Odoo's user menu the same way), with a `chat`
 * message every 500 ms meanwhile, and measures when each tab reports `session_expired`.
 */
export async function logoutInOneTab(server: DevServer, tabs: Page[], tab: Page): Promise<LogoutReport> {
  await settledLeader(tabs);
  await recordExpiries(tabs);
  const chat = publishStream((_channel, text) => server.send(sendBody(server.odoo, { channel: 'chat' }, `public ${text}`)), 500);
  const logoutAt = await tab.evaluate(async () => {
    const at = Date.now();
    await (window as unknown as { demo: { logout(): Promise<void> } }).demo.logout();
    return at;
  });
  const allStopped = async () => (await Promise.all(tabs.map(expiries))).every((list) => list.length > 0);
  await within(STOP_DEADLINE_MS, allStopped);
  await chat.stop();
  const lists = await Promise.all(tabs.map(expiries));
  // Polls that arrived after the logout, the stopped bus's last ones included (at most one per tab may be
  // in flight), counted from the server's own log.
  const busRequestsAfter = (await server.polls(logoutAt)).length;
  return { stopMsPerTab: lists.map((list) => (list[0] ? list[0].at - logoutAt : null)), busRequestsAfter, expiries: lists.flat() };
}

/** One line for the test output (and the report): what happened, per tab. */
export function describeLogin(label: string, r: LoginReport): string {
  const stops = r.stopMsPerTab.map((ms) => (ms === null ? `none in ${STOP_DEADLINE_MS / 1000} s` : `${ms} ms`)).join(', ');
  const first = r.firstLeakMs === null ? '' : ` (the first ${r.firstLeakMs} ms after the login)`;
  return `${label}: of the new user's ${r.sent} notifications, the old tabs delivered ${r.leakedPerTab.join(' / ')}${first}; old tabs' session_expired after: ${stops}; the new tab missed ${r.missingInNewTab}`;
}

export function describeLogout(label: string, r: LogoutReport): string {
  const stops = r.stopMsPerTab.map((ms) => (ms === null ? `none in ${STOP_DEADLINE_MS / 1000} s` : `${ms} ms`)).join(', ');
  return `${label}: session_expired after: ${stops}; bus requests after the logout: ${r.busRequestsAfter}`;
}

/** The checks every login scenario must pass; soft, so one run reports every number. */
export function expectLoginContained(r: LoginReport): void {
  expect.soft(r.sent, 'notifications were sent to the new user during the run').toBeGreaterThan(5);
  expect.soft(r.leakedPerTab, "none of the new user's notifications reached the old user's tabs").toEqual(r.leakedPerTab.map(() => 0));
  expect.soft(r.stopMsPerTab.every((ms) => ms !== null && ms <= STOP_BOUND_MS), `every old tab reported session_expired within ${STOP_BOUND_MS} ms of the login`).toBe(true);
  expect(r.missingInNewTab, "the new user's tab delivered all of its own").toBe(0);
}

export function expectLogoutStops(r: LogoutReport, tabs: Page[]): Promise<void> {
  expect.soft(r.stopMsPerTab.every((ms) => ms !== null && ms <= STOP_BOUND_MS), `every tab reported session_expired within ${STOP_BOUND_MS} ms of the logout`).toBe(true);
  return Promise.all(tabs.map((tab) => expect.poll(async () => (await state(tab)).role, { timeout: 1_000 }).toBe('stopped'))).then(() => undefined);
}

/**
 * The issue-16 scenarios, declared by users.spec.ts (the server of the project: Odoo 15 long-polling,
 * Odoo 17 WebSocket) and users-odoo14.spec.ts (Odoo 14: the partner channel as a tuple item's `channel`).
 */
export function declareUserTests(): void {
  test("three tabs as admin, a fourth logs in as demo: none of demo's notifications reach admin's tabs, which report session_expired within a second; demo's tab gets all of its own", async ({ openTabs, server, context }, testInfo) => {
    const admin = await openTabs(3);
    const report = await loginInNewTab({ server, context, oldTabs: admin, newTabQuery: '?login=demo', partner: 7 });
    console.log(describeLogin(`users [${testInfo.project.name}, Odoo ${server.odoo}] login as demo`, report));
    expectLoginContained(report);
  });

  test('a tab logs in again as the same user (a new session id, as every Odoo login): no tab stops, and what is published next reaches every tab', async ({ openTabs, context, publish, server }) => {
    const tabs = await openTabs(3);
    const leader = await settledLeader(tabs);
    await recordExpiries(tabs);
    const sessionId = async () => (await context.cookies(server.url)).find((c) => c.name === 'session_id')?.value;
    const before = await sessionId();
    const follower = tabs.find((tab) => tab !== leader)!;
    const loginAt = Date.now();
    await follower.evaluate(async () => {
      const w = window as unknown as { TabBus: { authenticate(o: object): Promise<unknown> }; demo: { session: { db: string } } };
      await w.TabBus.authenticate({ db: w.demo.session.db, login: 'admin', password: 'admin' });
    });
    // The server gave the browser a new session (on 16+ it closes the socket of the old one, 4001).
    expect(await sessionId()).not.toBe(before);
    const sent = [await publish('chat', 'after the login'), await publish('chat', 'and one more')];
    for (const tab of tabs) await expectDelivered(tab, sent);
    for (const tab of tabs) {
      expect(await expiries(tab)).toEqual([]);
      expect((await state(tab)).role).not.toBe('stopped');
    }
    if (server.odoo >= 16) {
      // One new socket for the browser, subscribed once; when, is reported (Odoo's own worker waits about 1.5 s).
      const subscribes = await server.polls(loginAt);
      expect(subscribes).toHaveLength(1);
      await expect.poll(async () => (await server.connections()).open).toBe(1);
      const report = `same-user login [${test.info().project.name}]: the new socket subscribed ${subscribes[0]!.at - loginAt} ms after the login began`;
      console.log(report);
      test.info().annotations.push({ type: 'measurement', description: report });
    }
  });

  test('logout in one tab through tabbus (as the addon does for Odoo’s user menu): every tab of that user stops within a second', async ({ openTabs, server }, testInfo) => {
    const tabs = await openTabs(3);
    const leader = await settledLeader(tabs);
    const follower = tabs.find((tab) => tab !== leader)!;
    const report = await logoutInOneTab(server, tabs, follower);
    console.log(describeLogout(`users [${testInfo.project.name}, Odoo ${server.odoo}] logout in a follower`, report));
    await expectLogoutStops(report, tabs);
  });

  test('two databases on one server: a fourth tab logs in as admin to the other database (same login, same uid); none of its notifications reach the first database’s tabs, which stop within a second', async ({ context, odoo }, testInfo) => {
    const server = await DevServer.start(['--odoo', String(odoo), '--db', 'tabbus', '--db', 'other']);
    try {
      const tabs = await openOn(server, context, 3);
      const report = await loginInNewTab({ server, context, oldTabs: tabs, newTabQuery: '?db=other', partner: 3, db: 'other' });
      console.log(describeLogin(`users [${testInfo.project.name}, Odoo ${server.odoo}] login to another database`, report));
      expectLoginContained(report);
    } finally {
      // The tabs go first: a server that vanishes under them would make them log connection errors.
      for (const page of context.pages()) await page.close();
      await server.stop();
    }
  });
}
