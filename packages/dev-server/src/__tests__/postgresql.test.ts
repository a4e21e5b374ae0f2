// The PostgreSQL store, against a throwaway cluster (initdb): several server processes (here, several
// servers in this process, each with its own pool and LISTEN connection) share notifications; a database
// restart loses nothing once the listener is back; concurrent polls of one user make Odoo-style presence
// updates conflict. Skipped, with the reason printed, where initdb is missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMakeCluster, startTempCluster, type TempCluster } from '../pg/cluster';
import { NOTIFY_MAX_BYTES, notifyPayloads } from '../pg/pg-bus';
import type { DevServer } from '../server';
import { login, postJson, rpc, startPoll, startServer, untilOpenPolls } from './helpers';

describe('notifyPayloads', () => {
  it('splits the channel list so that no payload exceeds 8000 bytes, keeping every channel once', () => {
    const channels = Array.from({ length: 400 }, (_, i) => JSON.stringify(['tabbus', `channel-${i}-${'x'.repeat(20)}`]));
    const payloads = notifyPayloads(channels);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(NOTIFY_MAX_BYTES);
    expect(payloads.flatMap((p) => JSON.parse(p) as string[])).toEqual(channels);
    expect(notifyPayloads(['"a"'])).toEqual(['["\\"a\\""]']);
  });
});

const hasInitdb = await canMakeCluster();
if (!hasInitdb) console.warn('postgresql.test.ts: SKIPPED: initdb is not on PATH, so no throwaway PostgreSQL cluster can be made');

describe.skipIf(!hasInitdb)('the PostgreSQL store', () => {
  let cluster: TempCluster;
  beforeAll(async () => {
    cluster = await startTempCluster();
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  // While the database is down, sends fail (500) and the listener warns: expected here, so collected.
  const warnings: string[] = [];
  const failures: string[] = [];
  const pgServer = (odoo: 15 | 17 = 15): Promise<DevServer> =>
    startServer({ odoo, pg: cluster.connectionString, pgRecoveryDelayMs: 200, onWarning: (m) => warnings.push(m), onError: (e, where) => failures.push(`${where}: ${String(e)}`) });
  const send = async (server: DevServer, text: string): Promise<number> => ((await postJson(server, '/tabbus/send', { channel: 'chat', type: 't', payload: text })).body as { ids: number[] }).ids[0]!;

  it('a notification published through one process reaches a poll held by another', async () => {
    const a = await pgServer();
    const b = await pgServer();
    const sessionId = await login(b);
    const last = b.stats().lastId;
    const held = startPoll(b, { channels: ['chat'], last }, { sessionId });
    await untilOpenPolls(b, 1);
    const id = await send(a, 'across processes');
    const reply = await held;
    expect(reply.body.result).toEqual([{ id, message: { type: 't', payload: 'across processes' } }]);
    // Both processes read it back from the table: the same id everywhere.
    await expect.poll(() => a.stats().lastId).toBe(id);
    expect(b.stats().postgresql).toMatchObject({ notifies: expect.any(Number) });
    expect(b.stats().postgresql!.notifies).toBeGreaterThan(0);
  });

  it('/tabbus/send {partner} goes through PostgreSQL to a logged-in poll of that partner’s user', async () => {
    const a = await pgServer();
    const b = await pgServer();
    const sessionId = await login(b, 'demo');
    const last = b.stats().lastId;
    const held = startPoll(b, { channels: ['chat'], last }, { sessionId });
    await untilOpenPolls(b, 1);
    const reply = await postJson(a, '/tabbus/send', { partner: 7, type: 'mail.message/inbox', payload: 'private' });
    const id = (reply.body as { ids: number[] }).ids[0]!;
    expect((await held).body.result).toEqual([{ id, message: { type: 'mail.message/inbox', payload: 'private' } }]);
  });

  it('notifications published at the same moment through one process all reach a waiting poll (inserts commit in id order)', async () => {
    const a = await pgServer();
    const sessionId = await login(a);
    const last = a.stats().lastId;
    const ids = (await Promise.all(Array.from({ length: 100 }, (_, i) => send(a, `burst ${i}`)))).sort((x, y) => x - y);
    // Everything after `last` the store holds, as a poll from there sees it.
    await expect.poll(async () => ((await rpc(a, '/longpolling/poll', { channels: ['chat'], last, options: {} }, { sessionId })).body.result as { id: number }[]).map((r) => r.id)).toEqual(ids);
  });

  it('a NOTIFY that fails after the commit does not fail the publish: its rows are committed and delivered', async () => {
    const a = await pgServer();
    // A channel name NOTIFY cannot carry (its payload limit is 8000 bytes): the insert commits, pg_notify fails.
    const channel = `long-${'x'.repeat(NOTIFY_MAX_BYTES)}`;
    const before = warnings.length;
    const reply = await postJson(a, '/tabbus/send', { channel, type: 't', payload: 'committed' });
    expect(reply.status).toBe(200);
    const id = (reply.body as { ids: number[] }).ids[0]!;
    expect(warnings.slice(before).some((w) => w.includes('notify after commit'))).toBe(true);
    // The row is in the table: the next NOTIFY (any channel) makes every process read it.
    await send(a, 'next');
    await expect.poll(() => a.stats().lastId).toBeGreaterThan(id);
  });

  it('with --pg, server.publish refuses (it cannot be synchronous) and publishAsync works', async () => {
    const a = await pgServer();
    expect(() => a.publish('chat', { type: 't', payload: 1 })).toThrow(/publishAsync/);
    const id = await a.publishAsync('chat', { type: 't', payload: 1 });
    await expect.poll(() => a.stats().lastId).toBe(id);
  });

  it('a new process serves the catch-up window (last = 0) from rows another one inserted before it started', async () => {
    const a = await pgServer();
    const id = await send(a, 'before b started');
    const b = await pgServer();
    const sessionId = await login(b);
    const reply = await rpc(b, '/longpolling/poll', { channels: ['chat'], last: 0, options: {} }, { sessionId });
    expect((reply.body.result as { id: number }[]).map((r) => r.id)).toContain(id);
  });

  it('a PostgreSQL restart in the middle of a stream: once it is back, every committed notification is delivered', async () => {
    const a = await pgServer();
    const b = await pgServer();
    const sessionId = await login(b);
    const committed: { id: number; at: number }[] = [];
    const delivered: number[] = [];
    let last = b.stats().lastId;
    let running = true;
    const poller = (async () => {
      while (running) {
        const reply = await rpc(b, '/longpolling/poll', { channels: ['chat'], last, options: {} }, { sessionId }).catch(() => ({ body: {} as { result?: unknown } }));
        for (const row of (reply.body.result ?? []) as { id: number }[]) {
          delivered.push(row.id);
          last = Math.max(last, row.id);
        }
      }
    })();
    const stream = (async () => {
      for (let i = 0; running; i++) {
        const at = Date.now();
        const reply = await postJson(a, '/tabbus/send', { channel: 'chat', type: 't', payload: i }).catch(() => ({ status: 0, body: null }));
        // While the database is down a send fails (HTTP 500): that notification was never committed.
        if (reply.status === 200) for (const id of (reply.body as { ids: number[] }).ids) committed.push({ id, at });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const downAt = Date.now();
    await cluster.restart();
    const upAt = Date.now();
    // Recovery: the first notification committed after the restart that reaches the poller on b.
    await expect.poll(() => committed.find((c) => c.at >= upAt && delivered.includes(c.id)), { timeout: 15_000 }).toBeDefined();
    const recovered = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await stream;
    await expect.poll(() => committed.filter((c) => !delivered.includes(c.id)).map((c) => c.id), { timeout: 15_000 }).toEqual([]);
    await send(a, 'ends the last poll');
    await poller;
    expect(new Set(delivered).size, 'no id twice').toBe(delivered.length);
    expect(b.stats().postgresql!.reconnects).toBeGreaterThan(0);
    expect(warnings.join('\n')).toMatch(/listener lost/);
    console.log(`postgresql restart: down ${upAt - downAt} ms; delivery again ${recovered - upAt} ms after it was back; ${committed.length} committed, all delivered once`);
  }, 60_000);

  it('ten polls of one user at once make the REPEATABLE READ presence updates conflict; one at a time they do not', async () => {
    const a = await startServer({ odoo: 15, pg: cluster.connectionString, holdMs: 20 });
    const sessionId = await login(a);
    const poll = () => rpc(a, '/longpolling/poll', { channels: [], last: 1e9, options: { bus_inactivity: 0 } }, { sessionId });
    const counters = () => a.stats().postgresql!;
    for (let i = 0; i < 10; i++) {
      await poll();
      await expect.poll(() => counters().presenceUpdates + counters().presenceConflicts).toBe(i + 1);
    }
    expect(counters().presenceConflicts).toBe(0);
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 10 }, poll));
    await expect.poll(() => counters().presenceUpdates + counters().presenceConflicts).toBe(60);
    console.log(`presence: 5 rounds of 10 concurrent polls → ${counters().presenceConflicts} serialization failures`);
    expect(counters().presenceConflicts).toBeGreaterThan(0);
  });

  it('jobs on the shared database: two runners, each job taken by one; a job a dead runner left started is requeued and finished', async () => {
    const a = await pgServer();
    const b = await pgServer();
    const sessionId = await login(b);
    const uuid = ((await postJson(a, '/tabbus/jobs', { name: 'shared', steps: 2, stepMs: 50, login: 'admin' })).body as { uuid: string }).uuid;
    const list = async (server: DevServer) => ((await (await fetch(`${server.url}/tabbus/jobs`)).json()) as { uuid: string; state: string }[]).find((j) => j.uuid === uuid);
    const advanceBoth = () => {
      a.clock.advance(50);
      b.clock.advance(50);
    };
    await expect.poll(async () => (await list(b))?.state).not.toBe('pending');
    for (let i = 0; i < 4; i++) {
      advanceBoth();
      await new Promise((r) => setTimeout(r, 30));
    }
    await expect.poll(async () => (await list(a))?.state).toBe('done');
    const reply = await rpc(b, '/longpolling/poll', { channels: ['tabbus.jobs.2'], last: 0, options: {} }, { sessionId });
    const states = (reply.body.result as { message: { payload: { uuid: string; state: string; seq: number } } }[]).map((n) => n.message.payload).filter((p) => p.uuid === uuid);
    expect(states.map((p) => p.state)).toEqual(['pending', 'enqueued', 'started', 'started', 'done']);
    expect(states.map((p) => p.seq)).toEqual([1, 2, 3, 4, 5]);

    // A runner that died mid-job: its row stays `started`, last touched long ago.
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: cluster.connectionString });
    await client.connect();
    await client.query(
      `INSERT INTO queue_job (uuid, name, channel, user_id, state, progress, seq, steps, step_ms, date_updated) VALUES ('stale-1', 'orphan', 'root', 2, 'started', 40, 3, 2, 50, (now() at time zone 'utc') - interval '10 minutes')`,
    );
    await client.end();
    const c = await pgServer();
    await expect.poll(async () => ((await (await fetch(`${c.url}/tabbus/jobs`)).json()) as { uuid: string; state: string }[]).find((j) => j.uuid === 'stale-1')?.state).toBe('started');
    // Whichever runner takes it (the one that requeued it, or another woken by the NOTIFY) finishes it.
    for (let i = 0; i < 4; i++) {
      for (const server of [a, b, c]) server.clock.advance(50);
      await new Promise((r) => setTimeout(r, 30));
    }
    await expect.poll(async () => ((await (await fetch(`${c.url}/tabbus/jobs`)).json()) as { uuid: string; state: string }[]).find((j) => j.uuid === 'stale-1')?.state).toBe('done');
  });
});
