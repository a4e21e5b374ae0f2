import type { BusEnv } from './env';

/**
 * A visible follower's check that the leader still answers. Web Locks free a lock when its holder closes
 * or crashes, but not when its event loop freezes (a frozen or long-blocked tab keeps its locks forever,
 * and every tab waits behind it). So while this tab is a visible follower, it looks every third of the
 * timeout: a leader quiet for a third of it is asked for a sign of life (a probe), and one still silent
 * after the whole timeout, probe unanswered, is given up (`onSilent`). Any frame from the leader counts
 * as a sign, so a busy leader is never probed. Worst case from the freeze to `onSilent`: 4/3 × timeout.
 *
 * Hidden followers run no timer at all: they cost nothing while idle.
 */
export class LeaderWatch {
  readonly #env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>;
  readonly #timeout: number;
  readonly #probe: () => void;
  readonly #onSilent: () => void;
  #heardAt = 0;
  #probedAt: number | undefined;
  #timer: unknown;
  #active = false;

  constructor(env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>, timeout: number, probe: () => void, onSilent: () => void) {
    this.#env = env;
    this.#timeout = timeout;
    this.#probe = probe;
    this.#onSilent = onSilent;
  }

  /** The leader showed it is alive (any frame of its term). */
  heard(): void {
    this.#heardAt = this.#env.now();
    this.#probedAt = undefined;
  }

  /** Watches while `active` (a visible follower in a mode that can steal), stops otherwise. */
  set(active: boolean): void {
    if (active === this.#active || this.#timeout <= 0) return;
    this.#active = active;
    this.#env.clearTimeout(this.#timer);
    this.#probedAt = undefined;
    if (active) {
      // Becoming active is no sign of life, but it is not silence either: start a fresh period.
      this.#heardAt = this.#env.now();
      this.#schedule();
    }
  }

  #schedule(): void {
    this.#timer = this.#env.setTimeout(() => this.#tick(), this.#timeout / 3);
  }

  #tick(): void {
    if (!this.#active) return;
    const now = this.#env.now();
    const quiet = now - this.#heardAt;
    if (this.#probedAt !== undefined && quiet >= this.#timeout) {
      this.set(false);
      this.#onSilent();
      return;
    }
    if (this.#probedAt === undefined && quiet >= this.#timeout / 3) {
      this.#probedAt = now;
      this.#probe();
    }
    this.#schedule();
  }
}
