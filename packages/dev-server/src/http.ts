// Small helpers over node:http: reading a bounded body and writing the kinds of replies the
// server sends. Every writer checks that the response can still be written, because a client
// may have gone away while a handler was working.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Bodies larger than this are refused (the same limit Odoo 16+ puts on websocket messages). */
export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLarge extends Error {
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** The client closed the connection before its body was complete. */
export class ClientGone extends Error {
  constructor() {
    super('client disconnected before the request body was complete');
    this.name = 'ClientGone';
  }
}

/**
 * Reads the whole body as UTF-8, refusing more than `limit` bytes. On refusal it stops
 * buffering but keeps draining (up to a bound), so the client finishes sending and can read the
 * error reply instead of seeing a reset connection.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      drain(req, limit);
      reject(new BodyTooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        drain(req, limit);
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onGone = (): void => {
      cleanup();
      reject(new ClientGone());
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('close', onGone);
  });
}

// Discards the rest of a refused body; past 8 × the limit the connection is simply cut.
function drain(req: IncomingMessage, limit: number): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > 8 * limit) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

export function canWrite(res: ServerResponse): boolean {
  return !res.headersSent && !res.writableEnded && !res.destroyed;
}

export function send(res: ServerResponse, status: number, contentType: string, body: string, headers: OutgoingHttpHeaders = {}): void {
  if (!canWrite(res)) return;
  res.writeHead(status, { ...headers, 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, 'application/json', JSON.stringify(value), headers);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, 'text/plain; charset=utf-8', text, headers);
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Request Entity Too Large',
  500: 'Internal Server Error',
};

/** The HTML error page werkzeug renders, which is what Odoo sends for HTTP-level errors. */
export function sendWerkzeugError(res: ServerResponse, status: number, description: string, headers: OutgoingHttpHeaders = {}): void {
  const title = STATUS_TITLES[status] ?? 'Error';
  const html =
    '<!doctype html>\n<html lang=en>\n' +
    `<title>${status} ${title}</title>\n<h1>${title}</h1>\n<p>${escapeHtml(description)}</p>\n`;
  send(res, status, 'text/html; charset=utf-8', html, headers);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The media type of a request, without parameters: `application/json; charset=utf-8` → `application/json`. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
