import type { TabBusError } from './errors';

/** The shortest spell without input in any tab after which the transport hears the user is back, in ms. */
export const BACK_AFTER = 60_000;

/** Anything a transport delivers: the server's notification id is all the bus needs to know. */
export interface BusItem {
  /** Server-wide id; increases with every notification. Ids ≤ 0 are pseudo-notifications (never deduplicated). */
  readonly id: number;
}

/**
 * - `idle`: created, not started;
 * - `connecting`: a request or socket is on its way;
 * - `open`: connected (a long-poll is held or a socket is open);
 * - `paused`: deliberately waiting between requests (pacing);
 * - `backoff`: waiting after an error before the next attempt;
 * - `offline`: the browser is offline; the bus reconnects the moment it is back;
 * - `closed`: stopped for good.
 */
export type TransportState = 'idle' | 'connecting' | 'open' | 'paused' | 'backoff' | 'offline' | 'closed';

/** What the bus gives a transport: it pulls the current values whenever it builds a request. */
export interface TransportSink<Item extends BusItem> {
  /** The last notification id delivered; the server sends what comes after it. */
  cursor(): number;
  /** The sorted union of every tab's channels. */
  channels(): readonly string[];
  /** Milliseconds since the user's latest input in any tab, when known. */
  inactivity(): number | undefined;
  /**
   * How long to wait between two requests, in ms: 0 while some tab is visible (live), the hidden pace
   * while every tab is hidden. Read it after each reply; `refresh()` cuts a pause short.
   */
  pace(): number;
  /** One server reply (possibly empty). Items are in the order the server sent them. */
  receive(items: readonly Item[]): void;
  /**
   * The server's ids restarted below the cursor (a database restore, a server that lost its store): call
   * before passing the reply that shows it to `receive`. Every tab raises `gap` and forgets its ids.
   */
  reset(): void;
  /** The connection changed state. */
  status(state: TransportState): void;
  /** A request was sent (for the counters shown in `state()`). */
  request(): void;
  /** Something went wrong. Fatal errors stop the bus in every tab; others are reported and retried. */
  fail(error: TabBusError): void;
}

/**
 * A transport speaks one wire protocol and knows nothing about tabs. The bus opens one in the
 * leader tab (or in every tab in solo mode) and closes it when leadership ends.
 */
export interface Transport<Item extends BusItem> {
  /** Short name shown in `state().transportName`, e.g. `longpolling`. */
  readonly name: string;
  /** Start requesting. Called once. */
  open(sink: TransportSink<Item>): void;
  /**
   * The channels or the pace changed, or the cursor moved back (a tab asked for a replay): restart the
   * pending request (or re-subscribe), or end the pause, promptly.
   */
  refresh(): void;
  /**
   * `sink.pace()` changed (every tab hidden, or one visible again). Optional: a long-poll reads the pace
   * after each reply; a socket, which has nothing to slow, may close while nobody looks.
   */
  paceChanged?(): void;
  /**
   * The user is back: input in some tab after `idleFor` ms without any in every tab of the scope (called for
   * spells of {@link BACK_AFTER} or more, with presence input on). Optional: a transport that tells the
   * server of presence at intervals may tell it now (Odoo 16+ sends at once when a user comes back from away).
   */
  userBack?(idleFor: number): void;
  /** Stop for good; abort what is in flight. Called once. */
  close(): void;
  /**
   * The channel an item was sent on, when the wire says it (Odoo ≤ 14). Tabs then deliver only items
   * of channels they joined. `undefined` means "every tab": Odoo 15+ items carry no channel.
   */
  channelOf?(item: Item): string | undefined;
}

/** Builds a fresh transport for each leadership term. */
export type TransportFactory<Item extends BusItem> = () => Transport<Item>;
