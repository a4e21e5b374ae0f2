import type { Election } from './election';
import { storageChannel } from './storage-channel';

/** The cross-tab pipe. Frames are plain JSON-compatible objects. */
export interface FrameChannel {
  /** Which mechanism carries the frames (`native`, `localstorage`, …), for `state().mode`. */
  readonly kind: string;
  /** Sends a frame to every other listener of the channel (not back to this one). */
  post(frame: unknown): void;
  /** Calls `listener` with each frame another page posts. */
  listen(listener: (data: unknown) => void): void;
  /** Stops listening and posting. */
  close(): void;
}

/** The parts of localStorage the bus uses. */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** What the page tells the bus about itself. */
export interface PageHandlers {
  /** The page became visible or hidden. */
  visibility(): void;
  /** `pagehide`: the page is leaving; `persisted`: into the back/forward cache. */
  hide(persisted: boolean): void;
  /** `pageshow`: `persisted`: back from the back/forward cache. */
  show(persisted: boolean): void;
  /** The browser went offline (`false`) or came back (`true`). */
  network(online: boolean): void;
  /** The user did something in this page (pointer, key, wheel, focus): presence counts from it. */
  input(): void;
}

/** Page lifecycle signals. */
export interface PageLifecycle {
  /** Whether the page is visible now. */
  visible(): boolean;
  /** `false` when the browser knows it is offline (`navigator.onLine`); `true` when it may be online. */
  online(): boolean;
  /** Subscribes to visibility, bfcache (pagehide/pageshow) and online/offline changes; returns the unsubscriber. */
  watch(handlers: PageHandlers): () => void;
}

/**
 * Everything the bus takes from the browser. Tests pass fakes; `browserEnv()` supplies the real thing.
 * A missing capability is `undefined`, and the bus says in `state().mode` what it fell back to.
 */
export interface BusEnv {
  /** The time in ms since the epoch (`Date.now`). */
  now(): number;
  /** Runs `fn` after `ms`; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a `setTimeout`. */
  clearTimeout(handle: unknown): void;
  /** A number in [0, 1) (`Math.random`). */
  random(): number;
  /** Web Locks (`navigator.locks`), where there are. */
  locks: LockManager | undefined;
  /** localStorage, where it can be used. */
  storage: KeyValueStorage | undefined;
  /** The page's lifecycle, where there is a page. */
  page: PageLifecycle | undefined;
  /** Opens the cross-tab channel; throws when there is none. */
  openChannel(name: string): FrameChannel;
  /**
   * The election used when `locks` is missing. Left out, the bus runs its message election over a
   * channel of its own from `openChannel`.
   */
  fallbackElection?(name: string): Election;
}

function probeStorage(): KeyValueStorage | undefined {
  try {
    // Reading `localStorage` itself throws in some sandboxed iframes and with cookies blocked.
    const storage = globalThis.localStorage;
    return storage ?? undefined;
  } catch {
    return undefined;
  }
}

function browserPage(): PageLifecycle | undefined {
  if (typeof document === 'undefined' || typeof addEventListener !== 'function') return undefined;
  return {
    visible: () => document.visibilityState !== 'hidden',
    online: () => navigator.onLine !== false,
    watch(h) {
      // No `unload`/`beforeunload` listener: either would keep the page out of the bfcache. One abort
      // signal takes every listener off at once.
      const off = new AbortController();
      const input = () => h.input();
      const options = { capture: true, passive: true, signal: off.signal };
      document.addEventListener('visibilitychange', () => h.visibility(), options);
      const listeners: [string, (event: never) => void][] = [
        ['pagehide', (e: PageTransitionEvent) => h.hide(e.persisted)],
        ['pageshow', (e: PageTransitionEvent) => h.show(e.persisted)],
        ['online', () => h.network(true)],
        ['offline', () => h.network(false)],
        ...(['pointerdown', 'keydown', 'wheel', 'focus'] as const).map((type): [string, () => void] => [type, input]),
      ];
      for (const [type, listener] of listeners) addEventListener(type, listener as EventListener, options);
      return () => off.abort();
    },
  };
}

/** The real browser: Web Locks, a native BroadcastChannel (or one over localStorage), localStorage. */
export function browserEnv(): BusEnv {
  const locks = typeof navigator !== 'undefined' && typeof navigator.locks?.request === 'function' ? navigator.locks : undefined;
  return {
    now: Date.now,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => void clearTimeout(handle as ReturnType<typeof setTimeout>),
    random: Math.random,
    locks,
    storage: probeStorage(),
    page: browserPage(),
    openChannel(name) {
      if (typeof globalThis.BroadcastChannel === 'function') {
        const native = new globalThis.BroadcastChannel(name);
        return {
          kind: 'native',
          post: (frame) => {
            try {
              native.postMessage(frame);
            } catch {
              // Closed while a late callback still posts: nobody is listening on this side any more.
            }
          },
          listen: (listener) => void native.addEventListener('message', (event) => listener(event.data)),
          close: () => void native.close(),
        };
      }
      const storage = probeStorage();
      if (!storage) throw new Error('no BroadcastChannel and no localStorage');
      return storageChannel(storage as Storage, name);
    },
  };
}
