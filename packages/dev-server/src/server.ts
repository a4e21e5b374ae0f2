// createDevServer: builds the shared state, the route table and the node:http server, and
// makes sure no request can crash the process: every handler runs inside one guard.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createClock } from './clock';
import type { Clock } from './clock';
import { ConnectionTracker } from './connections';
import type { ServerContext } from './context';
import { FaultQueue } from './faults';
import { canWrite, sendJson, sendText } from './http';
import { PollHolds } from './holds';
import { hasImStatusRoute, hasLongpolling, hasWebSocket, isOdooVersion } from './odoo-version';
import type { OdooVersion } from './odoo-version';
import { PollLog } from './poll-log';
import { PresenceTable } from './presence';
import type { PresenceEntry } from './presence';
import { presenceRules } from './presence-rules';
import { publishAsync, publishNotifications } from './publish';
import { PgBus } from './pg/pg-bus';
import { JOB_UPDATE_TYPE, JobRunner, jobsChannel, MemoryJobTable, parseCapacities, type JobUpdate } from './jobs';
import { jobRoutes } from './routes/dev-jobs';
import { sendDevError } from './routes/dev-http';
import { devRoutes } from './routes/devtools';
import { imStatusRoute } from './routes/im-status';
import type { HttpRoute } from './routes/http-route';
import { health, longpollingRoutes } from './routes/longpolling';
import { logoutRoute, sessionRoutes } from './routes/session';
import { runRpcRoute } from './rpc-route';
import type { RpcRoute } from './rpc-route';
import { DEFAULT_USERS, SessionStore } from './sessions';
import type { DevUser } from './sessions';
import { loadSessions, saveSessions } from './sessions-file';
import { createStaticFiles } from './static';
import { StatsCounters } from './stats';
import type { DevServerStats } from './stats';
import { BusStore } from './store';
import { WebSocketHub } from './websocket';
import type { WebSocketSessionCheck } from './websocket';
import { socketCloseRoute } from './routes/dev-sockets';

/** What {@link createDevServer} accepts; every field is optional (the CLI's flags map onto them). */
export interface DevServerOptions {
  /** TCP port; 0 (the default) picks any free port. */
  port?: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Odoo version to emulate (long-polling: 8–15; WebSocket: 16–19); default 15. */
  odoo?: OdooVersion;
  /** Database name: checked at login, and part of every channel on 15. Default `tabbus`. */
  db?: string;
  /**
   * More databases on the same server, as Odoo without a dbfilter serves every database of its cluster:
   * a login names one, and each session is served from its own (its channels, its rows). `db` stays the
   * first one (public sessions, stats). Not with `pg`. Default none.
   */
  databases?: readonly string[];
  /**
   * Emulate Odoo with `mail` (default true): on 8–15 a logged-in poll also listens on the user's own
   * channel, `[db,"res.partner",partner]` (8: `[db,"im_chat.session",uid]`), as mail's `_poll` adds it.
   * 16+ always do, on `subscribe` (the bus addon adds the partner). false: the bus addon alone.
   */
  mail?: boolean;
  /** Serve the /tabbus/* dev routes (send, stats, clock, gc); default true. */
  dev?: boolean;
  /** URL prefix → directory, served as static files. */
  staticRoots?: Record<string, string>;
  /** Users who can log in; default admin/admin (uid 2) and demo/demo (uid 6). */
  users?: readonly DevUser[];
  /** How long a poll with nothing to answer is held, in clock ms; default 50 000 (Odoo's TIMEOUT). */
  holdMs?: number;
  /** Rows older than this are deleted, in clock ms; default 100 000 (2 × TIMEOUT). */
  gcAgeMs?: number;
  /** Where unexpected failures are reported (never bad input); default console.error. */
  onError?: (error: unknown, where: string) => void;
  /**
   * Keep logged-in sessions in this JSON file, so a restarted server still knows the browser's
   * cookie. Read at start (a missing or empty file means none; anything unreadable rejects with
   * a SessionsFileError), rewritten atomically on every login, logout and expiry.
   */
  sessionsFile?: string;
  /** 16+: a WebSocket is closed 4002 KEEP_ALIVE_TIMEOUT after this long, in clock ms; default 3 600 000. */
  websocketKeepAliveMs?: number;
  /**
   * 16+: when a socket whose session ended (logout, a login in another tab, expiry) is closed 4001:
   * `immediate` (default), or `on-frame`, as Odoo does: at its next incoming message or dispatch.
   */
  websocketSessionCheck?: WebSocketSessionCheck;
  /**
   * A PostgreSQL connection string: bus_bus lives there (insert in a transaction, NOTIFY imbus after
   * commit, one LISTEN connection per process), so several servers on one database share notifications.
   * Presence is also written there, Odoo-style, to count serialization failures. Default: memory only.
   */
  pg?: string;
  /** Background job channels and how many jobs each runs at once, queue_job style (default `root:2`). */
  jobChannels?: string;
  /** With `pg`: how long the listener waits before reconnecting after losing the database (default 5000 ms). */
  pgRecoveryDelayMs?: number;
  /** With `pg`: where the listener reports losing the database (default console.warn). */
  onWarning?: (message: string) => void;
}

/** A running dev server, as {@link createDevServer} resolves it. */
export interface DevServer {
  /** `http://HOST:PORT`, with the real port when 0 was asked for. */
  readonly url: string;
  /** The port it listens on (the one picked when 0 was asked for). */
  readonly port: number;
  /** The Odoo version it emulates. */
  readonly odoo: OdooVersion;
  /** The database name logins must give. */
  readonly db: string;
  /** Every database served, `db` first. */
  readonly databases: readonly string[];
  /** The server's clock: `advance(ms)` fires due holds and GC without waiting. */
  readonly clock: Clock;
  /** The counters GET /tabbus/stats answers with. */
  stats(): DevServerStats;
  /** Sets the counters back to zero (POST /tabbus/stats/reset), the peaks to what is open now. */
  resetStats(): void;
  /** The presence table, as GET /tabbus/presence answers it: one row per user who polled logged in. */
  presence(): PresenceEntry[];
  /**
   * Inserts one notification and returns its id. `channel` is spelled as a client polls it.
   * 15+: `message` is `{type, payload}`; 8–14: any JSON value. 16+ also take a record channel
   * `[model, id]`, e.g. `['res.partner', 3]` (the partner channel every socket of partner 3 hears).
   */
  publish(channel: string | readonly [string, number], message: unknown): number;
  /** The same on either store (with `pg` the only way from code): resolves once the row is committed. */
  publishAsync(channel: string | readonly [string, number], message: unknown): Promise<number>;
  /** Deletes rows older than gcAgeMs now; returns how many. */
  gc(): number;
  /** Answers held polls with what they have (usually `[]`, as Odoo 15 does on shutdown), then stops. */
  close(): Promise<void>;
}

// Odoo's TIMEOUT: the catch-up window of a `last == 0` poll.
const CATCH_UP_MS = 50_000;
// How often, in clock time, rows are collected when nothing is being sent.
const GC_INTERVAL_MS = 10_000;
// After close(), how long in-flight requests other than polls get before their sockets are cut.
const CLOSE_GRACE_MS = 2_000;

function checkedOptions(options: DevServerOptions) {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer 0–65535, got ${port}`);
  const odoo = options.odoo ?? 15;
  if (!isOdooVersion(odoo)) throw new RangeError(`odoo must be one of 8–19 (8–15 long-polling, 16–19 WebSocket), got ${String(odoo)}`);
  const db = options.db ?? 'tabbus';
  if (typeof db !== 'string' || db === '') throw new TypeError('db must be a non-empty string');
  const more = options.databases ?? [];
  if (!Array.isArray(more) || !more.every((name) => typeof name === 'string' && name !== '')) throw new TypeError('databases must be an array of non-empty strings');
  const databases = [...new Set([db, ...more])];
  // One bus_bus table without a database column: several databases would read each other's rows.
  if (databases.length > 1 && options.pg) throw new RangeError('several databases cannot share one PostgreSQL bus_bus here: use pg with one database');
  const holdMs = options.holdMs ?? 50_000;
  const gcAgeMs = options.gcAgeMs ?? 100_000;
  const websocketKeepAliveMs = options.websocketKeepAliveMs ?? 3_600_000;
  const websocketSessionCheck = options.websocketSessionCheck ?? 'immediate';
  if (websocketSessionCheck !== 'immediate' && websocketSessionCheck !== 'on-frame') {
    throw new RangeError(`websocketSessionCheck must be 'immediate' or 'on-frame', got ${JSON.stringify(websocketSessionCheck)}`);
  }
  for (const [name, value] of [['holdMs', holdMs], ['gcAgeMs', gcAgeMs], ['websocketKeepAliveMs', websocketKeepAliveMs]] as const) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`);
  }
  const users = options.users ?? DEFAULT_USERS;
  const sessionsFile = options.sessionsFile;
  if (sessionsFile !== undefined && (typeof sessionsFile !== 'string' || sessionsFile === '')) throw new TypeError('sessionsFile must be a non-empty path');
  return { port, host: options.host ?? '127.0.0.1', odoo, db, databases, mail: options.mail ?? true, holdMs, gcAgeMs, websocketKeepAliveMs, websocketSessionCheck, users, sessionsFile, dev: options.dev ?? true };
}

// The path of a request target. Prefixing the origin keeps `//x/y` a path (new URL would read
// it as host `x`); the URL parser still resolves `.` and `..` segments.
function pathnameOf(target: string): string | undefined {
  try {
    return new URL(`http://localhost${target.startsWith('/') ? '' : '/'}${target}`).pathname;
  } catch {
    return undefined;
  }
}

/**
 * The session store, backed by the sessions file when there is one. The file is read and written
 * once before the server listens, so a corrupt file or an unwritable path fails the start instead
 * of the first login; later write failures are reported and the sessions live on in memory.
 */
function createSessionStore(
  users: readonly DevUser[],
  databases: readonly string[],
  file: string | undefined,
  onError: (error: unknown, where: string) => void,
): SessionStore {
  const db = databases[0]!;
  if (file === undefined) return new SessionStore(users, { db });
  const restore = loadSessions(file, users, databases);
  saveSessions(file, restore, db);
  return new SessionStore(users, {
    db,
    restore,
    onLoggedInChange: (sessions) => {
      try {
        saveSessions(file, sessions, db);
      } catch (error) {
        onError(error, 'sessions file');
      }
    },
  });
}

/**
 * Starts a dev server: listens, then resolves once it accepts connections. The `tabbus-dev-server` CLI is
 * this call with its flags as options; `close()` stops it.
 */
export async function createDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const config = checkedOptions(options);
  const onError = options.onError ?? ((error: unknown, where: string) => console.error(`[tabbus dev-server] ${where}:`, error));
  const sessions = createSessionStore(config.users, config.databases, config.sessionsFile, onError);
  const clock = createClock({ onError: (error) => onError(error, 'timer') });
  const store = new BusStore({ clock, catchUpMs: CATCH_UP_MS, gcAgeMs: config.gcAgeMs, db: config.db });
  const stats = new StatsCounters();
  const pg = options.pg
    ? new PgBus({
        connectionString: options.pg,
        store,
        now: () => clock.now(),
        gcAgeMs: config.gcAgeMs,
        onError,
        ...(options.onWarning ? { onWarning: options.onWarning } : {}),
        ...(options.pgRecoveryDelayMs !== undefined ? { recoveryDelayMs: options.pgRecoveryDelayMs } : {}),
      })
    : undefined;
  await pg?.start();
  const presence = new PresenceTable({
    rules: presenceRules(config.odoo, clock.now()),
    clock,
    onWrite: (uid) => stats.countPresenceWrite(uid),
  });
  const jobTable = pg ? pg.jobTable() : new MemoryJobTable();
  // The job runner publishes through the same path as /tabbus/send (PostgreSQL with --pg).
  let publishJob: (uid: number, update: JobUpdate) => Promise<void> = async () => undefined;
  const jobs = new JobRunner({
    table: jobTable,
    clock,
    capacities: parseCapacities(options.jobChannels ?? 'root:2'),
    publish: (uid, update) => publishJob(uid, update),
    onError,
    onWarning: options.onWarning ?? ((message) => console.warn(`[tabbus dev-server] ${message}`)),
  });
  if (pg) pg.onJobChange = () => jobs.wake();
  const ctx: ServerContext = {
    version: config.odoo,
    jobs,
    db: config.db,
    databases: config.databases,
    mail: config.mail,
    clock,
    store,
    pg,
    sessions,
    stats,
    holds: new PollHolds({ store, clock, stats }),
    faults: new FaultQueue(),
    pollLog: new PollLog(),
    presence,
    holdMs: config.holdMs,
    onError,
    closing: false,
  };
  publishJob = async (uid, update) => {
    await publishAsync(ctx, [{ channel: jobsChannel(uid), message: { type: JOB_UPDATE_TYPE, payload: update } }]);
  };
  await jobs.start();
  const staticFiles = createStaticFiles(options.staticRoots ?? {});

  const snapshot = (): DevServerStats => ({
    odoo: ctx.version,
    db: ctx.db,
    now: clock.now(),
    lastId: store.lastId,
    rows: store.size,
    ...stats.snapshot(),
    postgresql: pg ? { ...pg.counters } : null,
  });

  // Rows also age out while nobody sends; a self-rescheduling clock timer covers that.
  const gcTick = (): void => {
    store.gc();
    pg?.gc().catch(() => undefined);
    clock.setTimer(gcTick, GC_INTERVAL_MS);
  };
  clock.setTimer(gcTick, GC_INTERVAL_MS);

  // 16+: the WebSocket bus; /longpolling/* is gone (404), as in Odoo.
  const sockets = hasWebSocket(ctx.version) ? new WebSocketHub(ctx, { keepAliveMs: config.websocketKeepAliveMs, sessionCheck: config.websocketSessionCheck }) : undefined;
  const rpcRoutes = new Map<string, RpcRoute>(
    [
      ...sessionRoutes(ctx),
      ...(hasLongpolling(ctx.version) ? longpollingRoutes(ctx) : []),
      ...(hasImStatusRoute(ctx.version) ? [imStatusRoute(ctx, config.users)] : []),
      ...(sockets ? sockets.rpcRoutes() : []),
    ].map((route) => [route.path, route]),
  );
  const httpRoutes = new Map<string, HttpRoute>(
    [
      ...(sockets
        ? ([
            { path: '/websocket/health', methods: ['GET'], handle: health },
            { path: '/websocket', methods: ['GET'], handle: (req, res) => sockets.handlePlainRequest(req, res) },
          ] satisfies HttpRoute[])
        : [{ path: '/longpolling/health', methods: ['GET'], handle: health } satisfies HttpRoute]),
      logoutRoute(ctx),
      ...(config.dev
        ? devRoutes(ctx, { stats: snapshot, resetStats: () => stats.reset(), gc: () => store.gc(), faultRoutes: [...rpcRoutes.keys()] })
        : []),
      ...(config.dev ? [socketCloseRoute(sockets, config.odoo)] : []),
      ...(config.dev ? jobRoutes(ctx) : []),
    ].map((route) => [route.path, route]),
  );

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = pathnameOf(req.url ?? '/');
    if (pathname === undefined) {
      stats.countRequest('other');
      sendText(res, 400, 'Bad Request\n');
      return;
    }
    const rpc = rpcRoutes.get(pathname);
    if (rpc) {
      stats.countRequest(pathname);
      await runRpcRoute(rpc, ctx, req, res);
      return;
    }
    const http = httpRoutes.get(pathname);
    if (http) {
      stats.countRequest(pathname);
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      if (!http.methods.some((m) => m === method)) {
        res.setHeader('Allow', http.methods.join(', '));
        sendDevError(res, 405, 'method_not_allowed', `${pathname} accepts ${http.methods.join(', ')}`);
        return;
      }
      await http.handle(req, res);
      return;
    }
    const file = await staticFiles.find(req, pathname);
    if (file) {
      stats.countRequest('static');
      await staticFiles.send(req, res, file);
      return;
    }
    stats.countRequest('other');
    sendText(res, 404, 'Not Found\n');
  }

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      onError(error, `${req.method} ${req.url}`);
      if (canWrite(res)) sendJson(res, 500, { error: { code: 'internal', message: 'internal error in the dev server' } });
      else res.destroy();
    });
  });
  const connections = new ConnectionTracker(server);
  if (sockets) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      connections.release(socket as Socket);
      const pathname = pathnameOf(req.url ?? '/');
      if (pathname === '/websocket') stats.countRequest('/websocket');
      try {
        sockets.handleUpgrade(req, socket, head, pathname);
      } catch (error) {
        onError(error, `upgrade ${req.url}`);
        socket.destroy();
      }
    });
  }
  // Malformed HTTP (bad request line, oversized headers): answer 400 and hang up.
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void => {
      clock.dispose(); // nothing will ever close this server: drop its GC timer
      void pg?.stop();
      reject(error);
    };
    server.once('error', failed);
    server.listen(config.port, config.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (error) => onError(error, 'server'));

  const port = (server.address() as AddressInfo).port;
  const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;

  let closed: Promise<void> | undefined;
  function close(): Promise<void> {
    closed ??= (async () => {
      ctx.closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      ctx.holds.releaseAll();
      sockets?.closeAll();
      connections.closeIdle();
      const cut = setTimeout(() => {
        server.closeAllConnections();
        sockets?.terminateAll();
      }, CLOSE_GRACE_MS);
      cut.unref();
      await stopped;
      clearTimeout(cut);
      jobs.stop();
      clock.dispose();
      await pg?.stop();
    })();
    return closed;
  }

  return {
    url: `http://${hostInUrl}:${port}`,
    port,
    odoo: ctx.version,
    db: ctx.db,
    databases: ctx.databases,
    clock,
    stats: snapshot,
    resetStats: () => stats.reset(),
    presence: () => presence.entries(),
    publish: (channel, message) => publishNotifications(ctx, [{ channel, message }])[0]!,
    publishAsync: async (channel, message) => (await publishAsync(ctx, [{ channel, message }]))[0]!,
    gc: () => store.gc(),
    close,
  };
}
