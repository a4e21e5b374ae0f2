// Runs a `type="json"` route the way Odoo's JsonRequest does: HTTP-level refusals first (wrong
// method, wrong content type, unreadable body → werkzeug 400 pages), then the session, then the
// handler, whose Python-style exceptions become the JSON-RPC error envelope with HTTP 200.
// A fault queued by /tabbus/fault replaces the session and the handler, for valid calls only.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ServerContext } from './context';
import { sendFault } from './fault-replies';
import { BodyTooLarge, ClientGone, mediaType, readBody, sendJson, sendWerkzeugError } from './http';
import { BadRpcRequest, OdooError, parseRpcCall, rpcError, rpcResult, sessionExpired } from './jsonrpc';
import type { RpcId } from './jsonrpc';
import { sessionCookie, sessionIdFromCookie } from './sessions';
import type { Session } from './sessions';

export interface RpcCallContext {
  readonly params: Record<string, unknown>;
  /** The caller's session. Always set on `public` and `user` routes; maybe unset on `none`. */
  readonly session: Session | undefined;
  /** Aborted when the client goes away before the answer is written. */
  readonly signal: AbortSignal;
  /** Makes the reply carry this session's cookie (login), or none (logout). */
  useSession(session: Session | undefined): void;
}

/** A valid call as it arrived, before the session or any fault is applied. */
export interface RpcArrival {
  /** Wall-clock Date.now() when the request arrived, before its body was read. */
  readonly at: number;
  readonly params: Record<string, unknown>;
  /** The known session the request came with, if any. */
  readonly session: Session | undefined;
}

export interface RpcRoute {
  readonly path: string;
  /**
   * Odoo's `auth=`: `public` serves requests without a known session as a new public session
   * (with a new cookie); `user` answers them with "Session Expired"; `none` takes what it finds.
   */
  readonly auth: 'public' | 'user' | 'none';
  /** `cors="*"`: Access-Control-Allow-Origin on every reply, and OPTIONS preflights answered. */
  readonly cors?: boolean;
  handle(call: RpcCallContext): unknown;
  /** Sees every valid call, faulted or not (the poll route logs arrivals with it). */
  onArrival?(arrival: RpcArrival): void;
}

export async function runRpcRoute(route: RpcRoute, ctx: ServerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const arrivedAt = Date.now();
  const cors: OutgoingHttpHeaders = route.cors ? { 'Access-Control-Allow-Origin': '*' } : {};
  if (req.method === 'OPTIONS' && route.cors) {
    res.writeHead(200, {
      ...cors,
      'Access-Control-Allow-Methods': 'POST',
      'Access-Control-Allow-Headers': 'Content-Type',
      'Content-Length': 0,
    });
    res.end();
    return;
  }
  if (req.method !== 'POST') {
    sendWerkzeugError(
      res,
      400,
      `${route.path}: Function declared as capable of handling request of type 'json' but called with a request of type 'http'`,
      cors,
    );
    return;
  }
  // Odoo picks the request type from the Content-Type; anything else is an "http" POST, which
  // then fails the CSRF check.
  const type = mediaType(req);
  if (type !== 'application/json' && type !== 'application/json-rpc') {
    sendWerkzeugError(res, 400, 'Session expired (invalid CSRF token)', cors);
    return;
  }

  let body: string;
  try {
    body = await readBody(req);
  } catch (error) {
    if (error instanceof ClientGone) return;
    if (error instanceof BodyTooLarge) {
      const tooLarge = new OdooError('werkzeug.exceptions.RequestEntityTooLarge', error.message);
      sendJson(res, 413, rpcError(null, tooLarge), { ...cors, Connection: 'close' });
      return;
    }
    throw error;
  }

  let id: RpcId;
  let params: Record<string, unknown>;
  try {
    ({ id, params } = parseRpcCall(body));
  } catch (error) {
    if (!(error instanceof BadRpcRequest)) throw error;
    sendWerkzeugError(res, 400, error.message, cors);
    return;
  }

  let session = ctx.sessions.get(sessionIdFromCookie(req.headers.cookie));
  route.onArrival?.({ at: arrivedAt, params, session });
  const fault = ctx.faults.take(route.path);
  if (fault) {
    ctx.stats.countFault();
    await sendFault(res, fault, { version: ctx.version, id, params, headers: cors });
    return;
  }

  const aborted = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) aborted.abort();
  });
  // The client may already have gone between the end of its body and the listener above.
  if (req.socket.destroyed) aborted.abort();

  let reply: Record<string, unknown>;
  try {
    if (route.auth === 'public' && !session) session = ctx.sessions.create(null);
    if (route.auth === 'user' && !session?.user) throw sessionExpired();
    const result = await route.handle({
      params,
      session,
      signal: aborted.signal,
      useSession(next) {
        session = next;
      },
    });
    reply = rpcResult(id, result);
  } catch (error) {
    if (!(error instanceof OdooError)) {
      ctx.onError(error, route.path);
      reply = rpcError(id, new OdooError('builtins.Exception', String((error as Error)?.message ?? error)));
    } else {
      reply = rpcError(id, error);
    }
  }
  if (aborted.signal.aborted) return;
  const headers: OutgoingHttpHeaders = { ...cors };
  // Odoo refreshes the cookie on every reply of a live session.
  if (session && ctx.sessions.get(session.id)) headers['Set-Cookie'] = sessionCookie(session.id);
  sendJson(res, 200, reply, headers);
}
