import { BroadcastChannel, createLeaderElection } from 'broadcast-channel';

/** Picks one leader per scope. `campaign` may be called again after `resign`. */
export interface Election {
  /** Waits for leadership; calls `onElected` once it is granted (never if `resign` comes first). */
  campaign(onElected: () => void): void;
  /** Gives leadership up, or stops waiting for it. */
  resign(): void;
}

/**
 * Web Locks election: the leader holds an exclusive lock for its whole term. The browser grants it to the
 * next waiting tab the moment the holder closes or crashes, so failover needs no heartbeat.
 */
export function lockElection(locks: LockManager, name: string): Election {
  let term: { abort: AbortController; release?: () => void } | undefined;
  return {
    campaign(onElected) {
      const current: { abort: AbortController; release?: () => void } = { abort: new AbortController() };
      term = current;
      locks
        .request(name, { signal: current.abort.signal }, () => {
          if (term !== current) return undefined;
          onElected();
          return new Promise<void>((resolve) => (current.release = resolve));
        })
        // An aborted request rejects with AbortError: that is how resigning while waiting looks.
        .catch(() => undefined);
    },
    resign() {
      const current = term;
      term = undefined;
      if (!current) return;
      current.abort.abort();
      current.release?.();
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
