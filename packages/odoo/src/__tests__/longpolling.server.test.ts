// LongpollingTransport against the real dev server (started in-process from its sources): what goes
// over the wire, what comes back, and how the held poll behaves on refresh and close.
import { describe, expect, it } from 'vitest';
import { TabBusError } from '@tabbus/core';
import { LongpollingTransport, type LongpollingOptions } from '../longpolling';
import { fetchSessionInfo } from '../session';
import type { OdooVersion } from '../versions';
import { cookieFetch, eventually, login, pollRequests, RecordingSink, sleep, startServer, track, untilOpenPolls, type Session } from './helpers';
import type { DevServer } from '../../../dev-server/src/index';

async function openTransport(
  server: DevServer,
  session: Session,
  sink: RecordingSink,
  options: Partial<LongpollingOptions> = {},
): Promise<LongpollingTransport> {
  const transport = track(
    new LongpollingTransport({ serverUrl: server.url, version: server.odoo as OdooVersion, fetch: session.fetch, ...options }),
  );
  transport.open(sink);
  return transport;
}

describe('LongpollingTransport on Odoo 15 (dev server)', () => {
  it('delivers {id, type, payload} items and polls again from the new cursor', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'] });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    expect(sink.states).toEqual(['open']);
    expect(sink.batches).toEqual([]);

    const id = server.publish('chat', { type: 'chat/message', payload: { text: 'hi', n: 1 } });
    await eventually(() => sink.items).toEqual([{ id, type: 'chat/message', payload: { text: 'hi', n: 1 } }]);
    // The next poll is sent at once, with `last` = the sink's new cursor, and held again.
    await untilOpenPolls(server, 1);
    expect(session.polls.map((p) => p.last)).toEqual([0, id]);
    expect(session.polls[1]!.channels).toEqual(['chat']);
    expect(sink.requests).toBe(2);
    expect(sink.errors).toEqual([]);
  });

  it('delivers a batch in server order, in one receive()', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['jobs'] });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    const response = await fetch(`${server.url}/tabbus/send`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([
        { channel: 'jobs', type: 'job/progress', payload: 10 },
        { channel: 'jobs', type: 'job/progress', payload: 20 },
        { channel: 'jobs', type: 'job/done', payload: null },
      ]),
    });
    const { ids } = (await response.json()) as { ids: number[] };
    await eventually(() => sink.batches.length).toBe(1);
    expect(sink.batches[0]).toEqual([
      { id: ids[0], type: 'job/progress', payload: 10 },
      { id: ids[1], type: 'job/progress', payload: 20 },
      { id: ids[2], type: 'job/done', payload: null },
    ]);
  });

  it('receives the broadcast channel without asking for it', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: [] });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    server.publish('elsewhere', { type: 'not/mine', payload: 0 });
    const id = server.publish('broadcast', { type: 'maintenance', payload: { in: 5 } });
    await eventually(() => sink.items).toEqual([{ id, type: 'maintenance', payload: { in: 5 } }]);
  });

  it('sends the cursor from sink.cursor(): nothing at or below it comes back', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const first = server.publish('chat', { type: 'm', payload: 1 });
    const second = server.publish('chat', { type: 'm', payload: 2 });
    const third = server.publish('chat', { type: 'm', payload: 3 });
    const sink = new RecordingSink({ channels: ['chat'], cursor: second });
    await openTransport(server, session, sink);
    await eventually(() => sink.items.map((n) => n.id)).toEqual([third]);
    expect(session.polls[0]!.last).toBe(second);
    expect(server.stats().lastId).toBe(third);
    expect(sink.items.map((n) => n.id)).not.toContain(first);
    // With the cursor at the newest row the poll is held, not answered.
    await untilOpenPolls(server, 1);
    expect(session.polls[1]!.last).toBe(third);
    expect(sink.batches).toHaveLength(1);
  });

  it('with cursor 0 catches up on the rows of the last 50 s', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const a = server.publish('chat', { type: 'm', payload: 'a' });
    const b = server.publish('chat', { type: 'm', payload: 'b' });
    const sink = new RecordingSink({ channels: ['chat'] });
    await openTransport(server, session, sink);
    await eventually(() => sink.items.map((n) => n.id)).toEqual([a, b]);
  });

  it('re-polls after the server ends a hold with [] (clock moved 50 s)', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'] });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    server.clock.advance(50_000);
    await eventually(() => sink.batches).toEqual([[]]);
    await eventually(() => pollRequests(server)).toBe(2);
    await untilOpenPolls(server, 1);
    expect(sink.errors).toEqual([]);
    expect(server.stats().polls).toBe(1);
  });

  it('sends bus_inactivity in the options (10–15)', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'], inactivity: 1200.4 });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    expect(session.polls[0]).toEqual({ channels: ['chat'], last: 0, options: { bus_inactivity: 1200 } });
  });
});

describe('LongpollingTransport on Odoo 14 and 8 (dev server)', () => {
  it('delivers {id, channel, message} items on 14, with the channel as the client spelled it', async () => {
    const server = await startServer({ odoo: 14 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat', 'jobs'] });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    const id = server.publish('jobs', { progress: 42, nested: ['x'] });
    await eventually(() => sink.items).toEqual([{ id, channel: 'jobs', message: { progress: 42, nested: ['x'] } }]);
  });

  it('has no broadcast channel on 14', async () => {
    const server = await startServer({ odoo: 14 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'] });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    server.publish('broadcast', 'not for 14');
    const id = server.publish('chat', 'hello');
    await eventually(() => sink.items).toEqual([{ id, channel: 'chat', message: 'hello' }]);
  });

  it('sends im_presence on 8 and still gets raw messages', async () => {
    const server = await startServer({ odoo: 8 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'], inactivity: 120_000 });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    expect(session.polls[0]!.options).toEqual({ im_presence: false });
    sink.inactivityValue = 10;
    const id = server.publish('chat', [1, 'two']);
    await eventually(() => sink.items).toEqual([{ id, channel: 'chat', message: [1, 'two'] }]);
    await untilOpenPolls(server, 1);
    expect(session.polls[1]!.options).toEqual({ im_presence: true });
  });
});

describe('refresh() and close() against the server', () => {
  it('refresh() aborts the held poll and re-polls at once with the new channels', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['a'] });
    const transport = await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);

    sink.channelList = ['a', 'b'];
    transport.refresh();
    await eventually(() => session.polls.length).toBe(2);
    expect(session.polls[1]!.channels).toEqual(['a', 'b']);
    await untilOpenPolls(server, 1);

    const id = server.publish('b', { type: 'on/b', payload: true });
    await eventually(() => sink.items).toEqual([{ id, type: 'on/b', payload: true }]);
    await untilOpenPolls(server, 1);
    // The aborted poll is gone for good: one poll held for the session, no error, no backoff.
    await sleep(20);
    expect(server.stats().openPolls).toBe(1);
    expect(Object.values(server.stats().openPollsBySession)).toEqual([1]);
    expect(sink.errors).toEqual([]);
    expect(sink.states).not.toContain('backoff');
    // The aborted poll was never answered: only the poll woken by `b` counts.
    expect(server.stats().polls).toBe(1);
  });

  it('several refresh() calls in a row leave one held poll with the latest channels', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['a'] });
    const transport = await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    for (const channels of [['a', 'b'], ['a', 'b', 'c'], ['c']]) {
      sink.channelList = channels;
      transport.refresh();
    }
    await eventually(() => session.polls[session.polls.length - 1]?.channels).toEqual(['c']);
    await untilOpenPolls(server, 1);
    await sleep(20);
    expect(server.stats().openPolls).toBe(1);
    expect(sink.errors).toEqual([]);
  });

  it('close() aborts the held poll and sends nothing more', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'] });
    const transport = await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);

    transport.close();
    expect(sink.lastState).toBe('closed');
    await untilOpenPolls(server, 0);
    const requests = pollRequests(server);
    server.publish('chat', { type: 'late', payload: 1 });
    server.clock.advance(60_000);
    await sleep(30);
    expect(pollRequests(server)).toBe(requests);
    expect(server.stats().openPolls).toBe(0);
    expect(sink.batches).toEqual([]);
    expect(sink.errors).toEqual([]);
    // close() is idempotent.
    transport.close();
    expect(sink.states.filter((s) => s === 'closed')).toHaveLength(1);
  });

  it('a poll without a session cookie is served as public (the poll cannot see an expired session)', async () => {
    const server = await startServer({ odoo: 15 });
    const session = cookieFetch(undefined);
    const sink = new RecordingSink({ channels: ['chat'] });
    await openTransport(server, session, sink);
    await untilOpenPolls(server, 1);
    const id = server.publish('chat', { type: 'x', payload: 1 });
    await eventually(() => sink.items.map((n) => n.id)).toEqual([id]);
    expect(sink.errors).toEqual([]);
  });
});

describe('fetchSessionInfo (dev server)', () => {
  it('answers uid and db for a logged-in session', async () => {
    const server = await startServer({ odoo: 15, db: 'acme' });
    const session = await login(server, 'demo');
    await expect(fetchSessionInfo({ fetch: session.fetch, serverUrl: server.url, credentials: 'same-origin' })).resolves.toEqual({
      uid: 6,
      db: 'acme',
    });
  });

  it('rejects with a fatal session_expired without a session', async () => {
    const server = await startServer({ odoo: 14 });
    const error = await fetchSessionInfo({ fetch: cookieFetch(undefined).fetch, serverUrl: server.url, credentials: 'same-origin' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'session_expired', fatal: true });
    expect((error as TabBusError).context).toMatchObject({ serverCode: 100, serverName: 'odoo.http.SessionExpiredException' });
  });

  it('rejects with session_expired after the session is destroyed', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const logout = await session.fetch(`${server.url}/web/session/destroy`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: {}, id: 9 }),
    });
    expect(logout.status).toBe(200);
    await expect(fetchSessionInfo({ fetch: session.fetch, serverUrl: server.url, credentials: 'same-origin' })).rejects.toMatchObject({
      code: 'session_expired',
      fatal: true,
    });
  });
});
