// /tabbus/fault: queue bad replies for the next requests to a JSON-RPC route (POST), list what is
// queued (GET), drop it all (DELETE). The replies themselves are written by fault-replies.ts.
import type { ServerContext } from '../context';
import { FAULT_KINDS, isFaultKind } from '../faults';
import { sendJson } from '../http';
import { isPlainObject } from '../jsonrpc';
import { BadRequest, guarded, readJson } from './dev-http';
import type { HttpRoute } from './http-route';

const DEFAULT_ROUTE = '/longpolling/poll';

export function faultRoute(ctx: ServerContext, routes: readonly string[]): HttpRoute {
  const queued = (): { faults: ReturnType<typeof ctx.faults.list> } => ({ faults: ctx.faults.list() });
  return {
    path: '/tabbus/fault',
    methods: ['GET', 'POST', 'DELETE'],
    handle: guarded(async (req, res) => {
      if (req.method === 'DELETE') {
        sendJson(res, 200, { cleared: ctx.faults.clear(), faults: [] });
        return;
      }
      if (req.method === 'POST') {
        const body = await readJson(req);
        if (!isPlainObject(body)) throw new BadRequest(`expected {"kind": <${FAULT_KINDS.join(' | ')}>, "count"?: n, "route"?: path}`);
        const { kind, count = 1, route = DEFAULT_ROUTE } = body;
        if (!isFaultKind(kind)) throw new BadRequest(`unknown fault kind ${JSON.stringify(kind) ?? 'undefined'}; kinds: ${FAULT_KINDS.join(', ')}`);
        if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw new BadRequest(`"count" must be an integer ≥ 1, got ${JSON.stringify(count)}`);
        if (typeof route !== 'string' || !routes.includes(route)) {
          throw new BadRequest(`"route" must be one of the JSON-RPC routes: ${routes.join(', ')}; got ${JSON.stringify(route)}`);
        }
        ctx.faults.add(route, kind, count);
      }
      sendJson(res, 200, queued(), { 'Cache-Control': 'no-store' });
    }),
  };
}
