import { realClock, type Clock } from './clock';

/**
 * The page the fakes run work in: a {@link FakeTab}, or a bare clock for fakes used on their own. Work
 * that a browser queues as a task (a channel message, a lock granted, a storage event) goes through
 * `task`, so a host can drop it (a crashed tab) or hold it back (a frozen tab).
 */
export interface TaskHost {
  /** Shown as `clientId` in lock snapshots and as `from` in the channel log. */
  readonly id: string;
  /** `false` once the page is gone: its work is dropped and its requests never settle. */
  readonly alive: boolean;
  /** `true` while the page's event loop is frozen: its tasks wait. */
  readonly frozen?: boolean;
  /** Runs `fn` in a later task of this page. */
  task(fn: () => void): void;
}

let anonymous = 0;

/** A host that is always alive and runs tasks on `clock` (default: the real one). */
export function clockHost(clock: Clock = realClock, id = `host-${++anonymous}`): TaskHost {
  return { id, alive: true, task: (fn) => void clock.setTimeout(fn, 0) };
}
