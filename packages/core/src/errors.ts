/**
 * What went wrong, as a closed set of codes callers can switch on.
 * - `session_expired`: the server no longer knows the user; the bus stops.
 * - `outdated`: the server runs a newer bus than this page speaks (Odoo 17+ WebSocket `OUTDATED_VERSION`);
 *   the bus stops: reload the page.
 * - `server`: the server answered with an error (JSON-RPC error envelope).
 * - `http`: the server answered with an unexpected HTTP status.
 * - `network`: the request never got an answer (offline, refused, reset).
 * - `timeout`: the request outlived the client-side timeout.
 * - `protocol`: the server's reply was not what the protocol promises (malformed JSON, wrong shape).
 * - `frame`: another tab sent a frame this tab cannot read (for example a newer protocol version).
 * - `storage`: localStorage threw (private mode, quota); the bus keeps working without it.
 * - `config`: the options passed in are wrong.
 * - `handler`: an application listener threw; the bus carried on.
 */
export type ErrorCode =
  | 'session_expired'
  | 'outdated'
  | 'server'
  | 'http'
  | 'network'
  | 'timeout'
  | 'protocol'
  | 'frame'
  | 'storage'
  | 'config'
  | 'handler';

/** The one error class tabbus throws or emits. Use `code` to tell failures apart. */
export class TabBusError extends Error {
  /** Always `TabBusError` (what `error.name` says in logs). */
  override readonly name = 'TabBusError';
  // `declare`: the constructor sets these. As plain fields they would also be emitted as class fields
  // (useDefineForClassFields), defined as undefined first: bytes in every bundle, for nothing.
  /** Machine-readable cause. */
  declare readonly code: ErrorCode;
  /** True when the bus stopped because of this error (it will not retry by itself). */
  declare readonly fatal: boolean;
  /** Structured details: the route, the HTTP status, the server's error name, the raw reply… */
  declare readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { fatal?: boolean; context?: Record<string, unknown>; cause?: unknown } = {}) {
    super(`tabbus: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fatal = options.fatal ?? false;
    this.context = options.context ?? {};
  }
}

/** True for errors that say the user must log in again: retrying cannot help. A type guard: `error` is then such a TabBusError. */
export const isSessionExpired = (error: unknown): error is TabBusError & {
  /** Always `session_expired`. */
  readonly code: 'session_expired';
} =>
  error instanceof TabBusError && error.code === 'session_expired';

/** `context` as plain JSON data, to send to other tabs; what does not survive JSON (a cycle, a BigInt) is left out. */
export function plainData(context: Readonly<Record<string, unknown>>): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(context)) as Record<string, unknown>;
  } catch {
    return {};
  }
}
