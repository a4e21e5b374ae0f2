import type { BusEnv } from './env';
import type { BusItem, TransportFactory } from './transport';

/** What `createBus` and `new TabBus` take. */
export interface BusOptions<Item extends BusItem> {
  /**
   * What tabs must agree on to share a connection: server URL + database + user. Tabs of two scopes never
   * share a leader, a channel or a cursor. A function is called on every `start()` (to ask the server who
   * is logged in, say); if it rejects, `start()` rejects with its error.
   */
  scope: string | (() => Promise<string>);
  /** Builds the connection; called in the leader at the start of each term (in every tab in solo mode). */
  transport: TransportFactory<Item>;
  /** Channels this tab joins from the start (a single string is one channel). */
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
   * How long the leader may stay silent, a probe unanswered, before the watching follower (one visible tab)
   * takes the connection over, in ms: a frozen leader keeps its Web Locks. A frozen leader is replaced
   * within 4/3 of this; while all is quiet the watcher probes once per `leaderTimeout`. Default 3000; 0
   * turns the check off.
   */
  leaderTimeout?: number;
  /**
   * Asks the server whether the session is still valid; rejects with a `session_expired` TabBusError when
   * not. The leader calls it every `sessionCheckInterval`, counted across terms from the last check that
   * passed (a new leader that knows of none calls it at once), after transport errors and when the browser
   * is back online.
   */
  checkSession?: () => Promise<void>;
  /**
   * How often the leader calls `checkSession` while all is well, in ms. Default 300 000 (5 min); 0: at the
   * start of each term, after errors and back online only.
   */
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
