// In-process fakes of the browser pieces the bus uses, so election, failover, fencing and the cursor can
// be tested in Node. A `FakeBrowser` is one browser profile (shared locks, channels and localStorage);
// each `tab()` is one page in it, and `crash(tab)` kills a page without any goodbye.
import type { BusEnv, FrameChannel, KeyValueStorage, PageLifecycle } from '../env';
import type { Election } from '../election';
import type { BusItem, Transport, TransportSink } from '../transport';

interface Waiter {
  owner: FakeTab;
  cb: (lock: Lock | null) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

class FakeLockManager {
  readonly held = new Map<string, FakeTab>();
  readonly #releases = new Map<string, () => void>();
  readonly #queues = new Map<string, Waiter[]>();

  request(owner: FakeTab, name: string, a: LockOptions | ((l: Lock | null) => unknown), b?: (l: Lock | null) => unknown): Promise<unknown> {
    const options: LockOptions = typeof a === 'function' ? {} : a;
    const cb = (typeof a === 'function' ? a : b)!;
    return new Promise((resolve, reject) => {
      if (owner.dead) return;
      const waiter: Waiter = { owner, cb, resolve, reject };
      if (options.steal) {
        this.#releases.get(name)?.();
        this.#grant(name, waiter);
        return;
      }
      if (options.ifAvailable && this.held.has(name)) {
        void Promise.resolve(cb(null)).then(resolve, reject);
        return;
      }
      const queue = this.#queues.get(name) ?? [];
      this.#queues.set(name, queue);
      queue.push(waiter);
      options.signal?.addEventListener('abort', () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) {
          queue.splice(i, 1);
          reject(new DOMException('aborted', 'AbortError'));
        }
      });
      this.#pump(name);
    });
  }

  #pump(name: string): void {
    if (this.held.has(name)) return;
    const queue = this.#queues.get(name);
    const next = queue?.shift();
    if (next) this.#grant(name, next);
  }

  #grant(name: string, waiter: Waiter): void {
    this.held.set(name, waiter.owner);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (this.held.get(name) === waiter.owner) this.held.delete(name);
      this.#releases.delete(name);
      setTimeout(() => this.#pump(name), 0);
    };
    this.#releases.set(name, release);
    let result: unknown;
    try {
      result = waiter.cb({ name, mode: 'exclusive' } as Lock);
    } catch (e) {
      release();
      waiter.reject(e);
      return;
    }
    Promise.resolve(result).then(
      (v) => (release(), waiter.resolve(v)),
      (e) => (release(), waiter.reject(e)),
    );
  }

  /** A tab died: its locks free at once and its queued requests vanish. */
  dropOwner(owner: FakeTab): void {
    for (const queue of this.#queues.values()) {
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.owner === owner) queue.splice(i, 1);
    }
    for (const [name, holder] of [...this.held]) if (holder === owner) this.#releases.get(name)?.();
  }
}

export class MemoryStorage implements KeyValueStorage {
  readonly map = new Map<string, string>();
  throws = false;
  getItem(key: string): string | null {
    if (this.throws) throw new DOMException('denied', 'SecurityError');
    return this.map.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    if (this.throws) throw new DOMException('quota', 'QuotaExceededError');
    this.map.set(key, value);
  }
  removeItem(key: string): void {
    this.map.delete(key);
  }
}

export class FakeTab {
  dead = false;
  visible = true;
  readonly listeners = new Map<string, Set<(data: unknown) => void>>();
  readonly pageHandlers = new Set<{ visibility(): void; hide(p: boolean): void; show(p: boolean): void }>();
  readonly browser: FakeBrowser;
  constructor(browser: FakeBrowser) {
    this.browser = browser;
  }

  env(overrides: Partial<BusEnv> = {}): Partial<BusEnv> {
    const page: PageLifecycle = {
      visible: () => this.visible,
      watch: (h) => {
        this.pageHandlers.add(h);
        return () => this.pageHandlers.delete(h);
      },
    };
    const locks = {
      request: (name: string, a: never, b?: never) => this.browser.locks.request(this, name, a, b),
      query: () => Promise.resolve({ held: [], pending: [] }),
    } as unknown as LockManager;
    return {
      now: () => this.browser.now(),
      locks,
      storage: this.browser.storage,
      page,
      openChannel: (name) => this.browser.openChannel(this, name),
      ...overrides,
    };
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    for (const h of this.pageHandlers) h.visibility();
  }
}

export class FakeBrowser {
  readonly locks = new FakeLockManager();
  readonly storage = new MemoryStorage();
  readonly tabs: FakeTab[] = [];
  /** Every frame posted, for assertions. */
  readonly posted: { name: string; data: unknown }[] = [];
  clockOffset = 0;

  now(): number {
    return Date.now() + this.clockOffset;
  }

  tab(): FakeTab {
    const tab = new FakeTab(this);
    this.tabs.push(tab);
    return tab;
  }

  openChannel(owner: FakeTab, name: string): FrameChannel {
    let closed = false;
    let listener: ((data: unknown) => void) | undefined;
    return {
      kind: 'fake',
      post: (data) => {
        if (closed || owner.dead) return;
        const copy = JSON.parse(JSON.stringify(data)) as unknown;
        this.posted.push({ name, data: copy });
        for (const tab of this.tabs) {
          if (tab === owner || tab.dead) continue;
          for (const l of tab.listeners.get(name) ?? []) setTimeout(() => !tab.dead && l(copy), 0);
        }
      },
      listen: (l) => {
        listener = l;
        const set = owner.listeners.get(name) ?? new Set();
        owner.listeners.set(name, set);
        set.add(l);
      },
      close: () => {
        closed = true;
        if (listener) owner.listeners.get(name)?.delete(listener);
      },
    };
  }

  /** Sends a raw frame to every tab, as if from a tab that is not under test. */
  inject(name: string, data: unknown): void {
    for (const tab of this.tabs) for (const l of tab.listeners.get(name) ?? []) if (!tab.dead) l(data);
  }

  /** A renderer crash: no pagehide, no bye; locks free, frames stop. */
  crash(tab: FakeTab): void {
    tab.dead = true;
    tab.listeners.clear();
    this.locks.dropOwner(tab);
  }
}

/** A transport the test drives by hand. */
export class FakeTransport<Item extends BusItem> implements Transport<Item> {
  readonly name = 'fake';
  sink: TransportSink<Item> | undefined;
  refreshes = 0;
  closed = false;
  /** Channel unions seen at open and at each refresh. */
  readonly unions: (readonly string[])[] = [];

  open(sink: TransportSink<Item>): void {
    this.sink = sink;
    this.unions.push(sink.channels());
    sink.status('open');
  }
  refresh(): void {
    this.refreshes++;
    this.unions.push(this.sink!.channels());
  }
  close(): void {
    this.closed = true;
  }
  /** The server answered with these items. */
  push(items: Item[]): void {
    if (this.closed) throw new Error('pushed into a closed transport');
    this.sink!.receive(items);
  }
}

/** An election the test decides: `elect()` makes the oldest campaigner win. */
export class ManualElection {
  readonly campaigners: { onElected: () => void; active: boolean }[] = [];
  create(): Election {
    let mine: { onElected: () => void; active: boolean } | undefined;
    return {
      campaign: (onElected) => {
        mine = { onElected, active: true };
        this.campaigners.push(mine);
      },
      resign: () => {
        if (mine) mine.active = false;
      },
    };
  }
  elect(): void {
    const next = this.campaigners.find((c) => c.active);
    next?.onElected();
  }
}

export const settle = (ms = 10) => new Promise((r) => setTimeout(r, ms));
