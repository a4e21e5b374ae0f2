import { createEmitter } from './emitter';
import { TabBusError } from './errors';
import type { Hub, Part } from './hub';

/**
 * How long a tab holds the Web Lock of a `once` key it ran, in ms: the lock settles tabs that call at the
 * same moment (a replay, two leaders for an instant) until the `once` frame and the storage record, sent
 * as the key ran, have reached them (a trip between renderers: milliseconds, or a busy tab's backlog).
 * Every held lock costs the page a pending promise, and the browser releases them all when the
 * tab closes or crashes: closing a tab that held 3,000 (a 30 s hold at 100 keys/s) delayed another tab's
 * grant by about 70 ms (`pnpm measure:locks`), and the next leader waits for that grant.
 */
export const ONCE_HOLD = 5_000;
/**
 * Locks taken within this many ms of the first of a group are released with it, so each is held between
 * ONCE_HOLD - HOLD_GROUP and ONCE_HOLD: two timers a group, where a timer per key was one task per key in
 * the leader (100 a second under the chaos test's stream of keys).
 */
export const HOLD_GROUP = 1_000;
/** How long `once` keys are remembered in storage, in ms: longer than any replay (the server keeps 100 s). */
export const ONCE_TTL = 150_000;
/** How many keys a tab remembers in memory; the oldest go first. */
export const ONCE_MEMORY = 5000;
/**
 * How long a follower's call waits for another tab's claim before it asks for the key's lock, in ms.
 * Every tab usually calls for the same notification at once, and the leader has it first: its `once`
 * frame then settles the key in the followers, which ask the browser nothing (a lock request is a trip to
 * the browser process, per key and tab: the most costly step of a follower's delivery under a stream).
 */
export const FOLLOWER_WAIT = 50;

/** `bus.once()`. */
export interface OnceKeys extends Part {
  /** Runs `fn` unless a tab of the scope ran `key`; resolves with whether it ran here. */
  run(key: string, fn: () => void): Promise<boolean>;
  /** How many keys this tab remembers (at most ONCE_MEMORY). */
  readonly size: number;
}

/**
 * One tab of the scope per key runs `fn`. Three layers, because none is enough alone: a Web Lock per key
 * decides among tabs that call at the same moment (localStorage is not consistent across renderers from
 * one moment to the next), a `once` frame tells the others at once, and a storage record covers tabs
 * that open later. Without storage, the tab that owns the connection runs the effects.
 */
export function createOnce(hub: Pick<Hub, 'env' | 'scope' | 'store' | 'machine' | 'post' | 'report'>): OnceKeys {
  // Fixed for the bus's life (the store and the scope change with each start).
  const { env, machine } = hub;
  /** Keys that ran in this tab or another (told by a frame); a Set keeps insertion order, oldest first out. */
  const done = new Set<string>();
  const ran = (key: string) => {
    done.add(key);
    if (done.size > ONCE_MEMORY) done.delete(done.values().next().value!);
  };
  /** Claims `key` for this tab unless some tab of the scope already ran it. */
  const claim = (key: string): boolean => {
    if (done.has(key)) return false;
    const store = hub.store;
    let claimed: boolean | undefined;
    if (store?.usable) {
      claimed = store.claimOnce(key, env.now(), ONCE_TTL);
      // A write that failed (a full storage) proves nothing to the other tabs: fall back below.
      if (!store.usable) claimed = undefined;
    }
    claimed ??= machine.role === 'leader' || machine.role === 'solo';
    if (claimed) {
      ran(key);
      // localStorage reaches the other tabs late (and a crash can lose a write): tell them directly too.
      hub.post({ type: 'once', key });
    }
    return claimed;
  };
  /**
   * The releases due together (see HOLD_GROUP), while the group takes more. Timers alone open and close it,
   * not the wall clock, which may step back (an NTP correction) and so keep a group open for good.
   */
  let group: (() => void)[] | undefined;
  const hold = (release: () => void): void => {
    if (!group) {
      const releases: (() => void)[] = (group = []);
      env.setTimeout(() => {
        group = undefined;
        env.setTimeout(() => releases.forEach((go) => go()), ONCE_HOLD - HOLD_GROUP);
      }, HOLD_GROUP);
    }
    group.push(release);
  };
  /** Whether a call for `key` asks for its lock: a key this tab was told of (a frame of the tab that ran it) does not, go() says no. */
  const asks = (key: string) => env.locks && hub.scope && hub.store?.usable && !done.has(key);
  const compete = (key: string, fn: () => void): Promise<boolean> => {
    const go = (): boolean => {
      if (!claim(key)) return false;
      try {
        fn();
      } catch (error) {
        hub.report(new TabBusError('handler', `once(${JSON.stringify(key)}) threw`, { cause: error }));
      }
      return true;
    };
    if (!asks(key)) return Promise.resolve(go());
    // Taken only if free, and held for a while: a tab that gets the same notification meanwhile (a
    // replay, a second leader) finds it taken. The storage record covers later.
    return new Promise<boolean>((resolve) => {
      env.locks!
        .request(`tabbus:${hub.scope}:once:${key}`, { ifAvailable: true }, (lock) => {
          const won = !!lock && go();
          resolve(won);
          return won && new Promise<void>(hold);
        })
        .catch(() => resolve(go()));
    });
  };
  /** Calls made while the tab was joining: nobody could tell yet whether another tab ran their key. */
  let waiting: (() => void)[] = [];
  /**
   * A follower's calls waiting out FOLLOWER_WAIT, by key: the key's `once` frame settles them as it comes,
   * and their timers never fire. Under a stream that is one timer callback less per key and follower (100 a
   * second in each follower of the chaos test's demo), and the caller learns at once that another tab ran it.
   */
  /** Followers' calls waiting out FOLLOWER_WAIT, by key: a `once` frame for the key ends them. */
  const told = createEmitter<Record<string, undefined>>();
  const run = (key: string, fn: () => void): Promise<boolean> => {
    if (machine.role === 'joining') return new Promise((resolve) => waiting.push(() => resolve(run(key, fn))));
    if (machine.role !== 'follower' || !asks(key)) return compete(key, fn);
    return new Promise<boolean>((resolve) => {
      const off = told.on(key, () => {
        off();
        env.clearTimeout(timer);
        resolve(false);
      });
      const timer = env.setTimeout(() => {
        off();
        void compete(key, fn).then(resolve);
      }, FOLLOWER_WAIT);
    });
  };
  return {
    run,
    settled() {
      const calls = waiting;
      waiting = [];
      for (const call of calls) call();
    },
    get size() {
      return done.size;
    },
    frames: {
      once: ({ key }) => {
        ran(key);
        told.emit(key, undefined);
      },
    },
  };
}
