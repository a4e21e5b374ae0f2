// What every /tabbus/* dev route shares: plain JSON in and out (not JSON-RPC), and bad input
// answered with HTTP 400 `{"error":{"code":"bad_request","message":"…"}}`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyTooLarge, ClientGone, readBody, sendJson } from '../http';
import { PublishError } from '../publish';

/** Rejected input: becomes HTTP 400 with `code: "bad_request"`. */
export class BadRequest extends Error {}

export function sendDevError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** Reads a JSON body; an empty body reads as `undefined`. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
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

/** Turns the expected failures into 400s; anything else is a bug and goes up to the server. */
export const guarded =
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
