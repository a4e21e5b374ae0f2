// LongpollingTransport with a scripted fetch and hand-fired timers: the request it builds, and how it
// reacts to every kind of failure (which error code, fatal or not, retry or not, after which delay).
import { describe, expect, it, vi } from 'vitest';
import { TabBusError } from '@tabbus/core';
import { LongpollingTransport, type LongpollingOptions } from '../longpolling';
import type { OdooVersion } from '../versions';
import {
  busUnavailableError,
  FakeFetch,
  ManualTimers,
  rawReply,
  RecordingSink,
  rpcError,
  rpcResult,
  sessionExpiredError,
  sleep,
  track,
  eventually,
  type FetchCall,
} from './helpers';

const SERVER = 'http://odoo.test';
const POLL_URL = `${SERVER}/longpolling/poll`;
/** The poll timeout used with manual timers: it tells poll timers apart from retry timers. */
const POLL_TIMEOUT = 60_000;
const isRetry = (ms: number) => ms !== POLL_TIMEOUT;

interface Harness {
  transport: LongpollingTransport;
  sink: RecordingSink;
  fetch: FakeFetch;
  timers: ManualTimers;
}

function setup(
  fetch: FakeFetch,
  options: { version?: OdooVersion; sink?: RecordingSink; transport?: Partial<LongpollingOptions>; realTimers?: boolean } = {},
): Harness {
  const timers = new ManualTimers();
  const sink = options.sink ?? new RecordingSink({ channels: ['chat'] });
  const transport = track(
    new LongpollingTransport({
      serverUrl: SERVER,
      version: options.version ?? 15,
      fetch: fetch.fetch,
      pollTimeout: POLL_TIMEOUT,
      backoff: { initial: 100, factor: 2, max: 1000, jitter: 0 },
      ...(options.realTimers ? {} : { setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout }),
      ...options.transport,
    }),
  );
  transport.open(sink);
  return { transport, sink, fetch, timers };
}

/** Waits for the transport to report `count` errors and returns the last. */
async function nthError(h: Harness, count: number): Promise<TabBusError> {
  await eventually(() => h.sink.errors.length).toBe(count);
  return h.sink.errors[count - 1]!;
}

/** Lets pending promise callbacks run (the fake fetch answers asynchronously). */
const flush = () => sleep(5);

describe('the poll request', () => {
  it('POSTs a JSON-RPC call to <serverUrl>/longpolling/poll with channels, last and options', async () => {
    const sink = new RecordingSink({ channels: ['a', 'b'], cursor: 42, inactivity: 1200 });
    const h = setup(new FakeFetch(), { sink });
    await eventually(() => h.fetch.calls.length).toBe(1);
    const call = h.fetch.calls[0]!;
    expect(call.url).toBe(POLL_URL);
    expect(call.init.method).toBe('POST');
    expect(new Headers(call.init.headers).get('content-type')).toBe('application/json');
    expect(call.init.credentials).toBe('same-origin');
    expect(call.signal).toBeInstanceOf(AbortSignal);
    expect(call.body).toEqual({
      jsonrpc: '2.0',
      method: 'call',
      params: { channels: ['a', 'b'], last: 42, options: { bus_inactivity: 1200 } },
      id: expect.any(Number),
    });
    expect(h.sink.requests).toBe(1);
    expect(h.sink.states).toEqual(['open']);
  });

  it('sends a fresh copy of the channels and a new JSON-RPC id on every request', async () => {
    const h = setup(new FakeFetch(rpcResult([])));
    await eventually(() => h.fetch.calls.length).toBe(2);
    const [first, second] = h.fetch.calls;
    expect(second!.body.id).not.toBe(first!.body.id);
    expect(first!.body.params['channels']).toEqual(['chat']);
  });

  it('uses the credentials option', async () => {
    const h = setup(new FakeFetch(), { transport: { credentials: 'include' } });
    await eventually(() => h.fetch.calls.length).toBe(1);
    expect(h.fetch.calls[0]!.init.credentials).toBe('include');
  });

  it.each([
    [15, 1200.6, { bus_inactivity: 1201 }],
    [10, 0, { bus_inactivity: 0 }],
    [12, -5, { bus_inactivity: 0 }],
    [14, undefined, {}],
    [9, 5_000, { im_presence: true }],
    [8, 120_000, { im_presence: false }],
    [8, undefined, {}],
  ] as const)('on Odoo %i with inactivity %s sends options %j', async (version, inactivity, expected) => {
    const sink = new RecordingSink({ channels: [], ...(inactivity === undefined ? {} : { inactivity }) });
    const h = setup(new FakeFetch(), { version, sink });
    await eventually(() => h.fetch.calls.length).toBe(1);
    expect(h.fetch.calls[0]!.body.params['options']).toEqual(expected);
  });

  it('reads channels, cursor and inactivity again for each request', async () => {
    const sink = new RecordingSink({ channels: ['a'], cursor: 5, inactivity: 10, advanceCursor: false });
    const h = setup(
      new FakeFetch(() => {
        sink.channelList = ['a', 'z'];
        sink.cursorValue = 7;
        sink.inactivityValue = undefined;
        return rpcResult([]);
      }),
      { sink },
    );
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(h.fetch.calls[1]!.body.params).toEqual({ channels: ['a', 'z'], last: 7, options: {} });
  });

  it('posts to a relative URL (this page\'s origin) when serverUrl is empty', async () => {
    const h = setup(new FakeFetch(), { transport: { serverUrl: '' } });
    await eventually(() => h.fetch.calls.length).toBe(1);
    expect(h.fetch.calls[0]!.url).toBe('/longpolling/poll');
  });
});

describe('successful polls', () => {
  it('hands the parsed items to the sink, then polls again at once from the new cursor', async () => {
    const h = setup(
      new FakeFetch(
        rpcResult([
          { id: 7, message: { type: 'a', payload: 1 } },
          { id: 8, message: { type: 'b', payload: { x: [1] } } },
        ]),
      ),
    );
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(h.sink.batches).toEqual([
      [
        { id: 7, type: 'a', payload: 1 },
        { id: 8, type: 'b', payload: { x: [1] } },
      ],
    ]);
    expect(h.fetch.calls[1]!.body.params['last']).toBe(8);
    expect(h.sink.errors).toEqual([]);
    // No retry timer: the next poll went out directly. Only the live poll's timeout is pending.
    expect(h.timers.find(isRetry)).toEqual([]);
    expect(h.timers.find(POLL_TIMEOUT)).toHaveLength(1);
  });

  it('hands an empty reply to the sink too (the bus uses it to refresh the cursor timestamp)', async () => {
    const h = setup(new FakeFetch(rpcResult([])));
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(h.sink.batches).toEqual([[]]);
  });

  it('on Odoo 14 keeps channel and message as sent, tuple channels included', async () => {
    const h = setup(
      new FakeFetch(
        rpcResult([
          { id: 3, channel: 'chat', message: 'hi' },
          { id: 4, channel: ['db', 'res.partner', 3], message: { body: 'x' } },
        ]),
      ),
      { version: 14 },
    );
    await eventually(() => h.sink.batches.length).toBe(1);
    expect(h.sink.batches[0]).toEqual([
      { id: 3, channel: 'chat', message: 'hi' },
      { id: 4, channel: ['db', 'res.partner', 3], message: { body: 'x' } },
    ]);
  });

  it('does not deliver a reply that arrives after close()', async () => {
    let answer: ((response: Response) => void) | undefined;
    const h = setup(new FakeFetch(() => new Promise<Response>((resolve) => (answer = resolve))));
    await eventually(() => answer).toBeDefined();
    h.transport.close();
    answer!(rpcResult([{ id: 1, message: { type: 'late', payload: 0 } }]));
    await flush();
    expect(h.sink.batches).toEqual([]);
    expect(h.sink.errors).toEqual([]);
    expect(h.fetch.calls).toHaveLength(1);
  });
});

describe('errors the server answers', () => {
  it('HTTP 400 with an HTML page → non-fatal http error, retried', async () => {
    const html = '<!doctype html>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>Session expired (invalid CSRF token)</p>\n';
    const h = setup(new FakeFetch(rawReply(400, html, 'text/html; charset=utf-8')));
    const error = await nthError(h, 1);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'http', fatal: false });
    expect(error.message).toContain('HTTP 400');
    expect(error.context).toMatchObject({ url: POLL_URL, status: 400 });
    expect(String(error.context['body'])).toContain('invalid CSRF token');
    expect(h.sink.batches).toEqual([]);
    expect(h.sink.lastState).toBe('backoff');
    expect(h.timers.find(isRetry).map((t) => t.ms)).toEqual([100]);
  });

  it('an HTML page with HTTP 200 → protocol error (not JSON)', async () => {
    const h = setup(new FakeFetch(rawReply(200, '<html><body>Odoo</body></html>', 'text/html')));
    const error = await nthError(h, 1);
    expect(error).toMatchObject({ code: 'protocol', fatal: false });
    expect(error.message).toContain('not JSON');
    expect(h.sink.batches).toEqual([]);
  });

  it('HTTP 404 on the poll route → http error that hints at Odoo 16+', async () => {
    const h = setup(new FakeFetch(rawReply(404, 'Not Found', 'text/plain')));
    const error = await nthError(h, 1);
    expect(error).toMatchObject({ code: 'http', fatal: false, context: { status: 404 } });
    expect(error.message).toMatch(/Odoo 16\+/);
  });

  it('HTTP 502 from a proxy → http error without the Odoo 16 hint, retried', async () => {
    const h = setup(new FakeFetch(rawReply(502, 'Bad Gateway', 'text/plain')));
    const error = await nthError(h, 1);
    expect(error).toMatchObject({ code: 'http', context: { status: 502 } });
    expect(error.message).not.toMatch(/Odoo 16/);
    expect(h.timers.find(isRetry)).toHaveLength(1);
  });

  it.each([
    ['code 100', sessionExpiredError],
    ['SessionExpiredException by name (any code)', { code: 200, message: 'Odoo Server Error', data: { name: 'odoo.http.SessionExpiredException', message: 'Session expired' } }],
    ['openerp.http.SessionExpiredException (Odoo 8)', { code: 200, message: 'OpenERP Server Error', data: { name: 'openerp.http.SessionExpiredException', message: '' } }],
    ['code 100 without data', { code: 100, message: 'Odoo Session Expired' }],
  ])('session expiry (%s) → fatal session_expired, and no more polls', async (_label, envelope) => {
    const h = setup(new FakeFetch(rpcError(envelope)));
    const error = await nthError(h, 1);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'session_expired', fatal: true });
    await flush();
    expect(h.fetch.calls).toHaveLength(1);
    expect(h.timers.find(isRetry)).toEqual([]);
    expect(h.sink.states).not.toContain('backoff');
    expect(h.sink.batches).toEqual([]);
    expect(h.sink.errors).toHaveLength(1);
  });

  it('"bus.Bus unavailable" → non-fatal server error, retried after growing delays, reset by a success', async () => {
    const h = setup(new FakeFetch(rpcError(busUnavailableError), rpcError(busUnavailableError), rpcError(busUnavailableError)));
    const first = await nthError(h, 1);
    expect(first).toMatchObject({ code: 'server', fatal: false });
    expect(first.message).toContain('builtins.Exception: bus.Bus unavailable');
    expect(first.context).toMatchObject({ url: POLL_URL, serverCode: 200, serverName: 'builtins.Exception', serverMessage: 'bus.Bus unavailable' });
    expect(h.sink.lastState).toBe('backoff');
    expect(h.fetch.calls).toHaveLength(1);

    // Nothing happens until the delay is over.
    await flush();
    expect(h.fetch.calls).toHaveLength(1);
    expect(h.timers.fire(isRetry).ms).toBe(100);
    await nthError(h, 2);
    expect(h.fetch.calls).toHaveLength(2);
    expect(h.timers.fire(isRetry).ms).toBe(200);
    await nthError(h, 3);
    expect(h.timers.fire(isRetry).ms).toBe(400);

    // The fourth attempt hangs (a held poll): it said `connecting`, since it followed errors.
    await eventually(() => h.fetch.calls.length).toBe(4);
    expect(h.sink.states).toEqual(['open', 'backoff', 'connecting', 'backoff', 'connecting', 'backoff', 'connecting']);
  });

  it('a success resets the backoff: the next failure waits the initial delay again', async () => {
    const h = setup(new FakeFetch(rpcError(busUnavailableError), rpcError(busUnavailableError), rpcResult([]), rpcError(busUnavailableError)));
    await nthError(h, 1);
    h.timers.fire(isRetry);
    await nthError(h, 2);
    expect(h.timers.find(isRetry).map((t) => t.ms)).toEqual([200]);
    h.timers.fire(isRetry);
    await nthError(h, 3);
    expect(h.sink.batches).toEqual([[]]);
    expect(h.timers.find(isRetry).map((t) => t.ms)).toEqual([100]);
    // After the success the next request said `open` again.
    expect(h.sink.states.slice(-3)).toEqual(['connecting', 'open', 'backoff']);
  });

  it('a JSON-RPC error without data → server error with the top-level message', async () => {
    const h = setup(new FakeFetch(rpcError({ code: 200, message: 'Odoo Server Error' })));
    const error = await nthError(h, 1);
    expect(error).toMatchObject({ code: 'server', fatal: false });
    expect(error.message).toContain('Odoo Server Error');
  });

  it('the delay grows up to max and no further', async () => {
    const errors = Array.from({ length: 6 }, () => rpcError(busUnavailableError));
    const h = setup(new FakeFetch(...errors), { transport: { backoff: { initial: 100, factor: 3, max: 500, jitter: 0 } } });
    const delays: number[] = [];
    for (let i = 1; i <= 5; i++) {
      await nthError(h, i);
      delays.push(h.timers.fire(isRetry).ms);
    }
    expect(delays).toEqual([100, 300, 500, 500, 500]);
  });

  it('jitter stays within its bound with the default backoff', async () => {
    const h = setup(new FakeFetch(rpcError(busUnavailableError)), { transport: { backoff: {} } });
    await nthError(h, 1);
    const [delay] = h.timers.find(isRetry).map((t) => t.ms);
    expect(delay).toBeGreaterThanOrEqual(1000);
    expect(delay).toBeLessThanOrEqual(1300);
  });
});

describe('network failures and timeouts', () => {
  it('a fetch that rejects → network error, then a retry', async () => {
    const cause = new TypeError('fetch failed');
    const h = setup(new FakeFetch(cause, rpcResult([{ id: 1, message: { type: 't', payload: null } }])));
    const error = await nthError(h, 1);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'network', fatal: false, context: { url: POLL_URL } });
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('fetch failed');
    expect(h.sink.lastState).toBe('backoff');
    h.timers.fire(isRetry);
    await eventually(() => h.sink.items).toEqual([{ id: 1, type: 't', payload: null }]);
    expect(h.fetch.calls).toHaveLength(3);
  });

  it('a body that fails while being read → network error, retried', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"jsonrpc":"2.0","result":['));
        controller.error(new TypeError('terminated'));
      },
    });
    const h = setup(new FakeFetch(new Response(body, { status: 200 })));
    const error = await nthError(h, 1);
    expect(error).toMatchObject({ code: 'network', fatal: false });
    expect(h.timers.find(isRetry)).toHaveLength(1);
  });

  it('the poll timeout aborts the request → timeout error, then a retry', async () => {
    const h = setup(new FakeFetch());
    await eventually(() => h.fetch.calls.length).toBe(1);
    const signal = h.fetch.calls[0]!.signal!;
    h.timers.fire(POLL_TIMEOUT);
    expect(signal.aborted).toBe(true);
    const error = await nthError(h, 1);
    expect(error).toMatchObject({ code: 'timeout', fatal: false, context: { url: POLL_URL } });
    expect(error.message).toContain(`${POLL_TIMEOUT} ms`);
    expect(h.sink.lastState).toBe('backoff');
    h.timers.fire(isRetry);
    await eventually(() => h.fetch.calls.length).toBe(2);
  });

  it('a small pollTimeout with real timers: timeout, retry, timeout …', async () => {
    const h = setup(new FakeFetch(), {
      realTimers: true,
      transport: { pollTimeout: 20, backoff: { initial: 10, factor: 1, jitter: 0 } },
    });
    await eventually(() => h.sink.errors.length).toBeGreaterThanOrEqual(2);
    expect(h.sink.errors.every((e) => e.code === 'timeout' && !e.fatal)).toBe(true);
    expect(h.fetch.calls.length).toBeGreaterThanOrEqual(2);
  });

  it('a successful poll clears its timeout timer', async () => {
    const h = setup(new FakeFetch(rpcResult([]), rpcResult([])));
    await eventually(() => h.fetch.calls.length).toBe(3);
    expect(h.timers.find(POLL_TIMEOUT)).toHaveLength(1);
    expect(h.timers.scheduled.filter((ms) => ms === POLL_TIMEOUT)).toHaveLength(3);
  });
});

describe('malformed replies never reach the sink', () => {
  it.each([
    ['a result that is not a list', 15, { notifications: [] }],
    ['a null result', 15, null],
    ['an item without id', 15, [{ message: { type: 'a', payload: 1 } }]],
    ['a string id', 15, [{ id: '9', message: { type: 'a', payload: 1 } }]],
    ['a fractional id', 15, [{ id: 9.5, message: { type: 'a', payload: 1 } }]],
    ['a 15 item without message.type', 15, [{ id: 9, message: { payload: 1 } }]],
    ['a 15 item shaped like 14', 15, [{ id: 9, channel: 'chat', message: 'raw' }]],
    ['a 14 item without channel', 14, [{ id: 9, message: 'raw' }]],
    ['a good item followed by a bad one', 15, [{ id: 9, message: { type: 'a', payload: 1 } }, { id: 10 }]],
  ] as const)('%s → protocol error, cursor unchanged, retried from the same cursor', async (_label, version, result) => {
    const sink = new RecordingSink({ channels: ['chat'], cursor: 5 });
    const h = setup(new FakeFetch(rpcResult(result)), { version, sink });
    const error = await nthError(h, 1);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'protocol', fatal: false });
    expect(error.context['version']).toBe(version);
    expect(h.sink.batches).toEqual([]);
    expect(sink.cursorValue).toBe(5);
    h.timers.fire(isRetry);
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(h.fetch.calls[1]!.body.params['last']).toBe(5);
  });

  it.each([
    ['neither result nor error', '{"jsonrpc":"2.0","id":1}', /neither result nor error/],
    ['JSON null', 'null', /not a JSON-RPC envelope/],
    ['a JSON number', '42', /not a JSON-RPC envelope/],
    ['truncated JSON', '{"jsonrpc":"2.0","result":[', /not JSON/],
    ['an empty body', '', /not JSON/],
  ])('an envelope with %s → protocol error', async (_label, body, message) => {
    const h = setup(new FakeFetch(rawReply(200, body)));
    const error = await nthError(h, 1);
    expect(error).toMatchObject({ code: 'protocol', fatal: false });
    expect(error.message).toMatch(message);
    expect(h.sink.batches).toEqual([]);
    expect(h.timers.find(isRetry)).toHaveLength(1);
  });
});

describe('refresh() and close()', () => {
  it('refresh() aborts the held poll and re-polls at once with the new channels, without an error', async () => {
    const h = setup(new FakeFetch());
    await eventually(() => h.fetch.calls.length).toBe(1);
    h.sink.channelList = ['chat', 'jobs'];
    h.transport.refresh();
    expect(h.fetch.calls[0]!.signal!.aborted).toBe(true);
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(h.fetch.calls[1]!.body.params['channels']).toEqual(['chat', 'jobs']);
    expect(h.fetch.calls[1]!.signal!.aborted).toBe(false);
    await flush();
    expect(h.sink.errors).toEqual([]);
    expect(h.sink.states).toEqual(['open', 'open']);
    // The aborted poll's timeout was cleared; only the new poll's is pending, and no retry.
    expect([...h.timers.pending.values()].map((t) => t.ms)).toEqual([POLL_TIMEOUT]);
  });

  it('refresh() while waiting out a backoff does not poll early; the retry uses the new channels', async () => {
    const h = setup(new FakeFetch(new TypeError('fetch failed')));
    await nthError(h, 1);
    h.sink.channelList = ['other'];
    h.transport.refresh();
    await flush();
    expect(h.fetch.calls).toHaveLength(1);
    h.timers.fire(isRetry);
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(h.fetch.calls[1]!.body.params['channels']).toEqual(['other']);
  });

  it('refresh() before open() and after close() is harmless', async () => {
    const fetch = new FakeFetch();
    const transport = track(new LongpollingTransport({ serverUrl: SERVER, version: 15, fetch: fetch.fetch }));
    expect(() => transport.refresh()).not.toThrow();
    transport.close();
    expect(() => transport.refresh()).not.toThrow();
    await flush();
    expect(fetch.calls).toEqual([]);
  });

  it('close() aborts the held poll, reports closed once and no error', async () => {
    const h = setup(new FakeFetch());
    await eventually(() => h.fetch.calls.length).toBe(1);
    h.transport.close();
    expect(h.fetch.calls[0]!.signal!.aborted).toBe(true);
    await flush();
    expect(h.sink.errors).toEqual([]);
    expect(h.sink.states).toEqual(['open', 'closed']);
    expect(h.timers.pending.size).toBe(0);
    h.transport.close();
    expect(h.sink.states).toEqual(['open', 'closed']);
    expect(h.fetch.calls).toHaveLength(1);
  });

  it('close() during a backoff cancels the retry', async () => {
    const h = setup(new FakeFetch(rpcError(busUnavailableError)));
    await nthError(h, 1);
    expect(h.timers.find(isRetry)).toHaveLength(1);
    h.transport.close();
    expect(h.timers.pending.size).toBe(0);
    expect(h.sink.lastState).toBe('closed');
    await flush();
    expect(h.fetch.calls).toHaveLength(1);
  });

  it('close() with real timers: no request after a pending retry would have fired', async () => {
    const h = setup(new FakeFetch(new TypeError('fetch failed')), { realTimers: true, transport: { backoff: { initial: 30, jitter: 0 } } });
    await nthError(h, 1);
    h.transport.close();
    await sleep(40);
    expect(h.fetch.calls).toHaveLength(1);
  });

  it('close() from inside sink.fail() (an app that stops on error): no backoff, no retry timer', async () => {
    const fetch = new FakeFetch(rpcError(busUnavailableError));
    const timers = new ManualTimers();
    const sink = new RecordingSink({ channels: ['chat'] });
    const transport = track(
      new LongpollingTransport({ serverUrl: SERVER, version: 15, fetch: fetch.fetch, setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout }),
    );
    const fail = sink.fail.bind(sink);
    sink.fail = (error) => {
      fail(error);
      transport.close();
    };
    transport.open(sink);
    await eventually(() => sink.errors.length).toBe(1);
    await flush();
    expect(sink.states).toEqual(['open', 'closed']);
    expect(timers.pending.size).toBe(0);
    expect(fetch.calls).toHaveLength(1);
  });

  it('close() from inside sink.receive(): no further poll', async () => {
    const fetch = new FakeFetch(rpcResult([{ id: 1, message: { type: 't', payload: 1 } }]));
    const sink = new RecordingSink({ channels: ['chat'] });
    const transport = track(new LongpollingTransport({ serverUrl: SERVER, version: 15, fetch: fetch.fetch }));
    const receive = sink.receive.bind(sink);
    sink.receive = (items) => {
      receive(items);
      transport.close();
    };
    transport.open(sink);
    await eventually(() => sink.batches.length).toBe(1);
    await flush();
    expect(fetch.calls).toHaveLength(1);
    expect(sink.states).toEqual(['open', 'closed']);
  });

  it('has the name "longpolling"', () => {
    const transport = new LongpollingTransport({ serverUrl: SERVER, version: 15 });
    expect(transport.name).toBe('longpolling');
  });
});

describe('the gate before a poll', () => {
  it('the poll timeout counts from the request: a poll that first waited on its gate (a login under way) is held the server\'s 50 s without a timeout', async () => {
    vi.useFakeTimers();
    try {
      // Odoo holds a poll 50 s, then answers (here with one notification); the request is aborted only by its signal.
      const held = (call: FetchCall) =>
        new Promise<Response>((resolve, reject) => {
          const timer = setTimeout(() => resolve(rpcResult([{ id: 1, message: { type: 't', payload: 1 } }])), 50_000);
          call.signal?.addEventListener('abort', () => (clearTimeout(timer), reject(call.signal!.reason)), { once: true });
        });
      // The first poll's gate waits 30 s (a login said to be pending, then over); later polls have nothing to wait for.
      let gated = true;
      const gate = () => (gated ? ((gated = false), new Promise<void>((resolve) => setTimeout(resolve, 30_000))) : undefined);
      const h = setup(new FakeFetch(held), { realTimers: true, transport: { gate } });
      await vi.advanceTimersByTimeAsync(30_000);
      expect(h.fetch.calls).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(50_000);
      expect(h.sink.errors).toEqual([]);
      expect(h.sink.items.map((item) => item.id)).toEqual([1]);
      expect(h.fetch.calls[0]!.signal!.aborted).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
