import type { TabBusError } from './errors';
import type { Role, Transition } from './machine';
import type { Mode } from './mode';
import type { TabInfo } from './tabs';
import type { BusItem, TransportState } from './transport';

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
  /** The latest change of role and why it happened (`null` before the first start). */
  readonly transition: Transition | null;
  readonly tabId: string;
  /** The tab that owns the connection, when known. */
  readonly leaderId: string | null;
  /** The newest leadership term this tab knows of. */
  readonly epoch: number;
  /** The highest notification id this tab delivered. */
  readonly cursor: number;
  /** Open tabs of this scope that this tab knows of (itself included). */
  readonly tabs: number;
  /** Those tabs: id, channels and visibility of each, this tab included. */
  readonly tabList: readonly TabInfo[];
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
  /** Whether this tab watches the leader for a freeze: at most one visible follower does (all of them without Web Locks). */
  readonly watching: boolean;
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
