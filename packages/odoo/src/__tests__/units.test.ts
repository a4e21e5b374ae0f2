// The pure parts of @tabbus/odoo: parsing poll results, presence options, version checks, the JSON-RPC
// call and the session check (with a scripted fetch).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TabBusError } from '@tabbus/core';
import { callJsonRpc, REQUEST_TIMEOUT } from '../jsonrpc';
import { parsePollResult, stringChannelOf } from '../notifications';
import { fetchSessionInfo } from '../session';
import { checkVersion, hasTypedMessages, ODOO_VERSIONS, presenceOptions, speaksWebsocket, type OdooVersion } from '../versions';

const LONGPOLLING_VERSIONS = ODOO_VERSIONS.filter((v) => !speaksWebsocket(v));
import { FakeFetch, rawReply, rpcError, rpcResult, sessionExpiredError } from './helpers';

/** The error `fn` throws (fails the test if it does not throw). */
function thrown(fn: () => unknown): TabBusError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TabBusError);
    return error as TabBusError;
  }
  throw new Error('expected a throw');
}

describe('parsePollResult on Odoo 15 ({id, message: {type, payload}})', () => {
  it('flattens each item to {id, type, payload}, in order', () => {
    expect(
      parsePollResult(15, [
        { id: 3, message: { type: 'mail.channel/new_message', payload: { id: 4, body: '<p>hi</p>' } } },
        { id: 5, message: { type: 'custom', payload: [1, 2] } },
      ]),
    ).toEqual([
      { id: 3, type: 'mail.channel/new_message', payload: { id: 4, body: '<p>hi</p>' } },
      { id: 5, type: 'custom', payload: [1, 2] },
    ]);
  });

  it('keeps falsy payloads and drops unknown keys', () => {
    const [a, b, c] = parsePollResult(15, [
      { id: 1, message: { type: 'a', payload: 0 } },
      { id: 2, message: { type: 'b', payload: null, extra: 1 }, channel: 'ignored' },
      { id: 3, message: { type: 'c' } },
    ]);
    expect(a).toEqual({ id: 1, type: 'a', payload: 0 });
    expect(b).toStrictEqual({ id: 2, type: 'b', payload: null });
    expect(c).toStrictEqual({ id: 3, type: 'c', payload: undefined });
  });

  it('answers [] for an empty result', () => {
    expect(parsePollResult(15, [])).toEqual([]);
  });

  it('accepts negative ids (pseudo-notifications)', () => {
    expect(parsePollResult(15, [{ id: -1, message: { type: 'presence', payload: 1 } }])).toEqual([{ id: -1, type: 'presence', payload: 1 }]);
  });

  it.each([
    ['a message that is not an object', [{ id: 1, message: 'raw' }]],
    ['a message that is a list', [{ id: 1, message: ['type', 'payload'] }]],
    ['a null message', [{ id: 1, message: null }]],
    ['no message at all', [{ id: 1 }]],
    ['a numeric type', [{ id: 1, message: { type: 7, payload: 1 } }]],
    ['a 14-shaped item', [{ id: 1, channel: 'chat', message: { text: 'hi' } }]],
  ])('rejects %s', (_label, result) => {
    const error = thrown(() => parsePollResult(15, result));
    expect(error.code).toBe('protocol');
    expect(error.fatal).toBe(false);
    expect(error.message).toContain('message.type');
    expect(error.context['version']).toBe(15);
  });
});

describe('parsePollResult on Odoo 8–14 ({id, channel, message})', () => {
  it('keeps channel and message exactly as the server sent them', () => {
    const items = [
      { id: 1, channel: 'chat', message: 'hi' },
      { id: 2, channel: ['db', 'res.partner', 3], message: { type: 'message', body: 'x' } },
      { id: -1, channel: ['db', 'bus.presence'], message: { id: 7, im_status: 'online' } },
      { id: 4, channel: 'chat', message: null },
    ];
    expect(parsePollResult(14, items)).toEqual(items);
    expect(parsePollResult(8, items)).toEqual(items);
  });

  it('drops keys that are not part of the shape', () => {
    expect(parsePollResult(12, [{ id: 1, channel: 'c', message: 'm', extra: true }])).toStrictEqual([{ id: 1, channel: 'c', message: 'm' }]);
  });

  it.each([
    ['no channel', [{ id: 1, message: 'm' }]],
    ['no message', [{ id: 1, channel: 'c' }]],
    ['a 15-shaped item', [{ id: 1, message: { type: 't', payload: 1 } }]],
  ])('rejects an item with %s', (_label, result) => {
    const error = thrown(() => parsePollResult(14, result));
    expect(error.code).toBe('protocol');
    expect(error.message).toContain('channel or message');
  });
});

describe('parsePollResult: what every version rejects', () => {
  it.each([
    ['null', null],
    ['an object', { notifications: [], channels: [] }],
    ['a string', '[]'],
    ['a number', 0],
    ['undefined', undefined],
  ])('a result that is %s', (_label, result) => {
    for (const version of [8, 14, 15] as const) {
      const error = thrown(() => parsePollResult(version, result));
      expect(error.code).toBe('protocol');
      expect(error.message).toContain('not a list');
    }
  });

  it.each([
    ['null', null],
    ['a number', 5],
    ['a list', [5, 'chat', 'm']],
    ['no id', { channel: 'c', message: { type: 't', payload: 1 } }],
    ['a string id', { id: '5', channel: 'c', message: { type: 't', payload: 1 } }],
    ['a fractional id', { id: 5.5, channel: 'c', message: { type: 't', payload: 1 } }],
    ['a NaN id', { id: Number.NaN, channel: 'c', message: { type: 't', payload: 1 } }],
    ['an unsafe id', { id: 2 ** 53, channel: 'c', message: { type: 't', payload: 1 } }],
  ])('an item that is %s', (_label, item) => {
    for (const version of [8, 14, 15] as const) {
      const error = thrown(() => parsePollResult(version, [item]));
      expect(error.code).toBe('protocol');
      expect(error.message).toContain('integer id');
    }
  });

  it('rejects the whole reply when one item is bad, wherever it is', () => {
    const good = { id: 1, message: { type: 't', payload: 1 } };
    expect(() => parsePollResult(15, [good, good, { id: 3 }])).toThrow(TabBusError);
    expect(() => parsePollResult(15, [{ id: 3 }, good])).toThrow(TabBusError);
  });

  it('puts a short excerpt of the offending item in the context', () => {
    const error = thrown(() => parsePollResult(15, [{ id: 1, message: { type: 2, payload: 'x'.repeat(500) } }]));
    const excerpt = error.context['item'];
    expect(typeof excerpt).toBe('string');
    expect((excerpt as string).length).toBeLessThanOrEqual(200);
    expect(excerpt as string).toContain('"type":2');
  });
});

describe('presenceOptions', () => {
  it.each([10, 11, 12, 13, 14, 15] as const)('Odoo %i sends bus_inactivity in whole milliseconds', (version) => {
    expect(presenceOptions(version, 1200)).toEqual({ bus_inactivity: 1200 });
    expect(presenceOptions(version, 1200.5)).toEqual({ bus_inactivity: 1201 });
    expect(presenceOptions(version, 0)).toEqual({ bus_inactivity: 0 });
    expect(presenceOptions(version, -30)).toEqual({ bus_inactivity: 0 });
    expect(presenceOptions(version, 3_600_000)).toEqual({ bus_inactivity: 3_600_000 });
  });

  it.each([8, 9] as const)('Odoo %i sends im_presence: true only for recent input (< 60 s)', (version) => {
    expect(presenceOptions(version, 0)).toEqual({ im_presence: true });
    expect(presenceOptions(version, 59_999)).toEqual({ im_presence: true });
    expect(presenceOptions(version, 60_000)).toEqual({ im_presence: false });
    expect(presenceOptions(version, 3_600_000)).toEqual({ im_presence: false });
  });

  it.each(LONGPOLLING_VERSIONS)('Odoo %i sends no presence when inactivity is unknown', (version) => {
    expect(presenceOptions(version, undefined)).toEqual({});
  });
});

describe('versions', () => {
  it.each([...ODOO_VERSIONS, 'auto'])('accepts %s', (version) => {
    expect(checkVersion(version)).toBe(version);
  });

  it.each([20, 7, 0, '15', '15.0', 15.5, 'Auto', null, undefined])('rejects %j with a config error', (version) => {
    const error = thrown(() => checkVersion(version));
    expect(error.code).toBe('config');
    expect(error.context['version']).toBe(version);
  });

  it('lists what it accepts', () => {
    expect(thrown(() => checkVersion(20)).message).toMatch(/'auto' or an integer from 8 to 19 /);
  });

  it('typed messages start at 15, the WebSocket at 16', () => {
    expect(ODOO_VERSIONS.filter((v: OdooVersion) => hasTypedMessages(v))).toEqual([15, 16, 17, 18, 19]);
    expect(ODOO_VERSIONS.filter((v: OdooVersion) => speaksWebsocket(v))).toEqual([16, 17, 18, 19]);
  });
});

describe('stringChannelOf', () => {
  it('names the channel of a client-joined 8–14 notification', () => {
    expect(stringChannelOf({ id: 1, channel: 'chat', message: 'x' })).toBe('chat');
  });
  it('leaves server-added tuple channels and 15 notifications to every tab', () => {
    expect(stringChannelOf({ id: 1, channel: ['db', 'res.partner', 3], message: 'x' })).toBeUndefined();
    expect(stringChannelOf({ id: 1, type: 'chat', payload: 'x' })).toBeUndefined();
  });
});

describe('callJsonRpc', () => {
  const call = (fetch: FakeFetch, signal?: AbortSignal) =>
    callJsonRpc({ fetch: fetch.fetch, url: 'http://o.test/web/x', params: { a: 1 }, credentials: 'include', ...(signal ? { signal } : {}) });

  it('resolves with result, including falsy results', async () => {
    await expect(call(new FakeFetch(rpcResult({ ok: true })))).resolves.toEqual({ ok: true });
    await expect(call(new FakeFetch(rpcResult(false)))).resolves.toBe(false);
    await expect(call(new FakeFetch(rpcResult(null)))).resolves.toBeNull();
  });

  it('numbers its requests', async () => {
    const fetch = new FakeFetch(rpcResult(1), rpcResult(2));
    await call(fetch);
    await call(fetch);
    const [a, b] = fetch.calls.map((c) => c.body.id as number);
    expect(b).toBeGreaterThan(a!);
    expect(fetch.calls[0]!.body).toEqual({ jsonrpc: '2.0', method: 'call', params: { a: 1 }, id: a });
    expect(fetch.calls[0]!.init.credentials).toBe('include');
  });

  it('rethrows the abort reason as is when its signal aborts (so the caller can tell why)', async () => {
    const controller = new AbortController();
    const fetch = new FakeFetch();
    const pending = call(fetch, controller.signal);
    controller.abort('mine');
    await expect(pending).rejects.toBe('mine');
  });

  describe('with no signal of its own', () => {
    afterEach(() => void vi.useRealTimers());

    it('gives up after REQUEST_TIMEOUT with a timeout TabBusError, and drops the request', async () => {
      vi.useFakeTimers();
      const fetch = new FakeFetch(); // takes the request, never answers
      const outcome = call(fetch).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT - 1);
      expect(fetch.calls[0]!.signal!.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(TabBusError);
      expect(error).toMatchObject({ code: 'timeout', fatal: false, context: { url: 'http://o.test/web/x' } });
      expect(fetch.calls[0]!.signal!.aborted).toBe(true);
    });

    it('a body that stops coming counts too', async () => {
      vi.useFakeTimers();
      const fetch = new FakeFetch((call) => {
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"jsonrpc":"2.0",'));
            call.signal!.addEventListener('abort', () => controller.error(call.signal!.reason));
          },
        });
        return new Response(body, { status: 200 });
      });
      const outcome = call(fetch).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT);
      expect(await outcome).toMatchObject({ code: 'timeout' });
    });

    it('an answer in time leaves no timer behind', async () => {
      vi.useFakeTimers();
      await expect(call(new FakeFetch(rpcResult(7)))).resolves.toBe(7);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('a call that fails leaves no timer behind either: no connection, a reply too large, an error reply', async () => {
      vi.useFakeTimers();
      const tooLarge = new Response('{}', { status: 200, headers: { 'Content-Length': String(17 * 1024 * 1024) } });
      for (const reply of [new TypeError('Failed to fetch'), tooLarge, rawReply(502, 'Bad Gateway', 'text/html')]) {
        const fetch = new FakeFetch(reply);
        await expect(call(fetch)).rejects.toBeInstanceOf(TabBusError);
        expect(vi.getTimerCount(), String(reply)).toBe(0);
        // The request is over: dropping it is a no-op for the browser, and what tells a caller's own abort apart.
        expect(fetch.calls[0]!.signal!.aborted).toBe(true);
      }
    });

    it('a caller with a signal sets its own limit: none is added', async () => {
      vi.useFakeTimers();
      const controller = new AbortController();
      const fetch = new FakeFetch();
      let settled = false;
      void call(fetch, controller.signal).finally(() => (settled = true)).catch(() => undefined);
      await vi.advanceTimersByTimeAsync(REQUEST_TIMEOUT * 2);
      expect(settled).toBe(false);
      controller.abort('mine');
    });
  });

  it('a body that fails while being read → network TabBusError (not a raw TypeError)', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"jsonrpc":"2.0","result":{'));
        controller.error(new TypeError('terminated'));
      },
    });
    const error = await call(new FakeFetch(new Response(body, { status: 200 }))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'network', fatal: false, context: { url: 'http://o.test/web/x' } });
  });

  it('a fetch that rejects → network TabBusError with the cause', async () => {
    const cause = new TypeError('fetch failed');
    const error = await call(new FakeFetch(cause)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TabBusError);
    expect(error).toMatchObject({ code: 'network', fatal: false, cause });
  });

  it('says after a 404 what it means on the route, when the caller says so', async () => {
    const error = await callJsonRpc({ fetch: new FakeFetch(rawReply(404, 'Not Found')).fetch, url: 'http://o.test/web/x', params: {}, credentials: 'same-origin', notFound: 'no such route here' }).catch((e: unknown) => e as TabBusError);
    expect(error).toMatchObject({ code: 'http', context: { status: 404 } });
    expect((error as TabBusError).message).toBe('tabbus: http://o.test/web/x: HTTP 404 (no such route here)');
  });

  it('has no Odoo 16 hint on a 404 of another route', async () => {
    const error = await call(new FakeFetch(rawReply(404, 'Not Found'))).catch((e: unknown) => e as TabBusError);
    expect(error).toMatchObject({ code: 'http', context: { status: 404 } });
    expect((error as TabBusError).message).not.toMatch(/Odoo 16/);
  });

  it('session expiry is fatal; other server errors are not', async () => {
    await expect(call(new FakeFetch(rpcError(sessionExpiredError)))).rejects.toMatchObject({ code: 'session_expired', fatal: true });
    await expect(
      call(new FakeFetch(rpcError({ code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.AccessDenied', message: 'Access Denied' } }))),
    ).rejects.toMatchObject({ code: 'server', fatal: false, message: expect.stringContaining('odoo.exceptions.AccessDenied: Access Denied') });
  });
});

describe('fetchSessionInfo (scripted fetch)', () => {
  const info = (fetch: FakeFetch) => fetchSessionInfo({ fetch: fetch.fetch, serverUrl: 'http://o.test/prefix', credentials: 'same-origin' });

  it('asks /web/session/get_session_info with empty params', async () => {
    const fetch = new FakeFetch(rpcResult({ uid: 2, db: 'tabbus', name: 'Mitchell Admin' }));
    await expect(info(fetch)).resolves.toEqual({ uid: 2, db: 'tabbus' });
    expect(fetch.calls[0]!.url).toBe('http://o.test/prefix/web/session/get_session_info');
    expect(fetch.calls[0]!.body.params).toEqual({});
  });

  it('accepts a public session (uid null or false)', async () => {
    await expect(info(new FakeFetch(rpcResult({ uid: null, db: 'd' })))).resolves.toEqual({ uid: null, db: 'd' });
    await expect(info(new FakeFetch(rpcResult({ uid: false, db: 'd' })))).resolves.toEqual({ uid: false, db: 'd' });
  });

  it.each([
    ['no db', { uid: 2 }],
    ['a string uid', { uid: '2', db: 'd' }],
    ['no uid', { db: 'd' }],
    ['a non-object result', 'hello'],
  ])('rejects a reply with %s as a protocol error', async (_label, result) => {
    await expect(info(new FakeFetch(rpcResult(result)))).rejects.toMatchObject({ code: 'protocol', fatal: false });
  });

  it('passes the session-expired error through', async () => {
    await expect(info(new FakeFetch(rpcError(sessionExpiredError)))).rejects.toMatchObject({ code: 'session_expired', fatal: true });
  });
});
