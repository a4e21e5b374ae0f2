import { createBackoff, TabBusError, type BackoffOptions, type Transport, type TransportSink } from '@tabbus/core';
import { callJsonRpc } from './jsonrpc';
import { parsePollResult, type OdooNotification } from './notifications';
import { presenceOptions, type OdooVersion } from './versions';

/** How a {@link LongpollingTransport} reaches Odoo 8–15 (`createOdooBus` fills these from its own options). */
export interface LongpollingOptions {
  /** Server origin and path prefix, without a trailing slash ('' = this page's origin). */
  readonly serverUrl: string;
  /** The Odoo major version: the route's parameters and the shape of the items depend on it. */
  readonly version: OdooVersion;
  /** Client-side timeout of one poll, in ms. Odoo holds a poll 50 s; default 60 000. */
  readonly pollTimeout?: number;
  /** Delays between attempts after errors. */
  readonly backoff?: BackoffOptions;
  /** Largest reply accepted, in bytes. Default 16 MiB. */
  readonly maxReplyBytes?: number;
  /** The `fetch` to send polls with (to instrument requests). Default: `globalThis.fetch`. */
  readonly fetch?: typeof fetch;
  /** Whether polls carry cookies: `'include'` for a cross-origin Odoo that allows it. Default `'same-origin'`. */
  readonly credentials?: RequestCredentials;
  /**
   * Asked before each poll: a promise to wait for first (undefined: nothing to wait for). A rejection is
   * the poll's error (the session changed: a fatal one).
   */
  readonly gate?: () => Promise<void> | undefined;
  /** Timer functions (for tests). Default: the global ones. */
  readonly setTimeout?: (fn: () => void, ms: number) => unknown;
  /** Cancels a timer of {@link LongpollingOptions.setTimeout}. */
  readonly clearTimeout?: (handle: unknown) => void;
}

/** A retry poll the server has held this long without an error counts as connected, in ms. */
const HELD_AFTER = 1000;

/** Why the transport aborted its own request. */
type AbortReason = 'refresh' | 'timeout' | 'close';

/**
 * Odoo 8–15 long-polling: `POST /longpolling/poll {channels, last, options}`, held up to 50 s by the
 * server. Polls back to back while things go well; aborts and re-polls at once when the channels change;
 * backs off with jitter after errors; stops on session expiry.
 */
export class LongpollingTransport implements Transport<OdooNotification> {
  readonly name = 'longpolling';
  readonly #options: LongpollingOptions;
  readonly #backoff;
  readonly #setTimeout: (fn: () => void, ms: number) => unknown;
  readonly #clearTimeout: (handle: unknown) => void;
  #sink: TransportSink<OdooNotification> | undefined;
  #inFlight: AbortController | undefined;
  #retryTimer: unknown;
  /** Set while waiting out the pace (every tab hidden) between two polls. */
  #pauseTimer: unknown;
  #closed = false;

  constructor(options: LongpollingOptions) {
    this.#options = options;
    this.#backoff = createBackoff(options.backoff);
    this.#setTimeout = options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.#clearTimeout = options.clearTimeout ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  open(sink: TransportSink<OdooNotification>): void {
    this.#sink = sink;
    void this.#poll();
  }

  refresh(): void {
    if (this.#pauseTimer !== undefined) {
      // Pausing between polls (every tab was hidden): a tab became visible or the channels changed.
      this.#clearTimeout(this.#pauseTimer);
      this.#pauseTimer = undefined;
      void this.#poll();
      return;
    }
    // Only a held poll needs restarting; a poll waiting out a backoff will use the new channels anyway.
    this.#inFlight?.abort('refresh' satisfies AbortReason);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimeout(this.#retryTimer);
    this.#clearTimeout(this.#pauseTimer);
    this.#inFlight?.abort('close' satisfies AbortReason);
    this.#sink?.status('closed');
  }

  async #poll(): Promise<void> {
    const sink = this.#sink;
    if (this.#closed || !sink) return;
    const { version, serverUrl } = this.#options;
    const abort = new AbortController();
    this.#inFlight = abort;
    const pollTimeout = this.#options.pollTimeout ?? 60_000;
    const timeout = this.#setTimeout(() => abort.abort('timeout' satisfies AbortReason), pollTimeout);
    const url = `${serverUrl}/longpolling/poll`;
    const retrying = this.#backoff.attempts > 0;
    let held: unknown;
    try {
      const waiting = this.#options.gate?.();
      if (waiting) {
        await waiting;
        if (this.#closed) return;
      }
      const last = sink.cursor();
      // The request goes out first (after a failover, the gap is the time to it); then the bus hears of it.
      const reply = callJsonRpc({
        fetch: this.#options.fetch ?? globalThis.fetch.bind(globalThis),
        url,
        params: { channels: [...sink.channels()], last, options: presenceOptions(version, sink.inactivity()) },
        signal: abort.signal,
        credentials: this.#options.credentials ?? 'same-origin',
        ...(this.#options.maxReplyBytes !== undefined ? { maxBytes: this.#options.maxReplyBytes } : {}),
      });
      // A poll on its way is the connection (the server holds it). After errors it is only an attempt, until
      // it has been held for a moment: the server answers nothing until it has news, so that is the sign.
      sink.status(retrying ? 'connecting' : 'open');
      held = retrying ? this.#setTimeout(() => this.#inFlight === abort && !this.#closed && sink.status('open'), HELD_AFTER) : undefined;
      sink.request();
      const result = await reply;
      const items = parsePollResult(version, result);
      if (this.#closed) return;
      this.#backoff.reset();
      // Odoo answers only ids above `last`; anything at or below it means its ids started over.
      if (last > 0 && items.some((item) => item.id > 0 && item.id <= last)) sink.reset();
      sink.receive(items);
      if (this.#closed) return;
      const pace = sink.pace();
      if (pace <= 0) return void this.#poll();
      // Nobody is looking: wait before the next poll, so a burst of notifications costs one request.
      sink.status('paused');
      this.#pauseTimer = this.#setTimeout(() => {
        this.#pauseTimer = undefined;
        void this.#poll();
      }, pace);
    } catch (cause) {
      if (this.#closed) return;
      const reason = abort.signal.aborted ? (abort.signal.reason as AbortReason) : undefined;
      if (reason === 'refresh') return void this.#poll();
      const error =
        reason === 'timeout'
          ? new TabBusError('timeout', `${url}: no answer within ${pollTimeout} ms`, { context: { url } })
          : cause instanceof TabBusError
            ? cause
            : new TabBusError('network', `${url}: ${String(cause)}`, { cause, context: { url } });
      sink.fail(error);
      // A sink may close the transport from inside fail() (an app that stops the bus on error).
      if (error.fatal || this.#closed) return;
      sink.status('backoff');
      this.#retryTimer = this.#setTimeout(() => void this.#poll(), this.#backoff.next());
    } finally {
      this.#clearTimeout(timeout);
      this.#clearTimeout(held);
      if (this.#inFlight === abort) this.#inFlight = undefined;
    }
  }
}
