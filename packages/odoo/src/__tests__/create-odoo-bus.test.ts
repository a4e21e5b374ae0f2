// createOdooBus: option checks, the scope (given, or asked from /web/session/get_session_info), and one
// bus end to end against the dev server, in a fake browser tab.
import { describe, expect, it } from 'vitest';
import { TabBusError } from '@tabbus/core';
import { createOdooBus, type OdooBus, type OdooBusOptions } from '../create-odoo-bus';
import type { OdooNotification } from '../notifications';
import { FakeBrowser } from '@tabbus/core/testing';
import { cookieFetch, eventually, FakeFetch, login, onCleanup, sleep, startServer, untilOpenPolls } from './helpers';

function bus(options: OdooBusOptions): OdooBus {
  const created = createOdooBus(options);
  onCleanup(() => created.stop());
  return created;
}

/** A tab of a fresh fake browser. */
const tabEnv = () => new FakeBrowser().tab().env();

describe('createOdooBus: options', () => {
  it.each([20, 7, '15', 'AUTO'])('throws a config TabBusError for version %j', (version) => {
    const fetch = new FakeFetch();
    let error: unknown;
    try {
      createOdooBus({ version: version as never, fetch: fetch.fetch, start: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'config' });
    expect(fetch.calls).toEqual([]);
  });

  it.each([1.5, Number.NaN, '2', true, null, -0.1])('throws a config TabBusError for uid %j', (uid) => {
    expect(() => createOdooBus({ uid: uid as never, start: false })).toThrow(TabBusError);
    try {
      createOdooBus({ uid: uid as never, start: false });
    } catch (e) {
      expect(e).toMatchObject({ code: 'config' });
      expect((e as Error).message).toContain('uid');
    }
  });

  it.each([2, 0, false] as const)('accepts uid %j', (uid) => {
    expect(() => createOdooBus({ uid, start: false })).not.toThrow();
  });

  it('with start: false and a uid sends nothing', async () => {
    const fetch = new FakeFetch();
    bus({ serverUrl: 'http://o.test', uid: 2, db: 'd', fetch: fetch.fetch, start: false, env: tabEnv() });
    await sleep(10);
    expect(fetch.calls).toEqual([]);
  });
});

describe('createOdooBus: the scope', () => {
  it('asks get_session_info when no uid is given', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const b = bus({ serverUrl: server.url, fetch: session.fetch, start: false, coordination: 'none', env: tabEnv() });
    await b.start();
    expect(b.state().scope).toBe(`${server.url}|tabbus|2`);
    expect(server.stats().requests['/web/session/get_session_info']).toBe(1);
  });

  it('uses the db option over the one the session reports', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server, 'demo');
    const b = bus({ serverUrl: server.url, db: 'other', fetch: session.fetch, start: false, coordination: 'none', env: tabEnv() });
    await b.start();
    expect(b.state().scope).toBe(`${server.url}|other|6`);
  });

  it('does not ask the server when uid is given', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const b = bus({ serverUrl: `${server.url}/`, uid: 2, db: 'tabbus', fetch: session.fetch, start: false, coordination: 'none', env: tabEnv() });
    await b.start();
    expect(b.state().scope).toBe(`${server.url}|tabbus|2`);
    expect(server.stats().requests['/web/session/get_session_info']).toBeUndefined();
  });

  it('asks for the db when only the uid is given, so every tab computes the same scope', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const b = bus({ serverUrl: server.url, uid: 2, fetch: session.fetch, start: false, coordination: 'none', env: tabEnv() });
    await b.start();
    expect(b.state().scope).toBe(`${server.url}|tabbus|2`);
    expect(server.stats().requests['/web/session/get_session_info']).toBe(1);
  });

  it('names a public scope "public"', async () => {
    const b = bus({ serverUrl: 'http://o.test', uid: false, db: 'd', fetch: new FakeFetch().fetch, start: false, coordination: 'none', env: tabEnv() });
    await b.start();
    expect(b.state().scope).toBe('http://o.test|d|public');
  });

  it('rejects start() with session_expired when nobody is logged in, and emits the error', async () => {
    const server = await startServer({ odoo: 15 });
    const b = bus({ serverUrl: server.url, fetch: cookieFetch(undefined).fetch, start: false, coordination: 'none', env: tabEnv() });
    const errors: TabBusError[] = [];
    b.on('error', (e) => errors.push(e));
    await expect(b.start()).rejects.toMatchObject({ code: 'session_expired', fatal: true });
    expect(errors.map((e) => e.code)).toEqual(['session_expired']);
    expect(b.state().role).toBe('stopped');
    await sleep(10);
    expect(server.stats().requests['/longpolling/poll']).toBeUndefined();
  });
});

describe('createOdooBus: the session check fails', () => {
  it('start() rejects with a network error when get_session_info gets no answer', async () => {
    const fetch = new FakeFetch(new TypeError('fetch failed'));
    const b = bus({ serverUrl: 'http://o.test', fetch: fetch.fetch, start: false, coordination: 'none', env: tabEnv() });
    const errors: string[] = [];
    b.on('error', (e) => errors.push(e.code));
    await expect(b.start()).rejects.toMatchObject({ code: 'network' });
    expect(errors).toEqual(['network']);
    expect(fetch.calls.map((c) => c.url)).toEqual(['http://o.test/web/session/get_session_info']);
  });

  it('start() rejects with a network error (not "could not resolve the scope") when the reply breaks off', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"jsonrpc":"2.0","id":1,"result":{"uid":2,'));
        controller.error(new TypeError('terminated'));
      },
    });
    const b = bus({ serverUrl: 'http://o.test', fetch: new FakeFetch(new Response(body)).fetch, start: false, coordination: 'none', env: tabEnv() });
    b.on('error', () => undefined);
    const error = await b.start().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'network' });
  });
});

describe('createOdooBus: auto start', () => {
  it('a stop() right after creation wins over the auto start', async () => {
    const fetch = new FakeFetch();
    const b = bus({ serverUrl: 'http://o.test', fetch: fetch.fetch, coordination: 'none', env: tabEnv() });
    await b.stop();
    await sleep(10);
    expect(fetch.calls).toEqual([]);
    expect(b.state().role).toBe('stopped');
  });

  it('start: true (the default) asks who is logged in without being told to', async () => {
    const fetch = new FakeFetch();
    bus({ serverUrl: 'http://o.test', fetch: fetch.fetch, coordination: 'none', env: tabEnv() });
    await eventually(() => fetch.calls.map((c) => c.url)).toEqual(['http://o.test/web/session/get_session_info']);
  });
});

describe('createOdooBus against the dev server', () => {
  it('starts by itself, polls once and delivers Odoo 15 notifications; stop() ends the poll', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const b = bus({ serverUrl: `${server.url}//`, fetch: session.fetch, channels: ['chat'], coordination: 'none', env: tabEnv() });
    const received: OdooNotification[] = [];
    b.on('notification', (items) => received.push(...items));
    await untilOpenPolls(server, 1);
    expect(session.polls[0]).toMatchObject({ channels: ['chat'], last: 0 });

    const id = server.publish('chat', { type: 'chat/message', payload: { text: 'hi' } });
    await eventually(() => received).toEqual([{ id, type: 'chat/message', payload: { text: 'hi' } }]);
    await eventually(() => b.state().cursor).toBe(id);

    await b.stop();
    await untilOpenPolls(server, 0);
  });

  it('elects itself with Web Locks (coordination auto) and delivers Odoo 14 notifications of its channels', async () => {
    const server = await startServer({ odoo: 14 });
    const session = await login(server);
    const b = bus({ serverUrl: server.url, version: 14, fetch: session.fetch, channels: ['chat'], env: tabEnv() });
    const received: OdooNotification[] = [];
    b.on('notification', (items) => received.push(...items));
    await untilOpenPolls(server, 1);
    await eventually(() => b.state().role).toBe('leader');
    expect(b.state().mode).toBe('locks');

    const id = server.publish('chat', { text: 'hello' });
    await eventually(() => received).toEqual([{ id, channel: 'chat', message: { text: 'hello' } }]);
  });

  it('addChannel() restarts the poll with the new channel', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const b = bus({ serverUrl: server.url, fetch: session.fetch, channels: ['a'], coordination: 'none', env: tabEnv() });
    const received: OdooNotification[] = [];
    b.on('notification', (items) => received.push(...items));
    await untilOpenPolls(server, 1);
    b.addChannel('b');
    await eventually(() => session.polls[session.polls.length - 1]?.channels).toEqual(['a', 'b']);
    await untilOpenPolls(server, 1);
    const id = server.publish('b', { type: 'on/b', payload: 1 });
    await eventually(() => received.map((n) => n.id)).toEqual([id]);
    expect(server.stats().openPolls).toBeLessThanOrEqual(1);
  });

  it('two tabs share one poll; on 14 each tab gets only the channels it joined, on 15 every tab gets everything', async () => {
    for (const version of [14, 15] as const) {
      const server = await startServer({ odoo: version });
      const session = await login(server);
      const browser = new FakeBrowser();
      const tabs = ['a', 'b'].map((channel) => {
        const b = bus({ serverUrl: server.url, version, fetch: session.fetch, channels: [channel], env: browser.tab().env() });
        const received: number[] = [];
        b.on('notification', (items) => received.push(...items.map((n) => n.id)));
        return { b, received };
      });
      await eventually(() => session.polls[session.polls.length - 1]?.channels).toEqual(['a', 'b']);
      await untilOpenPolls(server, 1);
      expect(tabs.filter((t) => t.b.state().role === 'leader')).toHaveLength(1);
      server.resetStats(); // the peak restarts from the one poll held now
      const message = (n: number) => (version === 15 ? { type: 't', payload: n } : n);
      const onA = server.publish('a', message(1));
      const onB = server.publish('b', message(2));
      if (version === 14) {
        await eventually(() => tabs.map((t) => t.received)).toEqual([[onA], [onB]]);
      } else {
        await eventually(() => tabs.map((t) => t.received)).toEqual([
          [onA, onB],
          [onA, onB],
        ]);
      }
      expect(server.stats().peakOpenPollsPerSession).toBe(1);
      for (const t of tabs) await t.b.stop();
    }
  });
});
