// Test helpers for @tabbus/odoo: a TransportSink that records everything, timers the test fires by hand,
// a scriptable fake fetch, and the real dev server started in-process with a cookie-carrying fetch.
import { afterEach, expect } from 'vitest';
import type { TabBusError, TransportSink, TransportState } from '@tabbus/core';
import { createDevServer, type DevServer, type DevServerOptions } from '../../../dev-server/src/index';
import type { LongpollingTransport } from '../longpolling';
import type { OdooNotification } from '../notifications';

// ---------------------------------------------------------------------------------------------------------
// Cleanup: every server and transport a test creates is closed after it, even when the test fails.

const servers: DevServer[] = [];
const transports: LongpollingTransport[] = [];
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** Closes the transport after the test. Returns it. */
export function track<T extends LongpollingTransport>(transport: T): T {
  transports.push(transport);
  return transport;
}

/** Runs `fn` after the test (after transports are closed, before servers are). */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

// ---------------------------------------------------------------------------------------------------------
// The sink.

/** A TransportSink that records what the transport does and, like the bus, moves its cursor on receive. */
export class RecordingSink implements TransportSink<OdooNotification> {
  cursorValue = 0;
  channelList: string[] = [];
  inactivityValue: number | undefined = undefined;
  /** Move the cursor to the largest id of each batch (what the bus does). */
  advanceCursor = true;
  readonly batches: OdooNotification[][] = [];
  readonly states: TransportState[] = [];
  readonly errors: TabBusError[] = [];
  requests = 0;
  /** How many times the transport reported that the server's ids restarted. */
  resets = 0;

  constructor(init: { cursor?: number; channels?: string[]; inactivity?: number; advanceCursor?: boolean } = {}) {
    if (init.cursor !== undefined) this.cursorValue = init.cursor;
    if (init.channels) this.channelList = init.channels;
    if (init.inactivity !== undefined) this.inactivityValue = init.inactivity;
    if (init.advanceCursor !== undefined) this.advanceCursor = init.advanceCursor;
  }

  cursor(): number {
    return this.cursorValue;
  }
  channels(): readonly string[] {
    return this.channelList;
  }
  inactivity(): number | undefined {
    return this.inactivityValue;
  }
  /** The pause between polls the bus asks for (0: live). */
  paceValue = 0;
  pace(): number {
    return this.paceValue;
  }
  receive(items: readonly OdooNotification[]): void {
    this.batches.push([...items]);
    if (this.advanceCursor) for (const item of items) this.cursorValue = Math.max(this.cursorValue, item.id);
  }
  reset(): void {
    this.resets++;
    this.cursorValue = 0;
  }
  status(state: TransportState): void {
    this.states.push(state);
  }
  request(): void {
    this.requests++;
  }
  fail(error: TabBusError): void {
    this.errors.push(error);
  }

  /** Every item received, in order. */
  get items(): OdooNotification[] {
    return this.batches.flat();
  }
  get lastState(): TransportState | undefined {
    return this.states[this.states.length - 1];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Timers fired by hand.

export interface ManualTimer {
  readonly id: number;
  readonly fn: () => void;
  readonly ms: number;
}

/** setTimeout/clearTimeout for LongpollingOptions: nothing fires until the test says so. */
export class ManualTimers {
  readonly pending = new Map<number, ManualTimer>();
  /** Every delay ever scheduled, in order. */
  readonly scheduled: number[] = [];
  #nextId = 1;

  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const timer = { id: this.#nextId++, fn, ms };
    this.pending.set(timer.id, timer);
    this.scheduled.push(ms);
    return timer.id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    if (typeof handle === 'number') this.pending.delete(handle);
  };

  /** Pending timers whose delay is `ms` (or, with a predicate, that match it). */
  find(match: number | ((ms: number) => boolean)): ManualTimer[] {
    const test = typeof match === 'number' ? (ms: number) => ms === match : match;
    return [...this.pending.values()].filter((timer) => test(timer.ms));
  }

  /** Fires the one pending timer that matches; throws if there is not exactly one. */
  fire(match: number | ((ms: number) => boolean)): ManualTimer {
    const found = this.find(match);
    if (found.length !== 1) {
      throw new Error(`expected exactly one matching timer, have ${found.length} (pending: ${[...this.pending.values()].map((t) => t.ms).join(', ')})`);
    }
    const timer = found[0]!;
    this.pending.delete(timer.id);
    timer.fn();
    return timer;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fake fetch.

export interface FetchCall {
  readonly url: string;
  readonly init: RequestInit;
  /** The parsed JSON body. */
  readonly body: { jsonrpc: string; method: string; params: Record<string, unknown>; id: unknown };
  readonly signal: AbortSignal | undefined;
}

/** What a scripted reply does: answer, reject, or hang until the request is aborted. */
export type Reply = Response | Error | 'hang' | ((call: FetchCall) => Response | Promise<Response>);

/**
 * A fetch that answers from a script, one reply per request; when the script runs out it hangs like a
 * held poll (until aborted, then rejects with the abort reason, as Node's fetch does).
 */
export class FakeFetch {
  readonly calls: FetchCall[] = [];
  readonly #script: Reply[];

  constructor(...script: Reply[]) {
    this.#script = script;
  }

  /** Adds replies for later requests. */
  queue(...replies: Reply[]): this {
    this.#script.push(...replies);
    return this;
  }

  readonly fetch = ((input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const call: FetchCall = {
      url,
      init,
      body: JSON.parse(String(init.body)) as FetchCall['body'],
      signal: init.signal ?? undefined,
    };
    this.calls.push(call);
    const reply = this.#script.shift() ?? 'hang';
    if (reply === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        const signal = init.signal;
        if (!signal) return;
        if (signal.aborted) reject(signal.reason);
        else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    if (reply instanceof Error) return Promise.reject(reply);
    if (reply instanceof Response) return Promise.resolve(reply);
    return Promise.resolve().then(() => reply(call));
  }) as typeof fetch;

  get lastCall(): FetchCall | undefined {
    return this.calls[this.calls.length - 1];
  }
}

/** A JSON-RPC success reply, as Odoo sends it. */
export const rpcResult = (result: unknown, id = 1): Response =>
  new Response(JSON.stringify({ jsonrpc: '2.0', id, result }), { status: 200, headers: { 'Content-Type': 'application/json' } });

/** A JSON-RPC error reply (HTTP 200), as Odoo sends it. */
export const rpcError = (error: { code: number; message: string; data?: Record<string, unknown> }, id = 1): Response =>
  new Response(JSON.stringify({ jsonrpc: '2.0', id, error }), { status: 200, headers: { 'Content-Type': 'application/json' } });

/** Any body with any status. */
export const rawReply = (status: number, body: string, contentType = 'application/json'): Response =>
  new Response(body, { status, headers: { 'Content-Type': contentType } });

export const sessionExpiredError = {
  code: 100,
  message: 'Odoo Session Expired',
  data: { name: 'odoo.http.SessionExpiredException', debug: '', message: 'Session expired', arguments: ['Session expired'], context: {} },
};

export const busUnavailableError = {
  code: 200,
  message: 'Odoo Server Error',
  data: { name: 'builtins.Exception', debug: 'Traceback…', message: 'bus.Bus unavailable', arguments: ['bus.Bus unavailable'], context: {} },
};

// ---------------------------------------------------------------------------------------------------------
// The real dev server.

/** A dev server on a free port, closed after the test. Its unexpected failures fail the test run loudly. */
export async function startServer(options: DevServerOptions = {}): Promise<DevServer> {
  const server = await createDevServer({
    port: 0,
    onError: (error, where) => {
      throw new Error(`dev server failure in ${where}: ${String(error)}`);
    },
    ...options,
  });
  servers.push(server);
  return server;
}

export interface Session {
  /** `session_id=…`, as a Cookie header value. */
  readonly cookie: string;
  /** A fetch that sends the cookie (Node's fetch has no cookie jar) and records what it sent. */
  readonly fetch: typeof fetch;
  /** Bodies of the polls sent through `fetch`, parsed. */
  readonly polls: { channels: string[]; last: number; options: Record<string, unknown> }[];
}

/** A fetch that sends `cookie` (when given) and records the params of every poll. */
export function cookieFetch(cookie: string | undefined): Session {
  const polls: Session['polls'] = [];
  const wrapped = ((input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.endsWith('/longpolling/poll') && typeof init.body === 'string') {
      polls.push((JSON.parse(init.body) as { params: Session['polls'][number] }).params);
    }
    return fetch(input, { ...init, headers });
  }) as typeof fetch;
  return { cookie: cookie ?? '', fetch: wrapped, polls };
}

/** Logs in through /web/session/authenticate and returns a cookie-carrying fetch. */
export async function login(server: DevServer, user = 'admin'): Promise<Session> {
  const response = await fetch(`${server.url}/web/session/authenticate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db: server.db, login: user, password: user }, id: 1 }),
  });
  const sessionId = /(?:^|[;,]\s*)session_id=([^;]*)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
  const body = (await response.json()) as { result?: { uid?: number } };
  if (!sessionId || typeof body.result?.uid !== 'number') throw new Error(`login as ${user} failed: ${JSON.stringify(body)}`);
  return cookieFetch(`session_id=${sessionId}`);
}

/** Polls the server's stats until `openPolls` is `count`. */
export async function untilOpenPolls(server: DevServer, count: number, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (server.stats().openPolls !== count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} open polls, have ${server.stats().openPolls}`);
    await sleep(2);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** How many /longpolling/poll requests the server has seen. */
export const pollRequests = (server: DevServer): number => server.stats().requests['/longpolling/poll'] ?? 0;

/** `expect.poll` that looks often (the default 50 ms interval would make these tests slow). */
export const eventually = <T>(fn: () => T, timeout = 2000) => expect.poll(fn, { interval: 2, timeout });
