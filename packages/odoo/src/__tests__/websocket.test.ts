// The Odoo 16+ WebSocket transport: against the real dev server (with the `ws` client standing in for the
// browser's WebSocket), and against a scripted socket for what a real server will not do on demand
// (malformed frames). Plus the send queue's order and rate limit on a hand-driven clock.
import { describe, expect, it } from 'vitest';
import WS from 'ws';
import { FakeBrowser } from '@tabbus/core/testing';
import { TabBusError } from '@tabbus/core';
import { authenticate } from '../auth';
import { createOdooBus, WORKER_VERSION_KEY, type OdooBus, type OdooBusOptions } from '../create-odoo-bus';
import { createSendQueue, RATE_LIMIT_FRAMES, RATE_LIMIT_WINDOW } from '../send-queue';
import { AWAY_AFTER, WebsocketTransport, websocketUrl, type WebsocketOptions } from '../websocket';
import type { DevServer } from '../../../dev-server/src/index';
import { eventually, login, ManualTimers, onCleanup, RecordingSink, sleep, startServer } from './helpers';

/** The browser's WebSocket, as `ws` with what a browser always sends: Origin, User-Agent and the cookie. */
function browserSocket(server: DevServer, cookie?: string, log?: string[]): typeof WebSocket {
  return class extends WS {
    constructor(url: string) {
      super(url, { origin: server.url, headers: { 'User-Agent': 'vitest', ...(cookie ? { Cookie: cookie } : {}) } });
      log?.push(url);
      const send = this.send.bind(this);
      // Record what the transport sends, to check order and content.
      this.send = ((data: string) => {
        log?.push(data);
        send(data);
      }) as typeof this.send;
    }
  } as unknown as typeof WebSocket;
}

function transport(server: DevServer, options: Partial<WebsocketOptions> & { cookie?: string; log?: string[] } = {}): WebsocketTransport {
  const t = new WebsocketTransport({
    serverUrl: server.url,
    version: server.odoo as 16 | 17 | 18 | 19,
    workerVersion: async () => WORKER_VERSIONS[server.odoo],
    WebSocket: browserSocket(server, options.cookie, options.log),
    backoff: { initial: 20, max: 100, jitter: 0 },
    ...options,
  });
  onCleanup(() => t.close());
  return t;
}

/** The servers' `websocket_worker_version` (16 has none). */
const WORKER_VERSIONS: Record<number, string | undefined> = { 17: '17.0-1', 18: '18.0-5', 19: '19.0-2' };

const closeSockets = (server: DevServer, code: number, reason = '') =>
  fetch(`${server.url}/tabbus/sockets/close`, { method: 'POST', body: JSON.stringify({ code, reason }) }).then((r) => r.json() as Promise<{ closed: number }>);
const ids = (sink: RecordingSink) => sink.items.map((i) => i.id);
const sent = (log: string[]) => log.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event_name: string; data: Record<string, unknown> });

describe('WebsocketTransport against the dev server', () => {
  it.each([16, 17, 18, 19] as const)('Odoo %i: subscribes first with the channels and the cursor, then presence in that version\'s shape; delivers in order; one socket', async (odoo) => {
    const server = await startServer({ odoo });
    const session = await login(server);
    const log: string[] = [];
    const before = server.publish('chat', { type: 'demo/message', payload: 'before' });
    const sink = new RecordingSink({ channels: ['chat'], cursor: before - 1, inactivity: 1234 });
    transport(server, { cookie: session.cookie, log }).open(sink);
    await eventually(() => ids(sink)).toEqual([before]);
    expect(log[0]).toBe(websocketUrl(server.url, WORKER_VERSIONS[odoo]));
    expect(sent(log)).toEqual([
      { event_name: 'subscribe', data: { channels: ['chat'], last: before - 1 } },
      // 19's server takes only inactivity_period (its handler fails on any other key); 16–18 require both.
      { event_name: 'update_presence', data: odoo >= 19 ? { inactivity_period: 1234 } : { inactivity_period: 1234, im_status_ids_by_model: {} } },
    ]);
    await eventually(() => server.stats().presenceWrites).toBe(1);
    const a = server.publish('chat', { type: 'demo/message', payload: 'a' });
    const b = server.publish('chat', { type: 'demo/message', payload: 'b' });
    await eventually(() => ids(sink)).toEqual([before, a, b]);
    expect(sink.items[1]).toEqual({ id: a, type: 'demo/message', payload: 'a' });
    expect(sink.states).toEqual(['connecting', 'open']);
    expect(sink.requests).toBe(1);
    expect(server.stats().openSockets).toBe(1);
    expect(sink.errors).toEqual([]);
  });

  it('Odoo 16: each presence update carries the ids imStatusIds gives at that moment', async () => {
    const server = await startServer({ odoo: 16 });
    const session = await login(server);
    const log: string[] = [];
    let ids: Record<string, number[]> = { 'res.partner': [3] };
    transport(server, { cookie: session.cookie, log, presenceInterval: 50, imStatusIds: () => ids }).open(new RecordingSink({ channels: ['chat'], inactivity: 0 }));
    await eventually(() => sent(log).filter((m) => m.event_name === 'update_presence').length).toBeGreaterThanOrEqual(1);
    ids = { 'res.partner': [3, 7] };
    await eventually(() => sent(log).filter((m) => m.event_name === 'update_presence').at(-1)?.data['im_status_ids_by_model']).toEqual({ 'res.partner': [3, 7] });
    expect(sent(log).find((m) => m.event_name === 'update_presence')?.data['im_status_ids_by_model']).toEqual({ 'res.partner': [3] });
  });

  it('re-subscribes once for a burst of channel changes, and not at all when the union is the same', async () => {
    const server = await startServer({ odoo: 17 });
    const log: string[] = [];
    const sink = new RecordingSink({ channels: ['a'] });
    const t = transport(server, { log });
    t.open(sink);
    await eventually(() => sent(log).length).toBe(1);
    sink.channelList = ['a', 'b'];
    t.refresh();
    sink.channelList = ['a', 'b', 'c'];
    t.refresh();
    await eventually(() => sent(log).length).toBe(2);
    expect(sent(log)[1]).toEqual({ event_name: 'subscribe', data: { channels: ['a', 'b', 'c'], last: 0 } });
    t.refresh();
    await sleep(120);
    expect(sent(log)).toHaveLength(2);
    const c = server.publish('c', { type: 't', payload: 1 });
    await eventually(() => ids(sink)).toEqual([c]);
  });

  it('a cursor moved back (a replay asked by a tab that missed batches) subscribes from it on a new socket; the same channels and cursor do not', async () => {
    const server = await startServer({ odoo: 17 });
    const log: string[] = [];
    const sink = new RecordingSink({ channels: ['chat'] });
    const t = transport(server, { log });
    t.open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    const a = server.publish('chat', { type: 't', payload: 'a' });
    const b = server.publish('chat', { type: 't', payload: 'b' });
    await eventually(() => ids(sink)).toEqual([a, b]);
    t.refresh();
    await sleep(100);
    expect(sent(log).filter((m) => m.event_name === 'subscribe')).toHaveLength(1);
    sink.cursorValue = a;
    t.refresh();
    await eventually(() => ids(sink)).toEqual([a, b, b]);
    expect(sent(log).filter((m) => m.event_name === 'subscribe').map((m) => m.data['last'])).toEqual([0, a]);
    expect(log.filter((l) => l.startsWith('ws')), 'one socket per subscribe').toHaveLength(2);
    await eventually(() => server.stats().openSockets).toBe(1);
    expect(sink.resets).toBe(0);
    expect(sink.errors).toEqual([]);
  });

  it('4002 (the age limit): reconnects at once and subscribes from the cursor; nothing published meanwhile is lost', async () => {
    const server = await startServer({ odoo: 17 });
    const log: string[] = [];
    const sink = new RecordingSink({ channels: ['chat'] });
    transport(server, { log, backoff: { initial: 5000 } }).open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    const a = server.publish('chat', { type: 't', payload: 'a' });
    await eventually(() => ids(sink)).toEqual([a]);
    const started = Date.now();
    expect(await closeSockets(server, 4002)).toEqual({ closed: 1 });
    const b = server.publish('chat', { type: 't', payload: 'b' });
    await eventually(() => ids(sink)).toEqual([a, b]);
    expect(Date.now() - started).toBeLessThan(5000); // the 5 s backoff was not used
    expect(sent(log).filter((m) => m.event_name === 'subscribe').map((m) => m.data['last'])).toEqual([0, a]);
    expect(sink.errors).toEqual([]);
    expect(sink.states).toEqual(['connecting', 'open', 'connecting', 'open']);
  });

  it('the keep-alive age on the server clock also closes 4002, and the transport carries on', async () => {
    const server = await startServer({ odoo: 17, websocketKeepAliveMs: 60_000 });
    const sink = new RecordingSink({ channels: ['chat'] });
    transport(server).open(sink);
    await eventually(() => sink.requests).toBe(1);
    await eventually(() => server.stats().openSockets).toBe(1);
    server.clock.advance(60_000);
    await eventually(() => sink.requests).toBe(2);
    const a = server.publish('chat', { type: 't', payload: 'a' });
    await eventually(() => ids(sink)).toEqual([a]);
  });

  it('1013 (rate limit): reports a network error and waits at least one rate window before reconnecting', async () => {
    const server = await startServer({ odoo: 17 });
    const delays: number[] = [];
    const sink = new RecordingSink({ channels: ['chat'] });
    transport(server, {
      setTimeout: (fn, ms) => {
        delays.push(ms);
        return setTimeout(fn, Math.min(ms, 50));
      },
    }).open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    delays.length = 0;
    await closeSockets(server, 1013);
    await eventually(() => sink.requests).toBe(2);
    expect(sink.errors.map((e) => [e.code, e.context['code']])).toEqual([['network', 1013]]);
    expect(sink.states).toContain('backoff');
    expect(Math.max(...delays)).toBeGreaterThanOrEqual(RATE_LIMIT_WINDOW);
  });

  it('1001 (server shutdown) and 1011: back off, reconnect, resume from the cursor', async () => {
    const server = await startServer({ odoo: 17 });
    const sink = new RecordingSink({ channels: ['chat'] });
    transport(server).open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    for (const code of [1001, 1011]) {
      const requests = sink.requests;
      await eventually(() => sink.lastState).toBe('open');
      await closeSockets(server, code);
      await eventually(() => sink.requests).toBe(requests + 1);
      await eventually(() => sink.lastState).toBe('open');
    }
    expect(sink.errors.map((e) => e.context['code'])).toEqual([1001, 1011]);
    expect(sink.errors.every((e) => !e.fatal)).toBe(true);
    const a = server.publish('chat', { type: 't', payload: 'a' });
    await eventually(() => ids(sink)).toEqual([a]);
  });

  it('4001 (session expired): a fatal session_expired error, no reconnect', async () => {
    const server = await startServer({ odoo: 17 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'] });
    transport(server, { cookie: session.cookie }).open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    await fetch(`${server.url}/tabbus/expire`, { method: 'POST', body: '{}' });
    await eventually(() => sink.errors.map((e) => e.code)).toEqual(['session_expired']);
    expect(sink.errors[0]!.fatal).toBe(true);
    await sleep(100);
    expect(sink.requests).toBe(1);
  });

  it('a wrong ?version= on 17: the server closes 1000 OUTDATED_VERSION, which is a fatal `outdated` error, no reconnect', async () => {
    const server = await startServer({ odoo: 17 });
    const sink = new RecordingSink({ channels: ['chat'] });
    transport(server, { workerVersion: async () => '16.0-0' }).open(sink);
    await eventually(() => sink.errors.map((e) => e.code)).toEqual(['outdated']);
    expect(sink.errors[0]!).toMatchObject({ fatal: true, context: { code: 1000, reason: 'OUTDATED_VERSION' } });
    await sleep(100);
    expect(sink.requests).toBe(1);
  });

  it('a plain 1000 is never retried (Odoo closes clean when the user or database changed)', async () => {
    const server = await startServer({ odoo: 17 });
    const sink = new RecordingSink({ channels: ['chat'] });
    transport(server).open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    await closeSockets(server, 1000);
    await eventually(() => sink.errors.map((e) => [e.code, e.fatal])).toEqual([['server', true]]);
    await sleep(100);
    expect(sink.requests).toBe(1);
  });

  it('a server whose ids restarted below the cursor: reset, then the new ids are delivered', async () => {
    const server = await startServer({ odoo: 17 });
    const sink = new RecordingSink({ channels: ['chat'], cursor: 500 });
    transport(server).open(sink);
    const a = server.publish('chat', { type: 't', payload: 'a' });
    await eventually(() => ids(sink)).toEqual([a]);
    expect(a).toBeLessThan(500);
    expect(sink.resets).toBe(1);
  });

  it('closes while every tab is hidden (hiddenClose) and reopens from the cursor when one is shown', async () => {
    const server = await startServer({ odoo: 17 });
    const log: string[] = [];
    const sink = new RecordingSink({ channels: ['chat'] });
    const t = transport(server, { hiddenClose: 50, log });
    t.open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    const a = server.publish('chat', { type: 't', payload: 'a' });
    await eventually(() => ids(sink)).toEqual([a]);
    sink.paceValue = 30_000;
    t.paceChanged();
    await eventually(() => server.stats().openSockets).toBe(0);
    expect(sink.lastState).toBe('paused');
    const b = server.publish('chat', { type: 't', payload: 'b' });
    await sleep(50);
    expect(ids(sink)).toEqual([a]);
    sink.paceValue = 0;
    t.paceChanged();
    await eventually(() => ids(sink)).toEqual([a, b]);
    expect(sent(log).filter((m) => m.event_name === 'subscribe').map((m) => m.data['last'])).toEqual([0, a]);
    expect(sink.errors).toEqual([]);
  });

  it('never closes while hidden when hiddenClose is off (the default)', async () => {
    const server = await startServer({ odoo: 17 });
    const sink = new RecordingSink({ channels: ['chat'] });
    const t = transport(server);
    t.open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    sink.paceValue = 30_000;
    t.paceChanged();
    await sleep(100);
    expect(server.stats().openSockets).toBe(1);
  });

  it('close() closes the socket and reports closed', async () => {
    const server = await startServer({ odoo: 16 });
    const sink = new RecordingSink({ channels: ['chat'] });
    const t = transport(server);
    t.open(sink);
    await eventually(() => server.stats().openSockets).toBe(1);
    t.close();
    await eventually(() => server.stats().openSockets).toBe(0);
    expect(sink.lastState).toBe('closed');
    expect(sink.errors).toEqual([]);
  });
});

/** A socket the test drives: it opens when told and records what was sent. */
class ScriptedSocket {
  static last: ScriptedSocket | undefined;
  static count = 0;
  /** Every socket made since the test emptied the list. */
  static all: ScriptedSocket[] = [];
  readyState = 0;
  readonly sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  closedWith: number | undefined;
  constructor(readonly url: string) {
    ScriptedSocket.last = this;
    ScriptedSocket.count++;
    ScriptedSocket.all.push(this);
  }
  send(text: string): void {
    this.sent.push(text);
  }
  close(code?: number): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }
  message(data: unknown): void {
    this.onmessage?.({ data });
  }
  /** The server closes the connection. */
  serverClose(code: number, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const frameOf = (...list: number[]) => JSON.stringify(list.map((id) => ({ id, message: { type: 't', payload: id } })));

/**
 * A transport on scripted sockets (the list emptied) whose timers fire when the test says, opened on a sink
 * of channel `c` (or as `sinkInit` says); the first socket is made once this resolves.
 */
async function scriptedTransport(options: Partial<WebsocketOptions> = {}, sinkInit: ConstructorParameters<typeof RecordingSink>[0] = { channels: ['c'] }) {
  ScriptedSocket.all = [];
  const timers = new ManualTimers();
  const t = new WebsocketTransport({
    serverUrl: 'https://odoo.test',
    version: 16,
    WebSocket: ScriptedSocket as unknown as typeof WebSocket,
    backoff: { initial: 1000, jitter: 0 },
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    now: () => 0,
    ...options,
  });
  onCleanup(() => t.close());
  const sink = new RecordingSink(sinkInit);
  t.open(sink);
  await tick();
  return { t, timers, sink };
}

describe('WebsocketTransport with a scripted socket', () => {
  const make = () => {
    ScriptedSocket.count = 0;
    const t = new WebsocketTransport({ serverUrl: 'https://odoo.test/prefix', version: 16, WebSocket: ScriptedSocket as unknown as typeof WebSocket, backoff: { initial: 10, jitter: 0 } });
    onCleanup(() => t.close());
    return t;
  };

  it('connects to wss://…/prefix/websocket (no ?version= on 16)', async () => {
    make().open(new RecordingSink());
    await eventually(() => ScriptedSocket.last?.url).toBe('wss://odoo.test/prefix/websocket');
  });

  it.each([
    ['not JSON', '{oops'],
    ['not a list', '{"id": 1}'],
    ['an item without an id', '[{"message": {"type": "t", "payload": 1}}]'],
    ['an item without message.type', '[{"id": 3, "message": {}}]'],
  ])('a frame that is %s: a protocol error, the socket is dropped, a new one subscribes from the cursor; nothing is delivered from it', async (_what, frame) => {
    const sink = new RecordingSink({ channels: ['c'], cursor: 2 });
    make().open(sink);
    await eventually(() => ScriptedSocket.count).toBe(1);
    const first = ScriptedSocket.last!;
    first.open();
    first.message(frame);
    expect(sink.errors.map((e) => e.code)).toEqual(['protocol']);
    expect(first.closedWith).toBe(4000);
    expect(sink.items).toEqual([]);
    await eventually(() => ScriptedSocket.count).toBe(2);
    ScriptedSocket.last!.open();
    expect(JSON.parse(ScriptedSocket.last!.sent[0]!)).toEqual({ event_name: 'subscribe', data: { channels: ['c'], last: 2 } });
  });

  it('a replay never takes a frame of the old subscription as following the replayed cursor', async () => {
    // The bus moved its cursor back to 2 for a tab that missed 3..9 while the server was already sending 10
    // on the open socket: were 10 delivered before the replay, the tab would take it as following 2.
    const sink = new RecordingSink({ channels: ['c'], cursor: 2 });
    const t = make();
    t.open(sink);
    await eventually(() => ScriptedSocket.count).toBe(1);
    const first = ScriptedSocket.last!;
    first.open();
    first.message('[{"id": 9, "message": {"type": "t", "payload": 9}}]');
    sink.cursorValue = 2;
    t.refresh();
    expect(first.closedWith).toBe(1000);
    first.message('[{"id": 10, "message": {"type": "t", "payload": 10}}]');
    expect(ids(sink)).toEqual([9]);
    await eventually(() => ScriptedSocket.count).toBe(2);
    ScriptedSocket.last!.open();
    expect(JSON.parse(ScriptedSocket.last!.sent[0]!)).toEqual({ event_name: 'subscribe', data: { channels: ['c'], last: 2 } });
  });

  it('a binary frame is a protocol error too', async () => {
    const sink = new RecordingSink();
    make().open(sink);
    await eventually(() => ScriptedSocket.count).toBe(1);
    ScriptedSocket.last!.open();
    ScriptedSocket.last!.message(new ArrayBuffer(4));
    expect(sink.errors.map((e) => e.message)).toEqual([expect.stringMatching(/binary/)]);
  });

  it('a socket that never opens is given up after the connect timeout and retried', async () => {
    const sink = new RecordingSink();
    ScriptedSocket.count = 0;
    const t = new WebsocketTransport({ serverUrl: 'http://x', version: 16, WebSocket: ScriptedSocket as unknown as typeof WebSocket, connectTimeout: 30, backoff: { initial: 10, jitter: 0 } });
    onCleanup(() => t.close());
    t.open(sink);
    await eventually(() => ScriptedSocket.count).toBe(2);
    expect(sink.errors[0]!.context['code']).toBe(1006);
  });

  it('a constructor that throws (a URL the browser refuses) is a fatal config error', async () => {
    const sink = new RecordingSink();
    const Throwing = class {
      constructor() {
        throw new SyntaxError('bad URL');
      }
    } as unknown as typeof WebSocket;
    const t = new WebsocketTransport({ serverUrl: 'http://x', version: 16, WebSocket: Throwing });
    onCleanup(() => t.close());
    t.open(sink);
    await eventually(() => sink.errors.map((e) => [e.code, e.fatal])).toEqual([['config', true]]);
  });
});

describe('WebsocketTransport: one socket at a time', () => {
  const live = () => ScriptedSocket.all.filter((socket) => socket.closedWith === undefined);

  it('a replay asked for while backing off opens one socket: the pending retry does not open another', async () => {
    const { t, timers, sink } = await scriptedTransport();
    ScriptedSocket.all[0]!.open();
    ScriptedSocket.all[0]!.message(frameOf(5, 9));
    ScriptedSocket.all[0]!.serverClose(1006);
    expect(sink.lastState).toBe('backoff');
    // A follower missed 6..9: the link moves the cursor back and refreshes.
    sink.cursorValue = 5;
    t.refresh();
    await tick();
    expect(ScriptedSocket.all).toHaveLength(2);
    for (const timer of timers.find(1000)) timers.fire(timer.ms);
    await tick();
    expect(ScriptedSocket.all).toHaveLength(2);
    expect(live()).toEqual([ScriptedSocket.all[1]]);
  });

  it('hidden, then shown again while the connection waits for its gate: one socket, not two', async () => {
    let release!: () => void;
    let gated = true;
    const { t, timers, sink } = await scriptedTransport({ hiddenClose: 100, gate: () => (gated ? new Promise<void>((resolve) => (release = resolve)) : undefined) });
    sink.paceValue = 30_000;
    t.paceChanged();
    timers.fire(100);
    expect(sink.lastState).toBe('paused');
    gated = false;
    sink.paceValue = 0;
    t.paceChanged();
    await tick();
    expect(ScriptedSocket.all).toHaveLength(1);
    // The first connect's gate opens late: it must not open a second socket.
    release();
    await tick();
    expect(ScriptedSocket.all).toHaveLength(1);
    expect(live()).toHaveLength(1);
  });

  it.each([17, 18, 19] as const)(
    'Odoo %i: after a later subscribe on the same socket, an id below its `last` (the server keeps its own, held back 10 s) is no reset',
    async (version) => {
      const { t, timers, sink } = await scriptedTransport({ version, workerVersion: async () => 'x' }, { channels: ['a'], cursor: 100 });
      const socket = ScriptedSocket.all[0]!;
      socket.open();
      socket.message(frameOf(101, 102, 104, 105));
      expect(sink.cursorValue).toBe(105);
      sink.channelList = ['a', 'b'];
      t.refresh();
      timers.fire(50);
      expect(JSON.parse(socket.sent.at(-1)!)).toEqual({ event_name: 'subscribe', data: { channels: ['a', 'b'], last: 105 } });
      // 103 of channel b: above the server's own last (100), never sent on this connection.
      socket.message(frameOf(103));
      expect(sink.resets).toBe(0);
      // The first subscribe's `last` still tells a restart: an id at or below 100.
      socket.message(frameOf(7));
      expect(sink.resets).toBe(1);
    },
  );
});

describe('WebsocketTransport: the user back from away', () => {
  it('input after AWAY_AFTER without any sends the presence now (Odoo sends at once then), a shorter spell waits for the next update', async () => {
    const { t, timers } = await scriptedTransport({ version: 17, workerVersion: async () => 'x' }, { inactivity: 0 });
    const socket = ScriptedSocket.all[0]!;
    socket.open();
    const presences = () => socket.sent.filter((text) => (JSON.parse(text) as { event_name: string }).event_name === 'update_presence').length;
    const onOpen = presences();
    expect(onOpen).toBe(1);
    t.userBack(AWAY_AFTER - 1);
    expect([...timers.pending.values()].map((timer) => timer.ms)).not.toContain(300);
    t.userBack(AWAY_AFTER);
    timers.fire(300);
    expect(presences()).toBe(onOpen + 1);
    // No socket open: nothing to send on, nothing queued.
    t.close();
    t.userBack(AWAY_AFTER);
    expect(presences()).toBe(onOpen + 1);
  });
});

describe('WebsocketTransport: 4002 (the age limit)', () => {
  it('a server that closes each socket 4002 as soon as it opens (a keep-alive set to 0) does not make the tab reconnect in a loop: once at once, then after the backoff; at once again after a stable socket', async () => {
    let clock = 1;
    const { timers, sink } = await scriptedTransport({ version: 17, workerVersion: async () => 'x', now: () => clock });
    /** Fires the 0 ms timers (a reconnect "at once" may go through one) and lets the connection start. */
    const settle = async () => {
      for (const timer of timers.find(0)) timers.fire((ms) => ms === 0 && timers.pending.has(timer.id));
      await tick();
    };
    ScriptedSocket.all[0]!.open();
    clock += 20_000;
    // The age limit of a socket that was up a while: a new one at once, as Odoo's worker does.
    ScriptedSocket.all[0]!.serverClose(4002);
    await settle();
    expect(ScriptedSocket.all).toHaveLength(2);
    // Closed 4002 again at once: Odoo's worker waits up to 1 s (jitter) before each new attempt, and longer
    // as they fail; without a wait, the tab would open socket after socket as fast as the network allows.
    ScriptedSocket.all[1]!.open();
    ScriptedSocket.all[1]!.serverClose(4002);
    await settle();
    expect(ScriptedSocket.all).toHaveLength(2);
    expect(sink.lastState).toBe('backoff');
    timers.fire(1500);
    await tick();
    expect(ScriptedSocket.all).toHaveLength(3);
    // That one stays up: its age limit is a new socket at once again.
    ScriptedSocket.all[2]!.open();
    clock += 20_000;
    ScriptedSocket.all[2]!.serverClose(4002);
    await settle();
    expect(ScriptedSocket.all).toHaveLength(4);
    expect(sink.errors).toEqual([]);
  });
});

describe('WebsocketTransport: 4001 (the session the socket was opened with is gone)', () => {
  /** An Odoo 17 socket that delivered `ids`, then closed 4001. */
  const closedWith4001 = async (sessionClosed?: () => Promise<void>, ids: number[] = []) => {
    const opened = await scriptedTransport({ version: 17, workerVersion: async () => 'x', ...(sessionClosed ? { sessionClosed } : {}) });
    ScriptedSocket.all[0]!.open();
    if (ids.length) ScriptedSocket.all[0]!.message(frameOf(...ids));
    ScriptedSocket.all[0]!.serverClose(4001);
    await tick();
    return opened;
  };

  it('without sessionClosed: a fatal session_expired, no new socket', async () => {
    const { sink } = await closedWith4001();
    expect(sink.errors.map((e) => [e.code, e.fatal])).toEqual([['session_expired', true]]);
    expect(ScriptedSocket.all).toHaveLength(1);
  });

  it('the session is still the same user’s (a login rotated its id): no error, a new socket at once; another 4001 before it is stable waits out the backoff', async () => {
    const { sink, timers } = await closedWith4001(() => Promise.resolve());
    expect(sink.errors).toEqual([]);
    expect(sink.lastState).toBe('backoff');
    timers.fire(0);
    await tick();
    expect(ScriptedSocket.all).toHaveLength(2);
    ScriptedSocket.all[1]!.open();
    ScriptedSocket.all[1]!.serverClose(4001);
    await tick();
    expect(timers.find(0)).toEqual([]);
    timers.fire(1500);
    await tick();
    expect(ScriptedSocket.all).toHaveLength(3);
    expect(sink.errors).toEqual([]);
  });

  it('a replay asked for while the check is on its way connects at once; the check’s answer then opens no second socket', async () => {
    let answer!: () => void;
    const { t, timers, sink } = await closedWith4001(() => new Promise<void>((resolve) => (answer = resolve)), [5, 9]);
    // A follower missed 6..9: the link moves the cursor back and refreshes, which reconnects at once.
    sink.cursorValue = 5;
    t.refresh();
    await tick();
    expect(ScriptedSocket.all).toHaveLength(2);
    answer();
    await tick();
    for (const timer of timers.find(1000)) timers.fire(timer.ms);
    await tick();
    expect(ScriptedSocket.all).toHaveLength(2);
  });

  it('the session ended: the check’s fatal error stops the transport', async () => {
    const ended = new TabBusError('session_expired', 'the session now belongs to nobody', { fatal: true });
    const { sink, timers } = await closedWith4001(() => Promise.reject(ended));
    expect(sink.errors).toEqual([ended]);
    expect(timers.find(() => true)).toEqual([]);
    expect(ScriptedSocket.all).toHaveLength(1);
  });

  it('the check could not tell (no answer): a network error and a retry after the backoff', async () => {
    const { sink, timers } = await closedWith4001(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(sink.errors.map((e) => [e.code, e.fatal])).toEqual([['network', false]]);
    timers.fire(1000);
    await tick();
    expect(ScriptedSocket.all).toHaveLength(2);
  });
});

describe('SendQueue', () => {
  function queue() {
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const written: string[] = [];
    let open = true;
    const q = createSendQueue(
      { now: () => now, setTimeout: (fn, ms) => timers.push({ at: now + ms, fn }), clearTimeout: () => undefined },
      (text) => open && written.push(JSON.parse(text).event_name) > 0,
    );
    const advance = (ms: number) => {
      now += ms;
      const due = timers.filter((x) => x.at <= now);
      for (const t of due) timers.splice(timers.indexOf(t), 1);
      for (const t of due) t.fn();
    };
    return { q, written, advance, setOpen: (o: boolean) => (open = o) };
  }

  it('sends nothing but subscribe until the first subscribe of a connection', () => {
    const { q, written } = queue();
    q.push({ event_name: 'update_presence', data: {} });
    expect(written).toEqual([]);
    q.push({ event_name: 'subscribe', data: {} });
    expect(written).toEqual(['subscribe', 'update_presence']);
  });

  it('a queued subscribe is replaced by a newer one and goes first', () => {
    const { q, written, setOpen } = queue();
    q.push({ event_name: 'subscribe', data: 1 });
    setOpen(false);
    q.push({ event_name: 'update_presence', data: 1 });
    q.push({ event_name: 'subscribe', data: 2 });
    q.push({ event_name: 'subscribe', data: 3 });
    setOpen(true);
    q.flush();
    expect(written).toEqual(['subscribe', 'subscribe', 'update_presence']);
  });

  it(`sends at most ${RATE_LIMIT_FRAMES} frames per ${RATE_LIMIT_WINDOW} ms, the rest when the window moves`, () => {
    const { q, written, advance } = queue();
    q.push({ event_name: 'subscribe', data: 0 });
    for (let i = 0; i < 20; i++) q.push({ event_name: `e${i}`, data: i });
    expect(written).toHaveLength(RATE_LIMIT_FRAMES);
    advance(RATE_LIMIT_WINDOW - 1);
    expect(written).toHaveLength(RATE_LIMIT_FRAMES);
    advance(1);
    expect(written).toHaveLength(2 * RATE_LIMIT_FRAMES);
    advance(RATE_LIMIT_WINDOW);
    expect(written).toHaveLength(21);
  });
});

describe('createOdooBus on 16+', () => {
  /** One cookie jar, as the tabs of a browser share: the last Set-Cookie is what every request and socket sends. */
  function cookieJar(server: DevServer) {
    const jar = { cookie: '' };
    const jarFetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      if (jar.cookie) headers.set('cookie', jar.cookie);
      const response = await globalThis.fetch(input, { ...init, headers });
      const id = /(?:^|[;,]\s*)session_id=([^;]*)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
      if (id) jar.cookie = `session_id=${id}`;
      return response;
    }) as typeof globalThis.fetch;
    const JarSocket = class extends WS {
      constructor(url: string) {
        super(url, { origin: server.url, headers: { 'User-Agent': 'vitest', ...(jar.cookie ? { Cookie: jar.cookie } : {}) } });
      }
    } as unknown as typeof WebSocket;
    return { jar, jarFetch, JarSocket };
  }

  /** A bus in a new tab of `browser` (by default a browser of its own), stopped after the test. */
  function bus(options: OdooBusOptions, browser = new FakeBrowser()): OdooBus {
    const created = createOdooBus({ env: browser.tab().env(), channels: ['chat'], ...options });
    onCleanup(() => created.stop());
    return created;
  }

  it.each([
    [15, 'longpolling'],
    [16, 'websocket'],
    [17, 'websocket'],
    [18, 'websocket'],
    [19, 'websocket'],
  ] as const)("version 'auto' against Odoo %i: picks %s, shows it in state(), and delivers", async (odoo, kind) => {
    const server = await startServer({ odoo });
    const session = await login(server);
    const b = bus({ version: 'auto', serverUrl: server.url, fetch: session.fetch, WebSocket: browserSocket(server, session.cookie) });
    expect(b.state().transportName).toBeUndefined();
    await eventually(() => b.state().transport).toBe('open');
    expect(b.state().transportName).toBe(kind);
    const received: number[] = [];
    b.on('notification', (items) => received.push(...items.map((i) => i.id)));
    const id = server.publish('chat', { type: 'demo/message', payload: 'hi' });
    await eventually(() => received).toEqual([id]);
    expect(server.stats().requests['/web/webclient/version_info']).toBe(1);
    if (kind === 'websocket') expect(server.stats().openSockets).toBe(1);
  });

  it('an explicit version needs no detection; 17 reads the worker version from the session info it asks for the scope', async () => {
    const server = await startServer({ odoo: 17 });
    const session = await login(server);
    const log: string[] = [];
    const b = bus({ version: 17, serverUrl: server.url, fetch: session.fetch, WebSocket: browserSocket(server, session.cookie, log) });
    await eventually(() => b.state().transport).toBe('open');
    expect(b.state().transportName).toBe('websocket');
    expect(log[0]).toBe(`${server.url.replace('http', 'ws')}/websocket?version=17.0-1`);
    expect(server.stats().requests['/web/webclient/version_info']).toBeUndefined();
    // One session-info request served both the scope and the worker version (the leader's session check
    // at term start is the second).
    expect(server.stats().requests['/web/session/get_session_info']).toBeLessThanOrEqual(2);
  });

  it('a login as the same user again (a new session id: the server closes the old socket 4001): the bus asks whose session it is and goes on', async () => {
    const server = await startServer({ odoo: 17 });
    const { jar, jarFetch, JarSocket } = cookieJar(server);
    const browser = new FakeBrowser();
    const signIn = () => authenticate({ serverUrl: server.url, fetch: jarFetch, db: server.db, login: 'admin', password: 'admin', env: browser.tab().env() });
    await signIn();
    const b = bus({ version: 17, serverUrl: server.url, fetch: jarFetch, WebSocket: JarSocket, backoff: { initial: 10, jitter: 0 } }, browser);
    const expired: TabBusError[] = [];
    b.on('session_expired', (e) => expired.push(e));
    const received: number[] = [];
    b.on('notification', (items) => received.push(...items.map((i) => i.id)));
    await eventually(() => b.state().transport).toBe('open');
    const before = jar.cookie;
    await signIn();
    expect(jar.cookie).not.toBe(before);
    // The old socket is gone (4001), a new one opens with the new cookie.
    await eventually(() => server.stats().openSockets).toBe(1);
    await eventually(() => b.state().transport).toBe('open');
    const id = server.publish('chat', { type: 'demo/message', payload: 'after the login' });
    await eventually(() => received).toEqual([id]);
    expect(expired).toEqual([]);
    expect(b.state().role).toBe('leader');
  });

  it("a login through Odoo's form (pending on submit, then over on the page it led to): the socket the login closed (4001) is replaced as soon as the login is said to be over", async () => {
    const server = await startServer({ odoo: 17 });
    const { jarFetch, JarSocket } = cookieJar(server);
    /** The form's POST: a login nobody announces but the addon's login-page script (the news below). */
    const formLogin = () =>
      jarFetch(`${server.url}/web/session/authenticate`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db: server.db, login: 'admin', password: 'admin' }, id: 1 }) });
    await formLogin();
    const browser = new FakeBrowser();
    const sessions = `tabbus:${server.url}:sessions`;
    const b = bus({ version: 17, uid: 2, db: server.db, serverUrl: server.url, fetch: jarFetch, WebSocket: JarSocket, backoff: { initial: 10, jitter: 0 } }, browser);
    const received: number[] = [];
    b.on('notification', (items) => received.push(...items.map((i) => i.id)));
    await eventually(() => b.state().transport).toBe('open');
    browser.inject(sessions, { kind: 'login', state: 'pending' });
    await formLogin();
    // The old socket is closed 4001; its replacement waits for the login to be over.
    await eventually(() => b.state().transport).not.toBe('open');
    await sleep(200);
    expect(server.stats().openSockets).toBe(0);
    browser.inject(sessions, { kind: 'login', state: 'over' });
    await eventually(() => b.state().transport, 3000).toBe('open');
    const id = server.publish('chat', { type: 'demo/message', payload: 'after the login' });
    await eventually(() => received).toEqual([id]);
    expect(b.state().role).toBe('leader');
  });

  it('a page whose worker version is outdated: every listener hears `outdated` once and the bus stops', async () => {
    const server = await startServer({ odoo: 18 });
    const session = await login(server);
    const b = bus({ version: 18, uid: 2, db: server.db, websocketWorkerVersion: '18.0-4', serverUrl: server.url, fetch: session.fetch, WebSocket: browserSocket(server, session.cookie) });
    const outdated: TabBusError[] = [];
    b.on('outdated', (e) => outdated.push(e));
    await eventually(() => outdated.length).toBe(1);
    expect(outdated[0]).toMatchObject({ code: 'outdated', fatal: true });
    expect(b.state().role).toBe('stopped');
  });

  it('17 without websocketWorkerVersion: the first leader learns it from the session info and shares it; the next leader connects without asking, and goes on from the first leader\'s session check', async () => {
    const server = await startServer({ odoo: 17 });
    const session = await login(server);
    const browser = new FakeBrowser();
    const log: string[] = [];
    const make = () => bus({ version: 17, uid: 2, db: server.db, serverUrl: server.url, fetch: session.fetch, WebSocket: browserSocket(server, session.cookie, log) }, browser);
    const sessionInfos = () => server.stats().requests['/web/session/get_session_info'] ?? 0;
    const a = make();
    await eventually(() => a.state().transport).toBe('open');
    // The worker version, and the leader's session check at term start.
    await eventually(sessionInfos).toBe(2);
    expect(a.shared(WORKER_VERSION_KEY).get()).toBe('17.0-1');
    const b = make();
    await eventually(() => b.state().role).toBe('follower');
    expect(b.shared(WORKER_VERSION_KEY).get()).toBe('17.0-1');
    await a.stop();
    await eventually(() => b.state()).toMatchObject({ role: 'leader', transport: 'open' });
    expect(log.filter((l) => l.startsWith('ws')).slice(-1)).toEqual([`${server.url.replace('http', 'ws')}/websocket?version=17.0-1`]);
    // No request before the socket, nor after it: the version came from the first tab, and the first
    // leader's session check still holds (the next one is due an interval after it).
    await sleep(50);
    expect(sessionInfos()).toBe(2);
  });

  /** The session's fetch, with the first `count` session-info answers telling `worker` as the worker version. */
  const staleInfo = (fetchImpl: typeof fetch, worker: string, count: number): typeof fetch => {
    let served = 0;
    return async (input, init) => {
      const response = await fetchImpl(input, init);
      if (!String(input).includes('/web/session/get_session_info') || served++ >= count) return response;
      const body = (await response.json()) as { result: Record<string, unknown> };
      body.result['websocket_worker_version'] = worker;
      return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
  };

  it('a learned worker version the server refuses (upgraded since) is asked afresh once, and the socket opens with the new one', async () => {
    const server = await startServer({ odoo: 17 });
    const session = await login(server);
    const log: string[] = [];
    const errors: TabBusError[] = [];
    // Both requests of the term's start (the session check and the version) answer the old version.
    const b = bus({ version: 17, uid: 2, db: server.db, serverUrl: server.url, fetch: staleInfo(session.fetch, '17.0-0', 2), WebSocket: browserSocket(server, session.cookie, log) });
    b.on('error', (e) => errors.push(e));
    await eventually(() => log.filter((l) => l.startsWith('ws'))).toEqual([
      `${server.url.replace('http', 'ws')}/websocket?version=17.0-0`,
      `${server.url.replace('http', 'ws')}/websocket?version=17.0-1`,
    ]);
    await eventually(() => b.state().transport).toBe('open');
    expect(b.shared(WORKER_VERSION_KEY).get()).toBe('17.0-1');
    expect(errors).toEqual([]);
    const received: number[] = [];
    b.on('notification', (items) => received.push(...items.map((i) => i.id)));
    const id = server.publish('chat', { type: 'demo/message', payload: 'after the upgrade' });
    await eventually(() => received).toEqual([id]);
  });

  it('a worker version refused again after asking afresh is the fatal `outdated` error, with no second socket', async () => {
    const server = await startServer({ odoo: 17 });
    const session = await login(server);
    const log: string[] = [];
    const b = bus({ version: 17, uid: 2, db: server.db, serverUrl: server.url, fetch: staleInfo(session.fetch, '17.0-0', Infinity), WebSocket: browserSocket(server, session.cookie, log) });
    const outdated: TabBusError[] = [];
    b.on('outdated', (e) => outdated.push(e));
    await eventually(() => outdated.length).toBe(1);
    expect(outdated[0]).toMatchObject({ code: 'outdated', fatal: true, context: { code: 1000, reason: 'OUTDATED_VERSION' } });
    expect(b.state().role).toBe('stopped');
    expect(log.filter((l) => l.startsWith('ws'))).toEqual([`${server.url.replace('http', 'ws')}/websocket?version=17.0-0`]);
  });

  it('sendPresence(): one update for several asks in a row, in the leader; false in a follower and on long-polling', async () => {
    const server = await startServer({ odoo: 19 });
    const session = await login(server);
    const browser = new FakeBrowser();
    const log: string[] = [];
    const make = () => bus({ version: 19, uid: 2, db: server.db, websocketWorkerVersion: '19.0-2', serverUrl: server.url, fetch: session.fetch, WebSocket: browserSocket(server, session.cookie, log) }, browser);
    const leader = make();
    await eventually(() => leader.state().transport).toBe('open');
    const follower = make();
    await eventually(() => follower.state().role).toBe('follower');
    const presences = () => sent(log).filter((m) => m.event_name === 'update_presence').length;
    await eventually(presences).toBe(1);
    expect([leader.sendPresence(), leader.sendPresence(), leader.sendPresence()]).toEqual([true, true, true]);
    expect(follower.sendPresence()).toBe(false);
    await eventually(presences).toBe(2);
    await sleep(400);
    expect(presences()).toBe(2);
    expect(server.stats().presenceWrites).toBe(2);

    const polling = await startServer({ odoo: 15 });
    const polled = createOdooBus({ env: new FakeBrowser().tab().env(), version: 15, uid: 2, db: polling.db, serverUrl: polling.url, fetch: (await login(polling)).fetch });
    onCleanup(() => polled.stop());
    await eventually(() => polled.state().transport).toBe('open');
    expect(polled.sendPresence()).toBe(false);
  });

  it('4001 after the session is removed: session_expired, the bus stops', async () => {
    const server = await startServer({ odoo: 17 });
    const session = await login(server);
    const b = bus({ version: 17, serverUrl: server.url, fetch: session.fetch, WebSocket: browserSocket(server, session.cookie) });
    const expired: TabBusError[] = [];
    b.on('session_expired', (e) => expired.push(e));
    await eventually(() => b.state().transport).toBe('open');
    await fetch(`${server.url}/tabbus/expire`, { method: 'POST', body: '{}' });
    await eventually(() => expired.length).toBe(1);
    expect(b.state().role).toBe('stopped');
  });
});
