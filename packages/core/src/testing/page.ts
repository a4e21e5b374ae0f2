import type { PageHandlers, PageLifecycle } from '../env';

/** Calls `fn` on every handler; one that throws does not keep the others from running, and is rethrown after. */
function dispatch<T>(targets: Iterable<T>, fn: (target: T) => void): void {
  let failure: { error: unknown } | undefined;
  for (const target of [...targets]) {
    try {
      fn(target);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}

/**
 * The page lifecycle of one tab, driven by the test: visibility, `pagehide`/`pageshow` and the browser's
 * `online`/`offline` events. Events fire synchronously, in the order a browser fires them.
 */
export class FakePage implements PageLifecycle {
  readonly #subscriptions = new Set<{ readonly handlers: PageHandlers }>();
  readonly #online: () => boolean;
  #visible: boolean;

  /** `online` reads the browser's connectivity (default: always online). */
  constructor(options: { visible?: boolean; online?: () => boolean } = {}) {
    this.#visible = options.visible ?? true;
    this.#online = options.online ?? (() => true);
  }

  /** `document.visibilityState !== 'hidden'`. */
  visible(): boolean {
    return this.#visible;
  }

  /** `navigator.onLine`. */
  online(): boolean {
    return this.#online();
  }

  /** Subscribes to this page's events; returns the unsubscriber. */
  watch(handlers: PageHandlers): () => void {
    const subscription = { handlers };
    this.#subscriptions.add(subscription);
    return () => void this.#subscriptions.delete(subscription);
  }

  /** How many subscriptions are active (to check that code unsubscribes). */
  get watchers(): number {
    return this.#subscriptions.size;
  }

  /** Shows or hides the page; fires `visibilitychange` when that changes it. */
  setVisible(visible: boolean): void {
    if (visible === this.#visible) return;
    this.#visible = visible;
    dispatch(this.#subscriptions, (s) => s.handlers.visibility());
  }

  /**
   * The user leaves the page: `pagehide` (with `persisted` when it enters the back/forward cache), then
   * `visibilitychange` to hidden.
   */
  hide(persisted = false): void {
    dispatch(this.#subscriptions, (s) => s.handlers.hide(persisted));
    this.setVisible(false);
  }

  /** The page is shown again (`persisted`: restored from the back/forward cache): visible, then `pageshow`. */
  show(persisted = false): void {
    this.setVisible(true);
    dispatch(this.#subscriptions, (s) => s.handlers.show(persisted));
  }

  /** Fires `online` (`true`) or `offline` (`false`). Called by {@link FakeBrowser.setOnline}. */
  network(online: boolean): void {
    dispatch(this.#subscriptions, (s) => s.handlers.network?.(online));
  }

  /** The user did something in the page (a click, a key): presence counts from it. */
  input(): void {
    dispatch(this.#subscriptions, (s) => s.handlers.input?.());
  }

  /** Drops every subscription (the page is gone). */
  reset(): void {
    this.#subscriptions.clear();
  }
}
