// GET /tabbus/presence: the presence table as the emulated Odoo sees it right now, so a test can
// check what its polls reported without going through /longpolling/im_status (which only 12–15
// have, and which speaks in partner ids).
import type { ServerContext } from '../context';
import { sendJson } from '../http';
import type { HttpRoute } from './http-route';

export function presenceRoute(ctx: ServerContext): HttpRoute {
  return {
    path: '/tabbus/presence',
    methods: ['GET'],
    handle: (_req, res) => sendJson(res, 200, ctx.presence.entries(), { 'Cache-Control': 'no-store' }),
  };
}
