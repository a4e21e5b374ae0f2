import { createBackoff, TabBusError, type BackoffOptions, type Transport, type TransportSink } from '@tabbus/core';
import { parsePollResult, type OdooNotification } from './notifications';
import { createSendQueue, RATE_LIMIT_WINDOW, type SendQueue } from './send-queue';
import { websocketPresence, type WebsocketVersion } from './versions';

/** How a {@link WebsocketTransport} reaches Odoo 16–18 (`createOdooBus` fills these from its own options). */
export interface WebsocketOptions {
  /** Server origin and path prefix, without a trailing slash ('' = this page's origin). */
  readonly serverUrl: string;
  /** The Odoo major version (16–18): 17+ sends `?version=` and may answer `OUTDATED_VERSION`. */
  readonly version: WebsocketVersion;
  /**
   * The server's `websocket_worker_version` (Odoo 17+ session info), sent as `?version=`: Odoo closes a
   * socket without the right one with `OUTDATED_VERSION`. Asked before each connection, so it may fetch.
   * After such a close it is asked once more, with the refused version: another answer (a version learned
   * afresh from the server) is tried at once; the same one is the fatal `outdated` error.
   */
  readonly workerVersion?: (refused?: string) => Promise<string | undefined>;
  /** Asked before each connection: a promise to wait for first, if any; a rejection is the connection's error. */
  readonly gate?: () => Promise<void> | undefined;
  /** Delays between attempts after errors. Default: 1 s × 1.5 up to 60 s, plus jitter (Odoo's worker). */
  readonly backoff?: BackoffOptions;
  /**
   * While every tab has been hidden this long, close the socket; the first tab shown reopens it from the
   * cursor, losing nothing (the server keeps 100 s of notifications; older ones raise a `gap`). In ms;
   * default 0: never close.
   */
  readonly hiddenClose?: number;
  /** How long a connection may take to open, in ms. Default 15 000. */
  readonly connectTimeout?: number;
  /** How often the leader tells the server the user's inactivity, in ms (Odoo: 60 s). */
  readonly presenceInterval?: number;
  /** Odoo 16–18: the `im_status_ids_by_model` sent with each presence update (default `{}`; 19 has no such field). */
  readonly imStatusIds?: () => Record<string, number[]> | undefined;
  /** The WebSocket constructor (for tests, or Node's `ws`). Default: `globalThis.WebSocket`. */
  readonly WebSocket?: typeof WebSocket;
  /** Timer functions (for tests). Default: the global ones. */
  readonly setTimeout?: (fn: () => void, ms: number) => unknown;
  /** Cancels a timer of {@link WebsocketOptions.setTimeout}. */
  readonly clearTimeout?: (handle: unknown) => void;
  /** The clock, in ms since the epoch (for tests). Default: `Date.now`. */
  readonly now?: () => number;
}

/** Close codes of Odoo's bus (addons/bus/websocket.py). */
const CLEAN = 1000;
const TRY_LATER = 1013;
const SESSION_EXPIRED = 4001;
const KEEP_ALIVE_TIMEOUT = 4002;
/** What tabbus closes with when a frame makes no sense: then it reconnects from its cursor. */
const BAD_FRAME = 4000;
/** `sendPresence()` calls this close together send one update (Odoo's worker debounces `update_presence` so). */
const PRESENCE_DEBOUNCE = 300;
/** A socket that stayed up this long was a success: the next failure backs off from the start again. */
const STABLE_AFTER = 10_000;

/** Odoo refused this page's worker version (1000 `OUTDATED_VERSION`): only a reload helps. */
const outdated = (context: Record<string, unknown>) => new TabBusError('outdated', 'the server runs a newer version of the bus than this page; reload it', { fatal: true, context });

/** The socket's URL: `ws(s)://host[/prefix]/websocket[?version=…]`. */
export function websocketUrl(serverUrl: string, workerVersion: string | undefined): string {
  const base = serverUrl || (typeof location === 'undefined' ? '' : location.origin);
  return `${base.replace(/^http/, 'ws')}/websocket${workerVersion ? `?version=${encodeURIComponent(workerVersion)}` : ''}`;
}

/**
 * Odoo 16+'s bus: one WebSocket on `/websocket`, carrying `subscribe {channels, last}` and
 * `update_presence` up and JSON arrays of notifications down. Reconnects as Odoo's worker does: at once
 * after 4002 (the connection's age limit), never after 1000 (1000 `OUTDATED_VERSION` is an `outdated`
 * error), stops with `session_expired` after 4001, and otherwise backs off with jitter (1013, the rate
 * limit, at least one rate window). Each connection starts with a `subscribe` from the shared cursor.
 */
export class WebsocketTransport implements Transport<OdooNotification> {
  readonly name = 'websocket';
  readonly #options: WebsocketOptions;
  readonly #backoff;
  readonly #timers;
  readonly #queue: SendQueue;
  #sink: TransportSink<OdooNotification> | undefined;
  #socket: WebSocket | undefined;
  #openedAt = 0;
  /** The channels of the last `subscribe` (as JSON), to skip a re-subscribe that changes nothing. */
  #subscribedKey = '';
  /** The `last` of the last `subscribe`: ids at or below it in a reply mean the server's ids started over. */
  #subscribedLast = 0;
  /** The newest id the server sent on this connection (or its `last`): a cursor below it asks for a replay. */
  #seen = 0;
  #retryTimer: unknown;
  #connectTimer: unknown;
  /** A presence update asked for by `sendPresence()`, waiting out its debounce. */
  #presenceSoon: unknown;
  #subscribeTimer: unknown;
  #presenceTimer: unknown;
  #hiddenTimer: unknown;
  /** The `?version=` of the current connection. */
  #version: string | undefined;
  /** A version the server closed as outdated in this transport's life: asked about once, never tried again. */
  #refused: string | undefined;
  /** Closed on purpose because every tab was hidden; reopens when one is shown. */
  #resting = false;
  #closed = false;

  constructor(options: WebsocketOptions) {
    this.#options = options;
    this.#backoff = createBackoff(options.backoff);
    this.#timers = {
      now: options.now ?? Date.now,
      setTimeout: options.setTimeout ?? ((fn: () => void, ms: number) => setTimeout(fn, ms)),
      clearTimeout: options.clearTimeout ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>)),
    };
    this.#queue = createSendQueue(this.#timers, (text) => {
      if (this.#socket?.readyState !== 1) return false;
      this.#socket.send(text);
      return true;
    });
  }

  open(sink: TransportSink<OdooNotification>): void {
    this.#sink = sink;
    void this.#connect();
  }

  /**
   * The channels changed: re-subscribe, debounced. Or the bus moved the cursor back (a tab missed batches
   * and asked for a replay): a new connection, which subscribes from it. Or a tab became visible: reopen a
   * resting socket.
   */
  refresh(): void {
    if (this.#resting || this.#closed) return this.paceChanged();
    this.#timers.clearTimeout(this.#subscribeTimer);
    // A replay, on a fresh socket: frames the server sent on this one before it reads a new `subscribe`
    // carry ids above the replayed cursor, and the bus would take them as following it (a tab that missed
    // batches would then skip for good what the replay was for). A new socket has no such frames in flight.
    if ((this.#sink?.cursor() ?? 0) < this.#seen) return this.#replay();
    // Tabs join in bursts (a page load adds several channels): one subscribe for the burst.
    this.#subscribeTimer = this.#timers.setTimeout(() => this.#subscribe(false), 50);
  }

  paceChanged(): void {
    const sink = this.#sink;
    const after = this.#options.hiddenClose ?? 0;
    if (!sink || this.#closed || after <= 0) return;
    this.#timers.clearTimeout(this.#hiddenTimer);
    if (sink.pace() <= 0) {
      if (!this.#resting) return;
      this.#resting = false;
      void this.#connect();
      return;
    }
    if (this.#resting) return;
    this.#hiddenTimer = this.#timers.setTimeout(() => {
      if (this.#closed || sink.pace() <= 0) return;
      this.#resting = true;
      this.#timers.clearTimeout(this.#retryTimer);
      this.#drop(CLEAN);
      sink.status('paused');
    }, after);
  }

  /**
   * Sends the presence now (within 300 ms: several asks in a row send one update, as Odoo's worker
   * debounces them), then every `presenceInterval` again. Odoo's client asks on connect and when the server
   * reports the user offline (another of the user's sockets closed). False when no socket is open.
   */
  sendPresence(): boolean {
    if (this.#closed || this.#resting || this.#socket?.readyState !== 1) return false;
    this.#presenceSoon ??= this.#timers.setTimeout(() => {
      this.#presenceSoon = undefined;
      if (this.#socket?.readyState !== 1) return;
      this.#timers.clearTimeout(this.#presenceTimer);
      this.#sendPresence();
    }, PRESENCE_DEBOUNCE);
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of [this.#retryTimer, this.#connectTimer, this.#subscribeTimer, this.#presenceTimer, this.#hiddenTimer, this.#presenceSoon]) this.#timers.clearTimeout(timer);
    this.#queue.clear();
    this.#drop(CLEAN);
    this.#sink?.status('closed');
  }

  /** Closes the current socket, if any, and forgets it (its events are then ignored). */
  #drop(code: number): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#timers.clearTimeout(this.#presenceTimer);
    this.#timers.clearTimeout(this.#presenceSoon);
    this.#presenceSoon = undefined;
    this.#timers.clearTimeout(this.#connectTimer);
    try {
      socket?.close(code);
    } catch {
      // Already closing.
    }
  }

  async #connect(): Promise<void> {
    const sink = this.#sink;
    if (this.#closed || this.#resting || !sink) return;
    sink.status('connecting');
    let version: string | undefined;
    try {
      await this.#options.gate?.();
      version = await this.#options.workerVersion?.(this.#refused);
    } catch (cause) {
      return this.#failed(cause instanceof TabBusError ? cause : new TabBusError('network', `could not ask the server's bus version: ${String(cause)}`, { cause }));
    }
    if (this.#closed || this.#resting) return;
    if (this.#refused !== undefined && version === this.#refused) {
      return sink.fail(outdated({ code: CLEAN, reason: 'OUTDATED_VERSION' }));
    }
    this.#version = version;
    const url = websocketUrl(this.#options.serverUrl, version);
    const Socket = this.#options.WebSocket ?? globalThis.WebSocket;
    let socket: WebSocket;
    try {
      socket = new Socket(url);
    } catch (cause) {
      return sink.fail(new TabBusError('config', `cannot open ${url}: ${String(cause)}`, { cause, fatal: true, context: { url } }));
    }
    sink.request();
    this.#socket = socket;
    this.#queue.reconnected();
    this.#connectTimer = this.#timers.setTimeout(() => this.#onClose(socket, 1006, 'no connection within connectTimeout'), this.#options.connectTimeout ?? 15_000);
    socket.onopen = () => this.#onOpen(socket);
    socket.onmessage = (event) => this.#onMessage(socket, event.data);
    socket.onclose = (event) => this.#onClose(socket, event.code, event.reason);
    // An error is always followed by a close, which says more.
    socket.onerror = () => undefined;
  }

  #onOpen(socket: WebSocket): void {
    if (socket !== this.#socket) return;
    this.#timers.clearTimeout(this.#connectTimer);
    this.#openedAt = this.#timers.now();
    this.#sink?.status('open');
    this.#subscribe(true);
    this.#sendPresence();
    this.paceChanged();
  }

  /** Reconnects, so the next `subscribe` (from the sink's cursor, as on every connection) is the only one. */
  #replay(): void {
    this.#drop(CLEAN);
    this.#subscribedKey = '';
    void this.#connect();
  }

  #subscribe(force: boolean): void {
    const sink = this.#sink;
    if (!sink || this.#closed || this.#resting) return;
    const channels = [...sink.channels()];
    const key = JSON.stringify(channels);
    if (!force && key === this.#subscribedKey && sink.cursor() >= this.#seen) return;
    this.#subscribedKey = key;
    this.#seen = this.#subscribedLast = sink.cursor();
    this.#queue.push({ event_name: 'subscribe', data: { channels, last: this.#subscribedLast } });
  }

  /** The browser-wide inactivity, on connect and then every minute, as Odoo's main tab does. */
  #sendPresence(): void {
    const inactivity = this.#sink?.inactivity();
    if (inactivity !== undefined) {
      this.#queue.push({ event_name: 'update_presence', data: websocketPresence(this.#options.version, inactivity, this.#options.imStatusIds?.()) });
    }
    this.#presenceTimer = this.#timers.setTimeout(() => this.#sendPresence(), this.#options.presenceInterval ?? 60_000);
  }

  #onMessage(socket: WebSocket, data: unknown): void {
    const sink = this.#sink;
    if (socket !== this.#socket || !sink) return;
    let items: OdooNotification[];
    try {
      if (typeof data !== 'string') throw new TabBusError('protocol', '/websocket: a binary frame; Odoo sends text');
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch (cause) {
        throw new TabBusError('protocol', '/websocket: a frame that is not JSON', { cause, context: { frame: data.slice(0, 200) } });
      }
      items = parsePollResult(this.#options.version, parsed, '/websocket');
    } catch (cause) {
      // Skipping the frame would lose what it carried: reconnect and subscribe again from the cursor.
      const error = cause as TabBusError;
      this.#drop(BAD_FRAME);
      return this.#failed(error);
    }
    const last = this.#subscribedLast;
    if (last > 0 && items.some((item) => item.id > 0 && item.id <= last)) {
      this.#seen = this.#subscribedLast = 0;
      sink.reset();
    }
    for (const item of items) this.#seen = Math.max(this.#seen, item.id);
    sink.receive(items);
  }

  #onClose(socket: WebSocket, code: number, reason: string): void {
    const sink = this.#sink;
    if (socket !== this.#socket || this.#closed || !sink) return;
    this.#drop(CLEAN);
    if (this.#timers.now() - this.#openedAt >= STABLE_AFTER && this.#openedAt > 0) this.#backoff.reset();
    this.#openedAt = 0;
    this.#subscribedKey = '';
    const context = { code, reason };
    if (code === KEEP_ALIVE_TIMEOUT) {
      // The connection reached its age limit: a fresh one at once, as Odoo's worker does.
      this.#backoff.reset();
      return void this.#connect();
    }
    if (code === SESSION_EXPIRED) return sink.fail(new TabBusError('session_expired', 'the server closed the socket: the session expired; log in again', { fatal: true, context }));
    if (code === CLEAN && reason === 'OUTDATED_VERSION' && this.#refused === undefined && this.#version !== undefined) {
      // The version may be one learned earlier (shared by the tabs, kept across pages) from a server that
      // was upgraded since: ask again; #connect reports `outdated` if the answer is the same.
      this.#refused = this.#version;
      return void this.#connect();
    }
    if (code === CLEAN && reason === 'OUTDATED_VERSION') return sink.fail(outdated(context));
    if (code === CLEAN) {
      return sink.fail(new TabBusError('server', 'the server closed the socket (1000); Odoo never reconnects then', { fatal: true, context }));
    }
    this.#failed(new TabBusError('network', `/websocket closed with ${code}${reason ? ` (${reason})` : ''}`, { context }), code === TRY_LATER ? RATE_LIMIT_WINDOW : 0);
  }

  /** Reports a retryable failure and reconnects after the backoff (at least `min` ms). */
  #failed(error: TabBusError, min = 0): void {
    const sink = this.#sink;
    if (!sink || this.#closed) return;
    sink.fail(error);
    // A sink may close the transport from inside fail() (an app that stops the bus on error).
    if (error.fatal || this.#closed) return;
    sink.status('backoff');
    this.#retryTimer = this.#timers.setTimeout(() => void this.#connect(), Math.max(min, this.#backoff.next()));
  }
}
