/** Picks one leader per scope. `campaign` may be called again after `resign`. */
export interface Election {
  /**
   * Waits for leadership; calls `onElected` once it is granted (never if `resign` comes first), and
   * `onLost` if it is later taken away without `resign` (another tab stole it).
   */
  campaign(onElected: () => void, onLost?: () => void): void;
  /** Gives leadership up, or stops waiting for it. */
  resign(): void;
  /**
   * Takes leadership at once from a holder that stopped answering (its event loop is frozen). Only
   * elections that can do this have it: a Web Lock can be stolen; a message election cannot.
   */
  steal?(onElected: () => void, onLost?: () => void): void;
  /** Frees what the election holds (its channel) once the bus stops for good; after `resign`. */
  close?(): void;
}

interface LockTerm {
  readonly abort: AbortController;
  /** Set once the lock is granted (unset: still waiting). */
  elected?: boolean;
  release?: () => void;
}

/**
 * Web Locks election: the leader holds an exclusive lock for its whole term. The browser grants it to the
 * next waiting tab the moment the holder closes or crashes, so failover needs no heartbeat. A frozen
 * holder never closes: a tab that sees it silent steals the lock, and the browser rejects the frozen
 * holder's request, which it notices (as `onLost`) when it thaws.
 */
export function lockElection(locks: LockManager, name: string): Election {
  let term: LockTerm | undefined;
  const request = (steal: boolean, onElected: () => void, onLost?: () => void): void => {
    const current: LockTerm = { abort: new AbortController() };
    term = current;
    // The spec forbids `signal` together with `steal`; a steal is granted at once, so it needs none.
    const options: LockOptions = steal ? { steal: true } : { signal: current.abort.signal };
    locks
      .request(name, options, () => {
        if (term !== current) return undefined;
        current.elected = true;
        onElected();
        return new Promise<void>((resolve) => (current.release = resolve));
      })
      .catch(() => {
        // Rejections: our own abort while waiting (resign), or another tab stealing the lock we held.
        if (term !== current || !current.elected) return;
        term = undefined;
        onLost?.();
      });
  };
  const resign = (): void => {
    const current = term;
    term = undefined;
    if (!current) return;
    current.abort.abort();
    current.release?.();
  };
  return {
    campaign: (onElected, onLost) => void request(false, onElected, onLost),
    resign,
    steal(onElected, onLost) {
      resign();
      request(true, onElected, onLost);
    },
  };
}
