// A JSON-RPC session on a real Odoo, from Node: login, call_kw, and the other JSON routes the tier needs.
// One object per user; it keeps that user's session cookie.

/** An Odoo JSON-RPC error, or a reply that is not JSON-RPC at all. */
export class OdooRpcError extends Error {
  override readonly name = 'OdooRpcError';
  constructor(
    readonly route: string,
    /** Odoo's exception class (`odoo.exceptions.AccessError`…), or `http <status>`. */
    readonly kind: string,
    message: string,
  ) {
    super(`${route}: ${kind}: ${message}`);
  }
}

export class OdooSession {
  #cookie = '';
  uid: number | undefined;
  partnerId: number | undefined;

  constructor(
    readonly url: string,
    readonly db: string,
  ) {}

  /** The session cookie, for a browser context. */
  get sessionId(): string {
    return /session_id=([^;]+)/.exec(this.#cookie)?.[1] ?? '';
  }

  async call<T>(route: string, params: Record<string, unknown>): Promise<T> {
    const response = await fetch(`${this.url}${route}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(this.#cookie ? { Cookie: this.#cookie } : {}) },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params, id: Date.now() }),
    });
    const setCookie = response.headers.get('set-cookie');
    const sid = setCookie && /session_id=[^;]+/.exec(setCookie)?.[0];
    if (sid) this.#cookie = sid;
    const text = await response.text();
    let reply: { result?: T; error?: { message?: string; data?: { name?: string; message?: string } } };
    try {
      reply = JSON.parse(text);
    } catch {
      throw new OdooRpcError(route, `http ${response.status}`, `not JSON: ${text.slice(0, 200)}`);
    }
    if (reply.error) throw new OdooRpcError(route, reply.error.data?.name ?? 'error', reply.error.data?.message || reply.error.message || 'no message');
    return reply.result as T;
  }

  async login(login: string, password: string): Promise<this> {
    const info = await this.call<{ uid: number | false; partner_id?: number }>('/web/session/authenticate', { db: this.db, login, password });
    if (!info.uid) throw new OdooRpcError('/web/session/authenticate', 'login', `${login} could not log in to ${this.db}`);
    this.uid = info.uid;
    // 15 has no partner_id in the reply of every route: ask the user record when missing.
    this.partnerId = info.partner_id ?? (await this.kw<{ partner_id: [number, string] }[]>('res.users', 'read', [[info.uid], ['partner_id']]))[0]!.partner_id[0];
    return this;
  }

  kw<T>(model: string, method: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<T> {
    return this.call<T>(`/web/dataset/call_kw/${model}/${method}`, { model, method, args, kwargs });
  }
}

/** The database to use on `url`: the one given, else the only one the server lists. */
export async function resolveDb(url: string, db: string | undefined): Promise<string> {
  if (db) return db;
  const dbs = await new OdooSession(url, '').call<string[]>('/web/database/list', {});
  if (dbs.length !== 1) throw new OdooRpcError('/web/database/list', 'ambiguous', `${url} lists ${dbs.length} databases (${dbs.join(', ')}): add ?db=<name> to its URL`);
  return dbs[0]!;
}
