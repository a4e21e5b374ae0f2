import { describe, expect, it } from 'vitest';
import { createDevServer } from '../server';
import type { DevServerStats } from '../stats';
import { login, postJson, startPoll, startServer, untilOpenPolls } from './helpers';

describe('/tabbus/* dev routes', () => {
  it('/tabbus/send inserts one notification or a batch and answers the ids', async () => {
    const server = await startServer();
    expect(await postJson(server, '/tabbus/send', { channel: 'chat', type: 't', payload: 1 })).toEqual({ status: 200, body: { ids: [1] } });
    const batch = await postJson(server, '/tabbus/send', [
      { channel: 'a', type: 't', payload: null },
      { channel: 'b', type: 't', payload: [1] },
    ]);
    expect(batch.body).toEqual({ ids: [2, 3] });
    expect(server.stats()).toMatchObject({ lastId: 3, notifications: 3 });
  });

  it('/tabbus/send refuses bad bodies with 400 bad_request and inserts nothing', async () => {
    const server = await startServer();
    const cases: [unknown, RegExp][] = [
      ['{not json', /not JSON/],
      ['', /expected \{channel, type, payload\}/],
      [42, /expected \{channel, type, payload\}/],
      [[], /at least one/],
      [{ type: 't', payload: 1 }, /"channel" must be a string/],
      [{ channel: 'c', payload: 1 }, /\{type: string, payload/],
      [{ channel: 'c', type: 't' }, /\{type: string, payload/],
      [{ channel: 'c', message: 'raw' }, /not "message"/],
      [[{ channel: 'ok', type: 't', payload: 1 }, { channel: 7 }], /item 1: "channel" must be a string/],
    ];
    for (const [body, message] of cases) {
      const reply = await postJson(server, '/tabbus/send', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.code).toBe('bad_request');
      expect(reply.body.error.message).toMatch(message);
    }
    expect(server.stats().lastId).toBe(0);
  });

  it('GET /tabbus/stats has the documented shape', async () => {
    const server = await startServer({ odoo: 13, db: 'statsdb' });
    server.publish('c', 1);
    const response = await fetch(server.url + '/tabbus/stats');
    const stats = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(stats).sort()).toEqual(
      [
        'db',
        'faults',
        'framesIn',
        'framesOut',
        'openSockets',
        'openSocketsBySession',
        'peakOpenSocketsPerSession',
        'lastId',
        'notifications',
        'now',
        'odoo',
        'openPolls',
        'openPollsBySession',
        'peakOpenPollsPerSession',
        'polls',
        'presenceWrites',
        'presenceWritesByUser',
        'postgresql',
        'requests',
        'rows',
        'session',
      ].sort(),
    );
    expect(stats['postgresql']).toBeNull();
    expect(stats['session'], 'no cookie sent').toBeNull();
    expect(stats).toMatchObject({ odoo: 13, db: 'statsdb', lastId: 1, rows: 1, notifications: 1, polls: 0, openPolls: 0, faults: 0, presenceWrites: 0 });
    expect(stats['presenceWritesByUser']).toEqual({});
    expect(stats['requests']).toEqual({ '/tabbus/stats': 1 });
    expect(Math.abs((stats['now'] as number) - server.clock.now())).toBeLessThan(1000);
  });

  it("GET /tabbus/stats names the caller's session: its key in openPollsBySession", async () => {
    const server = await startServer();
    const sessionId = await login(server);
    const poll = startPoll(server, { channels: [], last: 0 }, { sessionId });
    await untilOpenPolls(server, 1);
    const stats = (await (await fetch(server.url + '/tabbus/stats', { headers: { Cookie: `session_id=${sessionId}` } })).json()) as DevServerStats;
    expect(stats.session).toBe(sessionId.slice(0, 8));
    expect(stats.openPollsBySession).toEqual({ [stats.session!]: 1 });
    const stranger = (await (await fetch(server.url + '/tabbus/stats', { headers: { Cookie: 'session_id=unknown' } })).json()) as DevServerStats;
    expect(stranger.session).toBeNull();
    await server.close();
    await poll;
  });

  it('/tabbus/clock moves the clock and fires due holds; GET reads it', async () => {
    const server = await startServer();
    const before = (await (await fetch(server.url + '/tabbus/clock')).json()) as { now: number };
    const poll = startPoll(server, { channels: [], last: 0 });
    await untilOpenPolls(server, 1);
    const moved = await postJson(server, '/tabbus/clock', { advance: 50_000 });
    expect(moved.status).toBe(200);
    expect(moved.body.now).toBeGreaterThanOrEqual(before.now + 50_000);
    expect((await poll).body.result).toEqual([]);
    for (const bad of [{}, { advance: -1 }, { advance: '5' }, 'nope']) {
      expect((await postJson(server, '/tabbus/clock', bad)).status).toBe(400);
    }
  });

  it('/tabbus/gc collects old rows now', async () => {
    const server = await startServer({ gcAgeMs: 5_000 });
    server.publish('c', { type: 't', payload: 1 });
    server.clock.advance(4_000);
    server.publish('c', { type: 't', payload: 2 });
    server.clock.advance(1_001 + 100);
    const reply = await postJson(server, '/tabbus/gc', {});
    expect(reply.body).toEqual({ deleted: 1, rows: 1 });
  });

  it('answers 405 to a wrong method', async () => {
    const server = await startServer();
    const reply = await fetch(server.url + '/tabbus/send');
    expect(reply.status).toBe(405);
    expect(reply.headers.get('allow')).toBe('POST');
  });

  it('with dev: false every /tabbus/* route is 404', async () => {
    const server = await startServer({ dev: false });
    for (const [method, path] of [
      ['POST', '/tabbus/send'],
      ['GET', '/tabbus/stats'],
      ['POST', '/tabbus/stats/reset'],
      ['POST', '/tabbus/clock'],
      ['POST', '/tabbus/gc'],
      ['POST', '/tabbus/fault'],
      ['GET', '/tabbus/polls'],
      ['POST', '/tabbus/expire'],
      ['POST', '/tabbus/send-uncommitted'],
      ['POST', '/tabbus/commit'],
    ] as const) {
      const reply = await fetch(server.url + path, { method, body: method === 'POST' ? '{}' : null });
      expect(reply.status, path).toBe(404);
    }
    expect(server.stats().requests).toEqual({ other: 10 });
  });

  it('createDevServer rejects bad options and a taken port', async () => {
    await expect(createDevServer({ odoo: 20 as never })).rejects.toThrow(/8–19/);
    await expect(createDevServer({ port: -1 })).rejects.toThrow(RangeError);
    const server = await startServer();
    await expect(createDevServer({ port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
