/**
 * Tab liveness through Web Locks, with no heartbeat: each tab holds a lock named after itself for its
 * whole life; a tab that must know when another dies (the leader: every tab; a visible follower: the
 * watcher) queues a request for that lock, which the browser grants the moment the tab closes or crashes.
 */
export interface Liveness {
  /** Takes this tab's lifetime lock; resolves once it is held (others can then watch it). */
  hold(tabId: string): Promise<void>;
  /** Lets go of this tab's lifetime lock (the tab is stopping). */
  release(): void;
  /**
   * Watches exactly the tabs in `ids`: `onGone(id)` is called once a watched tab's lifetime lock frees
   * (closed or crashed). Tabs no longer listed are let go. A pending lock request costs no timer.
   */
  track(ids: readonly string[], onGone: (tabId: string) => void): void;
}

/** Lifetime locks named `prefix` + tab id. */
export function createLiveness(locks: LockManager, prefix: string): Liveness {
  const watches = new Map<string, AbortController>();
  let releaseOwn: (() => void) | undefined;
  return {
    hold: (tabId) =>
      new Promise<void>((held, failed) => {
        locks
          // Stolen: a tab that follows this lifetime lock and was frozen as it last freed (this tab stopped,
          // or went into the back/forward cache) holds its grant until it thaws, and this tab could not join.
          .request(prefix + tabId, { steal: true }, () => {
            held();
            return new Promise<void>((release) => (releaseOwn = release));
          })
          .catch(failed);
      }),
    release() {
      releaseOwn?.();
      releaseOwn = undefined;
    },
    track(ids, onGone) {
      for (const [id, abort] of watches) {
        if (ids.includes(id)) continue;
        abort.abort();
        watches.delete(id);
      }
      for (const id of ids) {
        if (watches.has(id)) continue;
        const abort = new AbortController();
        watches.set(id, abort);
        // Shared: every watcher is granted at once when the tab dies. In a queue of exclusive requests, a
        // frozen watcher (a frozen leader) that got the lock first would keep it, and the others waiting.
        locks
          .request(prefix + id, { mode: 'shared', signal: abort.signal }, () => {
            if (watches.get(id) !== abort) return undefined;
            watches.delete(id);
            onGone(id);
            return undefined;
          })
          .catch(() => undefined);
      }
    },
  };
}
