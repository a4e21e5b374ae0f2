// The jobs exchange on the memory store: states and progress published in order on the user's channel,
// channel capacities, failures, the dev route; and the capacity parser.
import { describe, expect, it } from 'vitest';
import { createClock } from '../clock';
import { JobRunner, MemoryJobTable, parseCapacities, type Job, type JobTable, type JobUpdate } from '../jobs';
import type { DevServer } from '../server';
import { login, postJson, rpc, startServer } from './helpers';

interface Update {
  uuid: string;
  state: string;
  progress: number;
  seq: number;
  result: string | null;
}

/** Moves the server clock `ms` at a time, letting the runner's async work settle after each move. */
async function advance(server: DevServer, times: number, ms: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    server.clock.advance(ms);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every job update the user's channel carried so far, from a poll from 0 (the catch-up window). */
async function updates(server: DevServer, sessionId: string): Promise<Update[]> {
  const reply = await rpc(server, '/longpolling/poll', { channels: ['tabbus.jobs.2'], last: 0, options: {} }, { sessionId });
  return (reply.body.result as { message: { type: string; payload: Update } }[]).map((n) => {
    expect(n.message.type).toBe('tabbus.job/update');
    return n.message.payload;
  });
}

describe('jobs', () => {
  it('a job goes pending → enqueued → started → progress steps → done, each published once, in order, on the user channel', async () => {
    const server = await startServer({ odoo: 15 });
    const sessionId = await login(server);
    const { body } = await postJson(server, '/tabbus/jobs', { name: 'import', steps: 4, stepMs: 1000, login: 'admin' });
    expect(body.channel).toBe('tabbus.jobs.2');
    await advance(server, 4, 1000);
    const seen = (await updates(server, sessionId)).filter((u) => u.uuid === body.uuid);
    expect(seen.map((u) => [u.state, u.progress])).toEqual([
      ['pending', 0],
      ['enqueued', 0],
      ['started', 0],
      ['started', 25],
      ['started', 50],
      ['started', 75],
      ['done', 100],
    ]);
    expect(seen.map((u) => u.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen.at(-1)!.result).toBe('import: done');
    const listed = (await (await fetch(`${server.url}/tabbus/jobs`)).json()) as { uuid: string; state: string }[];
    expect(listed).toMatchObject([{ uuid: body.uuid, state: 'done' }]);
  });

  it('a channel runs at most its capacity at once; the next job starts when one finishes', async () => {
    const server = await startServer({ odoo: 15, jobChannels: 'root:1' });
    const sessionId = await login(server);
    const a = (await postJson(server, '/tabbus/jobs', { name: 'a', steps: 2, stepMs: 1000, login: 'admin' })).body.uuid as string;
    const b = (await postJson(server, '/tabbus/jobs', { name: 'b', steps: 2, stepMs: 1000, login: 'admin' })).body.uuid as string;
    await new Promise((r) => setTimeout(r, 20));
    const states = async () => Object.fromEntries(((await (await fetch(`${server.url}/tabbus/jobs`)).json()) as { uuid: string; state: string }[]).map((j) => [j.uuid, j.state]));
    expect(await states()).toEqual({ [a]: 'started', [b]: 'pending' });
    await advance(server, 2, 1000);
    await expect.poll(states).toEqual({ [a]: 'done', [b]: 'started' });
    await advance(server, 2, 1000);
    await expect.poll(states).toEqual({ [a]: 'done', [b]: 'done' });
    // Per job: pending, enqueued, started, 50 %, done.
    await expect.poll(async () => (await updates(server, sessionId)).length).toBe(10);
  });

  it('a job can fail, and the failure is published with its reason', async () => {
    const server = await startServer({ odoo: 15 });
    const sessionId = await login(server);
    const uuid = (await postJson(server, '/tabbus/jobs', { name: 'x', steps: 5, stepMs: 100, failAt: 2, login: 'admin' })).body.uuid as string;
    server.clock.advance(100);
    await new Promise((r) => setTimeout(r, 10));
    server.clock.advance(100);
    await expect.poll(async () => (await updates(server, sessionId)).filter((u) => u.uuid === uuid).at(-1)).toMatchObject({ state: 'failed', result: 'failed at step 2 of 5' });
  });

  it('the dev route: the session cookie names the user; bad input is a 400', async () => {
    const server = await startServer({ odoo: 14 });
    const sessionId = await login(server, 'demo');
    const reply = await fetch(`${server.url}/tabbus/jobs`, { method: 'POST', headers: { Cookie: `session_id=${sessionId}` }, body: JSON.stringify({ name: 'mine' }) });
    expect(await reply.json()).toMatchObject({ channel: 'tabbus.jobs.6' });
    for (const body of [{}, { name: '' }, { name: 'x', steps: -1 }, { name: 'x', channel: 'other' }, { name: 'x', login: 'nobody' }, { name: 'x' }]) {
      expect((await postJson(server, '/tabbus/jobs', body)).status).toBe(400);
    }
  });
});

describe('parseCapacities', () => {
  it('reads queue_job channel specs', () => {
    expect(parseCapacities('root:2, root.import:1')).toEqual(new Map([['root', 2], ['root.import', 1]]));
    expect(parseCapacities('')).toEqual(new Map([['root', 1]]));
    expect(() => parseCapacities('root')).toThrow(/name:N/);
  });
});

describe('job runner, in isolation', () => {
  /** The memory table with its `insert` replaced (its other methods bound to it: they use private fields). */
  const withInsert = (memory: MemoryJobTable, insert: JobTable['insert']): JobTable => ({
    insert,
    update: (job, expected) => memory.update(job, expected),
    notDone: () => memory.notDone(),
    requeueStale: () => memory.requeueStale(),
    all: () => memory.all(),
  });

  /** Two runners on one table, as two server processes on one database; what each publishes, in order. */
  function twoRunners(table: JobTable) {
    const published: JobUpdate[] = [];
    const options = {
      table,
      clock: createClock(),
      capacities: new Map([['root', 1]]),
      publish: async (_uid: number, update: JobUpdate) => void published.push(update),
      onError: (error: unknown) => {
        throw error;
      },
      onWarning: (message: string) => {
        throw new Error(message);
      },
    };
    return { published, creator: new JobRunner(options), other: new JobRunner(options) };
  }

  it("`pending` is published before any runner can see the job, so another process's `enqueued` never comes first", async () => {
    const memory = new MemoryJobTable();
    let other: JobRunner | undefined;
    // The other process is woken by the row's NOTIFY the moment it is stored, before `create()` goes on.
    const table = withInsert(memory, async (job: Job) => {
      await memory.insert(job);
      other!.wake();
      await new Promise((r) => setTimeout(r, 20));
    });
    const runners = twoRunners(table);
    other = runners.other;
    const job = await runners.creator.create({ name: 'a', uid: 2, steps: 2, stepMs: 60_000 });
    await new Promise((r) => setTimeout(r, 20));
    const states = runners.published.filter((u) => u.uuid === job.uuid).map((u) => [u.state, u.seq]);
    expect(states.slice(0, 3)).toEqual([['pending', 1], ['enqueued', 2], ['started', 3]]);
    runners.creator.stop();
    runners.other.stop();
  });

  it('a job whose row cannot be stored is announced as failed after its `pending`, and create() rejects', async () => {
    const memory = new MemoryJobTable();
    const table = withInsert(memory, async () => {
      throw new Error('database away');
    });
    const runners = twoRunners(table);
    await expect(runners.creator.create({ name: 'a', uid: 2 })).rejects.toThrow('database away');
    expect(runners.published.map((u) => [u.state, u.seq, u.result])).toEqual([['pending', 1, null], ['failed', 2, 'the job could not be stored']]);
    runners.creator.stop();
  });
});
