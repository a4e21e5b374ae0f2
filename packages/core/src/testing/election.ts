import type { Election } from '../election';

/** One `campaign()` call on a {@link ManualElection}. */
export interface Campaigner {
  /** Called by `elect()` when this campaign wins. */
  readonly onElected: () => void;
  /** Called by `depose()` while this campaign leads. */
  readonly onLost: (() => void) | undefined;
  /** Still waiting: it has neither won nor resigned. */
  active: boolean;
}

/**
 * An election the test decides, for `env.fallbackElection` (used where Web Locks are missing): buses
 * campaign, and `elect()` makes the oldest active campaigner win.
 *
 * @example
 * ```ts
 * const election = new ManualElection();
 * const env = tab.env({ locks: undefined, fallbackElection: () => election.create() });
 * ```
 */
export class ManualElection {
  /** Every campaign, oldest first; `active` until it resigns or wins. */
  readonly campaigners: Campaigner[] = [];
  #leader: Campaigner | undefined;

  /** A new election handle, as `fallbackElection(name)` returns. */
  create(): Election {
    let mine: Campaigner | undefined;
    return {
      campaign: (onElected, onLost) => {
        mine = { onElected, onLost, active: true };
        this.campaigners.push(mine);
      },
      resign: () => {
        if (!mine) return;
        mine.active = false;
        if (this.#leader === mine) this.#leader = undefined;
      },
    };
  }

  /** Makes the oldest active campaigner the leader; returns `false` if nobody campaigns. */
  elect(): boolean {
    const next = this.campaigners.find((c) => c.active);
    if (!next) return false;
    next.active = false;
    this.#leader = next;
    next.onElected();
    return true;
  }

  /** Takes leadership away from the current leader without it resigning (its `onLost` runs). */
  depose(): boolean {
    const leader = this.#leader;
    if (!leader) return false;
    this.#leader = undefined;
    leader.onLost?.();
    return true;
  }
}
