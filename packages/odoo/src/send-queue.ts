/** A message to Odoo's `/websocket`: `{event_name, data}`. */
export interface SocketMessage {
  readonly event_name: string;
  readonly data: unknown;
}

/**
 * Frames sent per window. Odoo closes a socket with 1013 past 10 frames in 2 s
 * (`websocket_rate_limit_burst` × `websocket_rate_limit_delay`); tabbus keeps two spare.
 */
export const RATE_LIMIT_FRAMES = 8;
export const RATE_LIMIT_WINDOW = 2000;

interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * What the socket transport has to say, in order, under the server's rate limit. Only the latest message
 * of each event matters (a subscription replaces the previous one; presence is a snapshot), so a queued
 * message is replaced by a newer one of the same event. `subscribe` goes first, and nothing else goes on a
 * connection before its first `subscribe` (the server would answer presence for channels not yet asked).
 */
export class SendQueue {
  readonly #timers: Timers;
  /** Writes one frame; `false` when the socket cannot take it now. */
  readonly #write: (text: string) => boolean;
  #queue: SocketMessage[] = [];
  /** When the frames of the current window went out. */
  #sentAt: number[] = [];
  #subscribed = false;
  #timer: unknown;

  constructor(timers: Timers, write: (text: string) => boolean) {
    this.#timers = timers;
    this.#write = write;
  }

  push(message: SocketMessage): void {
    this.#queue = this.#queue.filter((m) => m.event_name !== message.event_name);
    if (message.event_name === 'subscribe') this.#queue.unshift(message);
    else this.#queue.push(message);
    this.flush();
  }

  /** A new connection: nothing has been subscribed on it yet. */
  reconnected(): void {
    this.#subscribed = false;
  }

  /** Sends what the connection and the rate limit allow; schedules the rest. */
  flush(): void {
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let head = this.#queue[0]; head; head = this.#queue[0]) {
      if (!this.#subscribed && head.event_name !== 'subscribe') return;
      const now = this.#timers.now();
      this.#sentAt = this.#sentAt.filter((at) => now - at < RATE_LIMIT_WINDOW);
      if (this.#sentAt.length >= RATE_LIMIT_FRAMES) {
        this.#timer = this.#timers.setTimeout(() => this.flush(), this.#sentAt[0]! + RATE_LIMIT_WINDOW - now);
        return;
      }
      if (!this.#write(JSON.stringify(head))) return;
      this.#queue.shift();
      this.#sentAt.push(now);
      if (head.event_name === 'subscribe') this.#subscribed = true;
    }
  }

  /** Forgets everything (the transport closed for good). */
  clear(): void {
    this.#timers.clearTimeout(this.#timer);
    this.#queue = [];
  }
}
