// Queued faults: "the next n requests to this route get a bad reply instead of their answer", so
// a test can check what a client does with replies a real deployment sends now and then (a proxy's
// HTML page, a worker killed mid-reply, a server error). Only the queue lives here; how each kind
// is written is in fault-replies.ts.

/** The bad replies POST /tabbus/fault can make the next requests get (see the README's dev routes). */
export const FAULT_KINDS = [
  'invalid_json',
  'not_a_list',
  'missing_id',
  'html_400',
  'empty_close',
  'http_500',
  'huge',
  'rpc_error',
] as const;

/** One of {@link FAULT_KINDS}. */
export type FaultKind = (typeof FAULT_KINDS)[number];

export const isFaultKind = (value: unknown): value is FaultKind => FAULT_KINDS.includes(value as FaultKind);

export interface QueuedFault {
  readonly route: string;
  readonly kind: FaultKind;
  /** Requests still to fault. */
  readonly count: number;
}

export class FaultQueue {
  // In the order they were queued: for one route, earlier entries are served first.
  #entries: { route: string; kind: FaultKind; count: number }[] = [];

  add(route: string, kind: FaultKind, count: number): void {
    this.#entries.push({ route, kind, count });
  }

  /** The fault the next request to `route` gets, if any; uses it up. */
  take(route: string): FaultKind | undefined {
    const index = this.#entries.findIndex((entry) => entry.route === route);
    if (index === -1) return undefined;
    const entry = this.#entries[index]!;
    if (--entry.count === 0) this.#entries.splice(index, 1);
    return entry.kind;
  }

  list(): QueuedFault[] {
    return this.#entries.map((entry) => ({ ...entry }));
  }

  /** Drops every queued fault; returns how many requests would have been faulted. */
  clear(): number {
    const dropped = this.#entries.reduce((sum, entry) => sum + entry.count, 0);
    this.#entries = [];
    return dropped;
  }
}
