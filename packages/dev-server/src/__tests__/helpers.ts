// Test helpers: start real servers on port 0 and talk to them with fetch, handling the
// session cookie by hand the way a browser would.
import { request } from 'node:http';
import { afterEach } from 'vitest';
import { createDevServer } from '../server';
import type { DevServer, DevServerOptions } from '../server';

const started: DevServer[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

/** A server closed automatically after the test. */
export async function startServer(options: DevServerOptions = {}): Promise<DevServer> {
  const server = await createDevServer({ port: 0, onError: (error) => { throw error; }, ...options });
  started.push(server);
  return server;
}

export interface RpcReply {
  status: number;
  /** The parsed body (the text when the reply is not JSON). */
  body: any;
  /** The session id from Set-Cookie, if the reply set one. */
  sessionId: string | undefined;
  headers: Headers;
}

/** The session id set by a reply's Set-Cookie header. */
export function cookieSessionId(headers: Headers): string | undefined {
  return /(?:^|[;,]\s*)session_id=([^;]*)/.exec(headers.get('set-cookie') ?? '')?.[1];
}

let nextId = 1;

/** A JSON-RPC call as Odoo's web client sends it. */
export async function rpc(
  server: DevServer,
  path: string,
  params: unknown,
  options: { sessionId?: string | undefined; signal?: AbortSignal } = {},
): Promise<RpcReply> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (options.sessionId) headers['Cookie'] = `session_id=${options.sessionId}`;
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params, id: nextId++ }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.text();
  const isJson = response.headers.get('content-type')?.startsWith('application/json') ?? false;
  return {
    status: response.status,
    body: isJson ? JSON.parse(text) : text,
    sessionId: cookieSessionId(response.headers),
    headers: response.headers,
  };
}

/** Logs in and returns the new session id. */
export async function login(server: DevServer, user = 'admin'): Promise<string> {
  const reply = await rpc(server, '/web/session/authenticate', { db: server.db, login: user, password: user });
  if (!reply.sessionId) throw new Error(`login as ${user} failed: ${JSON.stringify(reply.body)}`);
  return reply.sessionId;
}

/** Starts a poll without awaiting it. */
export function startPoll(
  server: DevServer,
  params: { channels: unknown; last: number; options?: unknown },
  options: { sessionId?: string | undefined; signal?: AbortSignal } = {},
): Promise<RpcReply> {
  return rpc(server, '/longpolling/poll', params, options);
}

/** Resolves once the server holds `count` polls (polls register asynchronously over HTTP). */
export async function untilOpenPolls(server: DevServer, count: number, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (server.stats().openPolls !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} open polls, have ${server.stats().openPolls}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw GET, for paths fetch would normalise (`/../x`). */
export function rawGet(server: DevServer, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(server.url + '/', { method: 'GET', path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Posts plain JSON to a dev route. */
export async function postJson(server: DevServer, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * A JSON-RPC call on a connection of its own. After a restart on the same port, fetch may reuse a
 * pooled keep-alive socket of the old process and fail; a new connection is what a client gets
 * once it retries.
 */
export function rpcOnNewConnection(
  url: string,
  path: string,
  params: unknown,
  sessionId?: string,
): Promise<{ status: number; body: any; sessionId: string | undefined }> {
  const body = JSON.stringify({ jsonrpc: '2.0', method: 'call', params, id: nextId++ });
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (sessionId) headers['Cookie'] = `session_id=${sessionId}`;
  return new Promise((resolve, reject) => {
    const req = request(url + path, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const cookie = [res.headers['set-cookie'] ?? []].flat().join(', ');
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), sessionId: /session_id=([^;]*)/.exec(cookie)?.[1] });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
