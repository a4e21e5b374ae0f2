// The lifecycle first: the bundles then keep the parts in the order they had in one module (gzip likes it).
import { createCore, type Core } from './lifecycle';
import { TabBusError } from './errors';
import type { BusEvents } from './events';
import { need, type BusFeatures } from './features';
import type { BusOptions } from './options';
import type { SharedValue } from './shared';
import type { BusState } from './state';
import type { BusItem } from './transport';

/** Hooks for tests of the bus itself; not part of the API. */
export const TEST_HOOKS = Symbol.for('tabbus.testHooks');

/**
 * One tab's view of the scope's bus. A facade: the parts do the work (the term, the leader's link,
 * delivery, the roster, the page and the optional features, which reach each other through the hub),
 * and the role machine holds the role.
 */
export class TabBus<Item extends BusItem> {
  // One private field: the state lives in createCore's closure, whose names a minifier can shorten.
  readonly #core: Core<Item>;

  constructor(options: BusOptions<Item>, features: BusFeatures = {}) {
    this.#core = createCore(options, features, () => this.start());
  }

  /** Listens to `notification`, `state`, `error`, `gap`, `session_expired` or `outdated`; returns the function that stops listening. */
  on<K extends keyof BusEvents<Item> & string>(event: K, listener: (value: BusEvents<Item>[K]) => void): () => void {
    return this.#core.events.on(event, listener);
  }

  /** This tab's id. */
  get tabId(): string {
    return this.#core.hub.tabId;
  }

  /** A snapshot of the bus as this tab sees it. */
  state(): BusState {
    return this.#core.state();
  }

  /**
   * Runs `fn` in exactly one tab of the scope per `key`, whichever tab calls first: every tab may call it
   * for the same notification (`once('sound:' + id, play)`), including a tab that gets it again after a
   * failover. Resolves with whether `fn` ran here. Keys are remembered for 150 s (longer than any replay). Without usable
   * localStorage only the leader runs effects.
   */
  once(key: string, fn: () => void): Promise<boolean> {
    return need(this.#core.hub.once, 'once').run(key, fn);
  }

  /** The shared value `key` (see SharedValue). */
  shared<T>(key: string): SharedValue<T> {
    return need(this.#core.hub.shared, 'shared').value<T>(key);
  }

  /**
   * Leader only: hands the connection to the next tab in line, which resumes from the shared cursor;
   * this tab stays on as a follower. Returns false when this tab does not lead.
   */
  handoff(): boolean {
    return this.#core.hub.term.handoff();
  }

  /**
   * Tells every tab of the scope that the session ended (the application saw it expire on its own RPCs,
   * or the user logged out): each emits `session_expired` once and stops. `context` goes with the error
   * to every tab, e.g. `{ reason: 'logout' }`. Call `start()` after logging in again.
   */
  sessionExpired(detail = 'the application saw the session expire; log in again', context: Record<string, unknown> = {}): void {
    const core = this.#core;
    if (core.hub.machine.role !== 'stopped') core.halt(new TabBusError('session_expired', detail, { fatal: true, context }));
  }

  /**
   * Test hooks, not part of the API: `forceLead()` makes this tab lead now, without the election (two leaders
   * at once); `sizes()` counts the entries of the bus's own collections (a leak check).
   * @internal
   */
  get [TEST_HOOKS](): { forceLead(): void; sizes(): Record<string, number> } {
    const { hub, events } = this.#core;
    const { machine, term, roster, once, shared, joined } = hub;
    const sizes = () => ({ tabs: roster.tabs.size, once: once?.size ?? 0, shared: shared?.size ?? 0, joined: joined.size, listeners: events.total });
    return { forceLead: () => machine.role !== 'stopped' && term.force(), sizes };
  }

  /** Channels this tab joined. */
  channels(): string[] {
    return [...this.#core.hub.joined].sort();
  }

  /** Joins a channel. The leader restarts its request with the new union. */
  addChannel(name: string): void {
    if (this.#core.join(name)) this.#core.announce();
  }

  /** Leaves a channel. The leader stops listening to it once no tab has it. */
  deleteChannel(name: string): void {
    if (this.#core.hub.joined.delete(name)) this.#core.announce();
  }

  /**
   * Starts the bus: joins the other tabs of the scope and elects a leader. Resolves once this tab takes
   * part (it may be a follower); rejects if the scope cannot be resolved. Calling it again is harmless.
   */
  start(): Promise<void> {
    return this.#core.start();
  }

  /** Stops the bus in this tab: leaves the other tabs and closes the connection if this tab had it. */
  stop(): Promise<void> {
    return this.#core.stop();
  }
}
