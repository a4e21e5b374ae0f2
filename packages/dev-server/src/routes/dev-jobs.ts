// POST /tabbus/jobs {name, steps?, stepMs?, channel?, failAt?, login?}: creates a background job for the
// user of `login`, or of the request's session cookie (so a page can start one for itself). GET
// /tabbus/jobs lists every job. Each state change and progress step is published on the user's channel
// `tabbus.jobs.<uid>` (see jobs.ts).
import type { ServerContext } from '../context';
import { sendJson } from '../http';
import { isPlainObject } from '../jsonrpc';
import { sessionIdFromCookie } from '../sessions';
import { BadRequest, guarded, readJson } from './dev-http';
import type { HttpRoute } from './http-route';

const positiveInteger = (body: Record<string, unknown>, key: string, max: number): number | undefined => {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) throw new BadRequest(`"${key}" must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
  return value;
};

export function jobRoutes(ctx: ServerContext): HttpRoute[] {
  return [
    {
      path: '/tabbus/jobs',
      methods: ['GET', 'POST'],
      handle: guarded(async (req, res) => {
        if (req.method === 'GET') return sendJson(res, 200, await ctx.jobs.list(), { 'Cache-Control': 'no-store' });
        const body = (await readJson(req)) ?? {};
        if (!isPlainObject(body)) throw new BadRequest('expected {"name", "steps"?, "stepMs"?, "channel"?, "failAt"?, "login"?}');
        const name = body['name'];
        if (typeof name !== 'string' || name === '') throw new BadRequest('"name" must be a non-empty string');
        const channel = body['channel'];
        if (channel !== undefined && (typeof channel !== 'string' || !/^root(\.[A-Za-z0-9_]+)*$/.test(channel))) throw new BadRequest('"channel" must be root or root.<name>…');
        const login = body['login'];
        if (login !== undefined && typeof login !== 'string') throw new BadRequest('"login" must be a string');
        const user = login !== undefined ? ctx.sessions.userByLogin(login) : ctx.sessions.get(sessionIdFromCookie(req.headers.cookie))?.user;
        if (!user) throw new BadRequest(login !== undefined ? `no user "${login}"` : 'log in first, or name the user with "login"');
        const steps = positiveInteger(body, 'steps', 1000);
        const stepMs = positiveInteger(body, 'stepMs', 3_600_000);
        const failAt = positiveInteger(body, 'failAt', 1000);
        const job = await ctx.jobs.create({
          name,
          uid: user.uid,
          ...(typeof channel === 'string' ? { channel } : {}),
          ...(steps !== undefined ? { steps: Math.max(1, steps) } : {}),
          ...(stepMs !== undefined ? { stepMs } : {}),
          ...(failAt !== undefined ? { failAt } : {}),
        });
        sendJson(res, 200, { uuid: job.uuid, channel: `tabbus.jobs.${user.uid}` });
      }),
    },
  ];
}
