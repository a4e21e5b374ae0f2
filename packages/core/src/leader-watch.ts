import type { BusEnv } from './env';

/**
 * The check that the leader still answers, run by one visible follower (the watcher). Web Locks free a
 * lock when its holder closes or crashes, but not when its event loop freezes (a frozen or long-blocked
 * tab keeps its locks forever, and every tab waits behind it). So the watcher asks a leader that has been
 * quiet for `timeout` for a sign of life (a probe), and gives it up (`onSilent`) when a third of the
 * timeout later the probe is still unanswered. Any frame of the leader's term counts as a sign, so a busy
 * leader is never probed. Worst case from a freeze to `onSilent`: 4/3 × timeout.
 *
 * Idle, it costs one timer callback per `timeout` (the answer clears the deadline before it fires), and
 * nothing at all while inactive.
 */
export class LeaderWatch {
  readonly #env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>;
  readonly #timeout: number;
  readonly #probe: () => void;
  readonly #onSilent: () => void;
  #heardAt = 0;
  /** When the unanswered probe went out; undefined while none is. */
  #probedAt: number | undefined;
  #timer: unknown;
  #active = false;

  constructor(env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>, timeout: number, probe: () => void, onSilent: () => void) {
    this.#env = env;
    this.#timeout = timeout;
    this.#probe = probe;
    this.#onSilent = onSilent;
  }

  get active(): boolean {
    return this.#active;
  }

  /** The leader showed it is alive (any frame of its term). */
  heard(): void {
    this.#heardAt = this.#env.now();
    if (this.#probedAt === undefined) return;
    // The answer to our probe: the deadline is moot, the next probe is a whole timeout away.
    this.#probedAt = undefined;
    if (this.#active) this.#at(this.#heardAt + this.#timeout);
  }

  /** Watches while `active` (this tab is the watcher), stops otherwise. */
  set(active: boolean): void {
    if (active === this.#active || this.#timeout <= 0) return;
    this.#active = active;
    this.#env.clearTimeout(this.#timer);
    this.#probedAt = undefined;
    if (!active) return;
    // Becoming the watcher is no sign of life, but it is not silence either: start a fresh period.
    this.#heardAt = this.#env.now();
    this.#at(this.#heardAt + this.#timeout);
  }

  #at(time: number): void {
    this.#env.clearTimeout(this.#timer);
    this.#timer = this.#env.setTimeout(() => this.#tick(), Math.max(0, Math.ceil(time - this.#env.now())));
  }

  #tick(): void {
    if (!this.#active) return;
    const now = this.#env.now();
    const grace = Math.ceil(this.#timeout / 3);
    const probedAt = this.#probedAt;
    if (probedAt === undefined) {
      if (now - this.#heardAt < this.#timeout) return this.#at(this.#heardAt + this.#timeout);
      this.#probedAt = now;
      this.#probe();
      return this.#at(now + grace);
    }
    if (now - probedAt >= grace) {
      this.set(false);
      return this.#onSilent();
    }
    this.#at(probedAt + grace);
  }
}
