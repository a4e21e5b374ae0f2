// The 16–19 WebSocket bus against a real server, with the `ws` client.
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { DevServer } from '../server';
import { login, postJson, rawGet, rpc, startServer } from './helpers';

interface Opened {
  ws: WebSocket;
  frames: unknown[][];
  closed: Promise<{ code: number; reason: string }>;
  setCookie: string | undefined;
}

/** Each server's `websocket_worker_version` (16 has none). */
const WORKER_VERSIONS: Record<number, string> = { 17: '17.0-1', 18: '18.0-5', 19: '19.0-2' };

/** Opens /websocket like a browser (Origin, User-Agent) and collects every text frame. */
function open(server: DevServer, options: { sessionId?: string; version?: string | null; userAgent?: boolean; autoPong?: boolean } = {}): Promise<Opened> {
  const version = options.version === undefined ? (WORKER_VERSIONS[server.odoo] ?? null) : options.version;
  const url = `${server.url.replace('http', 'ws')}/websocket${version === null ? '' : `?version=${version}`}`;
  const headers: Record<string, string> = {};
  if (options.sessionId) headers['Cookie'] = `session_id=${options.sessionId}`;
  if (options.userAgent !== false) headers['User-Agent'] = 'vitest';
  const ws = new WebSocket(url, { origin: server.url, headers, autoPong: options.autoPong ?? true });
  const frames: unknown[][] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as unknown[]));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  return new Promise((resolve, reject) => {
    let setCookie: string | undefined;
    ws.on('upgrade', (res) => {
      setCookie = String(res.headers['set-cookie'] ?? '');
    });
    ws.on('open', () => resolve({ ws, frames, closed, setCookie }));
    ws.on('error', reject);
  });
}

const send = (ws: WebSocket, event_name: string, data: unknown): void => ws.send(JSON.stringify({ event_name, data }));

async function until(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw handshake, to see the HTTP status of a refused upgrade. */
function handshake(server: DevServer, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/websocket`, { headers });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode!, headers: res.headers });
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

const GOOD = {
  Connection: 'Upgrade',
  Upgrade: 'websocket',
  'Sec-WebSocket-Key': Buffer.alloc(16, 1).toString('base64'),
  'Sec-WebSocket-Version': '13',
  Origin: 'http://localhost',
};

describe('WebSocket (16–19)', () => {
  it('checks the handshake: 400 on missing headers (Origin included), 426 on another version', async () => {
    const server = await startServer({ odoo: 17 });
    const { Origin: _o, ...noOrigin } = GOOD;
    expect((await handshake(server, noOrigin)).status).toBe(400);
    const { 'Sec-WebSocket-Key': _k, ...noKey } = GOOD;
    expect((await handshake(server, noKey)).status).toBe(400);
    const wrong = await handshake(server, { ...GOOD, 'Sec-WebSocket-Version': '8' });
    expect(wrong.status).toBe(426);
    expect(wrong.headers['sec-websocket-version']).toBe('13');
    expect((await handshake(server, GOOD)).status).toBe(101);
    expect((await fetch(server.url + '/websocket')).status).toBe(400);
  });

  it('serves health, and answers 404 on /longpolling/* from 16 on', async () => {
    const server = await startServer({ odoo: 16 });
    const health = await fetch(server.url + '/websocket/health');
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'pass' });
    expect((await rpc(server, '/longpolling/poll', { channels: [], last: 0 })).status).toBe(404);
    expect((await fetch(server.url + '/longpolling/health')).status).toBe(404);
  });

  it('subscribe flushes the backlog in one array frame, then pushes live; broadcast and the partner channel are added', async () => {
    const server = await startServer({ odoo: 17 });
    const sessionId = await login(server); // admin, partner 3
    const first = server.publish('chat', { type: 't/a', payload: 1 });
    server.publish('other', { type: 't/x', payload: 0 });
    server.publish('broadcast', { type: 't/b', payload: 2 });
    const { ws, frames, setCookie } = await open(server, { sessionId });
    expect(setCookie).toContain(`session_id=${sessionId}`);
    send(ws, 'subscribe', { channels: ['chat'], last: 0 });
    await until(() => frames.length === 1, 'the backlog');
    expect(frames[0]).toEqual([
      { id: first, message: { type: 't/a', payload: 1 } },
      { id: first + 2, message: { type: 't/b', payload: 2 } },
    ]);
    const live = server.publish('chat', { type: 't/live', payload: { n: 1 } });
    const partner = server.publish(['res.partner', 3], { type: 't/me', payload: null });
    server.publish(['res.partner', 7], { type: 't/demo', payload: null });
    await until(() => frames.length === 3, 'the live pushes');
    expect(frames[1]).toEqual([{ id: live, message: { type: 't/live', payload: { n: 1 } } }]);
    expect(frames[2]).toEqual([{ id: partner, message: { type: 't/me', payload: null } }]);
    // A resubscribe replaces the channel set; what this socket sent in the last 10 s it does not send again.
    send(ws, 'subscribe', { channels: ['other'], last: first });
    await until(() => frames.length === 4, 'the resubscribe backlog');
    expect(frames[3]!.map((n) => (n as { id: number }).id)).toEqual([first + 1]);
    const sent = await rpc(server, '/web/session/get_session_info', {}, { sessionId });
    expect(sent.body.result.websocket_worker_version).toBe('17.0-1');
    ws.close();
  });

  it('16 only moves the cursor forward on subscribe (a lower last replays nothing) and reads above the last id it sent: a late commit is never sent', async () => {
    const server = await startServer({ odoo: 16 });
    const first = server.publish('chat', { type: 't', payload: 1 });
    server.publish('chat', { type: 't', payload: 2 });
    const { ws, frames } = await open(server);
    send(ws, 'subscribe', { channels: ['chat'], last: first });
    await until(() => frames.length === 1, 'the backlog');
    expect(frames[0]!.map((n) => (n as { id: number }).id)).toEqual([first + 1]);
    // 16.0 websocket.py: `if self._last_notif_sent_id < last: self._last_notif_sent_id = last`.
    send(ws, 'subscribe', { channels: ['chat'], last: first - 1 });
    send(ws, 'subscribe', { channels: ['chat'], last: 0 });
    await sleep(50);
    expect(frames).toHaveLength(1);
    const late = (await postJson(server, '/tabbus/send-uncommitted', { channel: 'chat', type: 't', payload: 'late' })).body.ids[0];
    const next = server.publish('chat', { type: 't', payload: 'next' });
    await until(() => frames.length === 2, 'the next id');
    expect(await postJson(server, '/tabbus/commit', {})).toMatchObject({ status: 200, body: { committed: [late], uncommitted: [] } });
    const after = server.publish('chat', { type: 't', payload: 'after' });
    await until(() => frames.length === 3, 'the id after');
    expect(frames.slice(1).map((f) => f.map((n) => (n as { id: number }).id))).toEqual([[next], [after]]);
    ws.close();
  });

  for (const odoo of [17, 18] as const) {
    it(`${odoo} sends an id committed after a higher one, once, and takes the cursor of the first subscribe only`, async () => {
      const server = await startServer({ odoo });
      const before = server.publish('chat', { type: 't', payload: 0 });
      const { ws, frames } = await open(server);
      send(ws, 'subscribe', { channels: ['chat'], last: before });
      const late = (await postJson(server, '/tabbus/send-uncommitted', { channel: 'chat', type: 't', payload: 'late' })).body.ids[0];
      const next = server.publish('chat', { type: 't', payload: 'next' });
      expect(next).toBe(late + 1);
      await until(() => frames.length === 1, 'the higher id');
      await postJson(server, '/tabbus/commit', { ids: [late] });
      await until(() => frames.length === 2, 'the late id');
      // A later subscribe's cursor is not taken: nothing above `before` comes again.
      send(ws, 'subscribe', { channels: ['chat'], last: before });
      const after = server.publish('chat', { type: 't', payload: 'after' });
      await until(() => frames.length === 3, 'the id after');
      await sleep(50);
      expect(frames.map((f) => f.map((n) => (n as { id: number }).id))).toEqual([[next], [late], [after]]);
      // Ten seconds on, the history is cut from its oldest end and the cursor moves past what left it.
      server.clock.advance(10_001);
      const later = server.publish('chat', { type: 't', payload: 'later' });
      await until(() => frames.length === 4, 'the id ten seconds later');
      expect(frames[3]!.map((n) => (n as { id: number }).id)).toEqual([later]);
      const moved = (await postJson(server, '/tabbus/send-uncommitted', { channel: 'chat', type: 't', payload: 'too late' })).body.ids[0];
      server.publish('chat', { type: 't', payload: 'x' });
      await until(() => frames.length === 5, 'one more');
      server.clock.advance(10_001);
      server.publish('chat', { type: 't', payload: 'y' });
      await until(() => frames.length === 6, 'and one more');
      // Its neighbours left the history, the cursor is above it: committed now, it is never sent (Odoo's limit).
      await postJson(server, '/tabbus/commit', { ids: [moved] });
      await sleep(50);
      expect(frames).toHaveLength(6);
      ws.close();
    });
  }

  it('/tabbus/send-uncommitted and /tabbus/commit check their input; with nothing committed, nobody reads the row', async () => {
    const server = await startServer({ odoo: 15 });
    expect((await postJson(server, '/tabbus/send-uncommitted', { channel: 5, type: 't', payload: 1 })).status).toBe(400);
    expect((await postJson(server, '/tabbus/commit', { ids: ['a'] })).status).toBe(400);
    expect((await postJson(server, '/tabbus/commit', [1])).status).toBe(400);
    const id = (await postJson(server, '/tabbus/send-uncommitted', { channel: 'c', type: 't', payload: 1 })).body.ids[0];
    const polled = await rpc(server, '/longpolling/poll', { channels: ['c'], last: 0, options: { peek: true } });
    expect(polled.body.result.notifications).toEqual([]);
    expect((await postJson(server, '/tabbus/commit', { ids: [id + 1] })).body).toEqual({ committed: [], uncommitted: [id] });
    expect((await postJson(server, '/tabbus/commit', undefined)).body).toEqual({ committed: [id], uncommitted: [] });
    const again = await rpc(server, '/longpolling/poll', { channels: ['c'], last: 0, options: { peek: true } });
    expect(again.body.result.notifications.map((n: { id: number }) => n.id)).toEqual([id]);
  });

  it('a last above the newest id counts as 0 (the 50 s catch-up)', async () => {
    const server = await startServer({ odoo: 16 });
    const id = server.publish('chat', { type: 't', payload: 'x' });
    const { ws, frames } = await open(server);
    send(ws, 'subscribe', { channels: ['chat'], last: 9999 });
    await until(() => frames.length === 1, 'the catch-up');
    expect(frames[0]).toEqual([{ id, message: { type: 't', payload: 'x' } }]);
    ws.close();
  });

  it('ignores bad frames and keeps the socket open', async () => {
    const server = await startServer({ odoo: 18 });
    const { ws, frames } = await open(server);
    ws.send('not json');
    ws.send(JSON.stringify({ data: {} }));
    send(ws, 'subscribe', { channels: [1], last: 0 });
    send(ws, 'subscribe', { channels: ['a'] });
    send(ws, 'unknown', {});
    await sleep(50);
    expect(frames).toEqual([]);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    send(ws, 'subscribe', { channels: ['a'], last: 0 });
    const id = server.publish('a', { type: 't', payload: 1 });
    await until(() => frames.length === 1, 'a push after bad frames');
    expect(frames[0]).toEqual([{ id, message: { type: 't', payload: 1 } }]);
    expect(server.stats().framesIn).toBe(6);
    ws.close();
  });

  it.each([
    [16, { inactivity_period: 0, im_status_ids_by_model: {} }, { inactivity_period: 0 }],
    [18, { inactivity_period: 0, im_status_ids_by_model: {} }, { inactivity_period: 0 }],
    [19, { inactivity_period: 0 }, { inactivity_period: 0, im_status_ids_by_model: {} }],
  ] as const)('Odoo %i: update_presence counts with the keys that series takes, and not with others (a TypeError in Odoo)', async (odoo, right, wrong) => {
    const server = await startServer({ odoo });
    const sessionId = await login(server);
    const { ws } = await open(server, { sessionId });
    send(ws, 'subscribe', { channels: [], last: 0 });
    send(ws, 'update_presence', wrong);
    await sleep(50);
    expect(server.stats().presenceWrites).toBe(0);
    send(ws, 'update_presence', right);
    await until(() => server.stats().presenceWrites === 1, 'a presence write');
    ws.close();
  });

  it('16: presence is computed as on 10–15, but offline only 65 s (UPDATE_PRESENCE_DELAY + 5) after the last update_presence', async () => {
    const server = await startServer({ odoo: 16 });
    const sessionId = await login(server);
    const { ws } = await open(server, { sessionId });
    send(ws, 'update_presence', { inactivity_period: 0, im_status_ids_by_model: {} });
    await until(() => server.stats().presenceWrites === 1, 'a presence write');
    // Odoo's own client sends update_presence every 60 s: its user never looks offline in between.
    server.clock.advance(60_000);
    expect(server.presence()[0]!.status).toBe('online');
    server.clock.advance(5_001);
    expect(server.presence()[0]!.status).toBe('offline');
    ws.close();
  });

  it.each([17, 18, 19] as const)('%i: update_presence stores the status (away past 30 min of inactivity); closing a socket of the user writes it offline, time does not', async (odoo) => {
    const server = await startServer({ odoo });
    const sessionId = await login(server);
    const keys = odoo >= 19 ? {} : { im_status_ids_by_model: {} };
    const a = await open(server, { sessionId });
    send(a.ws, 'update_presence', { inactivity_period: 0, ...keys });
    await until(() => server.stats().presenceWrites === 1, 'a presence write');
    // No timer turns a 17+ user offline: the stored status stays until a socket closes.
    server.clock.advance(120_000);
    expect(server.presence()[0]!.status).toBe('online');
    send(a.ws, 'update_presence', { inactivity_period: 1_800_001, ...keys });
    await until(() => server.stats().presenceWrites === 2, 'a second write');
    expect(server.presence()[0]!.status).toBe('away');
    // A tab handing its socket over: the old socket closes before the new one reports presence.
    const b = await open(server, { sessionId });
    a.ws.close();
    await a.closed;
    await until(() => server.presence()[0]!.status === 'offline', 'the user offline after a socket closed');
    send(b.ws, 'update_presence', { inactivity_period: 0, ...keys });
    await until(() => server.presence()[0]!.status === 'online', 'the user online again');
    b.ws.close();
  });

  it('closes 4001 when the session is destroyed or expired', async () => {
    const server = await startServer({ odoo: 17 });
    const admin = await login(server);
    const a = await open(server, { sessionId: admin });
    await rpc(server, '/web/session/destroy', {}, { sessionId: admin });
    expect(await a.closed).toEqual({ code: 4001, reason: '' });

    const demo = await login(server, 'demo');
    const b = await open(server, { sessionId: demo });
    const expired = await fetch(server.url + '/tabbus/expire', { method: 'POST', body: JSON.stringify({ login: 'demo' }) });
    expect(expired.status).toBe(200);
    expect((await b.closed).code).toBe(4001);
  });

  it('closes 1013 past 10 frames in 2 s', async () => {
    const server = await startServer({ odoo: 17 });
    const { ws, closed } = await open(server);
    for (let i = 0; i < 10; i++) send(ws, 'unknown', i);
    await sleep(50);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    send(ws, 'unknown', 10);
    expect((await closed).code).toBe(1013);
  });

  it('allows 10 frames per 2 s on the server clock', async () => {
    const server = await startServer({ odoo: 17 });
    const { ws } = await open(server);
    for (let i = 0; i < 10; i++) send(ws, 'unknown', i);
    await until(() => server.stats().framesIn === 10, '10 frames');
    server.clock.advance(2_000);
    send(ws, 'unknown', 10);
    await until(() => server.stats().framesIn === 11, 'the 11th frame');
    await sleep(20);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });

  it('closes 1000 OUTDATED_VERSION on a wrong ?version= (17+, with a User-Agent only)', async () => {
    const server = await startServer({ odoo: 17 });
    const wrong = await open(server, { version: '16.0-1' });
    expect(await wrong.closed).toEqual({ code: 1000, reason: 'OUTDATED_VERSION' });
    const missing = await open(server, { version: null });
    expect(await missing.closed).toEqual({ code: 1000, reason: 'OUTDATED_VERSION' });
    const noAgent = await open(server, { version: '16.0-1', userAgent: false });
    await sleep(30);
    expect(noAgent.ws.readyState).toBe(WebSocket.OPEN);
    noAgent.ws.close();
    const v16 = await open(await startServer({ odoo: 16 }), { version: 'whatever' });
    await sleep(30);
    expect(v16.ws.readyState).toBe(WebSocket.OPEN);
    v16.ws.close();
  });

  it('pings after 45 s idle and drops a client that does not pong within 15 s', async () => {
    const server = await startServer({ odoo: 17 });
    const a = await open(server);
    let pings = 0;
    a.ws.on('ping', () => pings++);
    server.clock.advance(44_000);
    await sleep(30);
    expect(pings).toBe(0);
    server.clock.advance(1_000);
    await until(() => pings === 1, 'the ping');
    await sleep(30); // the automatic pong reaches the server
    server.clock.advance(15_000);
    await sleep(30);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
    a.ws.close();

    const b = await open(server, { autoPong: false });
    let bPings = 0;
    b.ws.on('ping', () => bPings++);
    server.clock.advance(45_000);
    await until(() => bPings === 1, 'the second ping');
    server.clock.advance(15_000);
    expect((await b.closed).code).toBe(1006);
  });

  it('closes 4002 after the keep-alive age', async () => {
    const server = await startServer({ odoo: 16, websocketKeepAliveMs: 100_000 });
    const { closed } = await open(server);
    server.clock.advance(99_000);
    await sleep(20);
    server.clock.advance(1_000);
    expect((await closed).code).toBe(4002);
  });

  it('closes 1001 on shutdown and 1009 above 1 MiB', async () => {
    const server = await startServer({ odoo: 17 });
    const big = await open(server);
    big.ws.send('x'.repeat(2 ** 20 + 1));
    expect((await big.closed).code).toBe(1009);
    const { closed } = await open(server);
    await server.close();
    expect((await closed).code).toBe(1001);
  });

  it('counts sockets and frames, and resets the counters', async () => {
    const server = await startServer({ odoo: 17 });
    const sessionId = await login(server);
    const a = await open(server, { sessionId });
    const b = await open(server, { sessionId });
    const label = sessionId.slice(0, 8);
    expect(server.stats()).toMatchObject({ openSockets: 2, openSocketsBySession: { [label]: 2 }, peakOpenSocketsPerSession: 2 });
    send(a.ws, 'subscribe', { channels: ['c'], last: 0 });
    send(b.ws, 'subscribe', { channels: ['c'], last: 0 });
    await until(() => server.stats().framesIn === 2, 'two frames in');
    server.publish('c', { type: 't', payload: 1 });
    await until(() => a.frames.length === 1 && b.frames.length === 1, 'both pushes');
    expect(server.stats()).toMatchObject({ framesIn: 2, framesOut: 2 });
    a.ws.close();
    await a.closed;
    await until(() => server.stats().openSockets === 1, 'one socket left');
    const reset = (await (await fetch(server.url + '/tabbus/stats/reset', { method: 'POST' })).json()) as Record<string, unknown>;
    expect(reset).toMatchObject({ openSockets: 1, peakOpenSocketsPerSession: 1, framesIn: 0, framesOut: 0 });
    b.ws.close();
  });

  it('peek_notifications and update_bus_presence need is_first_poll first', async () => {
    const server = await startServer({ odoo: 17 });
    const sessionId = await login(server);
    const id = server.publish('chat', { type: 't', payload: 1 });
    const refused = await rpc(server, '/websocket/peek_notifications', { channels: ['chat'], last: 0 }, { sessionId });
    expect(refused.body.error.data.name).toBe('odoo.http.SessionExpiredException');
    const presenceRefused = await rpc(server, '/websocket/update_bus_presence', { inactivity_period: 0, im_status_ids_by_model: {} }, { sessionId });
    expect(presenceRefused.body.error.code).toBe(100);
    const first = await rpc(server, '/websocket/peek_notifications', { channels: ['chat'], last: 0, is_first_poll: true }, { sessionId });
    expect(first.body.result).toEqual({
      channels: [['tabbus', 'chat'], ['tabbus', 'broadcast'], ['tabbus', 'res.partner', 3]],
      notifications: [{ id, message: { type: 't', payload: 1 } }],
    });
    const later = await rpc(server, '/websocket/peek_notifications', { channels: ['chat'], last: id }, { sessionId });
    expect(later.body.result.notifications).toEqual([]);
    const presence = await rpc(server, '/websocket/update_bus_presence', { inactivity_period: 0, im_status_ids_by_model: {} }, { sessionId });
    expect(presence.body.result).toEqual({});
    expect(server.presence()).toMatchObject([{ uid: 2, status: 'online' }]);
  });

  it('logs each subscribe in GET /tabbus/polls, with its last and how many channels it named', async () => {
    const server = await startServer({ odoo: 17 });
    const since = Date.now();
    const { ws } = await open(server);
    send(ws, 'subscribe', { channels: ['a', 'b'], last: 7 });
    send(ws, 'subscribe', { channels: ['a', 5], last: 9 }); // refused by the server: not logged
    await sleep(50);
    const log = JSON.parse((await rawGet(server, `/tabbus/polls?since=${since}`)).body) as { last: number; channels: number }[];
    expect(log.map((e) => [e.last, e.channels])).toEqual([[7, 2]]);
    ws.close();
  });

  it('POST /tabbus/sockets/close closes every open socket with the code and reason asked for, and refuses codes a server cannot send', async () => {
    const server = await startServer({ odoo: 17 });
    const a = await open(server);
    const b = await open(server);
    expect((await postJson(server, '/tabbus/sockets/close', { code: 4002 })).body).toEqual({ closed: 2 });
    expect(await a.closed).toEqual({ code: 4002, reason: '' });
    expect(await b.closed).toEqual({ code: 4002, reason: '' });
    const c = await open(server);
    expect((await postJson(server, '/tabbus/sockets/close', { code: 1013, reason: 'busy' })).body).toEqual({ closed: 1 });
    expect(await c.closed).toEqual({ code: 1013, reason: 'busy' });
    for (const code of [1005, 1006, 999, 5000, '4002', undefined]) expect((await postJson(server, '/tabbus/sockets/close', { code })).status).toBe(400);
  });

  it('POST /tabbus/sockets/close on a long-polling version says it is for 16+ (a JSON error, not a bare 404)', async () => {
    const server = await startServer({ odoo: 15 });
    const reply = await postJson(server, '/tabbus/sockets/close', { code: 4002 });
    expect(reply.status).toBe(400);
    expect(JSON.stringify(reply.body)).toMatch(/emulates Odoo 15, which long-polls: there are sockets to close on 16\+ only/);
  });

  it('answers /web/webclient/version_info without a login', async () => {
    for (const odoo of [8, 15, 17] as const) {
      const server = await startServer({ odoo });
      const reply = await rpc(server, '/web/webclient/version_info', {});
      expect(reply.body.result).toMatchObject({ server_version: `${odoo}.0`, server_version_info: expect.arrayContaining([odoo, 0, 0, 'final']) });
    }
  });
});
