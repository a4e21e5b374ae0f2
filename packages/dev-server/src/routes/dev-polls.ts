// GET /tabbus/polls?since=<epoch ms>: when each /longpolling/poll arrived, in wall-clock time.
import type { ServerContext } from '../context';
import { sendJson } from '../http';
import { BadRequest, guarded } from './dev-http';
import type { HttpRoute } from './http-route';

export function pollLogRoute(ctx: ServerContext): HttpRoute {
  return {
    path: '/tabbus/polls',
    methods: ['GET'],
    handle: guarded((req, res) => {
      const raw = new URL(req.url ?? '/', 'http://localhost').searchParams.get('since');
      // Number('') is 0: an empty `since=` must not quietly mean "everything".
      const since = raw === null ? 0 : raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(since)) throw new BadRequest(`"since" must be a time in ms since the epoch, got ${JSON.stringify(raw)}`);
      sendJson(res, 200, ctx.pollLog.since(since), { 'Cache-Control': 'no-store' });
    }),
  };
}
