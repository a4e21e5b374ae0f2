import { createBackoff, TabBusError, type BackoffOptions, type Transport, type TransportSink } from '@tabbus/core';
import { parsePollResult, type OdooNotification } from './notifications';
import { createSendQueue, RATE_LIMIT_WINDOW } from './send-queue';
import { originOf } from './server';
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
  /**
   * Odoo closed the socket with 4001: the session it was opened with is gone. A login rotates the session id,
   * even as the same user, so this asks whose session the cookie holds now: resolved, the same user's (a
   * new socket at once, where Odoo's worker waits about 1.5 s; after the backoff if the socket before had
   * failed and had not been up 10 s since); rejected with a fatal error, the session ended (that error stops
   * the bus); rejected otherwise, it could not tell (a retry after the backoff).
   * Default: none, and every 4001 is a fatal `session_expired`.
   */
  readonly sessionClosed?: () => Promise<void>;
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
/** Odoo's im_status AWAY_DELAY: without input this long a user shows as away; input after it is sent at once. */
export const AWAY_AFTER = 30 * 60_000;
/** A socket that stayed up this long was a success: the next failure backs off from the start again. */
const STABLE_AFTER = 10_000;

/** Odoo refused this page's worker version (1000 `OUTDATED_VERSION`): only a reload helps. */
const outdated = (context: Record<string, unknown>) => new TabBusError('outdated', 'the server runs a newer version of the bus than this page; reload it', { fatal: true, context });

/** The socket's URL: `ws(s)://host[/prefix]/websocket[?version=…]`. */
export function websocketUrl(serverUrl: string, workerVersion: string | undefined): string {
  return `${originOf(serverUrl).replace(/^http/, 'ws')}/websocket${workerVersion ? `?version=${encodeURIComponent(workerVersion)}` : ''}`;
}

/**
 * Odoo 16+'s bus: one WebSocket on `/websocket`, carrying `subscribe {channels, last}` and
 * `update_presence` up and JSON arrays of notifications down. Reconnects as Odoo's worker does: at once
 * after 4002 (the connection's age limit; after the backoff if that socket was up less than 10 s), never after 1000 (1000 `OUTDATED_VERSION` is an `outdated`
 * error), after 4001 goes on only if the session is still the same user's (`sessionClosed`; else it stops
 * with `session_expired`), and otherwise backs off with jitter (1013, the rate
 * limit, at least one rate window). Each connection starts with a `subscribe` from the shared cursor.
 */
export class WebsocketTransport implements Transport<OdooNotification> {
  readonly name = 'websocket';
  // `declare`: the constructor sets these; plain fields would also be emitted as class fields, defined
  // as undefined first (useDefineForClassFields): bytes in the script-tag bundle, for nothing.
  /** Connects, and keeps a connection up until `close()`. */
  declare readonly open: (sink: TransportSink<OdooNotification>) => void;
  /**
   * The channels changed: re-subscribe, debounced. Or the bus moved the cursor back (a tab missed batches
   * and asked for a replay): a new connection, which subscribes from it. Or a tab became visible: reopen a
   * resting socket.
   */
  declare readonly refresh: () => void;
  /** Whether some tab is visible changed: with `hiddenClose`, close the socket while none is, reopen it when one is. */
  declare readonly paceChanged: () => void;
  /**
   * Sends the presence now (within 300 ms: several asks in a row send one update, as Odoo's worker
   * debounces them), then every `presenceInterval` again. Odoo's client asks on connect and when the server
   * reports the user offline (another of the user's sockets closed). False when no socket is open.
   */
  declare readonly sendPresence: () => boolean;
  /**
   * The user is back after `idleFor` ms without input in any tab: from Odoo's away delay (30 min) on, the
   * presence goes now (Odoo's im_status service does so), not at the next minute's update.
   */
  declare readonly userBack: (idleFor: number) => void;
  /** Closes the socket for good. */
  declare readonly close: () => void;

  // The state lives in the constructor's closure rather than in private fields: a closure's variable
  // minifies to one letter, a private field stays `this.#xy` at every use (this is the bundle's largest part).
  constructor(options: WebsocketOptions) {
    const backoff = createBackoff(options.backoff);
    // The timers as locals, for the same reason: an object's `timers.clearTimeout` would stay so at every use.
    const now = options.now ?? Date.now;
    const setTimer = options.setTimeout ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    const clearTimer = options.clearTimeout ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>));
    /**
     * Set by open() and never unset. connect() runs only after it (from open(), a retry, a replay or a reopen,
     * each of which needs a sink or a socket first), and a socket exists only once connect() made it: there,
     * in the socket's events and in failed(), it is `sink!`.
     */
    let sink: TransportSink<OdooNotification> | undefined;
    let socket: WebSocket | undefined;
    let openedAt = 0;
    /** The channels of the last `subscribe` (as JSON), to skip a re-subscribe that changes nothing. */
    let subscribedKey = '';
    /** The `last` of the last `subscribe`: ids at or below it in a reply mean the server's ids started over. */
    let subscribedLast = 0;
    /** The newest id the server sent on this connection (or its `last`): a cursor below it asks for a replay. */
    let seen = 0;
    let retryTimer: unknown;
    let connectTimer: unknown;
    /** A presence update asked for by `sendPresence()`, waiting out its debounce. */
    let presenceSoon: unknown;
    let subscribeTimer: unknown;
    let presenceTimer: unknown;
    let hiddenTimer: unknown;
    /** The `?version=` of the current connection. */
    let version: string | undefined;
    /** A version the server closed as outdated in this transport's life: asked about once, never tried again. */
    let refused: string | undefined;
    /** Closed on purpose because every tab was hidden; reopens when one is shown. */
    let resting = false;
    let closed = false;
    /** Counts connect() calls: only the latest may open a socket (an earlier one may still be awaiting). */
    let attempt = 0;
    const queue = createSendQueue({ now, setTimeout: setTimer, clearTimeout: clearTimer }, (text) => {
      if (socket?.readyState !== 1) return false;
      socket.send(text);
      return true;
    });

    /** Closes the current socket, if any, and forgets it (its events are then ignored). */
    const drop = (code: number): void => {
      const current = socket;
      socket = undefined;
      clearTimer(presenceTimer);
      clearTimer(presenceSoon);
      presenceSoon = undefined;
      clearTimer(connectTimer);
      try {
        current?.close(code);
      } catch {
        // Already closing.
      }
    };

    const connect = async (): Promise<void> => {
      const s = sink!;
      if (closed || resting) return;
      const mine = ++attempt;
      // A retry still pending would open a second socket.
      clearTimer(retryTimer);
      s.status('connecting');
      let next: string | undefined;
      try {
        await options.gate?.();
        next = await options.workerVersion?.(refused);
      } catch (cause) {
        if (mine !== attempt) return;
        return failed(cause instanceof TabBusError ? cause : new TabBusError('network', `could not ask the server's bus version: ${String(cause)}`, { cause }));
      }
      if (closed || resting || mine !== attempt) return;
      if (refused !== undefined && next === refused) {
        return s.fail(outdated({ code: CLEAN, reason: 'OUTDATED_VERSION' }));
      }
      version = next;
      const url = websocketUrl(options.serverUrl, next);
      const Socket = options.WebSocket ?? globalThis.WebSocket;
      let created: WebSocket;
      try {
        created = new Socket(url);
      } catch (cause) {
        return s.fail(new TabBusError('config', `cannot open ${url}: ${String(cause)}`, { cause, fatal: true, context: { url } }));
      }
      s.request();
      socket = created;
      queue.reconnected();
      connectTimer = setTimer(() => onClose(created, 1006, 'no connection within connectTimeout'), options.connectTimeout ?? 15_000);
      created.onopen = () => onOpen(created);
      created.onmessage = (event) => onMessage(created, event.data);
      created.onclose = (event) => onClose(created, event.code, event.reason);
      // An error is always followed by a close, which says more.
      created.onerror = () => undefined;
    };

    const onOpen = (opened: WebSocket): void => {
      if (opened !== socket) return;
      clearTimer(connectTimer);
      openedAt = now();
      sink!.status('open');
      subscribe(true);
      presence();
      this.paceChanged();
    };

    /** Reconnects, so the next `subscribe` (from the sink's cursor, as on every connection) is the only one. */
    const replay = (): void => {
      drop(CLEAN);
      subscribedKey = '';
      void connect();
    };

    const subscribe = (force: boolean): void => {
      const s = sink;
      // Closed, neither the socket's open nor the timer is left to call this.
      if (!s || resting) return;
      const channels = [...s.channels()];
      const key = JSON.stringify(channels);
      if (!force && key === subscribedKey && s.cursor() >= seen) return;
      subscribedKey = key;
      seen = s.cursor();
      // 18, and 17.0 since a late fix, take `last` at a connection's first subscribe only (the one on open,
      // forced) and hold their own back 10 s: after a later subscribe, ids below its `last` (of a channel just
      // joined, or committed late) are no sign of a restart.
      if (force || options.version < 17) subscribedLast = seen;
      queue.push({ event_name: 'subscribe', data: { channels, last: seen } });
    };

    /** The browser-wide inactivity, on connect and then every minute, as Odoo's main tab does. */
    const presence = (): void => {
      const inactivity = sink!.inactivity();
      if (inactivity !== undefined) {
        queue.push({ event_name: 'update_presence', data: websocketPresence(options.version, inactivity, options.imStatusIds?.()) });
      }
      presenceTimer = setTimer(presence, options.presenceInterval ?? 60_000);
    };

    const onMessage = (from: WebSocket, data: unknown): void => {
      const s = sink!;
      if (from !== socket) return;
      let items: OdooNotification[];
      try {
        if (typeof data !== 'string') throw new TabBusError('protocol', '/websocket: a binary frame; Odoo sends text');
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch (cause) {
          throw new TabBusError('protocol', '/websocket: a frame that is not JSON', { cause, context: { frame: data.slice(0, 200) } });
        }
        items = parsePollResult(options.version, parsed, '/websocket');
      } catch (cause) {
        // Skipping the frame would lose what it carried: reconnect and subscribe again from the cursor.
        drop(BAD_FRAME);
        return failed(cause as TabBusError);
      }
      // An id at or below the subscribe's `last` (none is, with a `last` of 0: none yet, or just reset): the ids started over.
      if (items.some((item) => item.id > 0 && item.id <= subscribedLast)) {
        seen = subscribedLast = 0;
        s.reset();
      }
      for (const item of items) seen = Math.max(seen, item.id);
      s.receive(items);
    };

    const onClose = (from: WebSocket, code: number, reason: string): void => {
      const s = sink!;
      // Closed, there is no socket (close() drops it).
      if (from !== socket) return;
      drop(CLEAN);
      if (now() - openedAt >= STABLE_AFTER && openedAt > 0) backoff.reset();
      openedAt = 0;
      subscribedKey = '';
      const context = { code, reason };
      if (code === KEEP_ALIVE_TIMEOUT) return again(s);
      if (code === SESSION_EXPIRED) {
        if (!options.sessionClosed) return s.fail(new TabBusError('session_expired', 'the server closed the socket: the session expired; log in again', { fatal: true, context }));
        s.status('backoff');
        // Unless something else connected meanwhile (a replay, a tab shown again): that connection is the one.
        const since = attempt;
        const current = () => sink === s && !closed && attempt === since;
        return void options.sessionClosed().then(
          // The check proved the session the same user's (a login rotated its id): a new socket.
          () => current() && again(s),
          (error: unknown) => {
            if (!current()) return;
            // The check's own errors say what happened (a session_expired one is fatal); anything else: try again.
            const e = error instanceof TabBusError ? error : new TabBusError('network', String(error), { cause: error, context });
            if (e.fatal) s.fail(e);
            else failed(e);
          },
        );
      }
      if (code === CLEAN) {
        if (reason !== 'OUTDATED_VERSION') return s.fail(new TabBusError('server', 'the server closed the socket (1000); Odoo never reconnects then', { fatal: true, context }));
        if (refused === undefined && version !== undefined) {
          // The version may be one learned earlier (shared by the tabs, kept across pages) from a server that
          // was upgraded since: ask again; connect() reports `outdated` if the answer is the same.
          refused = version;
          return void connect();
        }
        return s.fail(outdated(context));
      }
      failed(new TabBusError('network', `/websocket closed with ${code}${reason ? ` (${reason})` : ''}`, { context }), code === TRY_LATER ? RATE_LIMIT_WINDOW : 0);
    };

    /**
     * A new socket at once, after a close that asks for one (4002, the age limit, as Odoo's worker does; a 4001
     * from a login that kept the user). A socket closed so again before it was stable waits out the backoff: a
     * server that closes every socket at once (a keep-alive set to 0) cannot make the tab loop.
     */
    const again = (s: TransportSink<OdooNotification>): void => {
      const wait = backoff.next();
      if (backoff.attempts > 1) s.status('backoff');
      retryTimer = setTimer(() => void connect(), backoff.attempts > 1 ? wait : 0);
    };

    /** Reports a retryable failure and reconnects after the backoff (at least `min` ms). */
    const failed = (error: TabBusError, min = 0): void => {
      const s = sink!;
      if (closed) return;
      s.fail(error);
      // A sink may close the transport from inside fail() (an app that stops the bus on error).
      if (error.fatal || closed) return;
      s.status('backoff');
      retryTimer = setTimer(() => void connect(), Math.max(min, backoff.next()));
    };

    this.open = (s) => {
      sink = s;
      void connect();
    };
    this.refresh = () => {
      if (resting || closed) return this.paceChanged();
      clearTimer(subscribeTimer);
      // A replay, on a fresh socket: frames the server sent on this one before it reads a new `subscribe`
      // carry ids above the replayed cursor, and the bus would take them as following it (a tab that missed
      // batches would then skip for good what the replay was for). A new socket has no such frames in flight.
      if ((sink?.cursor() ?? 0) < seen) return replay();
      // Tabs join in bursts (a page load adds several channels): one subscribe for the burst.
      subscribeTimer = setTimer(() => subscribe(false), 50);
    };
    this.paceChanged = () => {
      const s = sink;
      const after = options.hiddenClose ?? 0;
      if (!s || closed || after <= 0) return;
      clearTimer(hiddenTimer);
      if (s.pace() <= 0) {
        if (!resting) return;
        resting = false;
        void connect();
        return;
      }
      if (resting) return;
      hiddenTimer = setTimer(() => {
        if (s.pace() <= 0) return;
        resting = true;
        clearTimer(retryTimer);
        drop(CLEAN);
        s.status('paused');
      }, after);
    };
    this.sendPresence = () => {
      // Closed or resting, there is no socket.
      if (socket?.readyState !== 1) return false;
      presenceSoon ??= setTimer(() => {
        presenceSoon = undefined;
        if (socket?.readyState !== 1) return;
        clearTimer(presenceTimer);
        presence();
      }, PRESENCE_DEBOUNCE);
      return true;
    };
    this.userBack = (idleFor) => void (idleFor >= AWAY_AFTER && this.sendPresence());
    this.close = () => {
      if (closed) return;
      closed = true;
      // drop() clears the socket's own timers.
      for (const timer of [retryTimer, subscribeTimer, hiddenTimer]) clearTimer(timer);
      queue.clear();
      drop(CLEAN);
      sink?.status('closed');
    };
  }
}
