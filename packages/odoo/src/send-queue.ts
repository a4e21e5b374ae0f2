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

/** What the socket transport has to say, in order, under the server's rate limit (see {@link createSendQueue}). */
export interface SendQueue {
  /** Queues a message (replacing a queued one of the same event) and sends what can go now. */
  push(message: SocketMessage): void;
  /** A new connection: nothing has been subscribed on it yet. */
  reconnected(): void;
  /** Sends what the connection and the rate limit allow; schedules the rest. */
  flush(): void;
  /** Forgets everything (the transport closed for good). */
  clear(): void;
}

/**
 * What the socket transport has to say, in order, under the server's rate limit. Only the latest message
 * of each event matters (a subscription replaces the previous one; presence is a snapshot), so a queued
 * message is replaced by a newer one of the same event. `subscribe` goes first, and nothing else goes on a
 * connection before its first `subscribe` (the server would answer presence for channels not yet asked).
 * `write` writes one frame; it returns `false` when the socket cannot take it now.
 */
export function createSendQueue(timers: Timers, write: (text: string) => boolean): SendQueue {
  let queue: SocketMessage[] = [];
  /** When the frames of the current window went out. */
  let sentAt: number[] = [];
  let subscribed = false;
  let timer: unknown;
  /** Sends what the connection and the rate limit allow; schedules the rest. */
  const flush = (): void => {
    timers.clearTimeout(timer);
    for (let head = queue[0]; head; head = queue[0]) {
      if (!subscribed && head.event_name !== 'subscribe') return;
      const now = timers.now();
      sentAt = sentAt.filter((at) => now - at < RATE_LIMIT_WINDOW);
      if (sentAt.length >= RATE_LIMIT_FRAMES) {
        timer = timers.setTimeout(flush, sentAt[0]! + RATE_LIMIT_WINDOW - now);
        return;
      }
      if (!write(JSON.stringify(head))) return;
      queue.shift();
      sentAt.push(now);
      if (head.event_name === 'subscribe') subscribed = true;
    }
  };
  return {
    push(message) {
      queue = queue.filter((m) => m.event_name !== message.event_name);
      if (message.event_name === 'subscribe') queue.unshift(message);
      else queue.push(message);
      flush();
    },
    reconnected: () => void (subscribed = false),
    flush,
    clear() {
      timers.clearTimeout(timer);
      queue = [];
    },
  };
}
