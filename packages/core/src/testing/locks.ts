import type { Clock } from './clock';
import { clockHost, type TaskHost } from './host';

interface LockRequest {
  readonly host: TaskHost;
  readonly name: string;
  readonly mode: LockMode;
  readonly callback: (lock: Lock | null) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

interface HeldLock {
  readonly request: LockRequest;
  /** No longer held: released, stolen, or its page died. */
  gone: boolean;
  /** Taken by a `steal`: the holder's request rejects with AbortError, whatever its callback does later. */
  stolen: boolean;
}

/** One held or waiting lock, as {@link FakeLockManager.query} and `navigator.locks.query()` report it. */
export interface FakeLockInfo {
  /** The lock's name. */
  readonly name: string;
  /** `exclusive` or `shared`. */
  readonly mode: LockMode;
  /** The id of the page that holds or wants it. */
  readonly clientId: string;
}

/** What the fake lock manager holds and queues, oldest first. */
export interface FakeLockSnapshot {
  /** Granted locks. */
  readonly held: FakeLockInfo[];
  /** Requests still waiting. */
  readonly pending: FakeLockInfo[];
}

const notSupported = (message: string) => Promise.reject(new DOMException(message, 'NotSupportedError'));
const abortError = (message: string) => new DOMException(message, 'AbortError');

/** `navigator.locks` for one page of a {@link FakeLockManager}. */
class ClientLockManager implements LockManager {
  readonly #manager: FakeLockManager;
  readonly #host: TaskHost;

  constructor(manager: FakeLockManager, host: TaskHost) {
    this.#manager = manager;
    this.#host = host;
  }

  request<T>(name: string, callback: LockGrantedCallback<T>): Promise<Awaited<T>>;
  request<T>(name: string, options: LockOptions, callback: LockGrantedCallback<T>): Promise<Awaited<T>>;
  request(name: string, a: LockOptions | LockGrantedCallback<unknown>, b?: LockGrantedCallback<unknown>): Promise<unknown> {
    return this.#manager.request(this.#host, name, a, b);
  }

  query(): Promise<LockManagerSnapshot> {
    return Promise.resolve(this.#manager.query());
  }
}

/**
 * The Web Locks of one browser profile (shared by its tabs), faithful to the spec in what tabbus uses:
 *
 * - exclusive locks are granted in request order (FIFO), shared ones together while no exclusive is held;
 * - the callback runs in a later task of the requesting page, with the lock (or `null` for `ifAvailable`
 *   when the lock is held or others are waiting); the request's promise settles with the callback's result,
 *   and the lock is released when that result settles;
 * - `signal`: aborting a request that still waits removes it and rejects it with the signal's reason
 *   (an `AbortError` DOMException by default); aborting after the grant does nothing;
 * - `steal: true`: the lock is taken from its holders and granted at once, ahead of the queue; each
 *   previous holder's `request()` promise rejects with an `AbortError` DOMException, while its callback
 *   and the promise it returned are left alone;
 * - the spec's invalid combinations (`steal` with `ifAvailable`, with `signal` or in shared mode;
 *   `ifAvailable` with `signal`; a name starting with `-`) reject with `NotSupportedError`;
 * - a page that dies (see {@link FakeLockManager.dropClient}) loses its locks at once and its waiting
 *   requests vanish; its promises never settle.
 */
export class FakeLockManager {
  readonly #held = new Set<HeldLock>();
  readonly #queues = new Map<string, LockRequest[]>();
  readonly #defaultHost: TaskHost;

  /** `clock`: runs the callbacks of {@link FakeLockManager.client}s made without a host. Default: real time. */
  constructor(options: { clock?: Clock } = {}) {
    this.#defaultHost = clockHost(options.clock, 'locks');
  }

  /**
   * The `navigator.locks` of one page. Callbacks run as tasks of `host` (a {@link FakeTab} drops them
   * once crashed and holds them back while frozen); without a host they run on the manager's clock.
   */
  client(host: TaskHost = this.#defaultHost): LockManager {
    return new ClientLockManager(this, host);
  }

  /** `navigator.locks.request()` as made by the page `host`. */
  request(host: TaskHost, name: string, a: LockOptions | LockGrantedCallback<unknown>, b?: LockGrantedCallback<unknown>): Promise<unknown> {
    const options: LockOptions = typeof a === 'function' ? {} : (a ?? {});
    const callback = typeof a === 'function' ? a : b;
    if (typeof callback !== 'function') return Promise.reject(new TypeError('LockManager.request: the callback is not a function'));
    if (!host.alive) return new Promise(() => undefined);
    const mode = options.mode ?? 'exclusive';
    const { signal } = options;
    name = String(name);
    if (name.startsWith('-')) return notSupported('lock names starting with "-" are reserved');
    if (options.steal && options.ifAvailable) return notSupported('steal and ifAvailable cannot be used together');
    if (options.steal && mode !== 'exclusive') return notSupported('steal requires mode "exclusive"');
    if (signal && (options.steal || options.ifAvailable)) return notSupported('signal cannot be used with steal or ifAvailable');
    if (signal?.aborted) return Promise.reject(signal.reason ?? abortError('the request was aborted'));

    return new Promise((resolve, reject) => {
      const request: LockRequest = { host, name, mode, callback, resolve, reject };
      const queue = this.#queue(name);
      if (options.steal) {
        for (const held of [...this.#held]) {
          if (held.request.name !== name) continue;
          held.gone = held.stolen = true;
          this.#held.delete(held);
          const previous = held.request;
          previous.host.task(() => previous.reject(abortError(`the lock "${name}" was stolen`)));
        }
        queue.unshift(request);
      } else if (options.ifAvailable && !this.#grantable(request, queue)) {
        host.task(() => this.#invoke(request, null, undefined));
        return;
      } else {
        queue.push(request);
      }
      signal?.addEventListener(
        'abort',
        () => {
          const i = queue.indexOf(request);
          if (i < 0) return;
          queue.splice(i, 1);
          reject(signal.reason ?? abortError('the request was aborted'));
          this.#process(name);
        },
        { once: true },
      );
      this.#process(name);
    });
  }

  /** What is held and what waits, oldest first (for assertions). */
  query(): FakeLockSnapshot {
    const info = (r: LockRequest): FakeLockInfo => ({ name: r.name, mode: r.mode, clientId: r.host.id });
    return {
      held: [...this.#held].map((h) => info(h.request)),
      pending: [...this.#queues.values()].flatMap((q) => q.map(info)),
    };
  }

  /** The ids of the pages holding the lock `name` (one for an exclusive lock), oldest grant first. */
  holders(name: string): string[] {
    return [...this.#held].filter((h) => h.request.name === name).map((h) => h.request.host.id);
  }

  /** The page `host` died: its locks free at once, its waiting requests vanish, nothing of it settles. */
  dropClient(host: TaskHost): void {
    const names = new Set<string>();
    for (const [name, queue] of this.#queues) {
      for (let i = queue.length - 1; i >= 0; i--) {
        if (queue[i]!.host === host) {
          queue.splice(i, 1);
          names.add(name);
        }
      }
    }
    for (const held of [...this.#held]) {
      if (held.request.host !== host) continue;
      held.gone = true;
      this.#held.delete(held);
      names.add(held.request.name);
    }
    for (const name of names) this.#process(name);
  }

  #queue(name: string): LockRequest[] {
    let queue = this.#queues.get(name);
    if (!queue) this.#queues.set(name, (queue = []));
    return queue;
  }

  /** First in line (or nobody waiting) and compatible with the locks held under the same name. */
  #grantable(request: LockRequest, queue: readonly LockRequest[]): boolean {
    if (queue.length > 0 && queue[0] !== request) return false;
    for (const held of this.#held) {
      if (held.request.name !== request.name) continue;
      if (request.mode === 'exclusive' || held.request.mode === 'exclusive') return false;
    }
    return true;
  }

  #process(name: string): void {
    const queue = this.#queues.get(name);
    if (!queue) return;
    while (queue[0] && this.#grantable(queue[0], queue)) {
      const request = queue.shift()!;
      const held: HeldLock = { request, gone: false, stolen: false };
      this.#held.add(held);
      request.host.task(() => this.#invoke(request, { name: request.name, mode: request.mode } as Lock, held));
    }
    if (queue.length === 0) this.#queues.delete(name);
  }

  /** Runs the callback in the page's task and settles the request with its result. */
  #invoke(request: LockRequest, lock: Lock | null, held: HeldLock | undefined): void {
    const settle = (ok: boolean, value: unknown) => {
      if (held) {
        if (held.stolen) return; // already rejected with AbortError; the callback's result changes nothing
        this.#release(held);
      }
      if (ok) request.resolve(value);
      else request.reject(value);
    };
    let result: unknown;
    try {
      result = request.callback(lock);
    } catch (error) {
      settle(false, error);
      return;
    }
    Promise.resolve(result).then(
      (value) => settle(true, value),
      (error: unknown) => settle(false, error),
    );
  }

  #release(held: HeldLock): void {
    if (held.gone) return;
    held.gone = true;
    this.#held.delete(held);
    this.#process(held.request.name);
  }
}
