// Sessions between the users of one browser at the awkward moments: a page that starts late, news heard while
// the scope resolves, a login whose outcome is unknown, a check that answers after a hand-off, a stopped bus.
import { describe, expect, it } from 'vitest';
import type { TabBusError } from '@tabbus/core';
import { FakeBrowser, VirtualClock } from '@tabbus/core/testing';
import { LOGIN_PENDING_FOR } from '../sessions';
import { authenticate } from '../auth';
import { createOdooBus, type OdooBusOptions } from '../create-odoo-bus';
import { eventually, onCleanup, rpcError, rpcResult, sessionExpiredError, sleep } from './helpers';

const URL_ = 'http://odoo.test';
const SESSIONS = `tabbus:${URL_}:sessions`;

/** A scriptable Odoo: whose session the one cookie holds, what get_session_info answers; polls hang until aborted. */
function fakeOdoo() {
  const state = {
    user: 2 as number | null,
    db: 'd',
    /** Replaces the get_session_info result (odd shapes). */
    info: undefined as undefined | (() => unknown),
    /** While set, get_session_info waits for it. */
    hold: undefined as Promise<void> | undefined,
    /** Polls the page gave up (aborted). */
    aborted: 0,
    /** The next this many get_session_info requests fail on the network. */
    infoFailures: 0,
  };
  /** Answers every held poll with no notifications (the leader then polls again). */
  const held = new Set<(error?: Error) => void>();
  const wake = () => {
    for (const answer of [...held]) answer();
    held.clear();
  };
  const sent: { path: string; user: number | null }[] = [];
  const fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const path = new URL(String(input)).pathname;
    sent.push({ path, user: state.user });
    if (path === '/web/session/get_session_info') {
      if (state.hold) await state.hold;
      if (state.infoFailures > 0 && state.infoFailures--) throw new TypeError('Failed to fetch');
      if (state.info) return rpcResult(state.info());
      if (state.user === null) return rpcError(sessionExpiredError);
      return rpcResult({ uid: state.user, db: state.db });
    }
    if (path === '/longpolling/poll') {
      return new Promise<Response>((resolve, reject) => {
        held.add((error) => (error ? reject(error) : resolve(rpcResult([]))));
        const signal = init.signal;
        if (signal?.aborted) reject(signal.reason);
        signal?.addEventListener('abort', () => (state.aborted++, reject(signal.reason)), { once: true });
      });
    }
    if (path === '/web/session/authenticate') {
      // The server logs demo in (the cookie changes), but the answer never reaches the page.
      state.user = 6;
      throw new TypeError('Failed to fetch');
    }
    return rpcResult(null);
  }) as typeof globalThis.fetch;
  /** Fails every held poll (a network error: the leader checks the session at once). */
  const breakPolls = () => {
    for (const answer of [...held]) answer(new TypeError('Failed to fetch'));
    held.clear();
  };
  return { state, sent, fetch, wake, breakPolls, polls: () => sent.filter((s) => s.path === '/longpolling/poll') };
}

function tabOf(fake: FakeBrowser, odoo: ReturnType<typeof fakeOdoo>, options: Partial<OdooBusOptions> = {}) {
  const tab = fake.tab();
  const bus = createOdooBus({ serverUrl: URL_, version: 15, fetch: odoo.fetch, env: tab.env(), sessionCheckInterval: 0, start: false, ...options });
  onCleanup(() => bus.stop());
  const expired: TabBusError[] = [];
  bus.on('session_expired', (e) => expired.push(e));
  bus.on('error', () => undefined);
  return { tab, bus, expired };
}

describe('the session ear', () => {
  it('bus.stop() closes the sessions channel it opened', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    const t = tabOf(fake, odoo, { uid: 2, db: 'd' });
    await t.bus.start();
    expect(fake.channels.openCount(SESSIONS)).toBe(1);
    await t.bus.stop();
    // The bus's own frames channel is closed; the sessions channel is not.
    expect(fake.channels.openCount()).toBe(0);
  });

  it('a stopped bus sends no session check when a pending login it heard times out', async () => {
    const clock = new VirtualClock();
    const fake = new FakeBrowser({ clock });
    const odoo = fakeOdoo();
    const t = tabOf(fake, odoo, { uid: 2, db: 'd', leaderTimeout: 0 });
    void t.bus.start();
    await clock.advanceAsync(100);
    expect(t.bus.state().role).toBe('leader');
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    // The channels change: the leader's next poll waits for the login to be over.
    t.bus.addChannel('x');
    await clock.advanceAsync(100);
    await t.bus.stop();
    const before = odoo.sent.length;
    await clock.advanceAsync(LOGIN_PENDING_FOR);
    expect(odoo.sent.slice(before)).toEqual([]);
  });
});

describe('restart after logging in again', () => {
  it('a bus whose uid came from the session restarts as the user now logged in', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    const t = tabOf(fake, odoo); // no uid/db: asked from get_session_info
    await t.bus.start();
    expect(t.bus.state().scope).toBe(`${URL_}|d|2`);
    // Logged out in another tab; then this page's login form logs demo in, and the page restarts its bus.
    fake.inject(SESSIONS, { kind: 'logout' });
    expect(t.expired).toHaveLength(1);
    odoo.state.user = 6;
    await t.bus.start();
    await sleep(50);
    expect(t.bus.state().scope).toBe(`${URL_}|d|6`);
    expect(t.expired).toHaveLength(1);
  });
});

describe('news heard while the scope resolves', () => {
  it('a login as another user announced while get_session_info is answering is not lost', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    // A stored pass of the scope's session check (a tab of admin alone wrote it a minute ago).
    fake.storage.setItem(`tabbus:${URL_}|d|2:checked`, JSON.stringify(Date.now() - 60_000));
    let answer!: () => void;
    odoo.state.hold = new Promise<void>((resolve) => (answer = resolve));
    const t = tabOf(fake, odoo, { sessionCheckInterval: 300_000 }); // no uid: asked from the session
    const started = t.bus.start();
    await eventually(() => odoo.sent.length).toBe(1); // get_session_info on its way (answered as admin)
    // Meanwhile another tab logs demo in: the cookie changes and the news arrives.
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    odoo.state.user = 6;
    fake.inject(SESSIONS, { kind: 'login', state: 'done', db: 'd', uid: 6 });
    odoo.state.info = () => ({ uid: 2, db: 'd' }); // the answer the server had already written
    answer();
    await started;
    odoo.state.info = undefined;
    await sleep(50);
    // This admin bus now polls with demo's cookie; nothing stops it.
    expect(odoo.polls().filter((p) => p.user === 6)).toEqual([]);
    expect(t.bus.state().role).toBe('stopped');
  });

  it('a stale page of the old user starting late stops itself before it polls with the new user\'s cookie', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    // Admin's last tab (alone) stored its check's pass a minute ago, then closed; demo logged in with
    // Odoo's own form (unannounced) and demo's page runs its bus.
    fake.storage.setItem(`tabbus:${URL_}|d|2:checked`, JSON.stringify(Date.now() - 60_000));
    odoo.state.user = 6;
    const demo = tabOf(fake, odoo, { uid: 6, db: 'd', sessionCheckInterval: 300_000 });
    await demo.bus.start();
    await eventually(() => odoo.polls().length).toBe(1);
    // A page rendered for admin before the login starts its bus now.
    const stale = tabOf(fake, odoo, { uid: 2, db: 'd', sessionCheckInterval: 300_000 });
    await stale.bus.start();
    await sleep(100);
    expect({ role: stale.bus.state().role, polls: odoo.polls().length }).toEqual({ role: 'stopped', polls: 1 });
    expect(demo.bus.state().role).not.toBe('stopped');
  });
});

describe('a login whose outcome is unknown', () => {
  it('a login that failed on the network (the server may have logged someone in) makes the leader check before it polls again', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    const admin = tabOf(fake, odoo, { uid: 2, db: 'd', sessionCheckInterval: 300_000 });
    await admin.bus.start();
    await eventually(() => odoo.polls().length).toBe(1);
    const login = authenticate({ serverUrl: URL_, fetch: odoo.fetch, db: 'd', login: 'demo', password: 'demo', env: fake.tab().env() });
    await expect(login).rejects.toMatchObject({ code: 'network' });
    await sleep(20); // the tabs hear `login: failed`
    odoo.wake(); // the held poll ends: the leader polls again
    await sleep(50);
    expect(odoo.polls().filter((p) => p.user === 6)).toEqual([]);
    expect(admin.bus.state().role).toBe('stopped');
  });
});

describe('a check that answers after a hand-off', () => {
  it('an expired session found by a check that answers after the leader handed off still stops the tabs', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    const a = tabOf(fake, odoo, { uid: 2, db: 'd', sessionCheckInterval: 300_000, backoff: { initial: 60_000 } });
    await a.bus.start();
    await eventually(() => a.bus.state().role).toBe('leader');
    const b = tabOf(fake, odoo, { uid: 2, db: 'd', sessionCheckInterval: 300_000 });
    await b.bus.start();
    await eventually(() => odoo.sent.filter((r) => r.path === '/web/session/get_session_info').length).toBe(1); // A's first check passed
    await sleep(20);
    // The session ends (a curl, another app); a poll error makes the leader check at once; the answer is slow.
    let answer!: () => void;
    odoo.state.hold = new Promise<void>((resolve) => (answer = resolve));
    odoo.state.user = null;
    odoo.breakPolls();
    await eventually(() => odoo.sent.filter((r) => r.path === '/web/session/get_session_info').length).toBe(2);
    // Meanwhile A hands the connection to B (a visible tab claimed it, or the app called handoff()).
    expect(a.bus.handoff()).toBe(true);
    await eventually(() => b.bus.state().role).toBe('leader');
    answer(); // A's check: the session expired
    await sleep(100);
    expect([a.bus.state().role, b.bus.state().role]).toEqual(['stopped', 'stopped']);
  });
});

describe('a logged-out session on Odoo 8/9', () => {
  it('get_session_info answering uid and db null (auth="none" there) is a logout, not a protocol error', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    odoo.state.info = () => ({ session_id: 'x', uid: null, user_context: {}, db: null, username: null });
    const t = tabOf(fake, odoo, { uid: 2, db: 'd', version: 8 });
    await t.bus.start();
    await eventually(() => t.bus.state().role).toBe('stopped');
    expect(t.expired.map((e) => e.context?.['reason'])).toEqual(['logout']);
  });
});

describe('a session check that races a login', () => {
  it('a check sent with the cookie a login as the same user then replaced asks again once the login is over, and stops nothing', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    let answer!: () => void;
    odoo.state.hold = new Promise<void>((resolve) => (answer = resolve));
    const t = tabOf(fake, odoo, { uid: 2, db: 'd' });
    await t.bus.start();
    await eventually(() => odoo.sent.filter((r) => r.path === '/web/session/get_session_info').length).toBe(1);
    // Another tab logs in again as the same user: the old session is gone before the new cookie is set.
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    odoo.state.user = null;
    answer();
    await sleep(20);
    expect(t.bus.state().role).not.toBe('stopped');
    odoo.state.user = 2;
    fake.inject(SESSIONS, { kind: 'login', state: 'done', db: 'd', uid: 2 });
    await eventually(() => odoo.sent.filter((r) => r.path === '/web/session/get_session_info').length).toBe(2);
    await sleep(20);
    expect(t.bus.state().role).not.toBe('stopped');
    expect(t.expired).toEqual([]);
  });

  it('a check that finds the session gone with no login heard of stops the tabs at once', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    odoo.state.user = null;
    const t = tabOf(fake, odoo, { uid: 2, db: 'd' });
    await t.bus.start();
    await eventually(() => t.bus.state().role).toBe('stopped');
    expect(t.expired.map((e) => e.context?.['reason'])).toEqual(['logout']);
    expect(odoo.sent.filter((r) => r.path === '/web/session/get_session_info')).toHaveLength(1);
  });
});

describe('a login while a long-poll is held (Odoo 8–15)', () => {
  it('the held poll is given up when the login starts (its answer would bring back the old cookie) and goes again once the login is over', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    const t = tabOf(fake, odoo, { uid: 2, db: 'd' });
    await t.bus.start();
    await eventually(() => odoo.polls().length).toBe(1);
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    await eventually(() => odoo.state.aborted).toBe(1);
    await sleep(20);
    expect(odoo.polls()).toHaveLength(1);
    fake.inject(SESSIONS, { kind: 'login', state: 'done', db: 'd', uid: 2 });
    await eventually(() => odoo.polls().length).toBe(2);
    expect(t.bus.state().role).not.toBe('stopped');
    expect(t.expired).toEqual([]);
  });
});

// Odoo's own login form (the addon's session_news.js) says `pending` on submit, and on the page the form led to
// (in the same tab) `over`: the cookie has changed by then, but that page's script cannot tell whose session
// it is. The leaders went on only after LOGIN_PENDING_FOR (30 s without a notification) before.
/** One tab of user 2 leading, its first poll out, its session checked every 5 min; `checks()` counts the checks sent. */
const leading = async () => {
  const clock = new VirtualClock();
  const fake = new FakeBrowser({ clock });
  const odoo = fakeOdoo();
  const t = tabOf(fake, odoo, { uid: 2, db: 'd', leaderTimeout: 0, sessionCheckInterval: 300_000 });
  void t.bus.start();
  await clock.advanceAsync(100);
  expect(odoo.polls()).toHaveLength(1);
  return { clock, fake, odoo, t, checks: () => odoo.sent.filter((r) => r.path === '/web/session/get_session_info').length };
};

describe("a login through Odoo's form (pending, then over)", () => {

  it('as the same user: the leader asks whose session it is as soon as the login is said to be over, and polls again', async () => {
    const { clock, fake, odoo, t, checks } = await leading();
    const checked = checks();
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    await clock.advanceAsync(1000); // the form's POST, the redirect, the web client's load
    expect(odoo.polls()).toHaveLength(1);
    fake.inject(SESSIONS, { kind: 'login', state: 'over' });
    await clock.advanceAsync(100);
    expect({ polls: odoo.polls().length, checks: checks() - checked, role: t.bus.state().role }).toEqual({ polls: 2, checks: 1, role: 'leader' });
  });

  it("as another user: the old user's bus stops as soon as the login is said to be over", async () => {
    const { clock, fake, odoo, t } = await leading();
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    await clock.advanceAsync(1000);
    odoo.state.user = 6;
    fake.inject(SESSIONS, { kind: 'login', state: 'over' });
    await clock.advanceAsync(100);
    expect(t.bus.state().role).toBe('stopped');
    expect(t.expired.map((e) => e.context?.['reason'])).toEqual(['user_changed']);
    expect(odoo.polls().filter((p) => p.user === 6)).toEqual([]);
  });

  it('a page of the old user that starts its bus during the login does not end it (its news proves nothing of the cookie)', async () => {
    const { clock, fake, odoo, t } = await leading();
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    await clock.advanceAsync(100);
    fake.inject(SESSIONS, { kind: 'scope', db: 'd', uid: 2 });
    await clock.advanceAsync(1000);
    expect(odoo.polls()).toHaveLength(1);
    expect(t.bus.state().role).toBe('leader');
  });

  it('an `over` heard while the leader holds a poll (no login heard of) makes it ask before its next poll', async () => {
    const { clock, fake, odoo, checks } = await leading();
    const checked = checks();
    fake.inject(SESSIONS, { kind: 'login', state: 'over' });
    await clock.advanceAsync(10);
    odoo.wake();
    await clock.advanceAsync(100);
    expect({ polls: odoo.polls().length, checks: checks() - checked }).toEqual({ polls: 2, checks: 1 });
  });

  it('a check for an `over` that gets no answer: the poll after the backoff waits for one that does (the leader checks after a failure)', async () => {
    const fake = new FakeBrowser();
    const odoo = fakeOdoo();
    // The transport's backoff runs on real timers: a short one.
    const t = tabOf(fake, odoo, { uid: 2, db: 'd', sessionCheckInterval: 300_000, backoff: { initial: 30, jitter: 0 } });
    await t.bus.start();
    await eventually(() => odoo.polls().length).toBe(1);
    odoo.state.infoFailures = 1;
    fake.inject(SESSIONS, { kind: 'login', state: 'over' });
    await sleep(10);
    odoo.wake();
    await eventually(() => odoo.polls().length).toBe(2);
    const paths = odoo.sent.map((r) => r.path);
    // The poll after the failed check went only after a check that got an answer.
    const failed = paths.indexOf('/web/session/get_session_info');
    expect(paths.slice(failed + 1, -1)).toContain('/web/session/get_session_info');
    expect(t.bus.state().role).toBe('leader');
  });

  it('a login announced after that is pending again until its own end', async () => {
    const { clock, fake, odoo } = await leading();
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    fake.inject(SESSIONS, { kind: 'login', state: 'over' });
    await clock.advanceAsync(100);
    expect(odoo.polls()).toHaveLength(2);
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    await clock.advanceAsync(1000);
    expect(odoo.polls()).toHaveLength(2);
  });
});

describe('the periodic session check while someone logs in (Odoo 8–15)', () => {
  it('waits for the login to be over: its answer would set the cookie it was sent with back over the one the login gave', async () => {
    const { clock, fake, t, checks } = await leading();
    const checked = checks();
    // A login starts in another tab just before the next check is due.
    await clock.advanceAsync(299_000);
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    await clock.advanceAsync(2000);
    // Due meanwhile: not sent while the cookie is in flux (Odoo 8–15 answer every request with the cookie it came with).
    expect(checks() - checked).toBe(0);
    fake.inject(SESSIONS, { kind: 'login', state: 'done', db: 'd', uid: 2 });
    await clock.advanceAsync(100);
    expect(checks() - checked).toBe(1);
    expect(t.bus.state().role).toBe('leader');
    expect(t.expired).toEqual([]);
  });
});

describe('a public page (uid: false) while someone logs in (Odoo 8–15)', () => {
  it('gives up its held poll and polls again only once the login is over (a poll sent with the old cookie would set it back after the login)', async () => {
    const clock = new VirtualClock();
    const fake = new FakeBrowser({ clock });
    const odoo = fakeOdoo();
    odoo.state.user = null;
    const t = tabOf(fake, odoo, { uid: false, db: 'd', leaderTimeout: 0 });
    void t.bus.start();
    await clock.advanceAsync(100);
    expect(odoo.polls()).toHaveLength(1);
    fake.inject(SESSIONS, { kind: 'login', state: 'pending' });
    await clock.advanceAsync(1000);
    expect({ aborted: odoo.state.aborted, polls: odoo.polls().length }).toEqual({ aborted: 1, polls: 1 });
    odoo.state.user = 6;
    fake.inject(SESSIONS, { kind: 'login', state: 'over' });
    await clock.advanceAsync(100);
    // It goes on as it always did, with the cookie the browser now holds; it asks nobody and stops for nobody.
    expect(odoo.polls().map((p) => p.user)).toEqual([null, 6]);
    expect(odoo.sent.filter((r) => r.path === '/web/session/get_session_info')).toEqual([]);
    expect(t.bus.state().role).toBe('leader');
  });
});
