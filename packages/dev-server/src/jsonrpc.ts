// JSON-RPC envelopes the way Odoo 8–15 writes them (`odoo/http.py` JsonRequest):
// - success: `{"jsonrpc":"2.0","id":N,"result":…}`, and NO `result` key when the result is None;
// - failure: HTTP 200 with `{"jsonrpc":"2.0","id":N,"error":{"code":200,"message":"Odoo Server
//   Error","data":{"name":"<python module>.<class>","debug":"<traceback>","message":"…",
//   "arguments":[…],"context":{}}}}`; session expiry uses code 100 "Odoo Session Expired".

export type RpcId = string | number | null;

/** A Python exception as Odoo serializes it into the `error` member. */
export class OdooError extends Error {
  /** Dotted Python class name, e.g. `builtins.Exception`, `odoo.exceptions.AccessDenied`. */
  readonly pythonName: string;
  /** 200 for server errors, 100 for session problems. */
  readonly code: number;
  /** The envelope's top-level `message`, e.g. "Odoo Server Error". */
  readonly title: string;

  constructor(pythonName: string, message: string, options: { code?: number; title?: string } = {}) {
    super(message);
    this.name = 'OdooError';
    this.pythonName = pythonName;
    this.code = options.code ?? 200;
    this.title = options.title ?? 'Odoo Server Error';
  }
}

export const pythonException = (message: string): OdooError => new OdooError('builtins.Exception', message);

export const pythonTypeError = (message: string): OdooError => new OdooError('builtins.TypeError', message);

export const accessDenied = (): OdooError => new OdooError('odoo.exceptions.AccessDenied', 'Access Denied');

export const sessionExpired = (): OdooError =>
  new OdooError('odoo.http.SessionExpiredException', 'Session expired', { code: 100, title: 'Odoo Session Expired' });

/**
 * What Python says when keyword arguments are missing, e.g.
 * `poll() missing 1 required positional argument: 'last'`.
 */
export function missingArguments(fn: string, names: readonly string[]): OdooError {
  const quoted = names.map((name) => `'${name}'`);
  const list =
    quoted.length <= 2 ? quoted.join(' and ') : `${quoted.slice(0, -1).join(', ')}, and ${quoted[quoted.length - 1]}`;
  const noun = names.length === 1 ? 'argument' : 'arguments';
  return pythonTypeError(`${fn}() missing ${names.length} required positional ${noun}: ${list}`);
}

/** Checks that every required keyword argument is present (Odoo calls routes with **params). */
export function requireParams(fn: string, params: Record<string, unknown>, names: readonly string[]): void {
  const missing = names.filter((name) => !Object.hasOwn(params, name));
  if (missing.length > 0) throw missingArguments(fn, missing);
}

export function rpcResult(id: RpcId, result: unknown): Record<string, unknown> {
  // Odoo's _json_response only sets `result` when it is not None.
  return result === null || result === undefined ? { jsonrpc: '2.0', id } : { jsonrpc: '2.0', id, result };
}

export function rpcError(id: RpcId, error: OdooError): Record<string, unknown> {
  const className = error.pythonName.split('.').pop() ?? error.pythonName;
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: error.code,
      message: error.title,
      data: {
        name: error.pythonName,
        debug: `Traceback (most recent call last):\n  (emulated by @tabbus/dev-server)\n${className}: ${error.message}\n`,
        message: error.message,
        arguments: [error.message],
        context: {},
      },
    },
  };
}

export interface RpcCall {
  readonly id: RpcId;
  readonly params: Record<string, unknown>;
}

/** Why a body is not a JSON-RPC call; Odoo answers these with HTTP 400 before any route runs. */
export class BadRpcRequest extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadRpcRequest';
  }
}

/** Parses a JSON-RPC body. Odoo ignores `method`; `params` defaults to `{}`. */
export function parseRpcCall(body: string): RpcCall {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const shown = body.length > 200 ? `${body.slice(0, 200)}…` : body;
    throw new BadRpcRequest(`Invalid JSON data: ${JSON.stringify(shown)}`);
  }
  if (!isPlainObject(json)) throw new BadRpcRequest('Invalid JSON-RPC data: the body must be a JSON object');
  const rawId = json['id'];
  const id: RpcId = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null;
  const params = json['params'] ?? {};
  if (!isPlainObject(params)) throw new BadRpcRequest('Invalid JSON-RPC data: "params" must be an object');
  return { id, params };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
