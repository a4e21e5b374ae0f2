// Odoo-side resilience: the long-poll transport noticing that the server's ids restarted, the reply size
// limit of callJsonRpc, and createOdooBus's session check (expired session, another user, public pages),
// with scripted fetches and against the in-process dev server.
import { describe, expect, it } from 'vitest';
import { TabBusError } from '@tabbus/core';
import { FakeBrowser, VirtualClock } from '@tabbus/core/testing';
import { createOdooBus, type OdooBus, type OdooBusOptions } from '../create-odoo-bus';
import { callJsonRpc } from '../jsonrpc';
import { LongpollingTransport, type LongpollingOptions } from '../longpolling';
import type { OdooNotification } from '../notifications';
import type { DevServer } from '../../../dev-server/src/index';
import {
  cookieFetch,
  eventually,
  FakeFetch,
  login,
  onCleanup,
  pollRequests,
  RecordingSink,
  rpcResult,
  sleep,
  startServer,
  track,
  untilOpenPolls,
  type Session,
} from './helpers';

const SERVER = 'http://odoo.test';

/** A RecordingSink that also logs the order of reset() and receive() calls. */
class OrderSink extends RecordingSink {
  readonly log: string[] = [];
  override reset(): void {
    this.log.push('reset');
    super.reset();
  }
  override receive(items: readonly OdooNotification[]): void {
    this.log.push(`receive ${items.map((i) => i.id).join(',')}`);
    super.receive(items);
  }
}

const typed = (id: number) => ({ id, message: { type: 't', payload: id } });

function transport(fetch: typeof globalThis.fetch, sink: RecordingSink, options: Partial<LongpollingOptions> = {}): LongpollingTransport {
  const t = track(new LongpollingTransport({ serverUrl: SERVER, version: 15, fetch, backoff: { initial: 5, factor: 1, max: 5, jitter: 0 }, ...options }));
  t.open(sink);
  return t;
}

async function postDev(server: DevServer, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(server.url + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return response.json();
}

describe('LongpollingTransport: the server ids restarted', () => {
  it.each([
    ['an id below last', 10, [3], ['reset', 'receive 3']],
    ['an id equal to last', 10, [10, 11], ['reset', 'receive 10,11']],
    ['ids above last', 10, [11, 12], ['receive 11,12']],
    ['low ids when last is 0', 0, [1, 2], ['receive 1,2']],
    ['an id of 0 (a pseudo-notification)', 10, [0], ['receive 0']],
    ['a negative id (a pseudo-notification)', 10, [-1, 11], ['receive -1,11']],
    ['an empty reply', 10, [], ['receive ']],
  ])('%s (last %i)', async (_what, last, replyIds, log) => {
    const sink = new OrderSink({ cursor: last, channels: ['c'] });
    const fetch = new FakeFetch(rpcResult(replyIds.map(typed)));
    transport(fetch.fetch, sink);
    await eventually(() => sink.batches.length).toBe(1);
    expect(fetch.calls[0]!.body.params.last).toBe(last);
    expect(sink.log).toEqual(log);
    expect(sink.resets).toBe(log[0] === 'reset' ? 1 : 0);
  });

  it('compares with the last it sent, not with a cursor that moved during the poll', async () => {
    const sink = new OrderSink({ cursor: 5, channels: ['c'] });
    let answer!: (r: Response) => void;
    const fetch = new FakeFetch(() => new Promise<Response>((resolve) => (answer = resolve)));
    transport(fetch.fetch, sink);
    await eventually(() => fetch.calls.length).toBe(1);
    sink.cursorValue = 100;
    answer(rpcResult([typed(6)]));
    await eventually(() => sink.batches.length).toBe(1);
    expect(sink.log).toEqual(['receive 6']);
  });

  it('against the dev server: a cursor above its newest id (a restarted server) gets the new ids and a reset', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const first = server.publish('chat', { type: 'chat/message', payload: 1 });
    const second = server.publish('chat', { type: 'chat/message', payload: 2 });
    expect([first, second]).toEqual([1, 2]);
    const sink = new OrderSink({ cursor: 500, channels: ['chat'] });
    transport(session.fetch, sink, { serverUrl: server.url });
    await eventually(() => sink.log).toEqual(['reset', 'receive 1,2']);
    await untilOpenPolls(server, 1);
    expect(session.polls.map((p) => p.last)).toEqual([500, 2]);
    const third = server.publish('chat', { type: 'chat/message', payload: 3 });
    await eventually(() => sink.log).toEqual(['reset', 'receive 1,2', `receive ${third}`]);
    expect(sink.resets).toBe(1);
  });
});

describe('callJsonRpc: the reply size limit', () => {
  const URL = 'http://o.test/web/x';
  const call = (response: Response, maxBytes?: number) =>
    callJsonRpc({ fetch: new FakeFetch(response).fetch, url: URL, params: {}, credentials: 'same-origin', ...(maxBytes !== undefined ? { maxBytes } : {}) });
  const envelope = (padding: number) => JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'x'.repeat(padding) });

  /** A body that counts how much of it was read and whether it was cancelled. */
  function streamed(text: string) {
    const bytes = new TextEncoder().encode(text);
    const state = { pulled: 0, cancelled: false };
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (state.pulled >= bytes.length) return controller.close();
        const chunk = bytes.slice(state.pulled, state.pulled + 16);
        state.pulled += chunk.length;
        controller.enqueue(chunk);
      },
      cancel() {
        state.cancelled = true;
      },
    });
    return { body, state };
  }

  it('decodes a body whose characters are split across chunks (16 bytes each here)', async () => {
    // 'é', '€' and '😀' take 2, 3 and 4 bytes: with this padding some fall across a chunk boundary.
    const text = JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'aé€😀'.repeat(20) });
    const { body, state } = streamed(text);
    expect(await call(new Response(body, { status: 200 }))).toBe('aé€😀'.repeat(20));
    expect(state.pulled).toBe(new TextEncoder().encode(text).length);
  });

  it('rejects a declared Content-Length above maxBytes with a protocol error, without reading the body', async () => {
    const text = envelope(200);
    const { body, state } = streamed(text);
    const response = new Response(body, { status: 200, headers: { 'Content-Type': 'application/json', 'Content-Length': String(text.length) } });
    const error = await call(response, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'protocol', fatal: false, context: { url: URL, size: text.length, maxBytes: 100 } });
    expect((error as Error).message).toBe(`tabbus: ${URL}: the reply is ${text.length} bytes, above the 100-byte limit`);
    await sleep(1);
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(text.length);
  });

  it('rejects a reply without Content-Length once it turns out larger than maxBytes', async () => {
    const text = envelope(200);
    const { body } = streamed(text);
    const response = new Response(body, { status: 200, headers: { 'Content-Type': 'application/json' } });
    expect(response.headers.get('Content-Length')).toBeNull();
    const error = await call(response, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TabBusError);
    // Read no further than the limit: the size is what had come in by then.
    expect(error).toMatchObject({ code: 'protocol', fatal: false, context: { size: expect.any(Number), maxBytes: 100 } });
    expect((error as TabBusError).context['size']).toBeGreaterThan(100);
    expect((error as Error).message).toContain(`above the 100-byte limit`);
  });

  it('stops reading a body without Content-Length as soon as it passes maxBytes: a runaway reply is never buffered whole', async () => {
    const { body, state } = streamed(envelope(64 * 1024));
    const error = await call(new Response(body, { status: 200 }), 1024).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'protocol', context: { maxBytes: 1024 } });
    expect((error as Error).message).toMatch(/the reply is at least \d+ bytes, above the 1024-byte limit/);
    await sleep(1);
    expect(state.cancelled).toBe(true);
    expect(state.pulled).toBeLessThan(2048);
  });

  it('counts bytes, not characters: a reply of 3-byte characters is measured in bytes', async () => {
    const text = JSON.stringify({ jsonrpc: '2.0', id: 1, result: '€'.repeat(1000) });
    expect(text.length).toBeLessThan(2000);
    await expect(call(new Response(streamed(text).body), 2000)).rejects.toMatchObject({ code: 'protocol' });
    await expect(call(new Response(text), 2000)).rejects.toMatchObject({ code: 'protocol' });
    await expect(call(new Response(streamed(text).body), 3100)).resolves.toBe('€'.repeat(1000));
  });

  it('accepts a reply of exactly maxBytes, declared or not', async () => {
    const text = envelope(50);
    const declared = new Response(text, { status: 200, headers: { 'Content-Length': String(text.length) } });
    await expect(call(declared, text.length)).resolves.toBe('x'.repeat(50));
    await expect(call(new Response(streamed(text).body), text.length)).resolves.toBe('x'.repeat(50));
    await expect(call(new Response(streamed(envelope(51)).body), text.length)).rejects.toMatchObject({ code: 'protocol' });
  });

  it('defaults to 16 MiB', async () => {
    const limit = 16 * 1024 * 1024;
    const ok = new Response(envelope(10), { headers: { 'Content-Length': String(limit) } });
    // The declared length is only compared: a body shorter than declared is read as is.
    await expect(call(ok)).resolves.toBe('x'.repeat(10));
    const big = new Response(envelope(10), { headers: { 'Content-Length': String(limit + 1) } });
    await expect(call(big)).rejects.toMatchObject({ code: 'protocol', context: { size: limit + 1, maxBytes: limit } });
  });

  it('LongpollingTransport: a reply above maxReplyBytes is a non-fatal protocol error, nothing reaches the sink, and it polls again', async () => {
    const sink = new RecordingSink({ channels: ['c'] });
    const fetch = new FakeFetch(rpcResult([typed(1), typed(2), typed(3)]), rpcResult([typed(4)]));
    transport(fetch.fetch, sink, { maxReplyBytes: 80 });
    await eventually(() => sink.batches.length).toBe(1);
    expect(sink.errors.map((e) => [e.code, e.fatal])).toEqual([['protocol', false]]);
    expect(sink.errors[0]!.message).toMatch(/above the 80-byte limit/);
    expect(sink.items.map((i) => i.id)).toEqual([4]);
    expect(fetch.calls.map((c) => c.body.params.last)).toEqual([0, 0, 4]);
  });

  it("against the dev server: its 20 MiB 'huge' fault is refused by the default limit, and the next poll works", async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    await postDev(server, '/tabbus/fault', { kind: 'huge' });
    const sink = new RecordingSink({ channels: ['chat'] });
    transport(session.fetch, sink, { serverUrl: server.url });
    await eventually(() => sink.errors.length, 5000).toBe(1);
    expect(sink.errors[0]).toMatchObject({ code: 'protocol', fatal: false, context: { maxBytes: 16 * 1024 * 1024 } });
    expect(sink.batches).toEqual([]);
    await untilOpenPolls(server, 1);
    const id = server.publish('chat', { type: 'chat/message', payload: 'after' });
    await eventually(() => sink.items).toEqual([{ id, type: 'chat/message', payload: 'after' }]);
  });
});

describe('createOdooBus: the session check', () => {
  function bus(options: OdooBusOptions): OdooBus {
    const created = createOdooBus({ env: new FakeBrowser().tab().env(), ...options });
    onCleanup(() => created.stop());
    return created;
  }

  function watch(b: OdooBus) {
    const seen = { expired: [] as TabBusError[], errors: [] as TabBusError[] };
    b.on('session_expired', (e) => seen.expired.push(e));
    b.on('error', (e) => seen.errors.push(e));
    return seen;
  }

  const sessionInfoCalls = (server: DevServer) => server.stats().requests['/web/session/get_session_info'] ?? 0;

  /** A fetch whose cookie the test can swap, as when another tab of the browser logs in as someone else. */
  function switchableFetch(initial: Session) {
    let current = initial;
    const fetch = ((input: RequestInfo | URL, init?: RequestInit) => current.fetch(input, init)) as typeof globalThis.fetch;
    return { fetch, use: (session: Session) => void (current = session) };
  }

  it('asks at term start; an expired session (code 100) then stops the bus with session_expired', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const b = bus({ serverUrl: server.url, uid: 2, db: server.db, fetch: session.fetch, sessionCheckInterval: 30 });
    const seen = watch(b);
    await untilOpenPolls(server, 1);
    await eventually(() => sessionInfoCalls(server)).toBeGreaterThanOrEqual(1);
    expect(b.state().role).toBe('leader');
    expect(seen.expired).toEqual([]);

    expect(await postDev(server, '/tabbus/expire', {})).toEqual({ deleted: 1 });
    await eventually(() => seen.expired.length).toBe(1);
    expect(seen.expired[0]).toMatchObject({ code: 'session_expired', fatal: true, context: { serverCode: 100 } });
    expect(b.state().role).toBe('stopped');
    await untilOpenPolls(server, 0);
    const calls = sessionInfoCalls(server);
    await sleep(100);
    expect(sessionInfoCalls(server)).toBe(calls);
    expect(seen.expired).toHaveLength(1);
  });

  it('a session that now belongs to another user stops the bus, with the expected and actual uid', async () => {
    const server = await startServer({ odoo: 15 });
    const admin = await login(server, 'admin');
    const demo = await login(server, 'demo');
    const cookies = switchableFetch(admin);
    const b = bus({ serverUrl: server.url, fetch: cookies.fetch, sessionCheckInterval: 30 });
    const seen = watch(b);
    await untilOpenPolls(server, 1);
    expect(b.state().scope).toBe(`${server.url}|${server.db}|2`);
    await sleep(100);
    expect(seen.expired).toEqual([]);

    cookies.use(demo);
    await eventually(() => seen.expired.length).toBe(1);
    const error = seen.expired[0]!;
    expect(error).toMatchObject({ code: 'session_expired', fatal: true, context: { expected: 2, actual: 6 } });
    expect(error.message).toMatch(/user 6 of tabbus, not user 2 of tabbus/);
    expect(error.context).toMatchObject({ reason: "user_changed", expected: 2, actual: 6 });
    expect(b.state().role).toBe('stopped');
    await untilOpenPolls(server, 0);
  });

  it('a uid given by the page that the session contradicts stops the bus at the first check', async () => {
    const server = await startServer({ odoo: 15 });
    const admin = await login(server, 'admin');
    const b = bus({ serverUrl: server.url, uid: 6, db: server.db, fetch: admin.fetch });
    const seen = watch(b);
    await eventually(() => seen.expired.length).toBe(1);
    expect(seen.expired[0]).toMatchObject({ code: 'session_expired', context: { expected: 6, actual: 2 } });
    expect(b.state().role).toBe('stopped');
    expect(sessionInfoCalls(server)).toBe(1);
  });

  it('other failures of the check (a server error, an HTTP 500) are ignored: the bus keeps polling', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    await postDev(server, '/tabbus/fault', { kind: 'rpc_error', route: '/web/session/get_session_info' });
    await postDev(server, '/tabbus/fault', { kind: 'http_500', route: '/web/session/get_session_info' });
    const b = bus({ serverUrl: server.url, uid: 2, db: server.db, fetch: session.fetch, channels: ['chat'], sessionCheckInterval: 20 });
    const seen = watch(b);
    await eventually(() => sessionInfoCalls(server)).toBeGreaterThanOrEqual(4);
    expect(server.stats().faults).toBe(2);
    expect(b.state().role).toBe('leader');
    expect(seen).toEqual({ expired: [], errors: [] });
    const received: number[] = [];
    b.on('notification', (items) => received.push(...items.map((i) => i.id)));
    const id = server.publish('chat', { type: 'chat/message', payload: 1 });
    await eventually(() => received).toEqual([id]);
  });

  it('asks at the first poll error after a reply, then at most once per 10 s of the bus clock while errors go on', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const clock = new VirtualClock({ start: Date.now() });
    const b = createOdooBus({
      serverUrl: server.url,
      uid: 2,
      db: server.db,
      fetch: session.fetch,
      channels: ['chat'],
      start: false,
      sessionCheckInterval: 0,
      backoff: { initial: 5, factor: 1, max: 5, jitter: 0 },
      env: new FakeBrowser({ clock }).tab().env(),
    });
    onCleanup(() => b.stop());
    const seen = watch(b);
    const starting = b.start();
    await clock.advanceAsync(10);
    await starting;
    expect(b.state().role).toBe('leader');
    await untilOpenPolls(server, 1);
    await eventually(() => sessionInfoCalls(server)).toBe(1);
    /** Makes the next poll fail with HTTP 500 (the held one is woken by a notification first). */
    const failNextPoll = async (errors: number) => {
      await postDev(server, '/tabbus/fault', { kind: 'http_500' });
      server.publish('chat', { type: 'chat/message', payload: errors });
      await eventually(() => seen.errors.length).toBe(errors);
      await untilOpenPolls(server, 1);
    };
    await failNextPoll(1);
    // The first error after a reply is checked at once.
    await eventually(() => sessionInfoCalls(server)).toBe(2);
    /** Wakes the held poll (a reply: the bus is healthy again), then faults the next `count` polls in a row. */
    const failRun = async (count: number, errors: number) => {
      await postDev(server, '/tabbus/fault', { kind: 'http_500', count });
      server.publish('chat', { type: 'chat/message', payload: errors });
      await eventually(() => seen.errors.length).toBe(errors);
      await untilOpenPolls(server, 1);
      await sleep(20);
    };
    await failRun(3, 4);
    // Three errors with no reply between them: the first is checked, the other two fall within 10 s of it.
    expect(sessionInfoCalls(server)).toBe(3);
    await clock.advanceAsync(10_000);
    await failRun(2, 6);
    expect(sessionInfoCalls(server)).toBe(4);
    expect(seen.errors.map((e) => e.code)).toEqual(['http', 'http', 'http', 'http', 'http', 'http']);
    expect(seen.expired).toEqual([]);
    expect(b.state().role).toBe('leader');
  });

  it('a public page (uid: false) never asks, not at start, not on an interval, not after errors', async () => {
    const server = await startServer({ odoo: 15 });
    const b = bus({ serverUrl: server.url, uid: false, db: server.db, fetch: cookieFetch(undefined).fetch, channels: ['chat'], sessionCheckInterval: 10, backoff: { initial: 5, factor: 1, max: 5, jitter: 0 } });
    const seen = watch(b);
    await untilOpenPolls(server, 1);
    expect(b.state()).toMatchObject({ role: 'leader', scope: `${server.url}|${server.db}|public` });
    await postDev(server, '/tabbus/fault', { kind: 'http_500' });
    const id = server.publish('chat', { type: 'chat/message', payload: 1 }); // wakes the held poll: the next one is faulted
    await eventually(() => seen.errors.map((e) => e.code)).toEqual(['http']);
    await eventually(() => pollRequests(server)).toBeGreaterThanOrEqual(3);
    await sleep(100);
    expect(sessionInfoCalls(server)).toBe(0);
    expect(seen.expired).toEqual([]);
    expect(b.state().role).toBe('leader');
    expect(b.state().cursor).toBe(id);
  });
});
