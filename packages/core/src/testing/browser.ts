import type { BusEnv } from '../env';
import { FakeChannelHub, type FakeChannel, type PostedMessage } from './channels';
import { realClock, type Clock, type VirtualClock } from './clock'; // VirtualClock: for the doc links
import type { TaskHost } from './host';
import { FakeLockManager } from './locks';
import { FakePage } from './page';
import { MemoryStorage, type StorageArea, type StorageChange } from './storage';

/** What a tab's `storage` listeners get: the fields of a `StorageEvent`. */
export interface FakeStorageEvent extends StorageChange {
  /** Always `storage`. */
  readonly type: 'storage';
  /** The URL of the page that made the change (the browser's origin for changes made by the test). */
  readonly url: string;
  /** The receiving tab's `localStorage`. */
  readonly storageArea: StorageArea;
}

/** Options of {@link FakeBrowser.tab}. */
export interface FakeTabOptions {
  /** Default: `tab-1`, `tab-2`, … in opening order. */
  id?: string;
  /** Whether the page starts visible. Default `true`. */
  visible?: boolean;
  /** The page's URL, reported in storage events. Default: the browser's origin + `/`. */
  url?: string;
}

/** Options of {@link FakeBrowser}. */
export interface FakeBrowserOptions {
  /**
   * The time of the whole browser: `now()`, timers, and the tasks that deliver messages, lock grants and
   * storage events. Default: the real clock. Pass a {@link VirtualClock} to control time.
   */
  clock?: Clock;
  /** Its `localStorage`. Default: an empty {@link MemoryStorage}. */
  storage?: MemoryStorage;
  /** `navigator.onLine` at the start. Default `true`. */
  online?: boolean;
  /** `FrameChannel.kind` of its channels (shown in `state().modeReason`). Default `fake`. */
  channelKind?: string;
  /** Reported as the URL of changes the test makes to `storage` directly. Default `https://tabbus.test`. */
  origin?: string;
}

class TabTimer {
  cancelled = false;
  handle: unknown;
}

/**
 * One page of a {@link FakeBrowser}. Everything the browser does for it "later" (timers, channel
 * messages, lock callbacks, storage events) is a task of the tab: a crashed tab drops its tasks, a frozen
 * one holds them back until it thaws.
 */
export class FakeTab implements TaskHost {
  /** `tab-1`, `tab-2`, … unless given: the lock `clientId` and the `from` of its messages. */
  readonly id: string;
  /** The browser it belongs to. */
  readonly browser: FakeBrowser;
  /** Its page lifecycle (`env().page`). */
  readonly page: FakePage;
  /** Its `navigator.locks` (`env().locks`). */
  readonly locks: LockManager;
  /** Its `localStorage` (`env().storage`): the browser's storage, with this tab as the writer. */
  readonly storage: StorageArea;
  /** Its URL, reported in storage events. */
  readonly url: string;
  #dead = false;
  #frozen = false;
  #deferred: (() => void)[] = [];
  readonly #storageListeners = new Set<(event: FakeStorageEvent) => void>();
  readonly #unwatchStorage: () => void;

  /** Use {@link FakeBrowser.tab}. */
  constructor(browser: FakeBrowser, id: string, options: Omit<FakeTabOptions, 'id'> = {}) {
    this.browser = browser;
    this.id = id;
    this.url = options.url ?? `${browser.origin}/`;
    this.page = new FakePage({ visible: options.visible ?? true, online: () => browser.online });
    this.locks = browser.locks.client(this);
    this.storage = browser.storage.view(this);
    this.#unwatchStorage = browser.storage.onChange((change, source) => {
      if (source === this) return;
      const url = source instanceof FakeTab ? source.url : browser.origin;
      this.task(() => {
        const event: FakeStorageEvent = { type: 'storage', ...change, url, storageArea: this.storage };
        for (const listener of [...this.#storageListeners]) listener(event);
      });
    });
  }

  /** `false` once crashed or closed. */
  get alive(): boolean {
    return !this.#dead;
  }

  /** `true` once crashed or closed. */
  get dead(): boolean {
    return this.#dead;
  }

  /** `true` between {@link FakeTab.freeze} and {@link FakeTab.thaw} (and while in the back/forward cache). */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Whether the page is visible. */
  get visible(): boolean {
    return this.page.visible();
  }

  /** The browser's time. */
  now(): number {
    return this.browser.clock.now();
  }

  /** A timer of this page: it never fires once the tab is dead, and fires late if the tab is frozen. */
  setTimeout(fn: () => void, ms: number): unknown {
    const timer = new TabTimer();
    timer.handle = this.browser.clock.setTimeout(() => this.#run(() => timer.cancelled || fn()), ms);
    return timer;
  }

  /** Cancels a timer of {@link FakeTab.setTimeout}. */
  clearTimeout(handle: unknown): void {
    if (!(handle instanceof TabTimer)) return;
    handle.cancelled = true;
    this.browser.clock.clearTimeout(handle.handle);
  }

  /** Runs `fn` in a later task of this page (how the fakes deliver messages, lock grants, storage events). */
  task(fn: () => void): void {
    if (this.#dead) return;
    this.browser.clock.setTimeout(() => this.#run(fn), 0);
  }

  /** Opens a cross-tab channel in this page (`env().openChannel`). */
  openChannel(name: string): FakeChannel {
    return this.browser.channels.open(name, this);
  }

  /** Listens to `storage` events: changes made by the other tabs (never by this one). Returns the unsubscriber. */
  onStorage(listener: (event: FakeStorageEvent) => void): () => void {
    this.#storageListeners.add(listener);
    return () => void this.#storageListeners.delete(listener);
  }

  /**
   * This tab's browser capabilities, to pass as `createBus({ env })`: `now`, `setTimeout`, `clearTimeout`,
   * `locks`, `storage`, `page` and `openChannel`, then `overrides` on top (say `{ locks: undefined }` for a
   * browser without Web Locks). What it leaves out (`random`, `fallbackElection`) comes from the real browser.
   */
  env(overrides: Partial<BusEnv> = {}): Partial<BusEnv> {
    return {
      now: () => this.now(),
      setTimeout: (fn, ms) => this.setTimeout(fn, ms),
      clearTimeout: (handle) => this.clearTimeout(handle),
      locks: this.locks,
      storage: this.storage,
      page: this.page,
      openChannel: (name) => this.openChannel(name),
      ...overrides,
    };
  }

  /** The user clicked or typed in this tab. */
  input(): void {
    if (!this.#dead) this.page.input();
  }

  /** Shows or hides the page (fires `visibilitychange` if that changes it). */
  setVisible(visible: boolean): void {
    if (!this.#dead) this.page.setVisible(visible);
  }

  /**
   * The user navigates away: `pagehide`, then hidden. With `persisted` the page enters the back/forward
   * cache and is frozen until {@link FakeTab.pageShow}.
   */
  pageHide(persisted = false): void {
    if (this.#dead) return;
    this.page.hide(persisted);
    if (persisted) this.freeze();
  }

  /** The page comes back (`persisted`: from the back/forward cache): it thaws, turns visible, then `pageshow`. */
  pageShow(persisted = false): void {
    if (this.#dead) return;
    this.thaw();
    this.page.show(persisted);
  }

  /**
   * Freezes the page's event loop, as a browser does to a background tab or a tab stuck in a long task:
   * its timers, messages, lock callbacks and storage events wait until {@link FakeTab.thaw}. It keeps its
   * locks. Code the test calls directly still runs.
   */
  freeze(): void {
    if (!this.#dead) this.#frozen = true;
  }

  /** Unfreezes the page: what waited runs, in order, in the next tasks. */
  thaw(): void {
    if (!this.#frozen) return;
    this.#frozen = false;
    const deferred = this.#deferred;
    this.#deferred = [];
    for (const fn of deferred) this.task(fn);
  }

  /** A renderer crash: no events; its channels stop, its locks free, its timers and tasks never run. */
  crash(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#frozen = false;
    this.#deferred = [];
    this.page.reset();
    this.#storageListeners.clear();
    this.#unwatchStorage();
    this.browser.channels.closeHost(this);
    this.browser.locks.dropClient(this);
  }

  /** The user closes the tab: `pagehide` and hidden (the page's last chance to say goodbye), then it is gone. */
  close(): void {
    if (this.#dead) return;
    this.#frozen = false;
    this.page.hide(false);
    this.crash();
  }

  #run(fn: () => void): void {
    if (this.#dead) return;
    if (this.#frozen) this.#deferred.push(fn);
    else fn();
  }
}

/**
 * One browser profile of one origin: its tabs share Web Locks ({@link FakeLockManager}), broadcast
 * channels ({@link FakeChannelHub}), `localStorage` ({@link MemoryStorage}, with `storage` events to the
 * other tabs), connectivity and a clock.
 *
 * @example
 * ```ts
 * const browser = new FakeBrowser();
 * const a = browser.tab();
 * const bus = createBus({ scope: 'test', transport: () => new FakeTransport(), env: a.env() });
 * ```
 */
export class FakeBrowser {
  /** The clock of every tab (the real one unless a {@link VirtualClock} was given). */
  readonly clock: Clock;
  /** The Web Locks the tabs share; `locks.query()` and `locks.holders(name)` for assertions. */
  readonly locks: FakeLockManager;
  /** The broadcast channels the tabs share; `channels.posted` logs every message. */
  readonly channels: FakeChannelHub;
  /** The `localStorage` the tabs share. Set `storage.fail` to make it throw. */
  readonly storage: MemoryStorage;
  /** Every tab opened, in order, the dead ones included. */
  readonly tabs: FakeTab[] = [];
  /** The origin of its pages (`https://tabbus.test` unless given). */
  readonly origin: string;
  #online: boolean;

  constructor(options: FakeBrowserOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.locks = new FakeLockManager({ clock: this.clock });
    this.channels = new FakeChannelHub({ kind: options.channelKind ?? 'fake', clock: this.clock });
    this.storage = options.storage ?? new MemoryStorage();
    this.#online = options.online ?? true;
    this.origin = options.origin ?? 'https://tabbus.test';
  }

  /** Every message posted on the channels, oldest first (same as `channels.posted`). */
  get posted(): PostedMessage[] {
    return this.channels.posted;
  }

  /** `navigator.onLine`. */
  get online(): boolean {
    return this.#online;
  }

  /** The browser's time. */
  now(): number {
    return this.clock.now();
  }

  /** Opens a tab. */
  tab(options: FakeTabOptions = {}): FakeTab {
    const tab = new FakeTab(this, options.id ?? `tab-${this.tabs.length + 1}`, options);
    this.tabs.push(tab);
    return tab;
  }

  /** The tabs that are not dead. */
  liveTabs(): FakeTab[] {
    return this.tabs.filter((t) => t.alive);
  }

  /** Sends a raw message to every open channel named `name`, as if from a tab the test does not model. */
  inject(name: string, data: unknown): void {
    this.channels.inject(name, data);
  }

  /** Kills `tab` without any goodbye (see {@link FakeTab.crash}). */
  crash(tab: FakeTab): void {
    tab.crash();
  }

  /** Closes `tab` the way a user does (see {@link FakeTab.close}). */
  close(tab: FakeTab): void {
    tab.close();
  }

  /** The browser goes offline (`false`) or back online (`true`): every live tab gets the event. */
  setOnline(online: boolean): void {
    if (online === this.#online) return;
    this.#online = online;
    for (const tab of this.liveTabs()) tab.page.network(online);
  }
}
