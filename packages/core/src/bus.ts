import { createDelivery } from './delivery';
import { createEmitter, type Emitter } from './emitter';
import { browserEnv, type FrameChannel } from './env';
import { plainData, TabBusError } from './errors';
import type { BusEvents } from './events';
import { buildFeatures, need, type BusFeatures } from './features';
import { FRAME_VERSION } from './frames';
import type { Hub } from './hub';
import { duties, watchLeader } from './leader-watch';
import { createLink } from './link';
import { createMachine } from './machine';
import { coordinate, type Mode } from './mode';
import type { BusOptions } from './options';
import { watchPage, type PageWatch } from './page';
import { createRoster } from './roster';
import { createRouter } from './router';
import type { SharedValue } from './shared';
import { createStore } from './shared-store';
import { snapshot, type BusState, type LastError } from './state';
import { newTabId } from './tabs';
import { createTerm } from './term';
import type { BusItem } from './transport';

/** Hooks for tests of the bus itself; not part of the API. */
export const TEST_HOOKS = Symbol.for('tabbus.testHooks');

/**
 * One tab's view of the scope's bus. A facade: the parts do the work (the term, the leader's link,
 * delivery, the roster, the page and the optional features, which reach each other through the hub),
 * and the role machine holds the role.
 */
export class TabBus<Item extends BusItem> {
  readonly #hub: Hub<Item>;
  readonly #events: Emitter<BusEvents<Item>>;
  readonly #page: PageWatch;
  /** Takes each frame from the channel to the parts. */
  readonly #receive: (data: unknown) => void;
  #mode: Mode = 'solo';
  #modeReason = 'not started';
  #channel: FrameChannel | undefined;
  /** Bumped by every start and stop, so a slow start that was overtaken by `stop()` gives up. */
  #generation = 0;
  #starting: Promise<void> | undefined;
  /** When this tab last stopped: a restart after longer than the retention has missed notifications. */
  #stoppedAt = 0;
  #lastError: LastError | null = null;
  /** Set by the first `start()` or `stop()`: an auto-start still pending then does nothing. */
  #touched = false;

  constructor(options: BusOptions<Item>, features: BusFeatures = {}) {
    const env = { ...browserEnv(), ...options.env };
    const events = (this.#events = createEmitter<BusEvents<Item>>());
    const tabId = newTabId();
    const hub = (this.#hub = {
      env, options, tabId,
      machine: createMachine(env.now),
      counters: { requests: 0, batches: 0, delivered: 0, fenced: 0, ignored: 0, steals: 0 },
      retention: options.retention ?? 100_000,
      joined: new Set<string>(),
      // Set by each start; the watch only where a frozen leader can be replaced.
      scope: '', store: undefined, startedAt: 0, watch: undefined,
      post: (body) => this.#channel?.post({ v: FRAME_VERSION, scope: hub.scope, epoch: hub.term.epoch, from: tabId, ...body }),
      emit: (event, value) => events.emit(event, value),
      report: (error) => this.#report(error), halt: (error) => this.#halt(error), changed: () => this.#changed(),
      visible: () => env.page?.visible() ?? true,
      self: () => ({ id: tabId, channels: this.channels(), visible: hub.visible() }),
    } as Omit<Hub<Item>, 'roster' | 'term' | 'link' | 'delivery' | 'activity' | 'once' | 'shared'> as Hub<Item>);
    const parts = {
      roster: createRoster(hub),
      term: createTerm(hub),
      link: createLink(hub),
      delivery: createDelivery(hub),
      ...buildFeatures(features, hub),
    };
    Object.assign(hub, parts);
    this.#receive = createRouter(hub, Object.values(parts), (error) => this.#fail(error));
    this.#page = watchPage(env.page, {
      running: () => hub.machine.role !== 'stopped',
      visibility: () => {
        this.#announce();
        hub.term.claim();
      },
      input: () => hub.activity?.input(),
      network: (online) => hub.link.network(online),
      leave: () => {
        // The leader lock alone first, so the goodbye queued behind its release does not delay the next tab.
        hub.term.leave();
        queueMicrotask(() => this.#shutdown(true, 'pagehide'));
      },
      back: () => void this.start().catch(() => undefined),
    });
    for (const channel of options.channels ?? []) this.#join(channel);
    if (options.autoStart) queueMicrotask(() => this.#touched || void this.start().catch(() => undefined));
  }

  /** Listens to `notification`, `state`, `error`, `gap`, `session_expired` or `outdated`; returns the function that stops listening. */
  on<K extends keyof BusEvents<Item> & string>(event: K, listener: (value: BusEvents<Item>[K]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** This tab's id. */
  get tabId(): string {
    return this.#hub.tabId;
  }

  /** A snapshot of the bus as this tab sees it. */
  state(): BusState {
    return snapshot(this.#hub, this.#mode, this.#modeReason, this.#lastError);
  }

  /**
   * Runs `fn` in exactly one tab of the scope per `key`, whichever tab calls first: every tab may call it
   * for the same notification (`once('sound:' + id, play)`), including a tab that gets it again after a
   * failover. Resolves with whether `fn` ran here. Keys are remembered for 150 s (longer than any replay). Without usable
   * localStorage only the leader runs effects.
   */
  once(key: string, fn: () => void): Promise<boolean> {
    return need(this.#hub.once, 'once').run(key, fn);
  }

  /** The shared value `key` (see SharedValue). */
  shared<T>(key: string): SharedValue<T> {
    return need(this.#hub.shared, 'shared').value<T>(key);
  }

  /**
   * Leader only: hands the connection to the next tab in line, which resumes from the shared cursor;
   * this tab stays on as a follower. Returns false when this tab does not lead.
   */
  handoff(): boolean {
    return this.#hub.term.handoff();
  }

  /**
   * Tells every tab of the scope that the session ended (the application saw it expire on its own RPCs,
   * or the user logged out): each emits `session_expired` once and stops. `context` goes with the error
   * to every tab, e.g. `{ reason: 'logout' }`. Call `start()` after logging in again.
   */
  sessionExpired(detail = 'the application saw the session expire; log in again', context: Record<string, unknown> = {}): void {
    if (this.#hub.machine.role !== 'stopped') this.#halt(new TabBusError('session_expired', detail, { fatal: true, context }));
  }

  /**
   * Test hooks, not part of the API: `forceLead()` makes this tab lead now, without the election (two leaders
   * at once); `sizes()` counts the entries of the bus's own collections (a leak check).
   * @internal
   */
  get [TEST_HOOKS](): { forceLead(): void; sizes(): Record<string, number> } {
    const { machine, term, roster, once, shared, joined } = this.#hub;
    const sizes = () => ({ tabs: roster.tabs.size, once: once?.size ?? 0, shared: shared?.size ?? 0, joined: joined.size, listeners: this.#events.total });
    return { forceLead: () => machine.role !== 'stopped' && term.force(), sizes };
  }

  /** Channels this tab joined. */
  channels(): string[] {
    return [...this.#hub.joined].sort();
  }

  /** Joins a channel. The leader restarts its request with the new union. */
  addChannel(name: string): void {
    if (this.#join(name)) this.#announce();
  }

  /** Leaves a channel. The leader stops listening to it once no tab has it. */
  deleteChannel(name: string): void {
    if (this.#hub.joined.delete(name)) this.#announce();
  }

  /**
   * Starts the bus: joins the other tabs of the scope and elects a leader. Resolves once this tab takes
   * part (it may be a follower); rejects if the scope cannot be resolved. Calling it again is harmless.
   */
  start(): Promise<void> {
    this.#touched = true;
    if (this.#hub.machine.role !== 'stopped') return this.#starting ?? Promise.resolve();
    this.#hub.machine.to('joining', 'start');
    this.#page.start();
    const starting = this.#boot(++this.#generation).finally(() => {
      if (this.#starting === starting) this.#starting = undefined;
    });
    return (this.#starting = starting);
  }

  /** Stops the bus in this tab: leaves the other tabs and closes the connection if this tab had it. */
  stop(): Promise<void> {
    this.#touched = true;
    this.#page.stop();
    if (this.#hub.machine.role !== 'stopped') this.#shutdown(true, 'stop');
    return Promise.resolve();
  }

  async #boot(generation: number): Promise<void> {
    const hub = this.#hub;
    const { env, options, machine } = hub;
    let scope: string;
    try {
      scope = typeof options.scope === 'string' ? options.scope : await options.scope();
    } catch (cause) {
      const error = cause instanceof TabBusError ? cause : new TabBusError('config', 'could not resolve the scope', { cause, fatal: true });
      if (generation === this.#generation) {
        this.#report(error);
        this.#shutdown(false, 'no scope');
      }
      throw error;
    }
    if (generation !== this.#generation) return;
    hub.scope = scope;
    hub.startedAt = env.now();
    const prefix = `tabbus:${scope}:`;
    const broken = (cause: unknown) => this.#report(new TabBusError('storage', 'localStorage failed; the cursor is kept in memory only', { cause }));
    hub.store = createStore(env.storage, prefix, broken);
    hub.delivery.restore(hub.store.readCursor()?.id ?? 0, this.#stoppedAt);
    hub.roster.reset();
    const found = await coordinate(env, prefix, hub.tabId, options.coordination === 'none', this.#receive);
    if (generation !== this.#generation) {
      found.liveness?.release();
      return found.channel?.close();
    }
    this.#mode = found.mode;
    this.#modeReason = found.reason;
    this.#channel = found.channel;
    if (!found.election) {
      machine.to('solo', found.reason);
      hub.term.leaderId = hub.tabId;
      hub.link.begin();
      return this.#changed();
    }
    if (found.liveness) hub.roster.useLifetimes(found.liveness);
    const timeout = options.leaderTimeout ?? 3000;
    // A frozen leader is found by the watcher and replaced by a steal, in every election that can.
    if (found.election.steal && timeout > 0) hub.watch = watchLeader(env, timeout, () => hub.post({ type: 'probe' }), () => hub.term.steal());
    machine.to('follower', 'joined');
    hub.roster.announce(true);
    hub.term.join(found.election, !!found.liveness);
    this.#changed();
  }

  /** This tab's own entry changed (channels, visibility): tell the others. */
  #announce(): void {
    if (this.#hub.machine.role === 'stopped' || !this.#hub.scope) return;
    this.#hub.roster.announce();
    this.#changed();
  }

  /** A fatal error in this tab: every tab of the scope hears of it (with its context, as plain data) and stops. */
  #halt(error: TabBusError): void {
    this.#hub.post({ type: 'halt', code: error.code, message: error.message, context: plainData(error.context) });
    this.#fail(error);
  }

  /** Reports a fatal error here and stops this tab. */
  #fail(error: TabBusError): void {
    this.#report(error);
    if (error.code === 'session_expired' || error.code === 'outdated') this.#events.emit(error.code, error);
    if (this.#hub.machine.role !== 'stopped') this.#shutdown(false, error.code);
  }

  #shutdown(sayBye: boolean, reason: string): void {
    const hub = this.#hub;
    this.#generation++;
    this.#stoppedAt = hub.env.now();
    // The connection and the leader lock go first: the next tab in line is granted the lock by the
    // browser while this one still says goodbye, and a failover's gap is the time to its first request.
    hub.link.end();
    hub.term.leave();
    if (sayBye) hub.post({ type: 'bye', tab: hub.tabId });
    hub.roster.release();
    this.#channel?.close();
    this.#channel = undefined;
    hub.watch?.set(false);
    hub.watch = undefined;
    hub.delivery.stop();
    hub.machine.to('stopped', reason);
    hub.roster.tabs.clear();
    this.#changed();
  }

  #report(error: TabBusError): void {
    this.#lastError = { code: error.code, message: error.message, at: this.#hub.env.now() };
    if (this.#events.count('error') > 0) this.#events.emit('error', error);
    else console.warn(error);
  }

  /** Something `state()` shows may have changed: who watches whom, the pace, then the `state` event. */
  #changed(): void {
    const hub = this.#hub;
    const { watching, follow } = duties(hub, this.#mode === 'locks');
    hub.watch?.set(watching);
    hub.roster.track(follow);
    hub.link.paceChanged();
    if (this.#events.count('state') > 0) this.#events.emit('state', this.state());
  }

  #join(name: string): boolean {
    if (typeof name !== 'string' || !name) throw new TabBusError('config', `a channel must be a non-empty string, got ${JSON.stringify(name)}`);
    const { joined } = this.#hub;
    return joined.size < joined.add(name).size;
  }
}
