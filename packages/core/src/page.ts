import type { PageLifecycle } from './env';

/** What the page part tells the bus. */
export interface PageDeps {
  /** Whether the bus runs in this tab. */
  running(): boolean;
  /** This page became visible or hidden. */
  visibility(): void;
  /** The user did something in this page. */
  input(): void;
  /** The browser went offline or came back. */
  network(online: boolean): void;
  /** The page is going away (into the back/forward cache, or unloading): leave the other tabs now. */
  leave(): void;
  /** The page came back from the back/forward cache after `leave()`: start again. */
  back(): void;
}

/** The page's lifecycle as it concerns the bus. */
export interface PageWatch {
  /** Listens to the page (once, however often the bus restarts). */
  start(): void;
  /** Stops listening (`stop()` was called). */
  stop(): void;
}

/**
 * Visibility (pacing, the watcher, claims), user input (presence), the network, and the back/forward
 * cache: a page entering it leaves cleanly (a frozen tab must not keep leading) and starts again when
 * shown. No `unload` listener, which would keep the page out of the cache.
 */
export function watchPage(page: PageLifecycle | undefined, deps: PageDeps): PageWatch {
  let unwatch: (() => void) | undefined;
  /** Left on a persisted `pagehide`: start again on `pageshow`. */
  let suspended = false;
  return {
    start() {
      suspended = false;
      unwatch ??= page?.watch({
        // visibility, input and network as they are (a page calls no handler it does not know).
        ...deps,
        hide(persisted) {
          if (!deps.running()) return;
          deps.leave();
          suspended = persisted;
        },
        show: (persisted) => persisted && suspended && deps.back(),
      });
    },
    stop() {
      unwatch?.();
      unwatch = undefined;
      suspended = false;
    },
  };
}
