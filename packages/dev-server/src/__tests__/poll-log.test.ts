import { describe, expect, it } from 'vitest';
import { PollLog, POLL_LOG_SIZE } from '../poll-log';
import type { PollArrival } from '../poll-log';
import type { DevServer } from '../server';
import { login, postJson, rpc, startPoll, startServer, untilOpenPolls } from './helpers';

async function polls(server: DevServer, query = ''): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}/tabbus/polls${query}`);
  return { status: response.status, body: await response.json() };
}

const peek = { channels: ['a', 'b'], last: 0, options: { peek: true } };

describe('GET /tabbus/polls: when polls arrived, in wall-clock time', () => {
  it('logs every poll with Date.now() at arrival, its session, `last` and how many channels it sent', async () => {
    const server = await startServer();
    const sessionId = await login(server);
    const before = Date.now();
    await rpc(server, '/longpolling/poll', peek); // no cookie
    await rpc(server, '/longpolling/poll', { channels: ['x'], last: 7, options: { peek: true } }, { sessionId });
    await rpc(server, '/longpolling/poll', { channels: 'abc', last: 3, options: { peek: true } }, { sessionId: 'f'.repeat(40) });
    const after = Date.now();
    await rpc(server, '/web/session/get_session_info', {}, { sessionId }); // not a poll

    const { status, body } = await polls(server);
    expect(status).toBe(200);
    expect(body).toEqual([
      { at: expect.any(Number), session: null, last: 0, channels: 2 },
      { at: expect.any(Number), session: sessionId.slice(0, 8), last: 7, channels: 1 },
      { at: expect.any(Number), session: null, last: 3, channels: 0 }, // unknown cookie, a string for channels
    ]);
    for (const entry of body as PollArrival[]) {
      expect(entry.at).toBeGreaterThanOrEqual(before);
      expect(entry.at).toBeLessThanOrEqual(after);
    }
  });

  it('stamps arrival, not answer, and ignores the movable clock', async () => {
    const server = await startServer();
    server.clock.advance(3_600_000); // an hour ahead: the log must not follow
    const arrived = Date.now();
    const held = startPoll(server, { channels: ['c'], last: 0 });
    await untilOpenPolls(server, 1);
    const seenHeld = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 30));
    server.publish('c', { type: 't', payload: null });
    await held;
    const [entry] = (await polls(server)).body as PollArrival[];
    expect(entry!.at).toBeGreaterThanOrEqual(arrived);
    // Stamped before the poll was seen held, so not when it was answered (30 ms later).
    expect(entry!.at).toBeLessThanOrEqual(seenHeld);
  });

  it('logs polls that are refused or faulted, but not requests that are not JSON-RPC calls', async () => {
    const server = await startServer();
    await rpc(server, '/longpolling/poll', { channels: [1], last: 0 }); // builtins.Exception
    await postJson(server, '/tabbus/fault', { kind: 'http_500' });
    await rpc(server, '/longpolling/poll', { channels: [], last: 4 });
    await fetch(server.url + '/longpolling/poll', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{bad' });
    await fetch(server.url + '/longpolling/poll');
    expect(((await polls(server)).body as PollArrival[]).map((entry) => [entry.last, entry.channels])).toEqual([
      [0, 1],
      [4, 0],
    ]);
  });

  it('?since= keeps the polls that arrived at or after it', async () => {
    const server = await startServer();
    await rpc(server, '/longpolling/poll', peek);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await rpc(server, '/longpolling/poll', { ...peek, last: 9 });
    const all = (await polls(server)).body as PollArrival[];
    expect(all).toHaveLength(2);
    const second = all[1]!.at;
    expect(((await polls(server, `?since=${second}`)).body as PollArrival[]).map((e) => e.last)).toEqual([9]);
    expect((await polls(server, `?since=${second + 1}`)).body).toEqual([]);
    expect((await polls(server, '?since=0')).body).toHaveLength(2);
    for (const bad of ['?since=soon', '?since=', '?since=Infinity']) {
      const reply = await polls(server, bad);
      expect(reply.status, bad).toBe(400);
      expect(reply.body.error.code).toBe('bad_request');
    }
  });

  it(`keeps the newest ${POLL_LOG_SIZE} by default`, () => {
    const log = new PollLog();
    for (let i = 0; i < POLL_LOG_SIZE + 10; i++) log.record({ at: i, session: null, last: i, channels: 0 });
    const kept = log.since(0);
    expect(kept).toHaveLength(POLL_LOG_SIZE);
    expect(kept[0]!.at).toBe(10);
    expect(kept[kept.length - 1]!.at).toBe(POLL_LOG_SIZE + 9);
  });

  it('a full ring still answers oldest first', () => {
    const log = new PollLog(3);
    for (const at of [1, 2, 3, 4, 5]) log.record({ at, session: null, last: at, channels: 0 });
    expect(log.since(0).map((entry) => entry.at)).toEqual([3, 4, 5]);
    expect(log.since(4).map((entry) => entry.at)).toEqual([4, 5]);
  });
});
