// /tabbus/*: dev-only routes for demos, e2e tests and benchmarks (off with `dev: false`).
// Plain JSON in and out, not JSON-RPC; bad input gets HTTP 400 `{"error":{"code","message"}}`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from '../context';
import { BodyTooLarge, ClientGone, readBody, sendJson } from '../http';
import { isPlainObject } from '../jsonrpc';
import { hasTypedMessages } from '../odoo-version';
import { PublishError, publishNotifications } from '../publish';
import type { Notification } from '../publish';
import type { DevServerStats } from '../stats';
import type { HttpRoute } from './http-route';

/** Rejected input: becomes HTTP 400 with `code: "bad_request"`. */
class BadRequest extends Error {}

export function sendDevError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** Reads a JSON body; an empty body reads as `undefined`. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  let text: string;
  try {
    text = await readBody(req);
  } catch (error) {
    if (error instanceof BodyTooLarge) throw new BadRequest(error.message);
    throw error;
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequest(`the body is not JSON: ${(error as Error).message}`);
  }
}

/**
 * The /tabbus/send body: one notification, or an array of them inserted as one batch (a held
 * poll then wakes once and gets all of them). A notification is `{channel, type, payload}` on
 * 15 and `{channel, message}` on 8–14.
 */
function parseSendBody(ctx: ServerContext, body: unknown): Notification[] {
  const typed = hasTypedMessages(ctx.version);
  const shape = typed ? '{channel, type, payload}' : '{channel, message}';
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) throw new BadRequest(`send at least one ${shape}`);
  return items.map((item, index) => {
    const where = Array.isArray(body) ? `item ${index}: ` : '';
    if (!isPlainObject(item)) throw new BadRequest(`${where}expected ${shape} (or an array of them) for Odoo ${ctx.version}`);
    if (typeof item['channel'] !== 'string') throw new BadRequest(`${where}"channel" must be a string`);
    const wrongKey = typed ? 'message' : 'type';
    if (Object.hasOwn(item, wrongKey)) throw new BadRequest(`${where}Odoo ${ctx.version} notifications are ${shape}, not "${wrongKey}"`);
    return { channel: item['channel'], message: typed ? { type: item['type'], payload: item['payload'] } : item['message'] };
  });
}

export interface DevToolsDeps {
  stats(): DevServerStats;
  resetStats(): void;
  gc(): number;
}

export function devRoutes(ctx: ServerContext, deps: DevToolsDeps): HttpRoute[] {
  // Turns the expected failures into 400s; anything else is a bug and goes up to the server.
  const guarded =
    (handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void) =>
    async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      try {
        await handle(req, res);
      } catch (error) {
        if (error instanceof ClientGone) return;
        if (error instanceof BadRequest || error instanceof PublishError) sendDevError(res, 400, 'bad_request', error.message);
        else throw error;
      }
    };

  return [
    {
      path: '/tabbus/send',
      methods: ['POST'],
      handle: guarded(async (req, res) => {
        const notifications = parseSendBody(ctx, await readJson(req));
        sendJson(res, 200, { ids: publishNotifications(ctx, notifications) });
      }),
    },
    {
      path: '/tabbus/stats',
      methods: ['GET'],
      handle: (_req, res) => sendJson(res, 200, deps.stats(), { 'Cache-Control': 'no-store' }),
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
  ];
}
