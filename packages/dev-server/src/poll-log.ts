// When each poll (8–15) or `subscribe` frame (16+, what a socket sends first) arrived, in wall-clock time, for failover measurements: a test (or a page)
// compares these times with its own Date.now(), so they come from Date.now() and not from the
// server's movable clock. Only the newest entries are kept.

/** One long-poll (or, on 16+, one `subscribe` frame) as it reached the server: what GET /tabbus/polls lists. */
export interface PollArrival {
  /** Date.now() when the request arrived (before its body was read). */
  readonly at: number;
  /** First 8 characters of the session the request came with; null when it had no known session. */
  readonly session: string | null;
  /** The `last` parameter as sent (null when missing). */
  readonly last: unknown;
  /** How many channel names the client sent (0 when `channels` is not a list). */
  readonly channels: number;
}

export const POLL_LOG_SIZE = 5000;

export class PollLog {
  readonly #capacity: number;
  // A ring: once full, `#next` is both where the next entry goes and the oldest entry.
  readonly #entries: PollArrival[] = [];
  #next = 0;

  constructor(capacity = POLL_LOG_SIZE) {
    this.#capacity = capacity;
  }

  record(arrival: PollArrival): void {
    if (this.#entries.length < this.#capacity) this.#entries.push(arrival);
    else this.#entries[this.#next] = arrival;
    this.#next = (this.#next + 1) % this.#capacity;
  }

  /** Entries that arrived at or after `since` (epoch ms), oldest first. */
  since(since: number): PollArrival[] {
    const ordered = this.#entries.length < this.#capacity ? this.#entries : [...this.#entries.slice(this.#next), ...this.#entries.slice(0, this.#next)];
    return ordered.filter((entry) => entry.at >= since);
  }
}
