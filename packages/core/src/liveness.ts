/**
 * Tab liveness through Web Locks, with no heartbeat: each tab holds a lock named after itself for its
 * whole life; a tab that must know when another dies (the leader: every tab; a visible follower: the
 * watcher) queues a request for that lock, which the browser grants the moment the tab closes or crashes.
 */
export class Liveness {
  readonly #locks: LockManager;
  readonly #prefix: string;
  readonly #watches = new Map<string, AbortController>();
  #releaseOwn: (() => void) | undefined;

  constructor(locks: LockManager, prefix: string) {
    this.#locks = locks;
    this.#prefix = prefix;
  }

  /** Takes this tab's lifetime lock; resolves once it is held (others can then watch it). */
  hold(tabId: string): Promise<void> {
    return new Promise<void>((held, failed) => {
      this.#locks
        .request(this.#prefix + tabId, () => {
          held();
          return new Promise<void>((release) => (this.#releaseOwn = release));
        })
        .catch(failed);
    });
  }

  /** Lets go of this tab's lifetime lock (the tab is stopping). */
  release(): void {
    this.#releaseOwn?.();
    this.#releaseOwn = undefined;
  }

  /**
   * Watches exactly the tabs in `ids`: `onGone(id)` is called once a watched tab's lifetime lock frees
   * (closed or crashed). Tabs no longer listed are let go. A pending lock request costs no timer.
   */
  track(ids: readonly string[], onGone: (tabId: string) => void): void {
    for (const [id, abort] of this.#watches) {
      if (ids.includes(id)) continue;
      abort.abort();
      this.#watches.delete(id);
    }
    for (const id of ids) {
      if (this.#watches.has(id)) continue;
      const abort = new AbortController();
      this.#watches.set(id, abort);
      // Shared: every watcher is granted at once when the tab dies. In a queue of exclusive requests, a
      // frozen watcher (a frozen leader) that got the lock first would keep it, and the others waiting.
      this.#locks
        .request(this.#prefix + id, { mode: 'shared', signal: abort.signal }, () => {
          if (this.#watches.get(id) !== abort) return undefined;
          this.#watches.delete(id);
          onGone(id);
          return undefined;
        })
        .catch(() => undefined);
    }
  }

  /** The tabs watched now. */
  get tracked(): number {
    return this.#watches.size;
  }
}
