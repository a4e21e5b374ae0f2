// A small queue_job-style job exchange, so a browser can watch background work move: jobs go
// pending → enqueued → started → done (or failed), at most `capacity` started at once per channel
// (`root:2`), and every state change and progress step is published on the bus channel of the user
// who created the job. "Running" a job is simulated on the server clock: `steps` progress updates,
// `stepMs` apart, so tests reach the end with `clock.advance`.
//
// The job rows live behind a JobTable: in memory, or in PostgreSQL (pg/pg-jobs.ts), where a trigger
// NOTIFYs every change and jobs left started or enqueued by a process that died are requeued when the
// runner starts, as the queue_job runner's docs ask.
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from './clock';

export type JobState = 'pending' | 'enqueued' | 'started' | 'done' | 'failed';
export const NOT_DONE: readonly JobState[] = ['pending', 'enqueued', 'started'];

export interface Job {
  readonly uuid: string;
  readonly name: string;
  /** The queue_job channel, e.g. `root` or `root.import`: its capacity limits how many start at once. */
  readonly channel: string;
  readonly uid: number;
  state: JobState;
  /** 0–100. */
  progress: number;
  /** Increases with every change of this job: clients keep the update with the highest. */
  seq: number;
  readonly steps: number;
  readonly stepMs: number;
  /** Fail at this step instead of finishing (for tests); `undefined`: succeed. */
  readonly failAt: number | undefined;
  result: string | null;
  readonly createdAt: number;
}

export interface NewJob {
  readonly name: string;
  readonly uid: number;
  readonly channel?: string;
  readonly steps?: number;
  readonly stepMs?: number;
  readonly failAt?: number;
}

/** Where jobs are kept. Every write is a whole job; `onChange` is how the runner hears of other writers. */
export interface JobTable {
  insert(job: Job): Promise<void>;
  /** Writes the job only if its stored state is `expected` (two runners never take one job); returns whether it did. */
  update(job: Job, expected?: JobState): Promise<boolean>;
  notDone(): Promise<Job[]>;
  /** Jobs left `started`/`enqueued` by a runner that died go back to `pending`; returns how many. */
  requeueStale(): Promise<number>;
  all(): Promise<Job[]>;
}

export class MemoryJobTable implements JobTable {
  readonly #jobs = new Map<string, Job>();
  async insert(job: Job): Promise<void> {
    this.#jobs.set(job.uuid, { ...job });
  }
  async update(job: Job, expected?: JobState): Promise<boolean> {
    const stored = this.#jobs.get(job.uuid);
    if (!stored || (expected && stored.state !== expected)) return false;
    this.#jobs.set(job.uuid, { ...job });
    return true;
  }
  async notDone(): Promise<Job[]> {
    return [...this.#jobs.values()].filter((j) => NOT_DONE.includes(j.state)).map((j) => ({ ...j }));
  }
  async requeueStale(): Promise<number> {
    let count = 0;
    for (const job of this.#jobs.values()) {
      if (job.state === 'started' || job.state === 'enqueued') {
        job.state = 'pending';
        job.seq++;
        count++;
      }
    }
    return count;
  }
  async all(): Promise<Job[]> {
    return [...this.#jobs.values()].map((j) => ({ ...j }));
  }
}

/** `root:2,root.import:1` → capacity by channel; a channel not listed takes its parent's, `root` defaults to 1. */
export function parseCapacities(text: string): Map<string, number> {
  const capacities = new Map<string, number>();
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9_.]+):(\d+)$/.exec(part);
    if (!match) throw new RangeError(`a job channel capacity is "name:N" (e.g. root:2), got "${part}"`);
    capacities.set(match[1]!, Number(match[2]));
  }
  if (!capacities.has('root')) capacities.set('root', 1);
  return capacities;
}

/** What the runner publishes for each change: the job as clients see it. */
export interface JobUpdate {
  readonly uuid: string;
  readonly name: string;
  readonly channel: string;
  readonly state: JobState;
  readonly progress: number;
  readonly seq: number;
  readonly result: string | null;
}

export interface JobRunnerOptions {
  readonly table: JobTable;
  readonly clock: Clock;
  readonly capacities: Map<string, number>;
  /** Publishes one update on the user's jobs channel. */
  readonly publish: (uid: number, update: JobUpdate) => Promise<void>;
  readonly onError: (error: unknown, where: string) => void;
  /** Trouble the runner recovers from by itself (a step retried after a database error). */
  readonly onWarning: (message: string) => void;
}

/** The bus channel a user's job updates go to (a string channel the user's tabs join). */
export const jobsChannel = (uid: number): string => `tabbus.jobs.${uid}`;
/** The notification type of a job update (15+), or the message's `type` on 8–14. */
export const JOB_UPDATE_TYPE = 'tabbus.job/update';

export class JobRunner {
  /** Every job, oldest first, as GET /tabbus/jobs lists them. */
  list(): Promise<Job[]> {
    return this.#options.table.all();
  }

  readonly #options: JobRunnerOptions;
  readonly #timers = new Map<string, TimerHandle>();
  /** Jobs this runner started and is running, by uuid. */
  readonly #running = new Map<string, Job>();
  #stopped = false;
  #scheduling: Promise<void> = Promise.resolve();
  /** A scheduling round is queued and has not begun: another wake needs no round of its own. */
  #wakePending = false;

  constructor(options: JobRunnerOptions) {
    this.#options = options;
  }

  /** Requeues what a dead runner left behind, then runs what is pending. */
  async start(): Promise<void> {
    await this.#options.table.requeueStale();
    this.wake();
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) this.#options.clock.clearTimer(timer);
    this.#timers.clear();
  }

  async create(spec: NewJob): Promise<Job> {
    const job: Job = {
      uuid: randomUUID(),
      name: spec.name,
      channel: spec.channel ?? 'root',
      uid: spec.uid,
      state: 'pending',
      progress: 0,
      seq: 1,
      steps: spec.steps ?? 5,
      stepMs: spec.stepMs ?? 1000,
      failAt: spec.failAt,
      result: null,
      createdAt: this.#options.clock.now(),
    };
    // Announced before the row exists: once it does, any runner (of any process) may take the job and
    // announce `enqueued`, and the tabs drop an update older than one they have (`pending` after
    // `enqueued` would be lost). Published first, `pending` always has the lower id.
    await this.#announce(job);
    try {
      await this.#options.table.insert(job);
    } catch (error) {
      // The tabs heard of a job that will never run: they hear that it failed.
      await this.#announce({ ...job, state: 'failed', seq: job.seq + 1, result: 'the job could not be stored' }).catch(() => undefined);
      throw error;
    }
    this.wake();
    return job;
  }

  /** Something changed (a new job here, or a NOTIFY from another process): start what capacity allows. */
  wake(): void {
    // Every job change NOTIFYs (progress steps too): wakes that come while a round waits to run share it.
    if (this.#wakePending) return;
    this.#wakePending = true;
    // A failed round (the database is away) is retried by the next wake: a NOTIFY, a reconnect, a job's end.
    this.#scheduling = this.#scheduling.then(() => {
      this.#wakePending = false;
      return this.#schedule();
    }).catch((error: unknown) => this.#options.onWarning(`job runner: ${error instanceof Error ? error.message : String(error)}`));
  }

  async #schedule(): Promise<void> {
    if (this.#stopped) return;
    const jobs = await this.#options.table.notDone();
    const busy = new Map<string, number>();
    for (const job of jobs) if (job.state !== 'pending') busy.set(job.channel, (busy.get(job.channel) ?? 0) + 1);
    const pending = jobs.filter((j) => j.state === 'pending').sort((a, b) => a.createdAt - b.createdAt);
    for (const job of pending) {
      const capacity = this.#capacity(job.channel);
      if ((busy.get(job.channel) ?? 0) >= capacity) continue;
      const enqueued = { ...job, state: 'enqueued' as const, seq: job.seq + 1 };
      // Only one runner takes a job, however many processes run one.
      if (!(await this.#options.table.update(enqueued, 'pending'))) continue;
      busy.set(job.channel, (busy.get(job.channel) ?? 0) + 1);
      await this.#announce(enqueued);
      const started = { ...enqueued, state: 'started' as const, seq: enqueued.seq + 1 };
      await this.#options.table.update(started);
      await this.#announce(started);
      this.#running.set(started.uuid, started);
      this.#step(started.uuid, 0);
    }
  }

  #capacity(channel: string): number {
    for (let name = channel; name; name = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '') {
      const capacity = this.#options.capacities.get(name);
      if (capacity !== undefined) return capacity;
    }
    return this.#options.capacities.get('root') ?? 1;
  }

  #step(uuid: string, done: number): void {
    const job = this.#running.get(uuid);
    if (!job || this.#stopped) return;
    this.#timers.set(
      uuid,
      this.#options.clock.setTimer(() => {
        this.#timers.delete(uuid);
        // A database error (PostgreSQL restarting) must not strand the job: the same step is tried again.
        void this.#advance(job, done + 1).catch((error: unknown) => {
          this.#options.onWarning(`job ${uuid}: ${error instanceof Error ? error.message : String(error)}; trying that step again`);
          this.#step(uuid, done);
        });
      }, job.stepMs),
    );
  }

  async #advance(job: Job, step: number): Promise<void> {
    if (job.failAt !== undefined && step >= job.failAt) {
      return this.#finish({ ...job, state: 'failed', seq: job.seq + 1, result: `failed at step ${step} of ${job.steps}` });
    }
    if (step >= job.steps) return this.#finish({ ...job, state: 'done', progress: 100, seq: job.seq + 1, result: `${job.name}: done` });
    const next = { ...job, progress: Math.floor((step * 100) / job.steps), seq: job.seq + 1 };
    this.#running.set(job.uuid, next);
    await this.#options.table.update(next);
    await this.#announce(next);
    this.#step(job.uuid, step);
  }

  async #finish(job: Job): Promise<void> {
    this.#running.delete(job.uuid);
    await this.#options.table.update(job);
    await this.#announce(job);
    this.wake();
  }

  #announce(job: Job): Promise<void> {
    const update: JobUpdate = { uuid: job.uuid, name: job.name, channel: job.channel, state: job.state, progress: job.progress, seq: job.seq, result: job.result };
    return this.#options.publish(job.uid, update);
  }
}
