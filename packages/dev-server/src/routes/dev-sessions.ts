// POST /tabbus/expire {"login"?}: server-side session expiry, the way a deleted session file or a
// password change ends sessions in Odoo. Polls go on as public sessions; authenticated routes
// answer "Odoo Session Expired".
import type { ServerContext } from '../context';
import { sendJson } from '../http';
import { isPlainObject } from '../jsonrpc';
import { BadRequest, guarded, readJson } from './dev-http';
import type { HttpRoute } from './http-route';

export function expireRoute(ctx: ServerContext): HttpRoute {
  return {
    path: '/tabbus/expire',
    methods: ['POST'],
    handle: guarded(async (req, res) => {
      const body = (await readJson(req)) ?? {};
      if (!isPlainObject(body)) throw new BadRequest('expected {} (every session) or {"login": "<login>"}');
      const login = body['login'];
      if (login !== undefined && typeof login !== 'string') throw new BadRequest(`"login" must be a string, got ${JSON.stringify(login)}`);
      sendJson(res, 200, { deleted: ctx.sessions.expire(login) });
    }),
  };
}
