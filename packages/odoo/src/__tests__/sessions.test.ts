// One browser, several users: the session cookie is one per host, so a login as another user (or into
// another database) or a logout in one tab ends the other users' buses, before any of them polls with the
// new cookie. Real dev server, buses of one fake browser sharing one cookie jar.
import { describe, expect, it } from 'vitest';
import type { TabBusError } from '@tabbus/core';
import { FakeBrowser, VirtualClock } from '@tabbus/core/testing';
import { authenticate, logout } from '../auth';
import { createOdooBus, type OdooBusOptions } from '../create-odoo-bus';
import { announceSession, hearSessions, LOGIN_PENDING_FOR } from '../sessions';
import type { DevServer } from '../../../dev-server/src/index';
import { eventually, onCleanup, sleep, startServer, untilOpenPolls } from './helpers';

/** A browser: one cookie jar, set by every Set-Cookie, sent with every request; and its tabs. */
function browser(server: DevServer) {
  const fake = new FakeBrowser();
  const jar = { cookie: '' };
  /** Every request the browser sent, with the cookie it carried. */
  const sent: { path: string; cookie: string }[] = [];
  const fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (jar.cookie) headers.set('cookie', jar.cookie);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    sent.push({ path: new URL(url).pathname, cookie: jar.cookie });
    const response = await globalThis.fetch(input, { ...init, headers });
    const id = /(?:^|[;,]\s*)session_id=([^;]*)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
    if (id) jar.cookie = `session_id=${id}`;
    return response;
  }) as typeof globalThis.fetch;
  const tab = (options: Partial<OdooBusOptions> = {}) => {
    const env = fake.tab().env();
    const bus = createOdooBus({ serverUrl: server.url, version: 15, fetch, env, sessionCheckInterval: 0, ...options });
    onCleanup(() => bus.stop());
    const expired: TabBusError[] = [];
    bus.on('session_expired', (e) => expired.push(e));
    return { bus, expired, env };
  };
  const login = (user: string, db = server.db) => authenticate({ serverUrl: server.url, fetch, db, login: user, password: user, env: fake.tab().env() });
  return { fake, jar, sent, fetch, tab, login };
}

const polls = (b: ReturnType<typeof browser>) => b.sent.filter((r) => r.path === '/longpolling/poll');

describe('session news between tabs', () => {
  it('a pending login is pending until it is said to be done or failed, or for LOGIN_PENDING_FOR at most', async () => {
    const clock = new VirtualClock();
    const fake = new FakeBrowser({ clock });
    const tab = fake.tab();
    const heard: unknown[] = [];
    const ear = hearSessions('o', tab.env() as never, (news) => heard.push(news));
    const other = { openChannel: (n: string) => fake.tab().openChannel(n) };
    announceSession('o', { kind: 'login', state: 'pending' }, other);
    await clock.advanceAsync(1);
    expect(ear.pending).toBe(true);
    const outcome = ear.settled();
    announceSession('o', { kind: 'login', state: 'failed' }, other);
    await clock.advanceAsync(1);
    expect(await outcome).toBe('failed');
    expect(ear.pending).toBe(false);
    announceSession('o', { kind: 'login', state: 'pending' }, other);
    await clock.advanceAsync(1);
    const never = ear.settled();
    await clock.advanceAsync(LOGIN_PENDING_FOR);
    expect(await never).toBe('timeout');
    expect(ear.pending).toBe(false);
    expect(heard).toHaveLength(3);
  });

  it('one session check at a time', async () => {
    const tab = new FakeBrowser().tab();
    const ear = hearSessions('o', tab.env() as never, () => undefined);
    let calls = 0;
    let release!: () => void;
    const check = () => {
      calls++;
      return new Promise<void>((resolve) => (release = resolve));
    };
    const first = ear.verify(check);
    expect(ear.verify(check)).toBe(first);
    expect(ear.checking).toBe(first);
    release();
    await first;
    expect(calls).toBe(1);
    expect(ear.checking).toBeUndefined();
  });

  it('ignores what is not session news', async () => {
    const tab = new FakeBrowser().tab();
    const heard: unknown[] = [];
    hearSessions('o', tab.env() as never, (news) => heard.push(news));
    const channel = tab.browser.tab().openChannel('tabbus:o:sessions');
    for (const junk of [null, 1, {}, { kind: 'scope', db: 'x' }, { kind: 'login', state: 'done' }, { kind: 'login', state: 'maybe' }]) channel.post(junk);
    channel.post({ kind: 'logout' });
    await eventually(() => heard).toEqual([{ kind: 'logout' }]);
  });
});

describe('one browser, several users', () => {
  it('a login as another user in another tab stops the old user\'s tabs before any poll carries the new cookie', async () => {
    const server = await startServer({ odoo: 15 });
    const b = browser(server);
    await b.login('admin');
    const adminCookie = b.jar.cookie;
    const tabs = [b.tab({ channels: ['chat'] }), b.tab({ channels: ['chat'] }), b.tab({ channels: ['chat'] })];
    await untilOpenPolls(server, 1);
    for (const t of tabs) await eventually(() => t.bus.state().scope).toBe(`${server.url}|${server.db}|2`);

    // Traffic ends each held poll at once, so the leader polls again and again while the login runs.
    const traffic = setInterval(() => server.publish('chat', { type: 'chat/message', payload: 'x' }), 5);
    onCleanup(() => clearInterval(traffic));
    const info = await b.login('demo');
    expect(info.uid).toBe(6);
    for (const t of tabs) await eventually(() => t.expired.length).toBe(1);
    for (const t of tabs) {
      expect(t.expired[0]!.context).toMatchObject({ reason: 'user_changed' });
      expect(t.bus.state().role).toBe('stopped');
    }
    await sleep(50);
    expect(polls(b).filter((p) => p.cookie !== adminCookie)).toEqual([]);
    await untilOpenPolls(server, 0);
  });

  it('a tab of the new user starting stops the old user\'s tabs after a session check; a stale page of the old user does not stop the new one', async () => {
    const server = await startServer({ odoo: 15 });
    const b = browser(server);
    await b.login('admin');
    const old = [b.tab(), b.tab()];
    await untilOpenPolls(server, 1);
    // A login the page did not announce (Odoo's login form): only the new user's bus starting tells.
    const response = await b.fetch(`${server.url}/web/session/authenticate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db: server.db, login: 'demo', password: 'demo' }, id: 1 }) });
    expect(response.status).toBe(200);
    const demo = b.tab();
    for (const t of old) await eventually(() => t.expired.length).toBe(1);
    expect(old[0]!.expired[0]!.context).toMatchObject({ reason: 'user_changed', actual: 6 });
    // A page rendered for admin before the login starts its bus late: the session says it is demo's now.
    const stale = b.tab({ uid: 2, db: server.db });
    await eventually(() => stale.expired.length).toBe(1);
    await sleep(50);
    expect(demo.expired).toEqual([]);
    expect(demo.bus.state().role).not.toBe('stopped');
  });

  it('a logout in one tab stops every tab of the user at once', async () => {
    const server = await startServer({ odoo: 15 });
    const b = browser(server);
    await b.login('admin');
    const tabs = [b.tab(), b.tab()];
    await untilOpenPolls(server, 1);
    const before = polls(b).length;
    await logout({ serverUrl: server.url, fetch: b.fetch, env: b.fake.tab().env() });
    for (const t of tabs) await eventually(() => t.expired.length).toBe(1);
    expect(tabs[0]!.expired[0]!.context).toMatchObject({ reason: 'logout' });
    await sleep(50);
    expect(polls(b).length).toBe(before);
  });

  it('a login as the same user again changes nothing', async () => {
    const server = await startServer({ odoo: 15 });
    const b = browser(server);
    await b.login('admin');
    const t = b.tab();
    await untilOpenPolls(server, 1);
    await b.login('admin');
    await sleep(100);
    expect(t.expired).toEqual([]);
    expect(t.bus.state().role).toBe('leader');
  });

  it('a failed login leaves the buses as they were', async () => {
    const server = await startServer({ odoo: 15 });
    const b = browser(server);
    await b.login('admin');
    const t = b.tab();
    await untilOpenPolls(server, 1);
    await expect(authenticate({ serverUrl: server.url, fetch: b.fetch, db: server.db, login: 'admin', password: 'wrong', env: b.fake.tab().env() })).rejects.toThrow();
    await sleep(100);
    expect(t.expired).toEqual([]);
    expect(t.bus.state().role).toBe('leader');
  });

  it('a public page neither stops nor is stopped', async () => {
    const server = await startServer({ odoo: 15 });
    const b = browser(server);
    const visitor = b.tab({ uid: false, db: server.db });
    await untilOpenPolls(server, 1);
    await b.login('demo');
    await sleep(100);
    expect(visitor.expired).toEqual([]);
  });

  it('a stale page of admin starting after an unannounced login never shows demo\'s private notifications', async () => {
    const server = await startServer({ odoo: 15 });
    const b = browser(server);
    await b.login('admin');
    // Admin's one tab, with the default check interval: alone, it stores its check's pass for the next page.
    const admin = b.tab({ sessionCheckInterval: 300_000 });
    await untilOpenPolls(server, 1);
    await eventually(() => b.fake.storage.getItem(`tabbus:${server.url}|${server.db}|2:checked`)).not.toBeNull();
    await admin.bus.stop();
    // Demo logs in with Odoo's own login form (unannounced) and demo's page starts its bus.
    await b.fetch(`${server.url}/web/session/authenticate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db: server.db, login: 'demo', password: 'demo' }, id: 1 }) });
    const demo = b.tab({ sessionCheckInterval: 300_000 });
    await eventually(() => demo.bus.state().role).toBe('leader');
    await untilOpenPolls(server, 1);
    await sleep(20);
    // A page rendered for admin before the login starts its bus late.
    const stale = b.tab({ uid: 2, db: server.db, sessionCheckInterval: 300_000 });
    const seen: unknown[] = [];
    stale.bus.on('notification', (items) => seen.push(...items));
    await eventually(() => stale.bus.state().role === 'stopped' || server.stats().openPolls === 2).toBe(true);
    // Demo's private notification, on demo's partner channel (7).
    await globalThis.fetch(`${server.url}/tabbus/send`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ partner: 7, type: 'mail.message/inbox', payload: 'for demo only' }) });
    await sleep(200);
    expect(seen).toEqual([]);
    expect(stale.bus.state().role).toBe('stopped');
  });
});
