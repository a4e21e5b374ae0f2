import type { BusEnv } from './env';
import type { Hub } from './hub';
import type { BusItem } from './transport';

/**
 * The check that the leader still answers, run by the watcher (one visible follower). Web Locks free a
 * lock when its holder closes or crashes, but not when its event loop freezes (a frozen or long-blocked
 * tab keeps its locks forever, and every tab waits behind it). So the watcher probes a quiet leader and
 * gives it up (`onSilent`) once it has been silent for `timeout` with a probe unanswered for at least a
 * third of it. Any frame of the leader's term is a sign of life, so a busy leader is never probed.
 *
 * How soon it probes depends on what it last heard. After ordinary traffic, a third of the timeout of
 * silence is unusual: it probes then, and a frozen leader is given up `timeout` after its last frame.
 * After the answer to a probe (an idle scope), it waits a whole timeout before the next probe: a frozen
 * idle leader is given up within 4/3 × timeout, and an idle scope costs one timer callback per timeout
 * (the answer clears the deadline before it fires). Inactive, it costs nothing.
 */
export class LeaderWatch {
  readonly #env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>;
  readonly #timeout: number;
  readonly #probe: () => void;
  readonly #onSilent: () => void;
  #heardAt = 0;
  /** The last sign was the answer to a probe: nothing else is going on. */
  #idle = false;
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

  /** Whether this tab watches now. */
  get active(): boolean {
    return this.#active;
  }

  /** The leader showed it is alive (any frame of its term); `answer`: the frame answers a probe. */
  heard(answer = false): void {
    this.#heardAt = this.#env.now();
    this.#idle = answer;
    if (this.#probedAt === undefined) return;
    // The deadline is moot: wait for the next probe instead.
    this.#probedAt = undefined;
    if (this.#active) this.#at(this.#heardAt + this.#wait());
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
    this.#idle = false;
    this.#at(this.#heardAt + this.#wait());
  }

  /** How long a silence is before a probe. */
  #wait(): number {
    return this.#idle ? this.#timeout : Math.ceil(this.#timeout / 3);
  }

  #at(time: number): void {
    this.#env.clearTimeout(this.#timer);
    this.#timer = this.#env.setTimeout(() => this.#tick(), Math.max(0, Math.ceil(time - this.#env.now())));
  }

  #tick(): void {
    if (!this.#active) return;
    const now = this.#env.now();
    if (this.#probedAt === undefined) {
      if (now - this.#heardAt < this.#wait()) return this.#at(this.#heardAt + this.#wait());
      this.#probedAt = now;
      this.#probe();
      // Answered at once (the probe's own task ran the answer): `heard` scheduled the next probe.
      if (this.#probedAt === undefined || !this.#active) return;
    }
    const giveUpAt = Math.max(this.#heardAt + this.#timeout, this.#probedAt + Math.ceil(this.#timeout / 3));
    if (now < giveUpAt) return this.#at(giveUpAt);
    this.set(false);
    this.#onSilent();
  }
}

/** What this tab has to watch, given its role and the tab map. */
export interface Duties {
  /** Whether this tab runs the leader watch. */
  readonly watching: boolean;
  /** The tabs whose lifetime locks it follows: the leader every other tab; a visible follower the watcher. */
  readonly follow: readonly string[];
}

/**
 * Who watches the leader. Where tabs hold lifetime locks, one visible follower does: the lowest id in the
 * map, the leader aside. Every other follower sleeps, and a visible one follows the watcher's lifetime
 * lock, so that if the watcher dies (even while the leader is frozen and cannot say so) it is dropped
 * from the map and the next one takes over. Without lifetime locks nobody could tell that the watcher
 * died: every visible follower watches.
 */
export function duties<Item extends BusItem>(hub: Pick<Hub<Item>, 'machine' | 'roster' | 'term' | 'tabId' | 'visible' | 'watch'>, lifetimes: boolean): Duties {
  const { machine: { role }, roster: { tabs }, tabId } = hub;
  if (role === 'leader') return { watching: false, follow: tabs.ids().filter((id) => id !== tabId) };
  const watcher = role === 'follower' && hub.watch && hub.visible() ? (lifetimes ? tabs.watcher(hub.term.leaderId) : tabId) : undefined;
  return { watching: watcher === tabId, follow: watcher && watcher !== tabId ? [watcher] : [] };
}
