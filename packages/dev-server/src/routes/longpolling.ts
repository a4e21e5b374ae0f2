// /longpolling/*: Odoo 8–15's bus controller (addons/bus/controllers/main.py).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sessionChannels } from '../channels';
import type { ServerContext } from '../context';
import { sendJson } from '../http';
import { isPlainObject, pythonException, pythonTypeError, requireParams } from '../jsonrpc';
import { hasPeek, hasSendRoute, hasTypedMessages } from '../odoo-version';
import { publishAsync } from '../publish';
import { pythonTypeName } from '../python-values';
import { sessionLabel } from '../stats';
import type { RpcRoute } from '../rpc-route';
import type { BusRow } from '../store';

const STRING_CHANNELS_ONLY = 'bus.Bus only string channels are allowed.';

/**
 * What `for c in channels` yields in Python: a list's items, a string's characters (so a string
 * sent instead of a list polls one channel per letter, as Odoo 15 does), a dict's keys.
 */
function iterateLikePython(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isPlainObject(value)) return Object.keys(value);
  throw pythonTypeError(`'${pythonTypeName(value)}' object is not iterable`);
}

/** One bus row as the poll answers it: 15 `{id, message}`; 8–14 `{id, channel, message}`. */
function notificationOf(ctx: ServerContext, row: BusRow): Record<string, unknown> {
  const message: unknown = JSON.parse(row.message);
  return hasTypedMessages(ctx.version) ? { id: row.id, message } : { id: row.id, channel: JSON.parse(row.channel), message };
}

/**
 * The cursor a poll really reads from. A `last` above the newest id ever handed out can only come
 * from before a restart of this in-memory store, whose ids start again at 1: read from it, the
 * client would wait for ids it may never see again. Such a cursor counts as 0 (the 50 s catch-up),
 * which is what Odoo 16+ does on `subscribe`. Odoo 8–15 do not, but their ids live in PostgreSQL
 * and never go back. Decided once, on arrival: the ids a held poll is woken for are all new to it,
 * and re-reading `last` after they arrive would skip those at or below it.
 */
export function pollCursor(last: number, lastId: number): number {
  return last > lastId ? 0 : last;
}

export function longpollingRoutes(ctx: ServerContext): RpcRoute[] {
  const poll: RpcRoute = {
    path: '/longpolling/poll',
    auth: 'public',
    cors: true,
    onArrival({ at, params, session }) {
      const channels = params['channels'];
      ctx.pollLog.record({
        at,
        session: session ? sessionLabel(session.id) : null,
        last: params['last'] ?? null,
        channels: Array.isArray(channels) ? channels.length : 0,
      });
    },
    async handle(call) {
      requireParams('poll', call.params, ['channels', 'last']);
      const names = iterateLikePython(call.params['channels']);
      if (!names.every((name): name is string => typeof name === 'string')) throw pythonException(STRING_CHANNELS_ONLY);
      // `options` carries presence (`im_presence` on 8/9, `bus_inactivity` on 10–15) and `peek`.
      // Options that are not an object count as none.
      const options = isPlainObject(call.params['options']) ? call.params['options'] : {};
      // Odoo's `_poll` updates a logged-in user's presence after the channel check and before
      // anything reads `last`, peek polls included; public sessions have no presence.
      const user = call.session?.user;
      if (user) ctx.presence.recordPoll(user.uid, options);
      // With --pg, also Odoo's transactional write, whose conflicts are what the stats count. Like Odoo, the
      // poll waits for it (it commits before the poll starts waiting), so one client's polls never overlap.
      // Presence is best effort: a database that does not answer delays the poll 2 s at most.
      if (user && ctx.pg) await Promise.race([ctx.pg.updatePresence(user.uid, Number((options as Record<string, unknown>)['bus_inactivity']) || 0), new Promise((r) => setTimeout(r, 2000).unref())]);
      const last = call.params['last'];
      if (typeof last !== 'number' || !Number.isFinite(last)) {
        throw pythonTypeError(`poll(): 'last' must be a notification id (int), got ${pythonTypeName(last)}`);
      }
      // call.session is always set on a public route. Its database, and with mail its user's own channel,
      // decide what the poll reads: whoever holds the cookie now, not whoever started polling.
      const session = call.session!;
      const channels = sessionChannels(ctx, session, names);
      const cursor = pollCursor(last, ctx.store.lastId);

      if (hasPeek(ctx.version) && options['peek']) {
        ctx.stats.countPollAnswered();
        return {
          notifications: ctx.store.select(channels, cursor, session.db).map((row) => notificationOf(ctx, row)),
          channels: channels.map((channel) => JSON.parse(channel) as unknown),
        };
      }

      let rows = ctx.store.select(channels, cursor, session.db);
      if (rows.length === 0 && !ctx.closing) {
        await ctx.holds.wait({ channels, sessionId: session.id, timeoutMs: ctx.holdMs, signal: call.signal });
        if (call.signal.aborted) return null;
        rows = ctx.store.select(channels, cursor, session.db);
      }
      ctx.stats.countPollAnswered();
      return rows.map((row) => notificationOf(ctx, row));
    },
  };

  // 8–14's unauthenticated test helper. sendone() returns None, so the reply has no `result`.
  const send: RpcRoute = {
    path: '/longpolling/send',
    auth: 'public',
    async handle(call) {
      requireParams('send', call.params, ['channel', 'message']);
      const { channel, message } = call.params;
      if (typeof channel !== 'string') throw pythonException(STRING_CHANNELS_ONLY);
      await publishAsync(ctx, [{ channel, message, db: call.session?.db ?? ctx.db }]);
      return null;
    },
  };

  return hasSendRoute(ctx.version) ? [poll, send] : [poll];
}

/** `GET /longpolling/health` (15, `auth=none`); served on every version for load balancers and tests. */
export function health(_req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, { status: 'pass' }, { 'Cache-Control': 'no-store' });
}
