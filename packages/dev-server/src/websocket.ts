// Odoo 16–19's bus over WebSocket (addons/bus/websocket.py and controllers/websocket.py; protocol
// notes §7 and §11): the `GET /websocket` upgrade, `{event_name, data}` messages, one JSON array
// frame per dispatch, the close codes, the keep-alive ping, the rate limit, and the polling
// fallback routes `/websocket/peek_notifications` and `/websocket/update_bus_presence`.
// Every timer runs on the server's clock, so a test reaches the 45 s ping or the 3600 s
// keep-alive age with `clock.advance`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { sessionChannels } from './channels';
import type { TimerHandle } from './clock';
import type { ServerContext } from './context';
import { sendWerkzeugError } from './http';
import { OdooError, isPlainObject, pythonTypeError, requireParams } from './jsonrpc';
import { SENT_HISTORY_MS, hasSentHistory, presenceKeys, websocketWorkerVersion } from './odoo-version';
import { pollCursor } from './routes/longpolling';
import type { RpcRoute } from './rpc-route';
import { sessionCookie, sessionIdFromCookie } from './sessions';
import { sessionLabel } from './stats';
import type { Session } from './sessions';
import type { BusRow } from './store';

/** `MESSAGE_MAX_SIZE = 2**20`: a larger message closes the socket with 1009. */
export const WS_MAX_MESSAGE_BYTES = 2 ** 20;
/** `INACTIVITY_TIMEOUT = CONNECTION_TIMEOUT (60) − 15`: a PING after this long without a frame. */
export const WS_PING_AFTER_MS = 45_000;
/** `TimeoutManager.TIMEOUT`: the PONG must come this soon after the PING, or the socket is dropped. */
export const WS_PONG_TIMEOUT_MS = 15_000;
/** `websocket_keep_alive_timeout` default: close 4002 after this age. */
export const WS_KEEP_ALIVE_MS = 3_600_000;
/** `websocket_rate_limit_burst` frames within burst × `websocket_rate_limit_delay` (0.2 s). */
export const WS_RATE_LIMIT_BURST = 10;
export const WS_RATE_LIMIT_WINDOW_MS = WS_RATE_LIMIT_BURST * 200;

export const CLOSE = {
  CLEAN: 1000,
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  TRY_LATER: 1013,
  SESSION_EXPIRED: 4001,
  KEEP_ALIVE_TIMEOUT: 4002,
} as const;

const REQUIRED_HEADERS = ['connection', 'host', 'sec-websocket-key', 'sec-websocket-version', 'upgrade', 'origin'] as const;

interface HandshakeError {
  status: 400 | 426;
  message: string;
}

/** Odoo's `_assert_handshake_validity`, with 17/18's required `Origin` (§11). */
export function handshakeError(req: IncomingMessage): HandshakeError | undefined {
  const missing = REQUIRED_HEADERS.filter((name) => !req.headers[name]);
  if (missing.length > 0) return { status: 400, message: `Empty or missing header(s): ${missing.join(', ')}` };
  if (String(req.headers.upgrade).toLowerCase() !== 'websocket') return { status: 400, message: 'Invalid upgrade header' };
  if (!String(req.headers.connection).toLowerCase().includes('upgrade')) return { status: 400, message: 'Invalid connection header' };
  if (req.headers['sec-websocket-version'] !== '13') return { status: 426, message: 'Upgrade Required' };
  const key = String(req.headers['sec-websocket-key']);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(key) || key.length % 4 !== 0) return { status: 400, message: 'Sec-WebSocket-Key should be b64 encoded' };
  if (Buffer.from(key, 'base64').length !== 16) return { status: 400, message: 'Sec-WebSocket-Key should be of length 16 once decoded' };
  return undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** A werkzeug error page written straight to an upgrade socket, then the socket is closed. */
function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const title = status === 426 ? 'Upgrade Required' : status === 404 ? 'Not Found' : status === 503 ? 'Service Unavailable' : 'Bad Request';
  const html = `<!doctype html>\n<html lang=en>\n<title>${status} ${title}</title>\n<h1>${title}</h1>\n<p>${escapeHtml(message)}</p>\n`;
  const extra = status === 426 ? 'Sec-WebSocket-Version: 13\r\n' : '';
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${title.toUpperCase()}\r\nContent-Type: text/html; charset=utf-8\r\n${extra}` +
        `Content-Length: ${Buffer.byteLength(html)}\r\nConnection: close\r\n\r\n${html}`,
    );
  } else {
    socket.destroy();
  }
}

/** One row as a 16+ frame carries it: `{id, message: {type, payload}}`. */
function notificationOf(row: BusRow): { id: number; message: unknown } {
  return { id: row.id, message: JSON.parse(row.message) as unknown };
}

const STRING_CHANNELS_ONLY = 'bus.Bus only string channels are allowed.';

/** SessionExpiredException() as the 17+ websocket routes raise it: no message. */
const websocketSessionExpired = (): OdooError =>
  new OdooError('odoo.http.SessionExpiredException', '', { code: 100, title: 'Odoo Session Expired' });

interface Connection {
  readonly ws: WebSocket;
  readonly session: Session;
  /** Stored channels of the current subscription; undefined before the first `subscribe`. */
  channels: string[] | undefined;
  /** The cursor: on 17+, the id below which every id was sent (or never will be) and left the history. */
  last: number;
  /** 17+: the ids sent in the last {@link SENT_HISTORY_MS}, by id, each with its clock time. */
  readonly sent: { readonly id: number; readonly at: number }[];
  unlisten: (() => void) | undefined;
  idle: TimerHandle | undefined;
  pong: TimerHandle | undefined;
  age: TimerHandle | undefined;
  /** Clock times of the last incoming frames (at most WS_RATE_LIMIT_BURST). */
  readonly frames: number[];
  /** The session ended (logout, a login that rotated it, expiry) and the socket has not been told yet. */
  sessionEnded: boolean;
}

/**
 * When a socket whose session ended is closed 4001: `immediate`, the moment it ends; `on-frame`, as Odoo
 * 16+ find out, at the socket's next incoming message or next dispatch (the session is looked up before
 * each), so a socket with nothing going on stays open meanwhile.
 */
export type WebSocketSessionCheck = 'immediate' | 'on-frame';

export interface WebSocketHubOptions {
  /** Close 4002 after this long, in clock ms (default 3 600 000). */
  readonly keepAliveMs?: number;
  /** Default `immediate`. */
  readonly sessionCheck?: WebSocketSessionCheck;
}

export class WebSocketHub {
  readonly #ctx: ServerContext;
  readonly #keepAliveMs: number;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  // Sessions that called peek_notifications with is_first_poll (`session['is_websocket_session']`).
  readonly #websocketSessions = new Set<string>();
  readonly #sessionOfRequest = new WeakMap<IncomingMessage, Session>();
  readonly #stopListening: () => void;

  constructor(ctx: ServerContext, options: WebSocketHubOptions = {}) {
    this.#ctx = ctx;
    this.#keepAliveMs = options.keepAliveMs ?? WS_KEEP_ALIVE_MS;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_MESSAGE_BYTES, perMessageDeflate: false, clientTracking: false });
    // The handshake saves the session: its cookie goes out with the 101.
    this.#wss.on('headers', (headers, req) => {
      const session = this.#sessionOfRequest.get(req);
      if (session) headers.push(`Set-Cookie: ${sessionCookie(session.id)}`);
    });
    const immediate = (options.sessionCheck ?? 'immediate') === 'immediate';
    this.#stopListening = ctx.sessions.onEnded((id) => {
      this.#websocketSessions.delete(id);
      for (const conn of this.#connections) {
        if (conn.session.id !== id) continue;
        if (immediate) this.#close(conn, CLOSE.SESSION_EXPIRED);
        else conn.sessionEnded = true;
      }
    });
  }

  /** The `upgrade` event of the HTTP server (only `/websocket` upgrades). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, pathname: string | undefined): void {
    socket.on('error', () => socket.destroy());
    if (pathname !== '/websocket') {
      refuseUpgrade(socket, 404, 'The requested URL was not found on the server.');
      return;
    }
    if (this.#ctx.closing) {
      refuseUpgrade(socket, 503, 'The server is shutting down.');
      return;
    }
    const error = handshakeError(req);
    if (error) {
      refuseUpgrade(socket, error.status, error.message);
      return;
    }
    // auth=public: an unknown or missing cookie is served as a new public session.
    const session = this.#ctx.sessions.get(sessionIdFromCookie(req.headers.cookie)) ?? this.#ctx.sessions.create(null);
    this.#sessionOfRequest.set(req, session);
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, req, session));
  }

  /** GET /websocket without an upgrade: the handshake check answers it. */
  handlePlainRequest(req: IncomingMessage, res: ServerResponse): void {
    const error = handshakeError(req) ?? { status: 400 as const, message: 'Empty or missing header(s): upgrade' };
    sendWerkzeugError(res, error.status, error.message, error.status === 426 ? { 'Sec-WebSocket-Version': '13' } : {});
  }

  /** Server shutdown: every socket gets 1001 GOING_AWAY. */
  closeAll(): void {
    this.#stopListening();
    for (const conn of this.#connections) this.#close(conn, CLOSE.GOING_AWAY);
  }

  /**
   * Dev tool (`POST /tabbus/sockets/close`): closes every open socket with `code` and `reason`, as Odoo
   * does for its own reasons (1013 rate limit, 4002 age, 1011 a server error…). Returns how many.
   */
  closeEvery(code: number, reason = ''): number {
    let closed = 0;
    for (const conn of this.#connections) {
      if (conn.ws.readyState !== conn.ws.OPEN) continue;
      this.#close(conn, code, reason);
      closed++;
    }
    return closed;
  }

  /** Cuts every socket still open (those whose client never answered the close). */
  terminateAll(): void {
    for (const conn of this.#connections) conn.ws.terminate();
  }

  /** `/websocket/peek_notifications` and `/websocket/update_bus_presence`: the polling fallback. */
  rpcRoutes(): RpcRoute[] {
    const ctx = this.#ctx;
    return [
      {
        path: '/websocket/peek_notifications',
        auth: 'public',
        cors: true,
        handle: (call) => {
          requireParams('peek_notifications', call.params, ['channels', 'last']);
          const { channels: names, last } = call.params;
          if (!Array.isArray(names) || !names.every((name): name is string => typeof name === 'string')) {
            throw new OdooError('builtins.ValueError', STRING_CHANNELS_ONLY);
          }
          const session = call.session!;
          if (call.params['is_first_poll']) this.#websocketSessions.add(session.id);
          else if (!this.#websocketSessions.has(session.id)) throw websocketSessionExpired();
          if (typeof last !== 'number' || !Number.isFinite(last)) throw pythonTypeError(`'>' not supported between instances of '${typeof last}' and 'int'`);
          const channels = sessionChannels(ctx, session, names);
          const rows = ctx.store.select(channels, pollCursor(last, ctx.store.lastId), session.db);
          return { channels: channels.map((channel) => JSON.parse(channel) as unknown), notifications: rows.map(notificationOf) };
        },
      },
      {
        path: '/websocket/update_bus_presence',
        auth: 'public',
        cors: true,
        handle: (call) => {
          requireParams('update_bus_presence', call.params, ['inactivity_period', 'im_status_ids_by_model']);
          if (!this.#websocketSessions.has(call.session!.id)) throw websocketSessionExpired();
          const inactivity = call.params['inactivity_period'];
          if (typeof inactivity !== 'number' || !Number.isFinite(inactivity)) {
            throw pythonTypeError(`int() argument must be a string, a bytes-like object or a real number`);
          }
          const user = call.session!.user;
          if (user) ctx.presence.recordPoll(user.uid, { bus_inactivity: Math.trunc(inactivity) });
          return {};
        },
      },
    ];
  }

  #open(ws: WebSocket, req: IncomingMessage, session: Session): void {
    const ctx = this.#ctx;
    const conn: Connection = { ws, session, channels: undefined, last: 0, sent: [], unlisten: undefined, idle: undefined, pong: undefined, age: undefined, frames: [], sessionEnded: false };
    this.#connections.add(conn);
    ctx.stats.socketOpened(session.id);
    ws.on('error', () => {
      // Protocol errors (unmasked frame, 1009…): ws closes the socket itself; 'close' cleans up.
    });
    ws.on('close', () => {
      for (const timer of [conn.idle, conn.pong, conn.age]) if (timer) ctx.clock.clearTimer(timer);
      conn.unlisten?.();
      if (this.#connections.delete(conn)) {
        ctx.stats.socketClosed(session.id);
        // Late 17 and 18+: `_on_websocket_closed` writes the user's presence offline.
        if (session.user) ctx.presence.socketClosed(session.user.uid);
      }
    });
    ws.on('message', (data, isBinary) => this.#onFrame(conn, data, isBinary));
    ws.on('ping', () => this.#armIdle(conn));
    ws.on('pong', () => {
      if (conn.pong) ctx.clock.clearTimer(conn.pong);
      conn.pong = undefined;
      this.#armIdle(conn);
    });

    // 17+: a client whose worker is not the server's closes CLEAN "OUTDATED_VERSION" (only when it
    // sends a User-Agent, as browsers always do).
    const expected = websocketWorkerVersion(ctx.version);
    if (expected !== undefined && req.headers['user-agent'] !== undefined) {
      const version = new URL(req.url ?? '/', 'http://localhost').searchParams.get('version');
      if (version !== expected) {
        this.#close(conn, CLOSE.CLEAN, 'OUTDATED_VERSION');
        return;
      }
    }
    conn.age = ctx.clock.setTimer(() => this.#close(conn, CLOSE.KEEP_ALIVE_TIMEOUT), this.#keepAliveMs);
    this.#armIdle(conn);
  }

  #close(conn: Connection, code: number, reason = ''): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ws.close(code, reason);
  }

  // A PING when no frame went either way for 45 s; no PONG 15 s later drops the socket (1006).
  #armIdle(conn: Connection): void {
    const clock = this.#ctx.clock;
    if (conn.idle) clock.clearTimer(conn.idle);
    conn.idle = clock.setTimer(() => {
      conn.idle = undefined;
      if (conn.ws.readyState !== conn.ws.OPEN) return;
      conn.ws.ping();
      if (!conn.pong) conn.pong = clock.setTimer(() => conn.ws.terminate(), WS_PONG_TIMEOUT_MS);
      this.#armIdle(conn);
    }, WS_PING_AFTER_MS);
  }

  #onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    const ctx = this.#ctx;
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    ctx.stats.countFrameIn();
    this.#armIdle(conn);
    // Odoo's _limit_rate: the 11th frame within 10 × 0.2 s closes TRY_LATER.
    const now = ctx.clock.now();
    if (conn.frames.length >= WS_RATE_LIMIT_BURST && now - conn.frames[0]! < WS_RATE_LIMIT_WINDOW_MS) {
      this.#close(conn, CLOSE.TRY_LATER);
      return;
    }
    conn.frames.push(now);
    if (conn.frames.length > WS_RATE_LIMIT_BURST) conn.frames.shift();
    // Odoo looks the session up before serving each message: a session that ended closes the socket.
    if (conn.sessionEnded) {
      this.#close(conn, CLOSE.SESSION_EXPIRED);
      return;
    }

    // Anything malformed is logged by Odoo and otherwise ignored: no reply, the socket stays open.
    if (isBinary) return;
    let message: unknown;
    try {
      message = JSON.parse(bufferOf(data).toString('utf8'));
    } catch {
      return;
    }
    if (!isPlainObject(message) || typeof message['event_name'] !== 'string') return;
    const payload = message['data'];
    if (message['event_name'] === 'subscribe') this.#subscribe(conn, payload);
    else if (message['event_name'] === 'update_presence') this.#updatePresence(conn, payload);
  }

  // Replaces the subscription (channels and last), then sends what is pending at once.
  #subscribe(conn: Connection, data: unknown): void {
    if (!isPlainObject(data)) return;
    const names = data['channels'];
    const last = data['last'];
    if (!Array.isArray(names) || !names.every((name): name is string => typeof name === 'string')) return;
    if (typeof last !== 'number' || !Number.isFinite(last)) return;
    // The socket's "poll": a test measures a failover to the new leader's first subscribe.
    this.#ctx.pollLog.record({ at: Date.now(), session: sessionLabel(conn.session.id), last, channels: names.length });
    conn.unlisten?.();
    // `broadcast`, the client's strings (as `["<db>","<name>"]`) and, logged in, the partner channel.
    conn.channels = sessionChannels(this.#ctx, conn.session, names);
    // 17+ trust their own history once the socket has a cursor (they test it against 0, as here); 16 only
    // moves the cursor forward (`if self._last_notif_sent_id < last`), so a lower `last` replays nothing.
    const cursor = pollCursor(last, this.#ctx.store.lastId);
    if (hasSentHistory(this.#ctx.version)) {
      if (conn.last === 0) conn.last = cursor;
    } else if (cursor > conn.last) {
      conn.last = cursor;
    }
    conn.unlisten = this.#ctx.store.listen(conn.channels, () => this.#dispatch(conn));
    this.#dispatch(conn);
  }

  #updatePresence(conn: Connection, data: unknown): void {
    if (!isPlainObject(data)) return;
    const user = conn.session.user;
    const inactivity = data['inactivity_period'];
    if (!user || typeof inactivity !== 'number' || !Number.isFinite(inactivity)) return;
    // Odoo calls its handler with the data as keyword arguments: a key it does not take, or one missing,
    // is a TypeError in the server log and no presence update.
    if (Object.keys(data).sort().join() !== presenceKeys(this.#ctx.version).join()) return;
    if (this.#ctx.pg) void this.#ctx.pg.updatePresence(user.uid, Math.trunc(inactivity));
    try {
      this.#ctx.presence.recordPoll(user.uid, { bus_inactivity: Math.trunc(inactivity) });
    } catch (error) {
      if (!(error instanceof OdooError)) throw error;
    }
  }

  // 17+: the ids just sent join the history; the oldest that are older than the window leave it, and the
  // cursor moves to the last of them. Only from the bottom: an id above one still remembered stays, or
  // the next read (above the cursor, minus the history) would send it again.
  #remember(conn: Connection, rows: readonly BusRow[]): void {
    const now = this.#ctx.clock.now();
    for (const row of rows) conn.sent.push({ id: row.id, at: now });
    conn.sent.sort((a, b) => a.id - b.id);
    let expired = 0;
    while (expired < conn.sent.length && now - conn.sent[expired]!.at > SENT_HISTORY_MS) expired++;
    if (expired === 0) return;
    conn.last = conn.sent[expired - 1]!.id;
    conn.sent.splice(0, expired);
  }

  // `_poll(channels, last)` (17+: minus the ids in the history), sent as one frame.
  #dispatch(conn: Connection): void {
    if (!conn.channels || conn.ws.readyState !== conn.ws.OPEN) return;
    // And before each dispatch (`_dispatch_bus_notifications`).
    if (conn.sessionEnded) {
      this.#close(conn, CLOSE.SESSION_EXPIRED);
      return;
    }
    const history = hasSentHistory(this.#ctx.version);
    const sentIds = new Set(conn.sent.map((entry) => entry.id));
    const rows = this.#ctx.store.select(conn.channels, conn.last, conn.session.db).filter((row) => !sentIds.has(row.id));
    if (rows.length === 0) return;
    if (history) this.#remember(conn, rows);
    else conn.last = rows[rows.length - 1]!.id;
    conn.ws.send(JSON.stringify(rows.map(notificationOf)));
    this.#ctx.stats.countFrameOut();
    this.#armIdle(conn);
  }
}

function bufferOf(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
