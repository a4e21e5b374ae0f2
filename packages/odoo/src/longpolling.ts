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
  // `declare`: the constructor sets these; plain fields would also be emitted as class fields, defined
  // as undefined first (useDefineForClassFields): bytes in the script-tag bundle, for nothing.
  /** Starts polling, until `close()`. */
  declare readonly open: (sink: TransportSink<OdooNotification>) => void;
  /** The channels or the pace changed, or the cursor moved back (a replay): restart a held poll, or end a pause. */
  declare readonly refresh: () => void;
  /** Stops polling for good. */
  declare readonly close: () => void;

  // The state lives in the constructor's closure rather than in private fields: a closure's variable
  // minifies to one letter, a private field stays `this.#xy` at every use.
  constructor(options: LongpollingOptions) {
    const backoff = createBackoff(options.backoff);
    const setTimer = options.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    const clearTimer = options.clearTimeout ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    /** Set by open() and never unset: poll() runs only after it (from open(), or a timer or an abort a poll set), so there it is `sink!`. */
    let sink: TransportSink<OdooNotification> | undefined;
    let inFlight: AbortController | undefined;
    let retryTimer: unknown;
    /** Set while waiting out the pace (every tab hidden) between two polls. */
    let pauseTimer: unknown;
    let closed = false;

    const poll = async (): Promise<void> => {
      const s = sink!;
      if (closed) return;
      const { version } = options;
      const abort = new AbortController();
      inFlight = abort;
      const pollTimeout = options.pollTimeout ?? 60_000;
      const url = `${options.serverUrl}/longpolling/poll`;
      const retrying = backoff.attempts > 0;
      let held: unknown;
      let timeout: unknown;
      try {
        const waiting = options.gate?.();
        if (waiting) {
          await waiting;
          if (closed) return;
        }
        // Armed past the gate: the server holds the poll 50 s from when it comes, however long the gate took
        // (a login under way, a session check); counted from before, the timeout would cut a held poll short.
        timeout = setTimer(() => abort.abort('timeout' satisfies AbortReason), pollTimeout);
        const last = s.cursor();
        // The request goes out first (after a failover, the gap is the time to it); then the bus hears of it.
        const reply = callJsonRpc({
          fetch: options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init)),
          url,
          params: { channels: [...s.channels()], last, options: presenceOptions(version, s.inactivity()) },
          signal: abort.signal,
          credentials: options.credentials ?? 'same-origin',
          notFound: 'Odoo 16+ has no long-polling: is the version right?',
          maxBytes: options.maxReplyBytes,
        });
        // A poll on its way is the connection (the server holds it). After errors it is only an attempt, until
        // it has been held for a moment: the server answers nothing until it has news, so that is the sign.
        s.status(retrying ? 'connecting' : 'open');
        held = retrying ? setTimer(() => inFlight === abort && !closed && s.status('open'), HELD_AFTER) : undefined;
        s.request();
        const result = await reply;
        const items = parsePollResult(version, result);
        if (closed) return;
        backoff.reset();
        // Odoo answers only ids above `last`; anything at or below it means its ids started over (no id above 0
        // is at or below a `last` of 0).
        if (items.some((item) => item.id > 0 && item.id <= last)) s.reset();
        s.receive(items);
        if (closed) return;
        const pace = s.pace();
        if (pace <= 0) return void poll();
        // Nobody is looking: wait before the next poll, so a burst of notifications costs one request.
        s.status('paused');
        pauseTimer = setTimer(() => {
          pauseTimer = undefined;
          void poll();
        }, pace);
      } catch (cause) {
        if (closed) return;
        const reason = abort.signal.aborted && (abort.signal.reason as AbortReason);
        if (reason === 'refresh') return void poll();
        const error =
          reason === 'timeout'
            ? new TabBusError('timeout', `${url}: no answer within ${pollTimeout} ms`, { context: { url } })
            : cause instanceof TabBusError
              ? cause
              : new TabBusError('network', `${url}: ${String(cause)}`, { cause, context: { url } });
        s.fail(error);
        // A sink may close the transport from inside fail() (an app that stops the bus on error).
        if (error.fatal || closed) return;
        s.status('backoff');
        retryTimer = setTimer(() => void poll(), backoff.next());
      } finally {
        clearTimer(timeout);
        clearTimer(held);
        if (inFlight === abort) inFlight = undefined;
      }
    };

    this.open = (s) => {
      sink = s;
      void poll();
    };
    this.refresh = () => {
      if (pauseTimer !== undefined) {
        // Pausing between polls (every tab was hidden): a tab became visible or the channels changed.
        clearTimer(pauseTimer);
        pauseTimer = undefined;
        void poll();
        return;
      }
      // Only a held poll needs restarting; a poll waiting out a backoff will use the new channels anyway.
      inFlight?.abort('refresh' satisfies AbortReason);
    };
    this.close = () => {
      if (closed) return;
      closed = true;
      clearTimer(retryTimer);
      clearTimer(pauseTimer);
      inFlight?.abort('close' satisfies AbortReason);
      sink?.status('closed');
    };
  }
}
