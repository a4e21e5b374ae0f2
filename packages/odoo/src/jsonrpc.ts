import { TabBusError } from '@tabbus/core';

export interface RpcRequest {
  readonly fetch: typeof fetch;
  readonly url: string;
  readonly params: Record<string, unknown>;
  readonly signal?: AbortSignal;
  readonly credentials: RequestCredentials;
  /** Largest reply accepted, in bytes (default 16 MiB): a runaway body must not exhaust the tab's memory. */
  readonly maxBytes?: number | undefined;
  /** The route may return nothing (Odoo then leaves `result` out of the reply): resolve with undefined. */
  readonly mayReturnNothing?: boolean;
  /** What an HTTP 404 means on this route, said after it in the error (the caller knows its route). */
  readonly notFound?: string;
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * How long a request with no signal of its own waits for its whole answer, in ms. A server can take a
 * request and never answer it (a worker stuck, a proxy that lost it; browsers set no limit): the start of
 * a bus (its session and version), a session check the leader's next request waits for, or a login the
 * other tabs wait out would hang with it. The long poll brings its own signal and limit.
 */
export const REQUEST_TIMEOUT = 30_000;

/**
 * An abort signal that fires `ms` from now. `end()` once the answer is in or no longer wanted: the timer
 * goes, and a request still under way is dropped (a hung one would hold one of the browser's few
 * connections to the server).
 */
export function timeLimit(ms: number): { signal: AbortSignal; end(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return {
    signal: controller.signal,
    end: () => {
      clearTimeout(timer);
      controller.abort();
    },
  };
}

let nextId = 1;

/**
 * One Odoo JSON-RPC call. Resolves with `result`; rejects with a TabBusError whose code says what went
 * wrong. Odoo answers errors with HTTP 200 and an `error` object; a session it no longer knows comes
 * back as code 100 / `SessionExpiredException`, which is fatal: retrying cannot log the user in. With no
 * signal, the call gives up after {@link REQUEST_TIMEOUT} ms (`timeout`).
 */
export async function callJsonRpc(request: RpcRequest): Promise<unknown> {
  const limit = request.signal ? undefined : timeLimit(REQUEST_TIMEOUT);
  try {
    return await call(request, limit);
  } finally {
    // Answered or failed, the timer goes with the call (a request still under way is dropped).
    limit?.end();
  }
}

async function call(request: RpcRequest, limit: { signal: AbortSignal } | undefined): Promise<unknown> {
  const { url } = request;
  let response: Response;
  try {
    response = await request.fetch(url, {
      method: 'POST',
      // Odoo's JSON routes reject anything but application/json (400, "invalid CSRF token").
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: request.params, id: nextId++ }),
      credentials: request.credentials,
      signal: request.signal ?? limit!.signal,
    });
  } catch (cause) {
    throw noAnswer(request, cause, limit);
  }
  const maxBytes = request.maxBytes ?? DEFAULT_MAX_BYTES;
  const declared = Number(response.headers?.get('Content-Length') ?? NaN);
  if (declared > maxBytes) {
    void response.body?.cancel().catch(() => undefined);
    throw tooLarge(url, declared, maxBytes);
  }
  // The body as text, read no further than `maxBytes` bytes: without a Content-Length (chunked, or compressed
  // by a proxy) the size is known only as the body comes, and a runaway reply must not be buffered whole.
  let text = '';
  try {
    const reader = response.body?.getReader();
    // Decoded as the chunks come (a character split across two chunks waits for the second): a Blob's text()
    // is read back through the browser's blob registry, a round trip each reply waited for before its fan-out.
    const decoder = new TextDecoder();
    let size = 0;
    // A null body (no stream) is an empty one.
    for (let read = await reader?.read(); read && !read.done; read = await reader!.read()) {
      size += read.value.byteLength;
      if (size > maxBytes) {
        void reader!.cancel().catch(() => undefined);
        throw tooLarge(url, size, maxBytes, true);
      }
      text += decoder.decode(read.value, { stream: true });
    }
    text += decoder.decode();
  } catch (cause) {
    if (cause instanceof TabBusError) throw cause;
    // The connection broke while the body was coming in: as much a network failure as no answer at all.
    throw noAnswer(request, cause, limit);
  }
  // What the server said, for each error below: the start of the body is what tells a proxy's page apart.
  const bad = (code: 'http' | 'protocol', why: string, extra?: Record<string, unknown>, cause?: unknown) =>
    new TabBusError(code, `${url}: ${why}`, { cause, context: { url, ...extra, body: text.slice(0, 200) } });
  if (response.status !== 200) {
    const hint = response.status === 404 && request.notFound ? ` (${request.notFound})` : '';
    throw bad('http', `HTTP ${response.status}${hint}`, { status: response.status });
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (cause) {
    throw bad('protocol', 'the reply is not JSON', undefined, cause);
  }
  if (typeof envelope !== 'object' || envelope === null) throw bad('protocol', 'the reply is not a JSON-RPC envelope');
  const { error, result } = envelope as { error?: unknown; result?: unknown };
  if (error !== undefined) {
    // Odoo's error object; what is no object (a string, null) has none of these fields.
    const e = (error ?? {}) as { code?: unknown; message?: unknown; data?: { name?: unknown; message?: unknown } };
    const name = typeof e.data?.name === 'string' ? e.data.name : undefined;
    const message = typeof e.data?.message === 'string' && e.data.message ? e.data.message : String(e.message ?? 'server error');
    const context = { url, serverCode: e.code, serverName: name, serverMessage: message };
    if (e.code === 100 || name?.endsWith('SessionExpiredException')) {
      throw new TabBusError('session_expired', `${url}: the session expired; log in again`, { fatal: true, context });
    }
    throw new TabBusError('server', `${url}: ${name ? `${name}: ` : ''}${message}`, { context });
  }
  if (!('result' in envelope) && !request.mayReturnNothing) throw bad('protocol', 'the reply has neither result nor error');
  return result;
}

function tooLarge(url: string, size: number, maxBytes: number, atLeast?: boolean): TabBusError {
  return new TabBusError('protocol', `${url}: the reply is ${atLeast ? 'at least ' : ''}${size} bytes, above the ${maxBytes}-byte limit`, { context: { url, size, maxBytes } });
}

/**
 * A request that got no (complete) answer: in time (`network`) or not (`timeout`, once `limit` fired); an
 * abort by the caller passes its reason through untouched.
 */
function noAnswer(request: RpcRequest, cause: unknown, limit?: { signal: AbortSignal }): unknown {
  if (request.signal?.aborted) return cause;
  const late = limit?.signal.aborted;
  return new TabBusError(late ? 'timeout' : 'network', `${request.url}: no answer ${late ? `within ${REQUEST_TIMEOUT} ms` : `(${(cause as Error)?.message ?? cause})`}`, { cause, context: { url: request.url } });
}
