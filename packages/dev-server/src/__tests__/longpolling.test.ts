import { describe, expect, it } from 'vitest';
import { login, rpc, startPoll, startServer, untilOpenPolls } from './helpers';

describe('/longpolling/poll: holding and waking', () => {
  it('answers at once when rows match', async () => {
    const server = await startServer();
    const id = server.publish('chat', { type: 'hello', payload: { n: 1 } });
    const reply = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: 0, options: {} });
    expect(reply.body.result).toEqual([{ id, message: { type: 'hello', payload: { n: 1 } } }]);
    expect(server.stats().polls).toBe(1);
  });

  it('holds a poll with nothing to answer for 50 s of clock time, then answers []', async () => {
    const server = await startServer();
    const poll = startPoll(server, { channels: ['chat'], last: 0 });
    await untilOpenPolls(server, 1);
    // Real time passes too, so stop well short of 50 s before checking the poll is still held.
    server.clock.advance(49_000);
    expect(server.stats().openPolls).toBe(1);
    server.clock.advance(1_000);
    const reply = await poll;
    expect(reply.body).toEqual({ jsonrpc: '2.0', id: expect.any(Number), result: [] });
    expect(server.stats()).toMatchObject({ openPolls: 0, polls: 1 });
  });

  it('honours a shorter holdMs', async () => {
    const server = await startServer({ holdMs: 1_000 });
    const poll = startPoll(server, { channels: [], last: 0 });
    await untilOpenPolls(server, 1);
    server.clock.advance(1_000);
    expect((await poll).body.result).toEqual([]);
  });

  it('a row on a requested channel wakes the hold; rows elsewhere do not', async () => {
    const server = await startServer();
    const poll = startPoll(server, { channels: ['chat', 'jobs'], last: server.stats().lastId });
    await untilOpenPolls(server, 1);
    server.publish('elsewhere', { type: 'x', payload: 1 });
    expect(server.stats().openPolls).toBe(1);
    const id = server.publish('jobs', { type: 'progress', payload: 50 });
    const reply = await poll;
    expect(reply.body.result).toEqual([{ id, message: { type: 'progress', payload: 50 } }]);
    expect(server.stats().openPolls).toBe(0);
  });

  it('a batch sent through /tabbus/send wakes a hold once with every row of the batch', async () => {
    const server = await startServer();
    const poll = startPoll(server, { channels: ['chat'], last: 0 });
    await untilOpenPolls(server, 1);
    const sent = await fetch(server.url + '/tabbus/send', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify([
        { channel: 'chat', type: 'a', payload: 1 },
        { channel: 'chat', type: 'b', payload: 2 },
      ]),
    });
    const { ids } = (await sent.json()) as { ids: number[] };
    expect(ids).toHaveLength(2);
    const reply = await poll;
    expect(reply.body.result.map((n: { id: number }) => n.id)).toEqual(ids);
  });

  it('last == 0 catches up on the last 50 s only; last = N returns ids above N', async () => {
    const server = await startServer();
    server.publish('other', { type: 'filler', payload: null }); // so that `old - 1` is not 0
    const old = server.publish('chat', { type: 'old', payload: null });
    server.clock.advance(30_000);
    const recent = server.publish('chat', { type: 'recent', payload: null });
    server.clock.advance(20_001); // `old` is now 50.001 s old
    const catchUp = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: 0 });
    expect(catchUp.body.result.map((n: { id: number }) => n.id)).toEqual([recent]);
    const sinceOld = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: old - 1 });
    expect(sinceOld.body.result.map((n: { id: number }) => n.id)).toEqual([old, recent]);
  });

  it('rows older than 100 s are collected by the clock-driven GC', async () => {
    const server = await startServer();
    const first = server.publish('chat', { type: 'a', payload: null });
    server.clock.advance(60_000);
    const second = server.publish('chat', { type: 'b', payload: null });
    server.clock.advance(40_001);
    expect(server.stats().rows).toBe(1);
    const reply = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: first - 1 });
    expect(reply.body.result.map((n: { id: number }) => n.id)).toEqual([second]);
    expect(server.stats().lastId).toBe(second);
  });

  it('an aborted held poll stops counting as open at once', async () => {
    const server = await startServer();
    const abort = new AbortController();
    const poll = startPoll(server, { channels: ['chat'], last: 0 }, { signal: abort.signal });
    await untilOpenPolls(server, 1);
    abort.abort();
    await expect(poll).rejects.toThrow();
    await untilOpenPolls(server, 0);
    expect(server.stats().polls).toBe(0); // aborted polls are not answered polls
    // The dropped hold no longer listens: publishing must not try to answer it.
    server.publish('chat', { type: 'x', payload: null });
    expect(server.stats().polls).toBe(0);
  });

  it('counts open polls per session and the per-session peak; reset restarts the peak from what is open', async () => {
    const server = await startServer();
    const admin = await login(server, 'admin');
    const demo = await login(server, 'demo');
    const aborts = [new AbortController(), new AbortController(), new AbortController(), new AbortController()];
    const outcomes = [
      startPoll(server, { channels: ['a'], last: 0 }, { sessionId: admin, signal: aborts[0]!.signal }),
      startPoll(server, { channels: ['b'], last: 0 }, { sessionId: admin, signal: aborts[1]!.signal }),
      startPoll(server, { channels: ['c'], last: 0 }, { sessionId: admin, signal: aborts[2]!.signal }),
      startPoll(server, { channels: ['a'], last: 0 }, { sessionId: demo, signal: aborts[3]!.signal }),
    ].map((poll) => poll.then(() => 'answered', () => 'aborted'));
    await untilOpenPolls(server, 4);
    expect(server.stats().openPollsBySession).toEqual({ [admin.slice(0, 8)]: 3, [demo.slice(0, 8)]: 1 });
    expect(server.stats().peakOpenPollsPerSession).toBe(3);

    aborts[0]!.abort();
    aborts[1]!.abort();
    await untilOpenPolls(server, 2);
    expect(server.stats().peakOpenPollsPerSession).toBe(3);

    const statsReset = await fetch(server.url + '/tabbus/stats/reset', { method: 'POST' });
    expect(statsReset.status).toBe(200);
    const after = server.stats();
    expect(after).toMatchObject({ peakOpenPollsPerSession: 1, openPolls: 2, polls: 0, notifications: 0, requests: {} });

    server.clock.advance(50_000);
    expect(await Promise.all(outcomes)).toEqual(['aborted', 'aborted', 'answered', 'answered']);
    expect(server.stats().polls).toBe(2);
  });

  it('close() answers held polls with []', async () => {
    const server = await startServer();
    const poll = startPoll(server, { channels: ['chat'], last: 0 });
    await untilOpenPolls(server, 1);
    await server.close();
    expect((await poll).body.result).toEqual([]);
  });
});

describe('/longpolling/poll: versions', () => {
  it('15 wraps channels with the db, always listens on broadcast, and answers [{id, message}]', async () => {
    const server = await startServer({ odoo: 15, db: 'mydb' });
    const poll = startPoll(server, { channels: ['chat'], last: 0 });
    await untilOpenPolls(server, 1);
    const sent = await fetch(server.url + '/tabbus/send', {
      method: 'POST',
      body: JSON.stringify({ channel: 'broadcast', type: 'news', payload: { x: 1 } }),
    });
    expect(sent.status).toBe(200);
    const reply = await poll;
    expect(reply.body.result).toEqual([{ id: 1, message: { type: 'news', payload: { x: 1 } } }]);
    // What the rows look like (peek lists the stored channels).
    const peek = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: 0, options: { peek: true } });
    expect(peek.body.result.channels).toEqual([
      ['mydb', 'chat'],
      ['mydb', 'broadcast'],
    ]);
    expect(peek.body.result.notifications).toHaveLength(1);
  });

  it('14 answers [{id, channel, message}] with the raw message and has no broadcast channel', async () => {
    const server = await startServer({ odoo: 14 });
    server.publish('broadcast', { ignored: true });
    const idle = startPoll(server, { channels: ['chat'], last: 0 });
    await untilOpenPolls(server, 1);
    const id = server.publish('chat', ['raw', 1]);
    expect((await idle).body.result).toEqual([{ id, channel: 'chat', message: ['raw', 1] }]);
  });

  it('8 takes raw messages too, and refuses 15-style typed notifications on /tabbus/send', async () => {
    const server = await startServer({ odoo: 8 });
    const bad = await fetch(server.url + '/tabbus/send', { method: 'POST', body: JSON.stringify({ channel: 'c', type: 't', payload: 1 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    const good = await fetch(server.url + '/tabbus/send', { method: 'POST', body: JSON.stringify({ channel: 'c', message: 'hi' }) });
    expect(await good.json()).toEqual({ ids: [1] });
    const reply = await rpc(server, '/longpolling/poll', { channels: ['c'], last: 0, options: { im_presence: true } });
    expect(reply.body.result).toEqual([{ id: 1, channel: 'c', message: 'hi' }]);
  });

  it('on 15 a string instead of a list is polled letter by letter', async () => {
    const server = await startServer();
    const poll = startPoll(server, { channels: 'ab', last: 0 });
    await untilOpenPolls(server, 1);
    server.publish('ab', { type: 'whole name', payload: null });
    expect(server.stats().openPolls).toBe(1);
    const id = server.publish('b', { type: 'letter', payload: null });
    expect((await poll).body.result).toEqual([{ id, message: { type: 'letter', payload: null } }]);
  });

  it('/longpolling/send exists on 8–14 (reply without a result key) and wakes polls; 404 on 15', async () => {
    const server14 = await startServer({ odoo: 14 });
    const poll = startPoll(server14, { channels: ['probe'], last: 0 });
    await untilOpenPolls(server14, 1);
    const sent = await rpc(server14, '/longpolling/send', { channel: 'probe', message: { n: 1 } });
    expect(sent.body).toEqual({ jsonrpc: '2.0', id: expect.any(Number) });
    expect((await poll).body.result).toEqual([{ id: 1, channel: 'probe', message: { n: 1 } }]);
    const notString = await rpc(server14, '/longpolling/send', { channel: ['probe'], message: 1 });
    expect(notString.body.error.data.message).toBe('bus.Bus only string channels are allowed.');

    const server15 = await startServer({ odoo: 15 });
    const missing = await rpc(server15, '/longpolling/send', { channel: 'probe', message: {} });
    expect(missing.status).toBe(404);
  });
});

describe('/longpolling/poll: sessions, errors and HTTP', () => {
  it('an unknown or missing cookie is served as a new public session; a known one is refreshed', async () => {
    const server = await startServer();
    const peek = { channels: [], last: 0, options: { peek: true } };
    const anonymous = await rpc(server, '/longpolling/poll', peek);
    expect(anonymous.body.result).toBeDefined();
    expect(anonymous.sessionId).toMatch(/^[0-9a-f]{40}$/);
    const stale = await rpc(server, '/longpolling/poll', peek, { sessionId: '0'.repeat(40) });
    expect(stale.body.error).toBeUndefined();
    expect(stale.sessionId).toMatch(/^[0-9a-f]{40}$/);
    expect(stale.sessionId).not.toBe('0'.repeat(40));
    const again = await rpc(server, '/longpolling/poll', peek, { sessionId: anonymous.sessionId });
    expect(again.sessionId).toBe(anonymous.sessionId);
  });

  it('rejects non-string channels with Odoo’s exact error, HTTP 200', async () => {
    const server = await startServer();
    for (const channels of [[1], ['ok', ['db', 'res.partner', 3]], [null]]) {
      const reply = await rpc(server, '/longpolling/poll', { channels, last: 0 });
      expect(reply.status).toBe(200);
      expect(reply.body.error).toMatchObject({
        code: 200,
        message: 'Odoo Server Error',
        data: { name: 'builtins.Exception', message: 'bus.Bus only string channels are allowed.' },
      });
    }
    expect(server.stats().openPolls).toBe(0);
  });

  it('missing arguments and non-iterable channels are Python TypeErrors', async () => {
    const server = await startServer();
    const noLast = await rpc(server, '/longpolling/poll', { channels: [] });
    expect(noLast.body.error.data).toMatchObject({
      name: 'builtins.TypeError',
      message: "poll() missing 1 required positional argument: 'last'",
    });
    const nothing = await rpc(server, '/longpolling/poll', {});
    expect(nothing.body.error.data.message).toBe("poll() missing 2 required positional arguments: 'channels' and 'last'");
    const number = await rpc(server, '/longpolling/poll', { channels: 5, last: 0 });
    expect(number.body.error.data).toMatchObject({ name: 'builtins.TypeError', message: "'int' object is not iterable" });
    const badLast = await rpc(server, '/longpolling/poll', { channels: [], last: '7' });
    expect(badLast.body.error.data.name).toBe('builtins.TypeError');
  });

  it('ignores malformed options instead of failing', async () => {
    const server = await startServer({ odoo: 12 });
    server.publish('c', 'x');
    for (const options of [null, 'junk', [1], { bus_inactivity: 'soon' }]) {
      const reply = await rpc(server, '/longpolling/poll', { channels: ['c'], last: 0, options });
      expect(reply.body.result).toHaveLength(1);
    }
  });

  it('speaks CORS: Access-Control-Allow-Origin on replies, OPTIONS preflight answered', async () => {
    const server = await startServer();
    const reply = await rpc(server, '/longpolling/poll', { channels: [], last: 0, options: { peek: true } });
    expect(reply.headers.get('access-control-allow-origin')).toBe('*');
    const preflight = await fetch(server.url + '/longpolling/poll', { method: 'OPTIONS' });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('Content-Type');
  });

  it('refuses GET, non-JSON content types and bad JSON with HTTP 400, like Odoo', async () => {
    const server = await startServer();
    const get = await fetch(server.url + '/longpolling/poll');
    expect(get.status).toBe(400);
    const plain = await fetch(server.url + '/longpolling/poll', { method: 'POST', body: '{"params":{}}' });
    expect(plain.status).toBe(400);
    expect(plain.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await plain.text()).toContain('Session expired (invalid CSRF token)');
    const badJson = await fetch(server.url + '/longpolling/poll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"jsonrpc":',
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.text()).toContain('Invalid JSON data');
    const notAnObject = await fetch(server.url + '/longpolling/poll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: '[1,2]',
    });
    expect(notAnObject.status).toBe(400);
    expect(server.stats().openPolls).toBe(0);
  });

  it('refuses a body over 1 MiB with an error envelope, and keeps serving', async () => {
    const server = await startServer();
    const huge = JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { channels: ['x'.repeat(2 * 1024 * 1024)], last: 0 }, id: 9 });
    const reply = await fetch(server.url + '/longpolling/poll', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: huge,
    });
    expect(reply.status).toBe(413);
    const body = (await reply.json()) as { error: { data: { name: string } } };
    expect(body.error.data.name).toBe('werkzeug.exceptions.RequestEntityTooLarge');
    const health = await fetch(server.url + '/longpolling/health');
    expect(await health.json()).toEqual({ status: 'pass' });
  });

  it('survives a client that disconnects in the middle of its body', async () => {
    const server = await startServer();
    const { connect } = await import('node:net');
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /longpolling/poll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"par');
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const health = await fetch(server.url + '/longpolling/health');
    expect(health.status).toBe(200);
    expect(server.stats().openPolls).toBe(0);
  });

  it('GET /longpolling/health answers {"status":"pass"}, not cached', async () => {
    const server = await startServer({ odoo: 9 });
    const reply = await fetch(server.url + '/longpolling/health');
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(await reply.json()).toEqual({ status: 'pass' });
  });
});

describe('/longpolling/poll: a cursor above the newest id (a restarted store) counts as 0', () => {
  for (const odoo of [8, 14, 15] as const) {
    const message = (n: number): unknown => (odoo === 15 ? { type: 'restart', payload: n } : { n });

    it(`Odoo ${odoo}: rows that already exist are answered at once`, async () => {
      const server = await startServer({ odoo });
      const first = server.publish('chat', message(1));
      const second = server.publish('chat', message(2));
      expect([first, second]).toEqual([1, 2]);
      const reply = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: 500 });
      expect(reply.body.result.map((n: { id: number }) => n.id)).toEqual([1, 2]);
    });

    it(`Odoo ${odoo}: a held poll gets the row published after it`, async () => {
      const server = await startServer({ odoo });
      const poll = startPoll(server, { channels: ['chat'], last: 500 });
      await untilOpenPolls(server, 1);
      const id = server.publish('chat', message(1));
      expect(id).toBe(1);
      expect((await poll).body.result.map((n: { id: number }) => n.id)).toEqual([1]);
    });
  }

  it('decides on arrival: a batch that takes the ids past `last` while the poll is held is answered whole', async () => {
    const server = await startServer();
    const poll = startPoll(server, { channels: ['chat'], last: 2 });
    await untilOpenPolls(server, 1);
    const sent = await fetch(server.url + '/tabbus/send', {
      method: 'POST',
      body: JSON.stringify([1, 2, 3].map((n) => ({ channel: 'chat', type: 'restart', payload: n }))),
    });
    expect(await sent.json()).toEqual({ ids: [1, 2, 3] });
    // Re-reading `last = 2` after the wake-up would answer only id 3.
    expect((await poll).body.result.map((n: { id: number }) => n.id)).toEqual([1, 2, 3]);
  });

  it('applies to peek too, and leaves a cursor at or below the newest id alone', async () => {
    const server = await startServer();
    server.publish('chat', { type: 'a', payload: null });
    server.publish('chat', { type: 'b', payload: null });
    const peek = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: 99, options: { peek: true } });
    expect(peek.body.result.notifications.map((n: { id: number }) => n.id)).toEqual([1, 2]);
    const atNewest = startPoll(server, { channels: ['chat'], last: 2 });
    await untilOpenPolls(server, 1);
    const id = server.publish('chat', { type: 'c', payload: null });
    expect((await atNewest).body.result.map((n: { id: number }) => n.id)).toEqual([id]);
  });

  it('the catch-up still only reaches 50 s back', async () => {
    const server = await startServer();
    server.publish('chat', { type: 'old', payload: null });
    server.clock.advance(50_001);
    const recent = server.publish('chat', { type: 'recent', payload: null });
    const reply = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: 500 });
    expect(reply.body.result.map((n: { id: number }) => n.id)).toEqual([recent]);
  });
});
