/**
 * `@tabbus/odoo/jobs`: background jobs as the browser sees them. A queue_job-style runner publishes every
 * state change and progress step of a user's jobs on the bus channel `tabbus.jobs.<uid>` (the dev server's
 * jobs exchange does); `watchJobs` joins that channel and turns the notifications into typed job events,
 * each once and in order per job (every update carries a `seq`; an older or repeated one is dropped, as
 * after a replay), and keeps the latest state of every job.
 *
 * @module
 */

import type { TabBus } from '@tabbus/core';
import type { OdooNotification } from './notifications';

/** Where a job is: `pending` → `enqueued` → `started` → `done` or `failed`. */
export type JobState = 'pending' | 'enqueued' | 'started' | 'done' | 'failed';

/** One change of a background job, as the runner published it. */
export interface JobUpdate {
  /** The job's id, unique on the server. */
  readonly uuid: string;
  /** What the job is called, for display. */
  readonly name: string;
  /** The runner's channel (`root`, `root.import`…), not the bus channel. */
  readonly channel: string;
  /** Where the job is now. */
  readonly state: JobState;
  /** 0–100. */
  readonly progress: number;
  /** Increases with every change of the job. */
  readonly seq: number;
  /** What the job returned (`done`) or why it failed (`failed`); `null` before it ends. */
  readonly result: string | null;
}

/** What {@link watchJobs} returns: the jobs seen so far, and their updates as they come. */
export interface JobWatcher {
  /** The latest state of every job seen, oldest first. */
  jobs(): JobUpdate[];
  /** The latest state of one job, if it was seen. */
  get(uuid: string): JobUpdate | undefined;
  /** Calls `listener` with each new update (never twice for one `seq`); returns the unsubscriber. */
  on(listener: (update: JobUpdate) => void): () => void;
  /** Stops watching, and leaves the channel unless another watcher (or the page itself) holds it. */
  stop(): void;
}

/** The notification type of a job update. */
export const JOB_UPDATE_TYPE = 'tabbus.job/update';
const STATES: readonly string[] = ['pending', 'enqueued', 'started', 'done', 'failed'];

/** The job update a notification carries, if it is one (15+: by its type; 8–14: the message's type). */
function updateOf(item: OdooNotification): JobUpdate | undefined {
  const carried = 'type' in item ? (item.type === JOB_UPDATE_TYPE ? item.payload : undefined) : ((item.message as { type?: unknown } | null)?.type === JOB_UPDATE_TYPE ? (item.message as { payload?: unknown }).payload : undefined);
  const u = carried as Partial<JobUpdate> | undefined;
  if (typeof u !== 'object' || u === null || typeof u.uuid !== 'string' || typeof u.seq !== 'number' || !STATES.includes(u.state as string)) return undefined;
  return u as JobUpdate;
}

/**
 * How many watchers of each bus hold each channel: the last one to stop leaves it, and none does where the
 * page had joined it itself (that counts as one more holder).
 */
const holders = new WeakMap<TabBus<OdooNotification>, Map<string, number>>();

/** Watches the jobs of user `uid` (or of the bus `channel` given) in this tab. */
export function watchJobs(bus: TabBus<OdooNotification>, options: { uid: number } | { channel: string }): JobWatcher {
  const channel = 'channel' in options ? options.channel : `tabbus.jobs.${options.uid}`;
  const latest = new Map<string, JobUpdate>();
  const listeners = new Set<(update: JobUpdate) => void>();
  const held = holders.get(bus) ?? new Map<string, number>();
  holders.set(bus, held);
  held.set(channel, (held.get(channel) ?? +bus.channels().includes(channel)) + 1);
  bus.addChannel(channel);
  let watching = true;
  const off = bus.on('notification', (items) => {
    for (const item of items) {
      const update = updateOf(item);
      if (!update || (latest.get(update.uuid)?.seq ?? 0) >= update.seq) continue;
      latest.set(update.uuid, update);
      for (const listener of [...listeners]) {
        // One listener's bug must not cost the others, or the rest of the batch, an update the bus never repeats.
        try {
          listener(update);
        } catch (error) {
          setTimeout(() => {
            throw error;
          });
        }
      }
    }
  });
  return {
    jobs: () => [...latest.values()],
    get: (uuid) => latest.get(uuid),
    on(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    stop() {
      off();
      listeners.clear();
      if (!watching) return;
      watching = false;
      const left = held.get(channel)! - 1;
      held.set(channel, left);
      if (!left) bus.deleteChannel(channel);
    },
  };
}
