// /tabbus/*: dev-only routes for demos, e2e tests and benchmarks (off with `dev: false`).
// Plain JSON in and out, not JSON-RPC; bad input gets HTTP 400 `{"error":{"code","message"}}`.
import type { ServerContext } from '../context';
import { sendJson } from '../http';
import { isPlainObject } from '../jsonrpc';
import { hasTypedMessages, hasWebSocket } from '../odoo-version';
import { isRecordChannel, publishAsync, publishUncommitted } from '../publish';
import type { ChannelNotification, Notification } from '../publish';
import { sessionIdFromCookie } from '../sessions';
import { sessionLabel, type DevServerStats } from '../stats';
import { faultRoute } from './dev-faults';
import { BadRequest, guarded, readJson } from './dev-http';
import { pollLogRoute } from './dev-polls';
import { presenceRoute } from './dev-presence';
import { expireRoute } from './dev-sessions';
import type { HttpRoute } from './http-route';

/**
 * The /tabbus/send body: one notification, or an array of them inserted as one batch (a held
 * poll then wakes once and gets all of them). A notification is `{channel, type, payload}` on
 * 15 and `{channel, message}` on 8–14; `{partner: <id>, …}` instead of `channel` sends it on that
 * partner's personal channel (what a logged-in poll or socket of its user hears), and `db` picks
 * the database when the server has several.
 */
function parseSendBody(ctx: ServerContext, body: unknown): Notification[] {
  const typed = hasTypedMessages(ctx.version);
  const shape = typed ? '{channel, type, payload}' : '{channel, message}';
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) throw new BadRequest(`send at least one ${shape}`);
  return items.map((item, index): Notification => {
    const where = Array.isArray(body) ? `item ${index}: ` : '';
    if (!isPlainObject(item)) throw new BadRequest(`${where}expected ${shape} (or an array of them) for Odoo ${ctx.version}`);
    const wrongKey = typed ? 'message' : 'type';
    if (Object.hasOwn(item, wrongKey)) throw new BadRequest(`${where}Odoo ${ctx.version} notifications are ${shape}, not "${wrongKey}"`);
    const message = typed ? { type: item['type'], payload: item['payload'] } : item['message'];
    const db = item['db'];
    if (db !== undefined && typeof db !== 'string') throw new BadRequest(`${where}"db" must be a database name, got ${JSON.stringify(db)}`);
    const inDb = db === undefined ? {} : { db };
    if (Object.hasOwn(item, 'partner')) {
      if (Object.hasOwn(item, 'channel')) throw new BadRequest(`${where}give "channel" or "partner", not both`);
      const partner = item['partner'];
      if (typeof partner !== 'number' || !Number.isSafeInteger(partner) || partner < 1) {
        throw new BadRequest(`${where}"partner" must be a partner id (an integer ≥ 1), got ${JSON.stringify(partner)}`);
      }
      return { partner, message, ...inDb };
    }
    if (isRecordChannel(ctx, item['channel'])) {
      // 16+: `[model, id]`, e.g. the partner channel every socket of that partner listens on.
    } else if (typeof item['channel'] !== 'string') {
      throw new BadRequest(`${where}"channel" must be a string${hasWebSocket(ctx.version) ? ' or [model, id]' : ''} (or give "partner": <id>)`);
    }
    return { channel: item['channel'] as ChannelNotification['channel'], message, ...inDb };
  });
}

export interface DevToolsDeps {
  stats(): DevServerStats;
  resetStats(): void;
  gc(): number;
  /** JSON-RPC routes a fault may be queued for. */
  faultRoutes: readonly string[];
}

export function devRoutes(ctx: ServerContext, deps: DevToolsDeps): HttpRoute[] {
  return [
    {
      path: '/tabbus/send',
      methods: ['POST'],
      handle: guarded(async (req, res) => {
        const notifications = parseSendBody(ctx, await readJson(req));
        sendJson(res, 200, { ids: await publishAsync(ctx, notifications) });
      }),
    },
    {
      // Two transactions side by side, the way Odoo commits a lower id after a higher one.
      path: '/tabbus/send-uncommitted',
      methods: ['POST'],
      handle: guarded(async (req, res) => {
        const notifications = parseSendBody(ctx, await readJson(req));
        sendJson(res, 200, { ids: publishUncommitted(ctx, notifications) });
      }),
    },
    {
      path: '/tabbus/commit',
      methods: ['POST'],
      handle: guarded(async (req, res) => {
        const body = await readJson(req);
        const ids = isPlainObject(body) ? body['ids'] : undefined;
        if ((body !== undefined && !isPlainObject(body)) || (ids !== undefined && !(Array.isArray(ids) && ids.every((id) => Number.isSafeInteger(id))))) {
          throw new BadRequest('expected {} (commit every uncommitted notification) or {"ids": [<id>, …]}');
        }
        sendJson(res, 200, { committed: ctx.store.commit(ids as number[] | undefined), uncommitted: ctx.store.uncommittedIds });
      }),
    },
    {
      path: '/tabbus/stats',
      methods: ['GET'],
      handle: (req, res) => {
        const caller = ctx.sessions.get(sessionIdFromCookie(req.headers.cookie));
        sendJson(res, 200, { ...deps.stats(), session: caller ? sessionLabel(caller.id) : null }, { 'Cache-Control': 'no-store' });
      },
    },
    {
      path: '/tabbus/stats/reset',
      methods: ['POST'],
      handle: (_req, res) => {
        deps.resetStats();
        sendJson(res, 200, deps.stats());
      },
    },
    {
      path: '/tabbus/clock',
      methods: ['GET', 'POST'],
      handle: guarded(async (req, res) => {
        if (req.method === 'POST') {
          const body = await readJson(req);
          const advance = isPlainObject(body) ? body['advance'] : undefined;
          if (typeof advance !== 'number' || !Number.isFinite(advance) || advance < 0) {
            throw new BadRequest('expected {"advance": <milliseconds ≥ 0>}');
          }
          ctx.clock.advance(advance);
        }
        sendJson(res, 200, { now: ctx.clock.now() }, { 'Cache-Control': 'no-store' });
      }),
    },
    {
      path: '/tabbus/gc',
      methods: ['POST'],
      handle: (_req, res) => sendJson(res, 200, { deleted: deps.gc(), rows: ctx.store.size }),
    },
    faultRoute(ctx, deps.faultRoutes),
    pollLogRoute(ctx),
    expireRoute(ctx),
    presenceRoute(ctx),
  ];
}
