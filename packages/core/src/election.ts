import { BroadcastChannel, createLeaderElection } from 'broadcast-channel';

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
}

interface LockTerm {
  readonly abort: AbortController;
  elected: boolean;
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
    const current: LockTerm = { abort: new AbortController(), elected: false };
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
    campaign: (onElected, onLost) => request(false, onElected, onLost),
    resign,
    steal(onElected, onLost) {
      resign();
      request(true, onElected, onLost);
    },
  };
}

/**
 * Fallback where `navigator.locks` is missing: broadcast-channel's message-based election over its
 * own channel. An elector cannot campaign twice, so every campaign gets a fresh channel and elector.
 */
export function electorElection(name: string): Election {
  let term: { channel: BroadcastChannel; dead: boolean } | undefined;
  return {
    campaign(onElected) {
      const channel = new BroadcastChannel(name, { webWorkerSupport: false });
      const current = { channel, dead: false };
      term = current;
      const elector = createLeaderElection(channel);
      void elector.awaitLeadership().then(() => {
        if (!current.dead) onElected();
      });
    },
    resign() {
      const current = term;
      term = undefined;
      if (!current) return;
      current.dead = true;
      // close() lets the elector die first (it registered a before-close hook), which tells the others.
      void current.channel.close();
    },
  };
}
