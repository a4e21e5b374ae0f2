import { createBus, TabBusError, type BackoffOptions, type BusEnv, type TabBus } from '@tabbus/core';
import { detectVersion } from './detect-version';
import { LongpollingTransport } from './longpolling';
import { stringChannelOf, type OdooNotification } from './notifications';
import { fetchSessionInfo, type SessionInfo } from './session';
import { checkVersion, speaksWebsocket, type OdooVersion } from './versions';
import { WebsocketTransport } from './websocket';

/** What `createOdooBus` accepts; every field is optional (the README's option table says more). */
export interface OdooBusOptions {
  /** Where Odoo is: origin plus optional path prefix. Default: this page's origin. */
  serverUrl?: string;
  /** The database, part of the scope. Default: the one the session reports. */
  db?: string;
  /**
   * Odoo's major version: it decides the connection (long-polling up to 15, WebSocket from 16) and the
   * message shapes. `'auto'` asks the server when each tab starts (`/web/webclient/version_info`, then
   * `/websocket/health`); `state().transportName` shows the choice. Default 15.
   */
  version?: OdooVersion | 'auto';
  /**
   * Odoo 17+: the server's `websocket_worker_version` (Odoo pages know it as `session.websocket_worker_version`),
   * sent as `/websocket?version=`; without the right one Odoo closes the socket as outdated. Default: asked
   * from the session info once per tab. A public page cannot ask: give it here.
   */
  websocketWorkerVersion?: string;
  /**
   * WebSocket only: once every tab has been hidden this long, close the socket; the first tab shown reopens
   * it from the cursor. Saves a socket per idle browser at the server, costs a reconnect (and a `gap` if the
   * socket stayed closed longer than the server keeps notifications, 100 s). In ms; default 0: never close.
   */
  hiddenSocketClose?: number;
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
   * (the long-poll route cannot tell: Odoo serves an expired cookie a fresh public session). It also asks
   * when its term starts and after errors. Default 300 000; 0: only then. Public pages (`uid: false`) never ask.
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
export type OdooBus = TabBus<OdooNotification>;

/**
 * Creates the bus for one Odoo: every tab of the same server, database and user shares one long-poll.
 * Listen with `bus.on('notification', items => …)`; items are `{id, channel, message}` up to Odoo 14 and
 * `{id, type, payload}` from 15.
 */
export function createOdooBus(options: OdooBusOptions = {}): OdooBus {
  const requested = checkVersion(options.version ?? 15);
  let version = requested === 'auto' ? undefined : requested;
  const serverUrl = (options.serverUrl ?? '').replace(/\/+$/, '');
  if (options.uid !== undefined && options.uid !== false && !Number.isSafeInteger(options.uid)) {
    throw new TabBusError('config', `uid must be an integer or false (got ${JSON.stringify(options.uid)})`);
  }
  const origin = serverUrl || (typeof location === 'undefined' ? '' : location.origin);
  const credentials = options.credentials ?? 'same-origin';
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const server = { fetch: fetchImpl, serverUrl, credentials };
  const scopeOf = (db: string, uid: number | false | null) => `${origin}|${db}|${uid === null || uid === false ? 'public' : uid}`;
  const { uid, db } = options;
  /** The session info, asked at most once at a time and kept once known (the scope and the socket's version read it). */
  let session: Promise<SessionInfo> | undefined;
  const sessionInfo = () =>
    (session ??= fetchSessionInfo(server).catch((error: unknown) => {
      session = undefined;
      throw error;
    }));
  /** The user the scope was computed for: a session check that finds another one ends the session. */
  let scopeUid: number | false | null | undefined = uid;
  // Tabs must compute the same scope however they were set up, so a missing db or uid is asked from
  // the server rather than left blank.
  // A public page cannot ask (the session route wants a login): it goes by what it was given.
  const known = uid === false || (uid !== undefined && db !== undefined);
  const scope =
    known && version !== undefined
      ? scopeOf(db ?? '', uid)
      : async () => {
          const [info] = await Promise.all([known ? undefined : sessionInfo(), version === undefined ? detectVersion(server).then((v) => (version = v)) : undefined]);
          if (!info) return scopeOf(db ?? '', uid ?? false);
          scopeUid = uid ?? info.uid;
          return scopeOf(db ?? info.db, scopeUid);
        };
  const checkSession = async (): Promise<void> => {
    const info = await fetchSessionInfo(server);
    if (info.uid !== scopeUid) {
      // Logged out and in as someone else in another window: this bus's channels belong to the old user.
      throw new TabBusError('session_expired', `the session now belongs to user ${String(info.uid)}, not ${String(scopeUid)}; log in again`, {
        fatal: true,
        context: { expected: scopeUid, actual: info.uid },
      });
    }
  };
  const workerVersion = async (): Promise<string | undefined> => {
    if (options.websocketWorkerVersion !== undefined) return options.websocketWorkerVersion;
    // Odoo 16 has no `?version=`; a public page cannot ask (and connects without it).
    if ((version ?? 0) < 17 || uid === false) return undefined;
    return (await sessionInfo()).websocketWorkerVersion;
  };
  // The options that share a name with the bus's and the transport's are passed through as they are.
  return createBus<OdooNotification>({
    ...options,
    scope,
    transport: () => {
      // The scope is resolved (and with it an 'auto' version) before any transport is made.
      const v = version ?? 15;
      return speaksWebsocket(v)
        ? new WebsocketTransport({ ...options, serverUrl, version: v, workerVersion, ...(options.hiddenSocketClose ? { hiddenClose: options.hiddenSocketClose } : {}) })
        : new LongpollingTransport({ ...options, serverUrl, version: v, fetch: fetchImpl, credentials });
    },
    transportName: () => (version === undefined ? undefined : speaksWebsocket(version) ? 'websocket' : 'longpolling'),
    ...(uid === false ? {} : { checkSession }),
    // Items of 15+ carry no channel, so this sends them to every tab; up to 14 it routes by channel.
    channelOf: stringChannelOf,
    autoStart: options.start !== false,
  });
}
