/**
 * Tab liveness through Web Locks, with no heartbeat: each tab holds a lock named after itself for its
 * whole life; the leader queues a request for that lock, which the browser grants the moment the tab
 * closes or crashes.
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

  /** Calls `onGone` once the tab's lifetime lock frees. Watching twice is a no-op. */
  watch(tabId: string, onGone: (tabId: string) => void): void {
    if (this.#watches.has(tabId)) return;
    const abort = new AbortController();
    this.#watches.set(tabId, abort);
    this.#locks
      .request(this.#prefix + tabId, { signal: abort.signal }, () => {
        this.#watches.delete(tabId);
        onGone(tabId);
        return undefined;
      })
      .catch(() => undefined);
  }

  unwatch(tabId: string): void {
    this.#watches.get(tabId)?.abort();
    this.#watches.delete(tabId);
  }

  unwatchAll(): void {
    for (const abort of this.#watches.values()) abort.abort();
    this.#watches.clear();
  }
}
