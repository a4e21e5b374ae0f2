import { TabBusError } from '@tabbus/core';
import { callJsonRpc } from './jsonrpc';

/** Who is logged in, as Odoo's session routes say. */
export interface SessionInfo {
  /** The logged-in user's id; `null`/`false` for a public (anonymous) session. */
  readonly uid: number | null | false;
  /** The session's database. */
  readonly db: string;
  /** Odoo 17+: what the bus client sends as `/websocket?version=`. */
  readonly websocketWorkerVersion?: string;
}

/**
 * Asks Odoo who is logged in, on an authenticated route (the bus routes are public and would silently
 * serve a public session to an expired cookie).
 */
export async function fetchSessionInfo(request: { fetch: typeof fetch; serverUrl: string; credentials: RequestCredentials }): Promise<SessionInfo> {
  const url = `${request.serverUrl}/web/session/get_session_info`;
  const result = await callJsonRpc({ ...request, url, params: {} });
  const info = (typeof result === 'object' && result !== null ? result : {}) as Partial<Record<keyof SessionInfo, unknown>>;
  const uid = info.uid;
  // Odoo 8/9 answer a logged-out session (the route is `auth="none"` there) with `uid` and `db` null.
  if (!uid && info.db == null) info.db = '';
  if (!(uid === null || uid === false || Number.isSafeInteger(uid)) || typeof info.db !== 'string') {
    throw new TabBusError('protocol', `${url}: the reply has no uid/db`, { context: { url, result: JSON.stringify(result)?.slice(0, 200) } });
  }
  const workerVersion = (result as { websocket_worker_version?: unknown }).websocket_worker_version;
  return { uid: uid as number | null | false, db: info.db, ...(typeof workerVersion === 'string' && { websocketWorkerVersion: workerVersion }) };
}
