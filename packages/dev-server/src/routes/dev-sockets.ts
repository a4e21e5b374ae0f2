// POST /tabbus/sockets/close {"code", "reason"?} (16+): closes every open WebSocket with that code, so
// a test can show how clients take each of Odoo's close codes without waiting for the real cause.
import { sendJson } from '../http';
import { isPlainObject } from '../jsonrpc';
import type { WebSocketHub } from '../websocket';
import { BadRequest, guarded, readJson } from './dev-http';
import type { HttpRoute } from './http-route';

/** `hub`: the server's sockets; none on 8–15, where the route answers what it is for rather than a bare 404. */
export function socketCloseRoute(hub: WebSocketHub | undefined, odoo: number): HttpRoute {
  return {
    path: '/tabbus/sockets/close',
    methods: ['POST'],
    handle: guarded(async (req, res) => {
      if (!hub) throw new BadRequest(`this server emulates Odoo ${odoo}, which long-polls: there are sockets to close on 16+ only (--odoo 16)`);
      const body = await readJson(req);
      const code = isPlainObject(body) ? body['code'] : undefined;
      const reason = isPlainObject(body) ? (body['reason'] ?? '') : '';
      // What a server may send in a close frame (RFC 6455 §7.4): 1000–1014 but not 1004–1006, or 3000–4999.
      const valid = typeof code === 'number' && Number.isInteger(code) && ((code >= 1000 && code <= 1014 && (code < 1004 || code > 1006)) || (code >= 3000 && code <= 4999));
      if (!valid) throw new BadRequest(`"code" must be a close code a server may send (1000–1003, 1007–1014, 3000–4999), got ${JSON.stringify(code)}`);
      if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123) throw new BadRequest('"reason" must be a string of at most 123 bytes');
      sendJson(res, 200, { closed: hub.closeEvery(code, reason) });
    }),
  };
}
