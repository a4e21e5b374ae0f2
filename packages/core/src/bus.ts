import { nanoid } from 'nanoid';
import { Delivery } from './delivery';
import { Emitter } from './emitter';
import { lockElection, type Election } from './election';
import { browserEnv, type BusEnv, type FrameChannel } from './env';
import { TabBusError } from './errors';
import { checkFrame, FRAME_VERSION, isNewerTerm, LEADER_FRAMES, type Frame, type GapFrame } from './frames';
import { Liveness } from './liveness';
import { SharedStore } from './shared-store';
import { TabRegistry, type TabInfo } from './tabs';
import type { BusItem, Transport, TransportFactory, TransportState } from './transport';

/** `leader`: this tab owns the connection. `follower`: another tab does. `solo`: this tab polls for itself. */
export type Role = 'leader' | 'follower' | 'solo' | 'stopped';
/** How tabs coordinate: Web Locks (default), broadcast-channel's message election, or not at all. */
export type Mode = 'locks' | 'elector' | 'solo';

export interface BusOptions<Item extends BusItem> {
  /**
   * What tabs must agree on to share a connection: server URL + database + user. Tabs of two scopes never
   * share a leader, a channel or a cursor. A function is called on every `start()` (to ask the server who
   * is logged in, say); if it rejects, `start()` rejects with its error.
   */
  scope: string | (() => Promise<string>);
  /** Builds the connection; called in the leader at the start of each term (in every tab in solo mode). */
  transport: TransportFactory<Item>;
  /** Channels this tab joins from the start. */
  channels?: Iterable<string>;
  /**
   * The channel an item belongs to, when the wire says it. Tabs then deliver only items of channels they
   * joined; `undefined` (or no function) means every tab gets the item.
   */
  channelOf?: (item: Item) => string | undefined;
  /** `auto` (default): one connection per scope. `none`: every tab connects for itself. */
  coordination?: 'auto' | 'none';
  /** How long the server keeps notifications, in ms (Odoo: 100 s). Older cursors raise `gap`. */
  retention?: number;
  /** Delay before the leader restarts its request after the union of channels changed, in ms. Default 20. */
  unionDelay?: number;
  /**
   * Start in a microtask after creation, so listeners attached right after `createBus` see everything.
   * A `start()` or `stop()` called before then wins. Default `false`.
   */
  autoStart?: boolean;
  /** Browser capabilities; tests pass fakes. Defaults to the real browser. */
  env?: Partial<BusEnv>;
}

export interface BusCounters {
  /** Requests this tab's transport sent. */
  readonly requests: number;
  /** Batches this tab received (from its own transport or from the leader). */
  readonly batches: number;
  /** Notifications this tab delivered to its listeners. */
  readonly delivered: number;
  /** Frames dropped because they came from an older leadership term. */
  readonly fenced: number;
}

/** A snapshot of the bus as this tab sees it. */
export interface BusState {
  readonly role: Role;
  readonly tabId: string;
  /** The tab that owns the connection, when known. */
  readonly leaderId: string | null;
  /** The newest leadership term this tab knows of. */
  readonly epoch: number;
  /** The highest notification id this tab delivered. */
  readonly cursor: number;
  /** Open tabs of this scope that this tab knows of (itself included). */
  readonly tabs: number;
  readonly visibleTabs: number;
  readonly mode: Mode;
  /** Why this mode: the cross-tab channel in use, or what was missing. */
  readonly modeReason: string;
  readonly scope: string;
  /** Channels this tab joined. */
  readonly channels: readonly string[];
  /** Channels the connection listens to: the union over all tabs. */
  readonly union: readonly string[];
  /** The connection's state, relayed by the leader to every tab. */
  readonly transport: TransportState;
  readonly counters: BusCounters;
}

export interface GapEvent {
  /** The cursor the new leader resumed from. */
  readonly cursor: number;
  /** How long nobody had polled with it, in ms. */
  readonly age: number;
}

export interface BusEvents<Item extends BusItem> {
  /** Notifications for this tab, each id once, in id order. */
  notification: readonly Item[];
  state: BusState;
  error: TabBusError;
  /** Notifications may have been lost: reload the application's state. */
  gap: GapEvent;
}

/** How often the leader refreshes the cursor's timestamp when nothing arrives, in ms. */
const CURSOR_TOUCH_INTERVAL = 10_000;

export class TabBus<Item extends BusItem> {
  readonly #options: BusOptions<Item>;
  readonly #env: BusEnv;
  readonly #events: Emitter<BusEvents<Item>>;
  readonly #tabId = nanoid(10);
  readonly #joined = new Set<string>();
  readonly #reportedVersions = new Set<unknown>();
  #registry = new TabRegistry();
  #delivery = new Delivery();
  #role: Role = 'stopped';
  #mode: Mode = 'solo';
  #modeReason = 'not started';
  #scope = '';
  /** Bumped by every start and stop, so a slow start that was overtaken by `stop()` gives up. */
  #generation = 0;
  #running = false;
  #startedAt = 0;
  #starting: Promise<void> | undefined;
  #channel: FrameChannel | undefined;
  #election: Election | undefined;
  #liveness: Liveness | undefined;
  #store: SharedStore | undefined;
  #epoch = 0;
  #leaderId: string | null = null;
  #transport: Transport<Item> | undefined;
  #transportState: TransportState = 'idle';
  /** The leader's cursor for its next request. */
  #pollCursor = 0;
  #cursorTouchedAt = 0;
  #unionTimer: unknown;
  #unwatchPage: (() => void) | undefined;
  /** Stopped by a bfcache `pagehide`: restart on `pageshow`. */
  #suspended = false;
  #counters = { requests: 0, batches: 0, delivered: 0, fenced: 0 };
  /** Set by the first `start()` or `stop()`: an auto-start still pending then does nothing. */
  #touched = false;

  constructor(options: BusOptions<Item>) {
    this.#options = options;
    this.#env = { ...browserEnv(), ...options.env };
    this.#events = new Emitter<BusEvents<Item>>((error) => setTimeout(() => {
      // A listener's bug belongs to the application: surface it like a DOM listener's would be.
      throw error;
    }));
    for (const channel of options.channels ?? []) this.#join(channel);
    if (options.autoStart) queueMicrotask(() => this.#touched || void this.start().catch(() => undefined));
  }

  /** Listens to `notification`, `state`, `error` or `gap`; returns the function that stops listening. */
  on<K extends keyof BusEvents<Item> & string>(event: K, listener: (value: BusEvents<Item>[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** This tab's id. */
  get tabId(): string {
    return this.#tabId;
  }

  /** A snapshot of the bus as this tab sees it. */
  state(): BusState {
    return {
      role: this.#role,
      tabId: this.#tabId,
      leaderId: this.#leaderId,
      epoch: this.#epoch,
      cursor: this.#delivery.watermark,
      tabs: this.#registry.size,
      visibleTabs: this.#registry.visibleCount,
      mode: this.#mode,
      modeReason: this.#modeReason,
      scope: this.#scope,
      channels: this.#sortedJoined(),
      union: this.#registry.union(),
      transport: this.#transportState,
      counters: { ...this.#counters },
    };
  }

  /** Channels this tab joined. */
  channels(): string[] {
    return this.#sortedJoined();
  }

  /** Joins a channel. The leader restarts its request with the new union. */
  addChannel(name: string): void {
    if (this.#join(name)) this.#announce();
  }

  /** Leaves a channel. The leader stops listening to it once no tab has it. */
  deleteChannel(name: string): void {
    if (this.#joined.delete(name)) this.#announce();
  }

  /**
   * Starts the bus: joins the other tabs of the scope and elects a leader. Resolves once this tab takes
   * part (it may be a follower); rejects if the scope cannot be resolved. Calling it again is harmless.
   */
  start(): Promise<void> {
    this.#touched = true;
    if (this.#running) return this.#starting ?? Promise.resolve();
    this.#running = true;
    this.#suspended = false;
    const generation = ++this.#generation;
    this.#unwatchPage ??= this.#env.page?.watch({
      visibility: () => this.#announce(),
      hide: (persisted) => {
        // Entering the bfcache: leave cleanly and come back on pageshow. Unloading: just leave.
        if (!this.#running) return;
        this.#shutdown(true);
        this.#suspended = persisted;
      },
      show: (persisted) => {
        if (persisted && this.#suspended) void this.start().catch(() => undefined);
      },
    });
    const starting = this.#boot(generation).finally(() => {
      if (this.#starting === starting) this.#starting = undefined;
    });
    this.#starting = starting;
    return starting;
  }

  /** Stops the bus in this tab: leaves the other tabs and closes the connection if this tab had it. */
  stop(): Promise<void> {
    this.#touched = true;
    this.#unwatchPage?.();
    this.#unwatchPage = undefined;
    this.#suspended = false;
    if (this.#running) this.#shutdown(true);
    return Promise.resolve();
  }

  async #boot(generation: number): Promise<void> {
    const env = this.#env;
    let scope: string;
    try {
      scope = typeof this.#options.scope === 'string' ? this.#options.scope : await this.#options.scope();
    } catch (cause) {
      const error = cause instanceof TabBusError ? cause : new TabBusError('config', 'could not resolve the scope', { cause, fatal: true });
      if (generation === this.#generation) {
        this.#report(error);
        this.#shutdown(false);
      }
      throw error;
    }
    if (generation !== this.#generation) return;
    this.#scope = scope;
    this.#startedAt = env.now();
    const prefix = `tabbus:${scope}:`;
    this.#store = new SharedStore(env.storage, prefix, (cause) =>
      this.#report(new TabBusError('storage', 'localStorage is not usable; the cursor is kept in memory only', { cause })),
    );
    this.#delivery = new Delivery(this.#store.readCursor()?.id ?? 0);
    this.#registry = new TabRegistry();
    this.#registry.upsert(this.#selfInfo());

    if (this.#options.coordination === 'none') return this.#goSolo('coordination: none');
    try {
      this.#channel = env.openChannel(prefix + 'frames');
    } catch {
      return this.#goSolo('no cross-tab channel');
    }
    this.#channel.listen((data) => this.#onFrame(data));
    this.#role = 'follower';
    let locksFailed = false;
    if (env.locks) {
      const liveness = new Liveness(env.locks, prefix + 'tab:');
      try {
        await liveness.hold(this.#tabId);
      } catch {
        // navigator.locks exists but refuses (some sandboxed iframes): fall back like a browser without it.
        locksFailed = true;
      }
      if (generation !== this.#generation) return liveness.release();
      if (!locksFailed) {
        this.#mode = 'locks';
        this.#modeReason = `Web Locks + ${this.#channel.kind} channel`;
        this.#liveness = liveness;
        this.#election = lockElection(env.locks, prefix + 'leader');
      }
    }
    if (!this.#election) {
      this.#mode = 'elector';
      this.#modeReason = `${locksFailed ? 'Web Locks refused' : 'no Web Locks'}: message election over ${this.#channel.kind} channel`;
      this.#election = env.fallbackElection(prefix + 'elect');
    }
    this.#post({ type: 'hello', tab: this.#selfInfo(), join: true });
    this.#election.campaign(() => this.#lead(generation));
    this.#emitState();
  }

  #goSolo(reason: string): void {
    this.#mode = 'solo';
    this.#modeReason = reason;
    this.#role = 'solo';
    this.#leaderId = this.#tabId;
    this.#pollCursor = this.#delivery.watermark;
    this.#openTransport();
    this.#emitState();
  }

  /** Leadership granted: start a new term, tell the tabs, open the connection. */
  #lead(generation: number): void {
    if (generation !== this.#generation || !this.#store) return;
    const store = this.#store;
    this.#epoch = Math.max(store.readEpoch(), this.#epoch) + 1;
    store.writeEpoch(this.#epoch);
    this.#leaderId = this.#tabId;
    this.#role = 'leader';
    const record = store.readCursor();
    // Resume from what the last leader persisted; never behind what this tab already delivered.
    this.#pollCursor = Math.max(record?.id ?? 0, this.#delivery.watermark);
    this.#cursorTouchedAt = 0;
    // What this tab knew was the previous leader's connection; ours starts now (and is relayed).
    this.#transportState = 'idle';
    // Without lifetime locks the map may hold dead tabs: rebuild it from the answers to `lead`.
    if (!this.#liveness) this.#registry.retainOnly(this.#tabId);
    this.#post({ type: 'lead', cursor: this.#pollCursor, tab: this.#selfInfo() });
    for (const id of this.#registry.ids()) if (id !== this.#tabId) this.#liveness?.watch(id, this.#onTabGone);
    const now = this.#env.now();
    if (record && record.id > 0 && now - record.at > this.#retention()) {
      const gap = { cursor: record.id, age: now - record.at };
      this.#post({ type: 'gap', ...gap });
      this.#onGap(gap);
    }
    this.#openTransport();
    this.#emitState();
  }

  /** Another leader with a newer term exists: give the connection up and queue for leadership again. */
  #stepDown(): void {
    this.#closeTransport('idle');
    this.#liveness?.unwatchAll();
    this.#role = 'follower';
    const generation = this.#generation;
    this.#election?.resign();
    this.#election?.campaign(() => this.#lead(generation));
  }

  #openTransport(): void {
    const transport = this.#options.transport();
    this.#transport = transport;
    const current = () => this.#transport === transport;
    transport.open({
      cursor: () => this.#pollCursor,
      channels: () => this.#registry.union(),
      inactivity: () => undefined,
      receive: (items) => current() && this.#receive(items),
      status: (state) => current() && this.#setTransportState(state),
      request: () => {
        if (!current()) return;
        this.#counters.requests++;
        this.#emitState();
      },
      fail: (error) => current() && this.#onTransportError(error),
    });
  }

  #closeTransport(state: TransportState): void {
    const transport = this.#transport;
    this.#transport = undefined;
    this.#env.clearTimeout(this.#unionTimer);
    transport?.close();
    this.#transportState = state;
  }

  /** A server reply in the leader (or solo tab): persist the cursor, then fan out, then deliver here. */
  #receive(items: readonly Item[]): void {
    const fresh = items.filter((item) => item.id <= 0 || item.id > this.#pollCursor);
    let cursor = this.#pollCursor;
    for (const item of fresh) if (item.id > cursor) cursor = item.id;
    const now = this.#env.now();
    if (cursor !== this.#pollCursor || now - this.#cursorTouchedAt >= CURSOR_TOUCH_INTERVAL) {
      this.#pollCursor = cursor;
      this.#cursorTouchedAt = now;
      // Before the fan-out, in the same task: a crash cannot fall between the two.
      this.#store?.writeCursor({ id: cursor, at: now });
    }
    if (fresh.length === 0) return;
    if (this.#role === 'leader') this.#post({ type: 'batch', items: fresh, cursor });
    this.#deliver(fresh);
  }

  #deliver(items: readonly Item[]): void {
    this.#counters.batches++;
    const mine = this.#delivery.take(items, this.#joined, this.#options.channelOf);
    this.#counters.delivered += mine.length;
    if (mine.length > 0) this.#events.emit('notification', mine);
    this.#emitState();
  }

  #setTransportState(state: TransportState): void {
    if (state === this.#transportState) return;
    this.#transportState = state;
    if (this.#role === 'leader') this.#post({ type: 'status', transport: state });
    this.#emitState();
  }

  #onTransportError(error: TabBusError): void {
    if (error.fatal && this.#role === 'leader') this.#post({ type: 'halt', code: error.code, message: error.message });
    this.#report(error);
    if (error.fatal) this.#shutdown(false);
  }

  #onFrame(data: unknown): void {
    if (!this.#running) return;
    const check = checkFrame<Item>(data, this.#scope);
    if (!check.ok) {
      if (check.reason === 'version' && !this.#reportedVersions.has(check.version)) {
        this.#reportedVersions.add(check.version);
        this.#report(new TabBusError('frame', `ignoring frames of protocol version ${String(check.version)} (this tab speaks ${FRAME_VERSION}): is another version of tabbus open in another tab?`));
      }
      return;
    }
    const frame = check.frame;
    if (frame.from === this.#tabId) return;
    if (LEADER_FRAMES.has(frame.type)) {
      if (isNewerTerm(frame.epoch, frame.from, this.#epoch, this.#leaderId)) {
        if (this.#role === 'leader') this.#stepDown();
        this.#epoch = frame.epoch;
        this.#leaderId = frame.from;
      } else if (frame.epoch !== this.#epoch || frame.from !== this.#leaderId) {
        this.#counters.fenced++;
        return;
      }
    } else if (frame.epoch > this.#epoch) {
      // A tab knows a newer term than ours: some other tab leads now.
      if (this.#role === 'leader') this.#stepDown();
      this.#epoch = frame.epoch;
      this.#leaderId = null;
    }
    this.#handle(frame);
  }

  #handle(frame: Frame<Item>): void {
    const leading = this.#role === 'leader';
    switch (frame.type) {
      case 'hello': {
        const isNew = !this.#registry.has(frame.tab.id);
        const changed = this.#registry.upsert(frame.tab);
        if (leading) {
          if (isNew) this.#liveness?.watch(frame.tab.id, this.#onTabGone);
          if (frame.join) {
            this.#post({ type: 'welcome', to: frame.from, tabs: this.#registry.list(), transport: this.#transportState, cursor: this.#pollCursor });
          }
        }
        if (changed) this.#unionChanged();
        break;
      }
      case 'bye':
        if (frame.tab === this.#tabId) return;
        this.#liveness?.unwatch(frame.tab);
        if (this.#registry.remove(frame.tab)) this.#unionChanged();
        break;
      case 'lead':
        // Tabs that started before anyone led got no welcome: this is how they learn the leader's info.
        if (this.#registry.upsert(frame.tab)) this.#unionChanged();
        this.#transportState = 'connecting';
        this.#post({ type: 'hello', tab: this.#selfInfo() });
        break;
      case 'welcome':
        if (frame.to !== this.#tabId) return;
        for (const tab of frame.tabs) if (tab.id !== this.#tabId) this.#registry.upsert(tab);
        this.#transportState = frame.transport;
        break;
      case 'batch':
        this.#deliver(frame.items);
        return;
      case 'status':
        this.#transportState = frame.transport;
        break;
      case 'gap':
        this.#onGap(frame);
        break;
      case 'halt': {
        this.#report(new TabBusError(frame.code as TabBusError['code'], frame.message.replace(/^tabbus: /, ''), { fatal: true, context: { from: frame.from } }));
        this.#shutdown(false);
        return;
      }
    }
    this.#emitState();
  }

  readonly #onTabGone = (tabId: string): void => {
    if (!this.#running || this.#role !== 'leader') return;
    this.#post({ type: 'bye', tab: tabId });
    if (this.#registry.remove(tabId)) this.#unionChanged();
    this.#emitState();
  };

  /** Only tabs old enough to have missed something report a gap; a page loaded since has fresh state. */
  #onGap(gap: Pick<GapFrame, 'cursor' | 'age'>): void {
    if (this.#env.now() - this.#startedAt >= this.#retention()) this.#events.emit('gap', { cursor: gap.cursor, age: gap.age });
  }

  #unionChanged(): void {
    if (!this.#transport) return;
    this.#env.clearTimeout(this.#unionTimer);
    // Debounced: a page that joins five channels at load restarts the request once.
    this.#unionTimer = this.#env.setTimeout(() => this.#transport?.refresh(), this.#options.unionDelay ?? 20);
  }

  /** This tab's own info changed (channels, visibility): update the map and tell the others. */
  #announce(): void {
    if (!this.#running || !this.#scope) return;
    const self = this.#selfInfo();
    if (this.#registry.upsert(self)) this.#unionChanged();
    this.#post({ type: 'hello', tab: self });
    this.#emitState();
  }

  #shutdown(sayBye: boolean): void {
    this.#generation++;
    this.#running = false;
    if (sayBye) this.#post({ type: 'bye', tab: this.#tabId });
    this.#closeTransport('idle');
    this.#liveness?.unwatchAll();
    this.#liveness?.release();
    this.#election?.resign();
    this.#channel?.close();
    this.#channel = this.#election = this.#liveness = undefined;
    this.#role = 'stopped';
    this.#leaderId = null;
    this.#registry = new TabRegistry();
    this.#emitState();
  }

  #post(body: DistributiveOmit<Frame<Item>, 'v' | 'scope' | 'epoch' | 'from'>): void {
    this.#channel?.post({ v: FRAME_VERSION, scope: this.#scope, epoch: this.#epoch, from: this.#tabId, ...body });
  }

  #report(error: TabBusError): void {
    if (this.#events.count('error') > 0) this.#events.emit('error', error);
    else console.warn(error);
  }

  #emitState(): void {
    if (this.#events.count('state') > 0) this.#events.emit('state', this.state());
  }

  #join(name: string): boolean {
    if (typeof name !== 'string' || name === '') {
      throw new TabBusError('config', `a channel must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    if (this.#joined.has(name)) return false;
    this.#joined.add(name);
    return true;
  }

  #sortedJoined(): string[] {
    return [...this.#joined].sort();
  }

  #selfInfo(): TabInfo {
    return { id: this.#tabId, channels: this.#sortedJoined(), visible: this.#env.page?.visible() ?? true };
  }

  #retention(): number {
    return this.#options.retention ?? 100_000;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Creates a bus (not started: call `start()`). */
export function createBus<Item extends BusItem>(options: BusOptions<Item>): TabBus<Item> {
  return new TabBus(options);
}
