// How each queued fault is written, in place of a JSON-RPC route's answer. Every fault answers at
// once and never touches the bus store, so no notification is moved or used up by it. Samples
// that look like notifications use id 0, which is never a real id, so a client that takes one in
// has nothing to move its cursor to.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FaultKind } from './faults';
import { canWrite, send, sendWerkzeugError } from './http';
import { pythonException, rpcError, rpcResult } from './jsonrpc';
import type { RpcId } from './jsonrpc';
import { hasTypedMessages } from './odoo-version';
import type { OdooVersion } from './odoo-version';

export interface FaultTarget {
  readonly version: OdooVersion;
  /** The request's JSON-RPC id, echoed by the envelopes. */
  readonly id: RpcId;
  readonly params: Record<string, unknown>;
  /** Headers the route would have sent anyway (CORS). */
  readonly headers: OutgoingHttpHeaders;
}

/** A `huge` body is larger than this. */
export const HUGE_FAULT_BYTES = 20 * 1024 * 1024;
// The padding goes out in slices of one shared buffer, so the 20 MiB never exist in memory.
const CHUNK = Buffer.alloc(64 * 1024, 'x');

// werkzeug's default descriptions, which is what Odoo's HTML error pages say.
const BAD_REQUEST = 'The browser (or proxy) sent a request that this server could not understand.';
const INTERNAL_ERROR =
  'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.';

/** A notification in the version's shape carrying `message`, with id 0 or, for `missing_id`, no id at all. */
function sampleNotification(target: FaultTarget, message: Record<string, unknown>, withId: boolean): Record<string, unknown> {
  const id = withId ? { id: 0 } : {};
  if (hasTypedMessages(target.version)) return { ...id, message: { type: 'tabbus/fault', payload: message } };
  const channels = target.params['channels'];
  const first = Array.isArray(channels) ? channels.find((c): c is string => typeof c === 'string') : undefined;
  return { ...id, channel: first ?? 'tabbus_fault', message };
}

const sendRawJson = (res: ServerResponse, body: string, headers: OutgoingHttpHeaders): void =>
  send(res, 200, 'application/json', body, headers);

export async function sendFault(res: ServerResponse, kind: FaultKind, target: FaultTarget): Promise<void> {
  const { id, headers } = target;
  switch (kind) {
    case 'invalid_json': {
      // A real envelope cut short, as a reply truncated by a dying worker or a proxy would be.
      const whole = JSON.stringify(rpcResult(id, [sampleNotification(target, { kind }, true)]));
      sendRawJson(res, whole.slice(0, Math.floor(whole.length / 2)), headers);
      return;
    }
    case 'not_a_list':
      // The shape of a `peek` answer, where a poll answer (a list) belongs.
      sendRawJson(res, JSON.stringify(rpcResult(id, { notifications: [], channels: [] })), headers);
      return;
    case 'missing_id':
      sendRawJson(res, JSON.stringify(rpcResult(id, [sampleNotification(target, { kind }, false)])), headers);
      return;
    case 'html_400':
      sendWerkzeugError(res, 400, BAD_REQUEST, headers);
      return;
    case 'http_500':
      sendWerkzeugError(res, 500, INTERNAL_ERROR, headers);
      return;
    case 'empty_close':
      // What a client of Odoo 14 sees on shutdown: the connection ends with no status line.
      res.socket?.destroy();
      return;
    case 'rpc_error':
      // What Odoo 8–11 prefork workers answer when the poll reaches them instead of the gevent port.
      sendRawJson(res, JSON.stringify(rpcError(id, pythonException('bus.Bus unavailable'))), headers);
      return;
    case 'huge':
      await sendHuge(res, target);
      return;
  }
}

/** A valid envelope with one id-0 notification whose message pads the body past 20 MiB. */
async function sendHuge(res: ServerResponse, target: FaultTarget): Promise<void> {
  const marker = '@@tabbus-padding@@';
  const envelope = JSON.stringify(rpcResult(target.id, [sampleNotification(target, { kind: 'huge', padding: marker }, true)]));
  const [prefix, suffix] = envelope.split(marker) as [string, string];
  const padding = HUGE_FAULT_BYTES + 1;
  if (!canWrite(res)) return;
  res.writeHead(200, {
    ...target.headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(prefix) + padding + Buffer.byteLength(suffix),
  });
  res.write(prefix);
  for (let left = padding; left > 0; left -= CHUNK.length) {
    if (res.destroyed) return;
    const more = res.write(left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left));
    // Respect backpressure, or the whole body would sit in the socket's buffer after all.
    if (!more) await drained(res);
  }
  if (!res.destroyed) res.end(suffix);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
