import { Delivery } from './delivery';
import { Emitter } from './emitter';
import { lockElection, type Election } from './election';
import { browserEnv, type BusEnv, type FrameChannel } from './env';
import { TabBusError } from './errors';
import { checkFrame, FRAME_VERSION, isNewerTerm, LEADER_FRAMES, type Frame } from './frames';
import { LeaderWatch } from './leader-watch';
import { messageElection } from './message-election';
import { Liveness } from './liveness';
import { SessionWatch } from './session-watch';
import { SharedStore } from './shared-store';
import { TabRegistry, type TabInfo } from './tabs';
import type { BusItem, Transport, TransportFactory, TransportState } from './transport';

/** `leader`: this tab owns the connection. `follower`: another tab does. `solo`: this tab polls for itself. */
export type Role = 'leader' | 'follower' | 'solo' | 'stopped';
/** How tabs coordinate: Web Locks (default), a message election where they are missing, or not at all. */
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
   * How long the leader may stay silent, a probe unanswered, before a visible follower takes the connection
   * over, in ms (Web Locks mode: a frozen leader keeps its lock). A frozen leader is replaced within 4/3 of
   * this. Default 3000; 0 turns the check off.
   */
  leaderTimeout?: number;
  /**
   * Asks the server whether the session is still valid; rejects with a `session_expired` TabBusError when
   * not. The leader calls it when its term starts, after transport errors and every `sessionCheckInterval`.
   */
  checkSession?: () => Promise<void>;
  /** How often the leader calls `checkSession` while all is well, in ms. Default 300 000 (5 min); 0: never. */
  sessionCheckInterval?: number;
  /**
   * While every tab of the scope is hidden, the leader waits this long between two requests, in ms, so a
   * burst of notifications costs one request. The first tab to become visible ends the pause. Default
   * 30 000; 0: always live.
   */
  hiddenPace?: number;
  /** A hidden leader hands the connection to a visible tab (Web Locks mode). Default `true`. */
  preferVisibleLeader?: boolean;
  /**
   * Start in a microtask after creation, so listeners attached right after `createBus` see everything.
   * A `start()` or `stop()` called before then wins. Default `false`.
   */
  autoStart?: boolean;
  /** Browser capabilities; tests pass fakes. Defaults to the real browser. */
  env?: Partial<BusEnv>;
  /** The kind of connection `transport` makes, for `state().transportName` (may change once the scope is resolved). */
  transportName?: () => string | undefined;
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
  /** Frames ignored because they were not tabbus frames or spoke another protocol version. */
  readonly ignored: number;
  /** Times this tab took leadership from a leader that stopped answering. */
  readonly steals: number;
}

/** The last error this tab saw, for status displays. */
export interface LastError {
  readonly code: TabBusError['code'];
  readonly message: string;
  /** When it happened (ms since epoch). */
  readonly at: number;
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
  /** Which kind of connection the scope uses (`longpolling`, `websocket`), once known (`options.transportName`). */
  readonly transportName: string | undefined;
  readonly counters: BusCounters;
  readonly lastError: LastError | null;
  /** The pause between two requests: 0 while a tab of the scope is visible, `hiddenPace` when none is. */
  readonly pace: number;
  /** Milliseconds since the latest user input in any tab of the scope (what the server is told). */
  readonly inactivity: number;
  /** Every tab of the scope this tab knows of (itself included). */
  readonly tabList: readonly TabInfo[];
  /** This tab's latest role change, `at` on its clock (ms since the epoch); null before the first. */
  readonly transition: { readonly from: Role; readonly to: Role; readonly reason: string; readonly at: number } | null;
}

/** A value every tab of the scope shares; the last write wins. */
export interface SharedValue<T> {
  /** The current value (`undefined` until someone sets it). */
  get(): T | undefined;
  /** Sets it in every tab of the scope. */
  set(value: T): void;
  /** Called with the new value whenever any tab sets it; returns the unsubscriber. */
  on(listener: (value: T | undefined) => void): () => void;
}

export interface GapEvent {
  /** The cursor the bus had when it noticed. */
  readonly cursor: number;
  /** How long the server had not been heard with it, in ms. */
  readonly age: number;
  /**
   * `retention`: the bus was away longer than the server keeps notifications. `reset`: the server's ids
   * restarted below the cursor (a database restore, a server without persistent storage restarted).
   */
  readonly reason: 'retention' | 'reset';
}

export interface BusEvents<Item extends BusItem> {
  /** Notifications for this tab, each id once, in id order. */
  notification: readonly Item[];
  state: BusState;
  error: TabBusError;
  /** Notifications may have been lost: reload the application's state. */
  gap: GapEvent;
  /**
   * The server no longer knows the user (or another user logged in). Emitted once in every tab of the
   * scope, which all stop; call `start()` after logging in again to resume from the cursor.
   */
  session_expired: TabBusError;
  /**
   * The server speaks a newer version of the bus than this page (Odoo 17+ closes the socket with
   * `OUTDATED_VERSION` after an upgrade). Emitted once in every tab, which all stop: reload the page.
   */
  outdated: TabBusError;
}

/** Hooks for tests of the bus itself; not part of the API. */
export const TEST_HOOKS = Symbol.for('tabbus.testHooks');

/** After `handoff()` in a message election, how long the old leader waits before standing again, in ms. */
const HANDOFF_PAUSE = 1000;

/** A visible tab asks a hidden leader for the connection at most this often, in ms. */
const CLAIM_INTERVAL = 1000;
/** A leader that yielded leads again if the tab it yielded to has not taken over after this long, in ms. */
const YIELD_TIMEOUT = 2000;
/** A tab tells the others about user input at most this often, in ms (presence needs minutes, not ms). */
const INPUT_POST_INTERVAL = 5000;
/** How long a tab holds the Web Lock of a `once` key it ran, in ms. */
const ONCE_HOLD = 60_000;
/** How long `once` keys are remembered in storage, in ms: longer than any replay (the server keeps 100 s). */
const ONCE_TTL = 300_000;

interface SharedRecord {
  readonly value: unknown;
  readonly at: number;
  readonly tab: string;
}

/** A tab that missed batches asks for a replay at most this often, in ms. */
const RESYNC_INTERVAL = 1000;

/** How often the leader refreshes the cursor's timestamp when nothing arrives, in ms. */
const CURSOR_TOUCH_INTERVAL = 10_000;

export class TabBus<Item extends BusItem> {
  readonly #options: BusOptions<Item>;
  readonly #env: BusEnv;
  readonly #events: Emitter<BusEvents<Item>>;
  readonly #tabId = tabIdOf(crypto.getRandomValues(new Uint8Array(10)));
  readonly #joined = new Set<string>();
  readonly #reportedVersions = new Set<unknown>();
  #registry = new TabRegistry();
  #delivery = new Delivery();
  #role: Role = 'stopped';
  #transition: BusState['transition'] = null;
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
  #counters = { requests: 0, batches: 0, delivered: 0, fenced: 0, ignored: 0, steals: 0 };
  /** Latest user input in any tab of the scope (ms since epoch), and when this tab last told the others. */
  #latestInput = 0;
  #inputPostedAt = -Infinity;
  /** Keys `once` ran in this tab or another (told by a frame): checked before the lock and storage. */
  readonly #onceDone = new Set<string>();
  readonly #shared = new Map<string, SharedRecord>();
  readonly #sharedListeners = new Map<string, Set<(value: unknown) => void>>();
  /** The pace the transport was last told of: a change from hidden to live ends its pause. */
  #lastPace = 0;
  /** When this tab last asked a hidden leader for the connection, and the timer of a deferred request. */
  #claimedAt = -Infinity;
  #claimTimer: unknown;
  /** This tab yielded the connection to a visible tab and holds the lock until that tab takes it. */
  #yieldTimer: unknown;
  #lastError: LastError | null = null;
  #watch: LeaderWatch | undefined;
  #sessionWatch: SessionWatch | undefined;
  /** When this tab last stopped: a restart after longer than the retention has missed notifications. */
  #stoppedAt = 0;
  /** While batches are missing: the cursor the replay must reach, and the timer that asks again. */
  #resyncUpTo = 0;
  #resyncTimer: unknown;
  /** When the leader last heard from the server (or began its term): a long silence means a gap. */
  #serverHeardAt = 0;
  /** Set by the first `start()` or `stop()`: an auto-start still pending then does nothing. */
  #touched = false;

  constructor(options: BusOptions<Item>) {
    this.#options = options;
    this.#env = { ...browserEnv(), ...options.env };
    this.#latestInput = this.#env.now();
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
      transportName: this.#options.transportName?.(),
      counters: { ...this.#counters },
      lastError: this.#lastError,
      pace: this.#pace(),
      inactivity: this.#env.now() - this.#latestInput,
      tabList: this.#registry.list(),
      transition: this.#transition,
    };
  }

  /**
   * Runs `fn` in exactly one tab of the scope per `key`, whichever tab calls first: every tab may call it
   * for the same notification (`once('sound:' + id, play)`), including a tab that gets it again after a
   * failover. Resolves with whether `fn` ran here. Keys are remembered for 5 minutes. Without usable
   * localStorage only the leader runs effects.
   */
  once(key: string, fn: () => void): Promise<boolean> {
    const run = (): boolean => {
      if (!this.#claimOnce(key)) return false;
      try {
        fn();
      } catch (error) {
        this.#report(new TabBusError('handler', `once(${JSON.stringify(key)}) threw`, { cause: error }));
      }
      return true;
    };
    const locks = this.#env.locks;
    if (!locks || !this.#scope || !this.#store?.usable) return Promise.resolve(run());
    // localStorage is not consistent across tabs from one moment to the next (each renderer has its own
    // copy), so the claim is a Web Lock per key, taken only if free and held for a while: a tab that gets
    // the same notification meanwhile (a replay, a second leader) finds it taken. Storage covers later.
    return new Promise<boolean>((resolve) => {
      locks
        .request(`tabbus:${this.#scope}:once:${key}`, { ifAvailable: true }, (lock) => {
          if (!lock) return resolve(false);
          const ran = run();
          resolve(ran);
          return ran ? new Promise<void>((release) => this.#env.setTimeout(release, ONCE_HOLD)) : undefined;
        })
        .catch(() => resolve(run()));
    });
  }

  /** The shared value `key` (see SharedValue). */
  shared<T>(key: string): SharedValue<T> {
    return {
      get: () => this.#sharedRecord(key)?.value as T | undefined,
      set: (value) => {
        const record = { value, at: this.#env.now(), tab: this.#tabId };
        this.#applyShared(key, record);
        this.#post({ type: 'shared', key, value, at: record.at });
      },
      on: (listener) => {
        let set = this.#sharedListeners.get(key);
        if (!set) this.#sharedListeners.set(key, (set = new Set()));
        const entry = (value: unknown) => listener(value as T | undefined);
        set.add(entry);
        return () => void set.delete(entry);
      },
    };
  }

  /**
   * Leader only: hands the connection to the next tab in line, which resumes from the shared cursor;
   * this tab stays on as a follower. Returns false when this tab does not lead.
   */
  handoff(): boolean {
    if (this.#role !== 'leader') return false;
    // A message election has no queue: campaigning again at once would often win again.
    this.#stepDown(this.#mode === 'elector' ? HANDOFF_PAUSE : 0);
    this.#emitState();
    return true;
  }

  /**
   * Tells every tab of the scope that the session expired (the application saw it on its own RPCs): each
   * emits `session_expired` once and stops. Call `start()` after logging in again.
   */
  sessionExpired(detail = 'the application reported that the session expired; log in again'): void {
    if (!this.#running) return;
    const error = new TabBusError('session_expired', detail, { fatal: true });
    this.#post({ type: 'halt', code: error.code, message: error.message });
    this.#fail(error);
  }

  /** Test hooks: `forceLead()` makes this tab lead without the election (two leaders at once). */
  get [TEST_HOOKS](): { forceLead(): void } {
    return { forceLead: () => this.#running && this.#lead(this.#generation) };
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
      visibility: () => {
        this.#announce();
        this.#maybeClaim();
      },
      input: () => this.#onInput(),
      hide: (persisted) => {
        // Entering the bfcache: leave cleanly and come back on pageshow. Unloading: just leave.
        if (!this.#running) return;
        this.#shutdown(true);
        this.#suspended = persisted;
      },
      show: (persisted) => {
        if (persisted && this.#suspended) void this.start().catch(() => undefined);
      },
      network: (online) => this.#onNetwork(online),
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
    const stored = this.#store.readCursor()?.id ?? 0;
    if (this.#delivery.synced && this.#delivery.watermark > 0) {
      // Restarted (stop/start, back from the bfcache): keep what this tab delivered, so the leader's
      // cursor shows what it missed meanwhile and it asks for a replay, rather than skipping it.
      if (env.now() - this.#stoppedAt > this.#retention()) {
        this.#events.emit('gap', { cursor: this.#delivery.watermark, age: env.now() - this.#stoppedAt, reason: 'retention' });
        this.#delivery = new Delivery(stored);
      }
    } else {
      this.#delivery = new Delivery(stored);
    }
    this.#registry = new TabRegistry();
    this.#registry.upsert(this.#selfInfo());

    const memoryOnly = env.storage ? '' : '; no localStorage: the cursor is kept in memory';
    if (this.#options.coordination === 'none') return this.#goSolo('coordination: none' + memoryOnly);
    try {
      this.#channel = env.openChannel(prefix + 'frames');
    } catch {
      return this.#goSolo('no cross-tab channel' + memoryOnly);
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
      if (locksFailed) {
        // The message election would look for the same refused locks: poll alone rather than never.
        this.#channel.close();
        this.#channel = undefined;
        return this.#goSolo('Web Locks refused' + memoryOnly);
      }
      this.#mode = 'locks';
      this.#modeReason = `Web Locks + ${this.#channel.kind} channel${memoryOnly}`;
      this.#liveness = liveness;
      this.#election = lockElection(env.locks, prefix + 'leader');
    }
    if (!this.#election) {
      this.#mode = 'elector';
      this.#modeReason = `no Web Locks: message election over ${this.#channel.kind} channel${memoryOnly}`;
      this.#election = env.fallbackElection?.(prefix + 'elect') ?? messageElection(env.openChannel(prefix + 'elect'), env);
    }
    // A frozen leader is found by visible followers and replaced by a steal, in every election that can.
    if (this.#election.steal) {
      this.#watch = new LeaderWatch(env, this.#options.leaderTimeout ?? 3000, () => this.#post({ type: 'probe' }), () => this.#steal(generation));
    }
    this.#post({ type: 'hello', tab: this.#selfInfo(), join: true });
    this.#campaign(generation);
    this.#emitState();
  }

  #campaign(generation: number): void {
    this.#election?.campaign(() => this.#lead(generation), () => this.#lost(generation));
  }

  /** Another tab took the lock this tab held: a leader steps down; a tab that yielded queues again. */
  #lost(generation: number): void {
    if (generation !== this.#generation) return;
    this.#env.clearTimeout(this.#yieldTimer);
    if (this.#role === 'leader') this.#stepDown();
    else this.#campaign(generation);
  }

  /** The leader stopped answering probes: take the lock from it. It steps down when it thaws. */
  #steal(generation: number): void {
    if (generation !== this.#generation || this.#role !== 'follower' || !this.#election?.steal) return;
    this.#counters.steals++;
    this.#election.steal(() => this.#lead(generation), () => this.#lost(generation));
  }

  /**
   * A visible follower asks a hidden leader for the connection: hidden tabs are throttled and frozen by
   * browsers, a visible one is not. Only with Web Locks (the taking over is a steal of the lock).
   */
  #maybeClaim(): void {
    const leader = this.#leaderId === null ? undefined : this.#registry.get(this.#leaderId);
    if (this.#options.preferVisibleLeader === false || !this.#running || this.#role !== 'follower' || !this.#election?.steal) return;
    if (!leader || leader.visible || !(this.#env.page?.visible() ?? true)) return;
    const now = this.#env.now();
    const wait = this.#claimedAt + CLAIM_INTERVAL - now;
    if (wait > 0) {
      // Rate-limited, not dropped: ask again when the interval ends, if it still applies then.
      this.#claimTimer ??= this.#env.setTimeout(() => {
        this.#claimTimer = undefined;
        this.#maybeClaim();
      }, wait);
      return;
    }
    this.#claimedAt = now;
    this.#post({ type: 'claim' });
  }

  /** Leader: a visible tab asked for the connection. Close it, then let that tab steal the lock. */
  #yieldTo(tabId: string): void {
    const target = this.#registry.get(tabId);
    if (this.#role !== 'leader' || (this.#env.page?.visible() ?? true) || !target?.visible) return;
    const generation = this.#generation;
    this.#closeTransport('idle');
    this.#liveness?.unwatchAll();
    this.#role = 'follower';
    // The lock stays held until the target steals it (then #lost queues this tab again). If the target
    // never does (it closed meanwhile), lead again rather than leave the scope without a connection.
    this.#post({ type: 'yield', to: tabId, cursor: this.#pollCursor });
    this.#yieldTimer = this.#env.setTimeout(() => generation === this.#generation && this.#role === 'follower' && this.#lead(generation), YIELD_TIMEOUT);
    this.#emitState();
  }

  #goSolo(reason: string): void {
    this.#mode = 'solo';
    this.#modeReason = reason;
    this.#role = 'solo';
    this.#leaderId = this.#tabId;
    this.#pollCursor = this.#delivery.watermark;
    this.#serverHeardAt = this.#env.now();
    this.#openTransport();
    this.#emitState();
  }

  /** Leadership granted: start a new term, tell the tabs, open the connection. */
  #lead(generation: number): void {
    if (generation !== this.#generation || !this.#store) return;
    // Granted again while still leading (a forced or stolen term overlapped the queue): one connection only.
    if (this.#transport) this.#closeTransport('idle');
    this.#env.clearTimeout(this.#yieldTimer);
    const store = this.#store;
    this.#epoch = Math.max(store.readEpoch(), this.#epoch) + 1;
    store.writeEpoch(this.#epoch);
    this.#leaderId = this.#tabId;
    this.#role = 'leader';
    const record = store.readCursor();
    // Resume from the last batch this tab received, not from the persisted cursor, which may be ahead of
    // it: a renderer crash can land after the dead leader's storage write reached the browser and before
    // its batch did (both are asynchronous IPC), and resuming from there would lose that batch for every
    // tab. Replaying instead costs nothing: each tab drops ids it already delivered. (A tab seeds its
    // watermark from the persisted cursor when it starts, so a new tab does not replay from 0.)
    this.#pollCursor = this.#delivery.watermark;
    this.#cursorTouchedAt = 0;
    // What this tab knew was the previous leader's connection; ours starts now (and is relayed).
    this.#transportState = 'idle';
    // Without lifetime locks the map may hold dead tabs: rebuild it from the answers to `lead`.
    if (!this.#liveness) this.#registry.retainOnly(this.#tabId);
    this.#post({ type: 'lead', cursor: this.#pollCursor, tab: this.#selfInfo() });
    const now = this.#env.now();
    if (record && record.id > 0 && now - record.at > this.#retention()) {
      this.#raiseGap({ cursor: record.id, age: now - record.at, reason: 'retention' });
    }
    this.#serverHeardAt = now;
    // The connection first (the failover gap is the time to this request), then the bookkeeping.
    this.#openTransport();
    for (const id of this.#registry.ids()) if (id !== this.#tabId) this.#liveness?.watch(id, this.#onTabGone);
    this.#watchSession();
    this.#emitState();
  }

  /** The leader checks the session now and then (see SessionWatch); stopped with the transport. */
  #watchSession(): void {
    const check = this.#options.checkSession;
    if (!check || this.#sessionWatch) return;
    this.#sessionWatch = new SessionWatch(this.#env, check, this.#options.sessionCheckInterval ?? 300_000, (error) => this.#halt(error));
    this.#sessionWatch.start();
  }

  /** Another leader with a newer term exists: give the connection up and queue for leadership again. */
  #stepDown(pause = 0): void {
    this.#closeTransport('idle');
    this.#liveness?.unwatchAll();
    this.#role = 'follower';
    this.#election?.resign();
    const generation = this.#generation;
    if (pause > 0) this.#env.setTimeout(() => generation === this.#generation && this.#role === 'follower' && this.#campaign(generation), pause);
    else this.#campaign(generation);
    // Ask whoever leads now for the tabs and the connection's state (its frames may have come and gone).
    this.#post({ type: 'hello', tab: this.#selfInfo(), join: true });
  }

  #openTransport(): void {
    if (this.#env.page?.online() === false) {
      // Requests would only fail: wait for the browser's `online` event instead of backing off.
      this.#setTransportState('offline');
      return;
    }
    const transport = this.#options.transport();
    this.#transport = transport;
    const current = () => this.#transport === transport;
    transport.open({
      cursor: () => this.#pollCursor,
      channels: () => this.#registry.union(),
      inactivity: () => this.#env.now() - this.#latestInput,
      pace: () => this.#pace(),
      receive: (items) => current() && this.#receive(items),
      reset: () => current() && this.#reset(),
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
    this.#sessionWatch?.stop();
    this.#sessionWatch = undefined;
    transport?.close();
    this.#transportState = state;
  }

  /** Offline: drop the connection rather than back off against a dead network. Online: reconnect at once. */
  #onNetwork(online: boolean): void {
    if (!this.#running || (this.#role !== 'leader' && this.#role !== 'solo')) return;
    if (!online && this.#transport) {
      this.#closeTransport('offline');
      if (this.#role === 'leader') this.#post({ type: 'status', transport: 'offline' });
      this.#emitState();
    } else if (online && !this.#transport) {
      const silence = this.#env.now() - this.#serverHeardAt;
      if (silence > this.#retention()) {
        // Offline longer than the server keeps notifications: say so now rather than at the next reply.
        this.#raiseGap({ cursor: this.#pollCursor, age: silence, reason: 'retention' });
        this.#serverHeardAt = this.#env.now();
      }
      this.#openTransport();
      // Back online: the session may have expired meanwhile.
      if (this.#role === 'leader') this.#watchSession();
      this.#emitState();
    }
  }

  /** A server reply in the leader (or solo tab): persist the cursor, then fan out, then deliver here. */
  #receive(items: readonly Item[]): void {
    const now = this.#env.now();
    if (this.#role === 'leader' && this.#store && this.#store.readEpoch() > this.#epoch) {
      // A newer leader exists (this tab was frozen and its lock stolen): its frames may not have arrived
      // yet, but the store says so. Writing this reply's cursor could skip what the new leader has not
      // fanned out: drop it; the new leader polls from the shared cursor.
      this.#stepDown();
      this.#emitState();
      return;
    }
    if (now - this.#serverHeardAt > this.#retention()) {
      this.#raiseGap({ cursor: this.#pollCursor, age: now - this.#serverHeardAt, reason: 'retention' });
    }
    this.#serverHeardAt = now;
    this.#sessionWatch?.replied();
    const after = this.#pollCursor;
    const fresh = items.filter((item) => item.id <= 0 || item.id > after);
    let cursor = after;
    for (const item of fresh) if (item.id > cursor) cursor = item.id;
    if (cursor !== this.#pollCursor || now - this.#cursorTouchedAt >= CURSOR_TOUCH_INTERVAL) {
      this.#pollCursor = cursor;
      this.#cursorTouchedAt = now;
      // Before the fan-out, in the same task: a crash cannot fall between the two.
      this.#store?.writeCursor({ id: cursor, at: now });
    }
    if (fresh.length === 0) return;
    if (this.#role === 'leader') this.#post({ type: 'batch', items: fresh, cursor, after });
    this.#deliver(fresh);
  }

  /** The server's ids restarted below the cursor: every tab forgets what it delivered, and hears of the gap. */
  #reset(): void {
    this.#raiseGap({ cursor: this.#pollCursor, age: 0, reason: 'reset' });
    this.#pollCursor = 0;
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
    if (error.fatal) return this.#halt(error);
    this.#report(error);
    this.#sessionWatch?.afterError();
  }

  /** A fatal error in this tab: every tab of the scope hears of it and stops. */
  #halt(error: TabBusError): void {
    this.#post({ type: 'halt', code: error.code, message: error.message });
    this.#fail(error);
  }

  /** Reports a fatal error here and stops this tab. */
  #fail(error: TabBusError): void {
    this.#report(error);
    if (error.code === 'session_expired' || error.code === 'outdated') this.#events.emit(error.code, error);
    this.#shutdown(false);
  }

  #onFrame(data: unknown): void {
    if (!this.#running) return;
    const check = checkFrame<Item>(data, this.#scope);
    if (!check.ok) {
      this.#counters.ignored++;
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
      this.#watch?.heard();
    } else if (frame.type === 'halt' && frame.epoch < this.#epoch && frame.code !== 'session_expired') {
      // A connection error seen in an older term (a leader that thawed after being replaced): stale news.
      // An expired session is news whatever the term: the cookie is shared (and a tab that just started
      // may not know the current epoch yet).
      this.#counters.fenced++;
      return;
    } else if (frame.epoch > this.#epoch) {
      // A tab knows a newer term than ours: some other tab leads now.
      if (this.#role === 'leader') this.#stepDown();
      this.#epoch = frame.epoch;
      this.#leaderId = null;
    }
    try {
      this.#handle(frame);
    } catch {
      // A frame of our version but not of our shape (another page's bug): it must not break this tab.
      this.#counters.ignored++;
    }
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
        if (frame.tab.id === this.#leaderId) this.#maybeClaim();
        break;
      }
      case 'bye':
        if (frame.tab === this.#tabId) return;
        this.#liveness?.unwatch(frame.tab);
        if (this.#registry.remove(frame.tab)) this.#unionChanged();
        break;
      case 'lead':
        // Without lifetime locks a dead tab stays in the map: start over from the tabs that answer this
        // term's `lead` (they all say hello, to everyone), as the new leader does.
        if (!this.#liveness) this.#registry.retainOnly(this.#tabId);
        // Tabs that started before anyone led got no welcome: this is how they learn the leader's info.
        if (this.#registry.upsert(frame.tab)) this.#unionChanged();
        this.#transportState = 'connecting';
        this.#post({ type: 'hello', tab: this.#selfInfo() });
        break;
      case 'welcome':
        if (frame.to !== this.#tabId) return;
        for (const tab of frame.tabs) if (tab.id !== this.#tabId) this.#registry.upsert(tab);
        this.#transportState = frame.transport;
        this.#checkBehind(frame.cursor);
        this.#maybeClaim();
        break;
      case 'batch':
        if (this.#delivery.synced && frame.after > this.#delivery.watermark) {
          // Batches went missing here (a debugger pause, a frozen page): delivering this one would skip
          // them for good. Drop it and ask the leader to poll again from our watermark; the replay
          // brings this batch too, in order, and the other tabs drop what they already have.
          this.#requestResync(frame.after);
          return;
        }
        this.#deliver(frame.items);
        return;
      case 'resync':
        if (leading && frame.cursor < this.#pollCursor) {
          this.#pollCursor = frame.cursor;
          this.#transport?.refresh();
        }
        return;
      case 'status':
        this.#transportState = frame.transport;
        break;
      case 'gap':
        this.#onGap(frame);
        break;
      case 'probe':
        if (leading) this.#post({ type: 'alive', cursor: this.#pollCursor });
        return;
      case 'claim':
        if (leading) this.#yieldTo(frame.from);
        return;
      case 'yield':
        if (frame.to === this.#tabId && this.#role === 'follower' && this.#election?.steal) {
          this.#election.steal(() => this.#lead(this.#generation), () => this.#lost(this.#generation));
        }
        break;
      case 'activity':
        this.#latestInput = Math.max(this.#latestInput, frame.at);
        return;
      case 'shared':
        this.#applyShared(frame.key, { value: frame.value, at: frame.at, tab: frame.from });
        return;
      case 'once':
        this.#onceRan(frame.key);
        return;
      case 'alive':
        this.#checkBehind(frame.cursor);
        return;
      case 'halt':
        this.#fail(new TabBusError(frame.code as TabBusError['code'], frame.message.replace(/^tabbus: /, ''), { fatal: true, context: { from: frame.from } }));
        return;
    }
    this.#emitState();
  }

  /**
   * The leader's cursor is ahead of what this tab delivered: batches were lost on the way (a page paused
   * in the debugger drops them, for one) and, with no batch coming, nothing else would show it.
   */
  #checkBehind(leaderCursor: number): void {
    if (this.#delivery.synced && leaderCursor > this.#delivery.watermark) this.#requestResync(leaderCursor);
  }

  /** Asks for a replay from this tab's watermark, and again each interval until it reaches `upTo`. */
  #requestResync(upTo: number): void {
    this.#resyncUpTo = Math.max(this.#resyncUpTo, upTo);
    if (this.#resyncTimer !== undefined) return;
    const ask = (): void => {
      this.#resyncTimer = undefined;
      if (!this.#running || this.#role !== 'follower' || this.#delivery.watermark >= this.#resyncUpTo) return;
      this.#post({ type: 'resync', cursor: this.#delivery.watermark });
      this.#resyncTimer = this.#env.setTimeout(ask, RESYNC_INTERVAL);
    };
    ask();
  }

  readonly #onTabGone = (tabId: string): void => {
    if (!this.#running || this.#role !== 'leader') return;
    this.#post({ type: 'bye', tab: tabId });
    if (this.#registry.remove(tabId)) this.#unionChanged();
    this.#emitState();
  };

  /** The leader noticed a gap: tell every tab (frames before the batch that follows), then itself. */
  #raiseGap(gap: GapEvent): void {
    this.#post({ type: 'gap', ...gap });
    this.#onGap(gap);
  }

  /**
   * A retention gap concerns only tabs old enough to have missed something: a page loaded since has fresh
   * state. A reset concerns every tab, and the ids it delivered mean nothing any more.
   */
  #onGap(gap: GapEvent): void {
    const event = { cursor: gap.cursor, age: gap.age, reason: gap.reason };
    if (gap.reason === 'reset') {
      this.#delivery = new Delivery(0, true);
      this.#events.emit('gap', event);
    } else if (this.#env.now() - this.#startedAt >= this.#retention()) {
      this.#events.emit('gap', event);
    }
  }

  /** The tab map changed: maybe the union of channels, maybe whether any tab is visible. */
  #paceChanged(): void {
    const pace = this.#pace();
    const wasPaused = this.#lastPace > 0;
    this.#lastPace = pace;
    // A tab became visible while the leader pauses between polls: catch up now.
    if (wasPaused && pace === 0) this.#transport?.refresh();
    if (wasPaused !== pace > 0) this.#transport?.paceChanged?.();
  }

  #pace(): number {
    const visible = this.#role === 'solo' ? (this.#env.page?.visible() ?? true) : this.#registry.visibleCount > 0;
    return visible ? 0 : (this.#options.hiddenPace ?? 30_000);
  }

  #onInput(): void {
    const now = this.#env.now();
    this.#latestInput = now;
    // No timer: input itself paces the telling, at most once per interval.
    if (now - this.#inputPostedAt < INPUT_POST_INTERVAL) return;
    this.#inputPostedAt = now;
    this.#post({ type: 'activity', at: now });
  }

  #sharedRecord(key: string): SharedRecord | undefined {
    return this.#shared.get(key) ?? this.#store?.readShared(key);
  }

  /** Last writer wins: by time, then by tab id, so every tab settles on the same value. */
  #applyShared(key: string, record: SharedRecord): void {
    const current = this.#sharedRecord(key);
    if (current && (current.at > record.at || (current.at === record.at && current.tab > record.tab))) return;
    this.#shared.set(key, record);
    if (record.tab === this.#tabId) this.#store?.writeShared(key, record);
    for (const listener of [...(this.#sharedListeners.get(key) ?? [])]) {
      try {
        listener(record.value);
      } catch (error) {
        this.#report(new TabBusError('handler', `a listener of shared(${JSON.stringify(key)}) threw`, { cause: error }));
      }
    }
  }

  /** `once`: claims `key` for this tab unless some tab of the scope already ran it. */
  #claimOnce(key: string): boolean {
    if (this.#onceDone.has(key)) return false;
    const store = this.#store;
    let claimed: boolean | undefined;
    if (store?.usable) {
      claimed = store.claimOnce(key, this.#env.now(), ONCE_TTL);
      // A write that failed (a full storage) proves nothing to the other tabs: fall back below.
      if (!store.usable) claimed = undefined;
    }
    // Nothing shared to agree on: the tab that owns the connection runs the effects, each key once.
    claimed ??= this.#role === 'leader' || this.#role === 'solo';
    if (claimed) {
      this.#onceRan(key);
      // localStorage reaches the other tabs late (and a crash can lose a write): tell them directly too.
      this.#post({ type: 'once', key });
    }
    return claimed;
  }

  /** Remembers a key that ran in some tab; bounded, the oldest keys go first (a Set keeps insertion order). */
  #onceRan(key: string): void {
    this.#onceDone.add(key);
    if (this.#onceDone.size > 5000) this.#onceDone.delete(this.#onceDone.values().next().value!);
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
    this.#stoppedAt = this.#env.now();
    this.#running = false;
    if (sayBye) this.#post({ type: 'bye', tab: this.#tabId });
    this.#closeTransport('idle');
    this.#liveness?.unwatchAll();
    this.#liveness?.release();
    this.#election?.resign();
    this.#election?.close?.();
    this.#channel?.close();
    this.#watch?.set(false);
    this.#env.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    this.#resyncUpTo = 0;
    this.#channel = this.#election = this.#liveness = this.#watch = undefined;
    this.#role = 'stopped';
    this.#leaderId = null;
    this.#registry = new TabRegistry();
    this.#emitState();
  }

  #post(body: DistributiveOmit<Frame<Item>, 'v' | 'scope' | 'epoch' | 'from'>): void {
    this.#channel?.post({ v: FRAME_VERSION, scope: this.#scope, epoch: this.#epoch, from: this.#tabId, ...body });
  }

  #report(error: TabBusError): void {
    this.#lastError = { code: error.code, message: error.message, at: this.#env.now() };
    if (this.#events.count('error') > 0) this.#events.emit('error', error);
    else console.warn(error);
  }

  /** Publishes the new state; also where the leader watch follows role and visibility. */
  #emitState(): void {
    const from = this.#transition?.to ?? 'stopped';
    if (from !== this.#role) this.#transition = { from, to: this.#role, reason: this.#role === 'solo' ? this.#modeReason : `epoch ${this.#epoch}`, at: this.#env.now() };
    this.#watch?.set(this.#running && this.#role === 'follower' && (this.#env.page?.visible() ?? true));
    this.#paceChanged();
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

const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-';
/** 10 random characters of 64: 60 bits, plenty for the tabs of one browser. */
const tabIdOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => ID_ALPHABET[b & 63]).join('');

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Creates a bus (not started: call `start()`). */
export function createBus<Item extends BusItem>(options: BusOptions<Item>): TabBus<Item> {
  return new TabBus(options);
}
