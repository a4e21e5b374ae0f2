import { browserEnv, createBus, isSessionExpired, TabBusError, type BackoffOptions, type BusEnv, type TabBus } from '@tabbus/core';
import type { detectVersion } from './detect-version';
import type { LongpollingTransport } from './longpolling';
import { stringChannelOf, type OdooNotification } from './notifications';
import { serverOf } from './server';
import { fetchSessionInfo, type SessionInfo } from './session';
import { hearSessions, type SessionNews } from './sessions';
import { checkVersion, speaksWebsocket, type OdooVersion } from './versions';
import type { WebsocketTransport } from './websocket';

/** What `createOdooBus` accepts; every field is optional (the README's option table says more). */
export interface OdooBusOptions {
  /** Where Odoo is: origin plus optional path prefix. Default: this page's origin. */
  serverUrl?: string;
  /** The database, part of the scope. Default: the one the session reports. */
  db?: string;
  /**
   * Odoo's major version (8 to 19): it decides the connection (long-polling up to 15, WebSocket from 16),
   * the message shapes and what a presence update carries. `'auto'` asks the server when each tab starts
   * (`/web/webclient/version_info`, then `/websocket/health`); `state().transportName` shows the choice.
   * Default 15.
   */
  version?: OdooVersion | 'auto';
  /**
   * Odoo 17+: the server's `websocket_worker_version` (Odoo pages know it as `session.websocket_worker_version`),
   * sent as `/websocket?version=`; without the right one Odoo closes the socket as outdated. Default: the
   * first tab to lead asks the session info and shares the answer with the other tabs (and the pages opened
   * later), so a new leader connects without asking; a learned version the server refuses is asked afresh
   * once. A public page cannot ask: give it here. Given, a refusal is the `outdated` error at once.
   */
  websocketWorkerVersion?: string;
  /**
   * WebSocket only: once every tab has been hidden this long, close the socket; the first tab shown reopens
   * it from the cursor. Saves a socket per idle browser at the server, costs a reconnect (and a `gap` if the
   * socket stayed closed longer than the server keeps notifications, 100 s). In ms; default 0: never close.
   */
  hiddenSocketClose?: number;
  /**
   * Odoo 16 (accepted and sent, but unused by the server, on 17/18; ignored on 19): the records whose
   * im_status the server should send back with each presence update, `{'res.partner': [ids]}` (Odoo's
   * `im_status_ids_by_model`). Read by the leader each time it sends presence (on connect, every minute,
   * and on `sendPresence()`). Default: none.
   */
  imStatusIds?: () => Record<string, number[]> | undefined;
  /** A WebSocket implementation (tests, instrumentation). */
  WebSocket?: typeof WebSocket;
  /**
   * The logged-in user's id, part of the scope (Odoo pages know it as `session.uid`); `false` for a
   * public page. When it or `db` is left out, each tab asks `/web/session/get_session_info` once at start.
   */
  uid?: number | false;
  /** Channels this tab joins from the start (strings; Odoo adds the user's own channels server-side). */
  channels?: string[];
  /** Start at once (default `true`; the start happens in a microtask so listeners can be attached first). */
  start?: boolean;
  /** `auto` (default): one connection per browser. `none`: every tab polls for itself, as Odoo 8 did. */
  coordination?: 'auto' | 'none';
  /** Client-side timeout of one long-poll, in ms. Default 60 000 (Odoo holds a poll 50 s). */
  pollTimeout?: number;
  /** Delays after errors. Default: 1 s × 1.5 per failure up to 60 s, plus up to 30 % jitter. */
  backoff?: BackoffOptions;
  /**
   * How often the leader asks `/web/session/get_session_info` whether the user is still logged in, in ms
   * (the long-poll route cannot tell: Odoo serves an expired cookie a fresh public session), counted from the
   * last check that passed in any tab or page of the scope: a new leader asks at once only when it knows of
   * none. It also asks after errors and back online. Default 300 000; 0: at the start of each term and then
   * only. Public pages (`uid: false`) never ask.
   */
  sessionCheckInterval?: number;
  /** How long the leader may stay silent before a visible tab takes over (a frozen tab keeps its lock), in ms; the takeover comes within 4/3 of it. Default 3000; 0: never. */
  leaderTimeout?: number;
  /** Largest reply accepted from the server, in bytes; a larger one is a `protocol` error. Default 16 MiB. */
  maxReplyBytes?: number;
  /**
   * While every tab is hidden, the pause between two polls, in ms: a burst of notifications then costs one
   * request. The first tab to become visible ends the pause. Default 30 000; 0: always live.
   */
  hiddenPace?: number;
  /** A hidden leader hands the connection to a visible tab (hidden tabs get throttled). Default `true`. */
  preferVisibleLeader?: boolean;
  /** Cookies on requests: default `same-origin`. Use `include` for a cross-origin server that allows it. */
  credentials?: RequestCredentials;
  /** A fetch implementation (tests, instrumentation). */
  fetch?: typeof fetch;
  /** Browser capabilities; for tests. */
  env?: Partial<BusEnv>;
}

/** The bus `createOdooBus` returns: a TabBus carrying Odoo notifications. */
export type OdooBus = TabBus<OdooNotification> & {
  /**
   * WebSocket (16+), in the tab that holds the socket: tells the server the browser-wide inactivity now
   * rather than at the next minute (what Odoo's client does on connect and when the server says the user
   * went offline). Returns false where there is nothing to send on: another tab holds the connection, the
   * socket is not open, or the bus long-polls (15 and older send presence with every poll).
   */
  sendPresence(): boolean;
};

/** The shared value (see `bus.shared`) that holds the server's learned `websocket_worker_version`. */
export const WORKER_VERSION_KEY = 'tabbus:workerVersion';

/**
 * What a build carries, by version family: `createOdooBus` carries all of it; the script-tag builds for one
 * series (the addon's) carry their family's transport and no detection (see one-family.ts), so the rest of
 * the code stays out of their bundle.
 */
export interface OdooBusParts {
  readonly longpolling?: typeof LongpollingTransport;
  readonly websocket?: typeof WebsocketTransport;
  /** Finds the server's version, for `version: 'auto'`. */
  readonly detect?: typeof detectVersion;
}

/** `createOdooBus` over the given parts: the caller makes sure they speak the version asked for. */
export function makeOdooBus(options: OdooBusOptions, parts: OdooBusParts): OdooBus {
  const requested = checkVersion(options.version ?? 15);
  let version = requested === 'auto' ? undefined : requested;
  const server = serverOf(options);
  const { origin } = server;
  const { uid, db } = options;
  if (uid !== undefined && uid !== false && !Number.isSafeInteger(uid)) {
    throw new TabBusError('config', `uid must be an integer or false (got ${JSON.stringify(uid)})`);
  }
  const scopeOf = (db: string, uid: number | false | null | undefined) => `${origin}|${db}|${typeof uid === 'number' ? uid : 'public'}`;
  /** The session info, asked at most once at a time and kept once known (the scope and the socket's version read it). */
  let session: Promise<SessionInfo> | undefined;
  const sessionInfo = () =>
    (session ??= fetchSessionInfo(server).catch((error: unknown) => {
      session = undefined;
      throw error;
    }));
  /** The user and database the scope was computed for: a session check that finds others ends the session. */
  let scopeUid: number | false | null | undefined = uid;
  let scopeDb: string | undefined = db;
  // Tabs must compute the same scope however they were set up, so a missing db or uid is asked from
  // the server rather than left blank.
  // A public page cannot ask (the session route wants a login): it goes by what it was given.
  const known = uid === false || (uid !== undefined && db !== undefined);
  const scope =
    known && version !== undefined
      ? scopeOf(db ?? '', uid)
      : async () => {
          // Asked again at each start: the user may have changed since (a logout stopped this bus, a login followed).
          if (!known) session = undefined;
          const [info] = await Promise.all([!known && sessionInfo(), version === undefined && parts.detect!(server).then((v) => (version = v))]);
          // Nothing asked: the scope is known, its uid a number or false.
          if (!info) return scopeOf(db ?? '', uid);
          scopeUid = uid ?? info.uid;
          scopeDb = db ?? info.db;
          return scopeOf(scopeDb, scopeUid);
        };
  /** An error's message as its detail (TabBusError adds the `tabbus: ` prefix again). */
  const detailOf = (error: TabBusError) => error.message.replace(/^tabbus: /, '');
  /** Asks whose session the cookie holds: a fatal `session_expired` unless it is this bus's user's. */
  const askSession = async (): Promise<void> => {
    const info = await fetchSessionInfo(server).catch((error: unknown) => {
      // The session route wants a login: the session ended (a logout, here or elsewhere).
      if (isSessionExpired(error)) throw new TabBusError('session_expired', detailOf(error), { fatal: true, context: { ...error.context, reason: 'logout' } });
      throw error;
    });
    if (info.uid !== scopeUid || (scopeDb !== undefined && info.db !== scopeDb)) {
      // Logged out, or in as someone else (or into another database) in another window: this bus's
      // channels belong to the old user.
      const logout = typeof info.uid !== 'number';
      throw new TabBusError('session_expired', `the session now belongs to ${logout ? 'nobody' : `user ${info.uid} of ${info.db}`}, not user ${scopeUid} of ${scopeDb ?? '?'}; log in again`, {
        fatal: true,
        context: { reason: logout ? 'logout' : 'user_changed', expected: scopeUid, actual: info.uid, expectedDb: scopeDb, actualDb: info.db },
      });
    }
  };
  const env = { ...browserEnv(), ...options.env };
  /** The user this bus runs for, while it runs (a public page has none: it neither tells nor hears). */
  const mine = () => (bus.state().role !== 'stopped' && typeof scopeUid === 'number' && scopeDb !== undefined ? { db: scopeDb, uid: scopeUid } : undefined);
  /**
   * Whether to ask whose session the cookie holds before the leader's next request, though no check is due:
   * news heard before this bus knew its user (its scope was being asked), a login whose outcome was lost (the
   * server may have logged someone in), or another user running a bus here last when this one started (a
   * page rendered for an earlier user; that user's stored pass says nothing of the cookie now).
   */
  let doubt = false;
  /** Who ran a bus of this server last in this browser (`db|uid`), read as this bus started; consumed by the first gate. */
  let lastUser: string | null | undefined;
  const userKey = `tabbus:${origin}:user`;

  /** Logins heard of (each `pending`): a check that answers after one began may have asked with the old cookie. */
  let logins = 0;
  const ear = hearSessions(origin, env, (news: SessionNews) => {
    if (news.kind === 'login' && news.state === 'pending') {
      logins++;
      // Odoo 8–15 answer every request with the cookie it came with: the poll the server holds across the
      // login would come back with the old session's cookie, over the new one, and log the browser out.
      // Given up now (the browser never reads its answer), it goes again once the login is over (the gate).
      poller?.refresh();
    }
    const me = mine();
    if (!me) {
      if (bus.state().role === 'joining') doubt = true;
      return;
    }
    // A login that failed (its answer may have been lost after the server logged someone in), or one said to be
    // over by the page it led to, which cannot tell whose session it is: the server says, before the next request.
    if (news.kind === 'login' && (news.state === 'failed' || news.state === 'over')) doubt = true;
    if (news.kind === 'logout') return bus.sessionExpired('the user logged out in another tab; log in again', { reason: 'logout' });
    if (news.kind === 'login' && news.state === 'done' && (news.db !== me.db || news.uid !== me.uid)) {
      return bus.sessionExpired(`user ${news.uid} of ${news.db} logged in in another tab; log in again`, { reason: 'user_changed', actual: news.uid, actualDb: news.db });
    }
    if (news.kind === 'scope' && (news.db !== me.db || news.uid !== me.uid)) {
      // A tab of another user started: the cookie changed, unless that page is stale. The session says;
      // meanwhile the leader holds its next request.
      ear.verify(checkSession).catch((error: unknown) => isSessionExpired(error) && bus.sessionExpired(detailOf(error as TabBusError), { ...(error as TabBusError).context }));
    }
  }, false);
  /**
   * The session check. Not while a login is under way: Odoo 8–15 answer every request with the cookie it came
   * with, which would go back over the one the login gave. A login rotates the session id, even as the same
   * user: a check that raced one (sent with the cookie the login then replaced) finds the session gone. Asked
   * again once the login is over.
   */
  const checkSession = async (): Promise<void> => {
    if (ear.pending) await ear.settled();
    const before = logins;
    try {
      await askSession();
    } catch (error) {
      if (!isSessionExpired(error) || (!ear.pending && logins === before)) throw error;
      await checkSession();
    }
  };
  /**
   * Before each request of the leader. While a login is under way the cookie is in flux (the old session
   * may already be gone): wait for it to be over; a login as someone else stops this bus meanwhile. A
   * login never said to be over, or news being checked, means: ask the server whose session it is.
   */
  const gate = (): Promise<void> | undefined => {
    if (bus.state().role === 'stopped') return undefined;
    // A public page has no session to check, but its poll must not go out while the cookie is in flux either:
    // on 8–15 its answer would set the cookie it was sent with back over the one the login gave. (The
    // transports only wait for the gate: the login's outcome, what it resolves with here, goes unread.)
    if (uid === false) return ear.pending ? (ear.settled() as Promise<unknown> as Promise<void>) : undefined;
    const me = mine();
    if (me && lastUser !== undefined) {
      if (lastUser !== null && lastUser !== `${me.db}|${me.uid}`) doubt = true;
      lastUser = undefined;
    }
    if (doubt) {
      doubt = false;
      return ear.verify(checkSession);
    }
    if (!ear.pending) return ear.checking;
    // Then as before a request: a login never said to be over, or one that failed (its news sets `doubt`), is checked.
    return ear.settled().then((outcome) => {
      if (outcome === 'timeout') doubt = true;
      return gate();
    });
  };
  const workerVersion = async (refused?: string): Promise<string | undefined> => {
    if (options.websocketWorkerVersion !== undefined) return options.websocketWorkerVersion;
    // Odoo 16 has no `?version=`; a public page cannot ask (and connects without it). Only a socket asks, and
    // sockets are made once the scope (and with it an 'auto' version) resolved: the version is known.
    if (version! < 17 || uid === false) return undefined;
    // Learned once per browser: a failover then opens its socket without a request first.
    const shared = bus.shared<string>(WORKER_VERSION_KEY);
    const known = shared.get();
    if (known && known !== refused) return known;
    // Refused: the server was upgraded since it was learned (the tab's own answer may be as old).
    if (refused) session = undefined;
    const learned = (await sessionInfo()).websocketWorkerVersion;
    if (learned && learned !== known) shared.set(learned);
    return learned;
  };
  /** This tab's socket, while it leads on a WebSocket (each term makes a new one). */
  let socket: WebsocketTransport | undefined;
  /** This tab's long-poll transport, while it leads on 8–15 (each term makes a new one). */
  let poller: LongpollingTransport | undefined;
  // The options that share a name with the bus's and the transport's are passed through as they are.
  const bus = createBus<OdooNotification>({
    ...options,
    env,
    scope,
    transport: () => {
      // The scope is resolved (and with it an 'auto' version) before any transport is made.
      const v = version!;
      if (!speaksWebsocket(v)) return (poller = new parts.longpolling!({ ...options, ...server, version: v, gate }));
      return (socket = new parts.websocket!({
        ...options,
        ...server,
        version: v,
        workerVersion,
        gate,
        // A login, even as the same user, ends the session the socket was opened with: ask whose it is now.
        ...(uid !== false && { sessionClosed: () => Promise.resolve(gate()).then(() => ear.verify(checkSession)) }),
        ...(options.hiddenSocketClose && { hiddenClose: options.hiddenSocketClose }),
      }));
    },
    transportName: () => version && (speaksWebsocket(version) ? 'websocket' : 'longpolling'),
    ...(uid !== false && { checkSession }),
    // Items of 15+ carry no channel, so this sends them to every tab; up to 14 it routes by channel.
    channelOf: stringChannelOf,
    autoStart: options.start !== false,
  });
  // Every tab of the server hears when this user's bus starts: a tab of another user checks its session.
  const start = bus.start.bind(bus);
  bus.start = async () => {
    ear.open();
    // Storage that throws counts as none: a stale page is then found by the news and the checks alone.
    lastUser = null;
    try {
      lastUser = env.storage?.getItem(userKey) ?? null;
    } catch {
      // As none.
    }
    await start();
    const me = mine();
    if (!me) return;
    try {
      env.storage?.setItem(userKey, `${me.db}|${me.uid}`);
    } catch {
      // As above.
    }
    ear.announce({ kind: 'scope', ...me });
  };
  const stop = bus.stop.bind(bus);
  bus.stop = async () => {
    await stop();
    ear.close();
  };
  // The socket of an earlier term is closed (it sends nothing): the last one made sends only while this tab owns it.
  const sendPresence = (): boolean => !!socket?.sendPresence();
  return Object.assign(bus, { sendPresence });
}
