import { TabBusError, type BusEnv } from '@tabbus/core';
import { callJsonRpc } from './jsonrpc';
import type { SessionInfo } from './session';
import { serverOf } from './server';
import { announceSession, type SessionNews } from './sessions';

/** Where and how to reach Odoo, for `authenticate` and `logout`. */
export interface ServerOptions {
  /** Odoo's origin and optional path prefix. Default: this page's origin. */
  serverUrl?: string;
  /** Cookies on requests: default `same-origin`. */
  credentials?: RequestCredentials;
  /** A fetch implementation (tests, instrumentation). */
  fetch?: typeof fetch;
  /** Where the news goes to the other tabs; for tests (default: this browser's channels). */
  env?: Partial<Pick<BusEnv, 'openChannel'>>;
}

/**
 * Logs in with Odoo's `/web/session/authenticate`, telling every tabbus tab of this server first: the
 * session cookie is about to change, so their leaders check the session before each request until the
 * login is over, and once it is done as another user or database they stop (`session_expired`, with
 * `context.reason: 'user_changed'`). Resolves with the new session's info.
 */
export async function authenticate(options: ServerOptions & { db: string; login: string; password: string }): Promise<SessionInfo> {
  const s = serverOf(options);
  const openChannel = options.env?.openChannel;
  const tell = (news: SessionNews) => announceSession(s.origin, news, openChannel ? { openChannel } : undefined);
  tell({ kind: 'login', state: 'pending' });
  // One task's pause: the other pages take the news (a task each) before the cookie can change.
  await new Promise((resolve) => setTimeout(resolve));
  try {
    const url = `${s.serverUrl}/web/session/authenticate`;
    // Odoo answers a login with the new session's info (a wrong password is an AccessDenied error).
    const info = (await callJsonRpc({ ...s, url, params: { db: options.db, login: options.login, password: options.password } })) as Partial<SessionInfo> | null;
    if (!Number.isSafeInteger(info?.uid) || typeof info?.db !== 'string') throw new TabBusError('protocol', `${url}: the reply has no uid/db`);
    tell({ kind: 'login', state: 'done', db: info.db, uid: info.uid as number });
    return info as SessionInfo;
  } catch (error) {
    tell({ kind: 'login', state: 'failed' });
    throw error;
  }
}

/**
 * Logs out with Odoo's `/web/session/destroy`, after telling every tabbus tab of this server, which stop
 * at once (`session_expired`, `context.reason: 'logout'`) rather than go on polling as a public session.
 */
export async function logout(options: ServerOptions = {}): Promise<void> {
  const s = serverOf(options);
  const openChannel = options.env?.openChannel;
  announceSession(s.origin, { kind: 'logout' }, openChannel ? { openChannel } : undefined);
  await callJsonRpc({ ...s, url: `${s.serverUrl}/web/session/destroy`, params: {}, mayReturnNothing: true });
}
