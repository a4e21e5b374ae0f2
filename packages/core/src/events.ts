import type { TabBusError } from './errors';
import type { BusState } from './state';
import type { BusItem } from './transport';

/** Notifications may have been lost (the `gap` event). */
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

/** The events of a bus and what each listener gets (`bus.on(event, listener)`). */
export interface BusEvents<Item extends BusItem> {
  /** Notifications for this tab, each id once, in id order. */
  notification: readonly Item[];
  /** Something `state()` shows changed: the new snapshot. */
  state: BusState;
  /** An error; `fatal` ones stopped the bus (see TabBusError). */
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
