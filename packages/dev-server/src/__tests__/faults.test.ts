import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { HUGE_FAULT_BYTES } from '../fault-replies';
import { FAULT_KINDS } from '../faults';
import type { DevServer } from '../server';
import { login, postJson, rpc, startPoll, startServer, untilOpenPolls } from './helpers';

/** A poll whose reply is read as text: faults are not always JSON. */
async function rawPoll(server: DevServer, params: unknown = { channels: ['chat'], last: 0 }, id = 41) {
  const response = await fetch(server.url + '/longpolling/poll', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params, id }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const queue = (server: DevServer, body: unknown) => postJson(server, '/tabbus/fault', body);

describe('/tabbus/fault: the next requests get a bad reply', () => {
  it('invalid_json: 200, application/json, a body cut short', async () => {
    const server = await startServer();
    await queue(server, { kind: 'invalid_json' });
    const reply = await rawPoll(server);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json');
    expect(reply.text.startsWith('{"jsonrpc":"2.0","id":41,')).toBe(true);
    expect(() => JSON.parse(reply.text)).toThrow(SyntaxError);
  });

  it('not_a_list: a valid envelope whose result is an object', async () => {
    const server = await startServer();
    await queue(server, { kind: 'not_a_list' });
    const reply = await rawPoll(server);
    const body = JSON.parse(reply.text);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 41 });
    expect(body.result).toBeTypeOf('object');
    expect(Array.isArray(body.result)).toBe(false);
  });

  it('missing_id: one notification of the version’s shape without an id', async () => {
    const server15 = await startServer({ odoo: 15 });
    await queue(server15, { kind: 'missing_id' });
    expect(JSON.parse((await rawPoll(server15)).text).result).toEqual([{ message: { type: 'tabbus/fault', payload: { kind: 'missing_id' } } }]);

    const server14 = await startServer({ odoo: 14 });
    await queue(server14, { kind: 'missing_id' });
    const result = JSON.parse((await rawPoll(server14, { channels: ['chat', 'jobs'], last: 0 })).text).result;
    expect(result).toEqual([{ channel: 'chat', message: { kind: 'missing_id' } }]);
  });

  it('html_400 and http_500: werkzeug’s HTML pages', async () => {
    const server = await startServer();
    await queue(server, { kind: 'html_400' });
    await queue(server, { kind: 'http_500' });
    const bad = await rawPoll(server);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^text\/html/);
    expect(bad.text).toContain('<title>400 Bad Request</title>');
    expect(bad.text).toContain('The browser (or proxy) sent a request that this server could not understand.');
    const error = await rawPoll(server);
    expect(error.status).toBe(500);
    expect(error.headers.get('content-type')).toMatch(/^text\/html/);
    expect(error.text).toContain('<title>500 Internal Server Error</title>');
    expect(error.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('rpc_error: Odoo’s error envelope for "bus.Bus unavailable"', async () => {
    const server = await startServer();
    await queue(server, { kind: 'rpc_error' });
    const reply = await rawPoll(server);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text)).toMatchObject({
      jsonrpc: '2.0',
      id: 41,
      error: {
        code: 200,
        message: 'Odoo Server Error',
        data: { name: 'builtins.Exception', message: 'bus.Bus unavailable', arguments: ['bus.Bus unavailable'], context: {} },
      },
    });
  });

  it('empty_close: the socket closes without a single response byte', async () => {
    const server = await startServer();
    await queue(server, { kind: 'empty_close' });
    const socket = connect(server.port, '127.0.0.1');
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { channels: [], last: 0 }, id: 1 });
    socket.write(
      `POST /longpolling/poll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    await new Promise((resolve) => socket.on('close', resolve));
    expect(received).toBe('');
    expect(server.stats()).toMatchObject({ faults: 1, openPolls: 0 });
    // The server goes on serving.
    expect((await fetch(server.url + '/longpolling/health')).status).toBe(200);
  });

  it('huge: a valid 200 reply over 20 MiB, with a Content-Length, sent in chunks', async () => {
    const server = await startServer();
    await queue(server, { kind: 'huge' });
    const response = await fetch(server.url + '/longpolling/poll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { channels: [], last: 0 }, id: 5 }),
    });
    const length = Number(response.headers.get('content-length'));
    expect(length).toBeGreaterThan(HUGE_FAULT_BYTES);
    let received = 0;
    let chunks = 0;
    const parts: Uint8Array[] = [];
    for await (const chunk of response.body!) {
      received += chunk.length;
      chunks++;
      parts.push(chunk);
    }
    expect(received).toBe(length);
    expect(chunks).toBeGreaterThan(1);
    const body = JSON.parse(Buffer.concat(parts).toString('utf8'));
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 5 });
    expect(body.result).toHaveLength(1);
    expect(body.result[0]).toMatchObject({ id: 0, message: { type: 'tabbus/fault', payload: { kind: 'huge' } } });
  });

  it('a client that hangs up during a huge reply does not hurt the server', async () => {
    const server = await startServer();
    await queue(server, { kind: 'huge' });
    const abort = new AbortController();
    const response = await fetch(server.url + '/longpolling/poll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { channels: [], last: 0 }, id: 5 }),
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    abort.abort();
    expect((await fetch(server.url + '/longpolling/health')).status).toBe(200);
  });

  it('every kind is answered at once, never held, and counted in stats', async () => {
    const server = await startServer();
    // empty_close has its own test: fetch rejects on it.
    const kinds = FAULT_KINDS.filter((kind) => kind !== 'empty_close');
    for (const kind of kinds) await queue(server, { kind });
    for (const kind of kinds) {
      // Nothing to answer and the clock never moves: a normal poll would be held for 50 s.
      const reply = await rawPoll(server);
      expect(reply.text.length, kind).toBeGreaterThan(0);
      expect(server.stats().openPolls, kind).toBe(0);
      expect(reply.headers.get('access-control-allow-origin'), kind).toBe('*');
      expect(reply.headers.get('set-cookie'), kind).toBeNull(); // no session was made for it
    }
    expect(server.stats()).toMatchObject({ faults: kinds.length, polls: 0, openPolls: 0 });
    // The queue is used up: the next poll is held as usual.
    const held = startPoll(server, { channels: ['chat'], last: 0 });
    await untilOpenPolls(server, 1);
    server.clock.advance(50_000);
    expect((await held).body.result).toEqual([]);
    const reset = await postJson(server, '/tabbus/stats/reset', {});
    expect(reset.body.faults).toBe(0);
  });

  it('faults neither move nor use up notifications', async () => {
    const server = await startServer();
    const id = server.publish('chat', { type: 'kept', payload: 1 });
    const before = server.stats();
    await queue(server, { kind: 'http_500', count: 2 });
    await queue(server, { kind: 'missing_id' });
    expect((await rawPoll(server, { channels: ['chat'], last: 0 })).status).toBe(500);
    expect((await rawPoll(server, { channels: ['chat'], last: id - 1 })).status).toBe(500);
    expect(JSON.parse((await rawPoll(server)).text).result[0]).not.toHaveProperty('id');
    expect(server.stats()).toMatchObject({ lastId: before.lastId, rows: before.rows, notifications: before.notifications });
    const reply = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: 0 });
    expect(reply.body.result).toEqual([{ id, message: { type: 'kept', payload: 1 } }]);
  });

  it('queues in order, lists with GET, clears with DELETE', async () => {
    const server = await startServer();
    const first = await queue(server, { kind: 'http_500', count: 2 });
    expect(first).toEqual({ status: 200, body: { faults: [{ route: '/longpolling/poll', kind: 'http_500', count: 2 }] } });
    await queue(server, { kind: 'html_400' });
    expect((await rawPoll(server)).status).toBe(500);
    const listed = await fetch(server.url + '/tabbus/fault');
    expect(await listed.json()).toEqual({
      faults: [
        { route: '/longpolling/poll', kind: 'http_500', count: 1 },
        { route: '/longpolling/poll', kind: 'html_400', count: 1 },
      ],
    });
    expect((await rawPoll(server)).status).toBe(500);
    expect((await rawPoll(server)).status).toBe(400);

    await queue(server, { kind: 'rpc_error', count: 3 });
    const cleared = await fetch(server.url + '/tabbus/fault', { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ cleared: 3, faults: [] });
    server.publish('chat', { type: 't', payload: 1 });
    expect(JSON.parse((await rawPoll(server)).text).result).toHaveLength(1);
  });

  it('can target another JSON-RPC route, leaving the poll alone', async () => {
    const server = await startServer();
    const sessionId = await login(server);
    await queue(server, { kind: 'rpc_error', route: '/web/session/get_session_info' });
    const peek = await rpc(server, '/longpolling/poll', { channels: [], last: 0, options: { peek: true } });
    expect(peek.body.result).toBeDefined();
    const info = await rpc(server, '/web/session/get_session_info', {}, { sessionId });
    expect(info.body.error.data.message).toBe('bus.Bus unavailable');
    expect((await rpc(server, '/web/session/get_session_info', {}, { sessionId })).body.result.uid).toBe(2);
  });

  it('only valid calls take a fault: preflights and requests Odoo refuses at the HTTP level do not', async () => {
    const server = await startServer();
    await queue(server, { kind: 'http_500' });
    expect((await fetch(server.url + '/longpolling/poll', { method: 'OPTIONS' })).status).toBe(200);
    expect((await fetch(server.url + '/longpolling/poll', { method: 'POST', body: '{}' })).status).toBe(400); // text/plain
    expect((await fetch(server.url + '/tabbus/fault').then((r) => r.json())) as unknown).toEqual({
      faults: [{ route: '/longpolling/poll', kind: 'http_500', count: 1 }],
    });
  });

  it('refuses unknown kinds, bad counts and unknown routes with a 400 that lists the choices', async () => {
    const server = await startServer();
    const unknown = await queue(server, { kind: 'slow' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('bad_request');
    expect(unknown.body.error.message).toBe(`unknown fault kind "slow"; kinds: ${FAULT_KINDS.join(', ')}`);
    const cases: [unknown, RegExp][] = [
      [{}, /unknown fault kind undefined/],
      ['nope', /not JSON/],
      [[{ kind: 'huge' }], /expected \{"kind"/],
      [{ kind: 'huge', count: 0 }, /"count" must be an integer ≥ 1/],
      [{ kind: 'huge', count: 1.5 }, /"count" must be an integer ≥ 1/],
      [{ kind: 'huge', route: '/tabbus/stats' }, /"route" must be one of the JSON-RPC routes: .*\/longpolling\/poll/],
      [{ kind: 'huge', route: '/longpolling/send' }, /"route" must be one of/], // 15 has no /longpolling/send
    ];
    for (const [body, message] of cases) {
      const reply = await queue(server, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.message).toMatch(message);
    }
    expect((await fetch(server.url + '/tabbus/fault').then((r) => r.json())) as unknown).toEqual({ faults: [] });
    expect((await fetch(server.url + '/tabbus/fault', { method: 'PUT' })).status).toBe(405);
  });
});
