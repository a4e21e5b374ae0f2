// Which real Odoo servers the tier checks, from the environment. Nothing here starts a server: the tier
// takes the URLs of servers someone else runs (a staging copy of one's own Odoo, say).
//
//   TABBUS_REAL_ODOO=15=http://127.0.0.1:8115,16=http://odoo16.test/?db=main   servers with tabbus_bus installed
//   TABBUS_REAL_ODOO_PLAIN=17=http://127.0.0.1:8017                               the same without it (baseline, measured only)
//   TABBUS_REAL_ODOO_LOGIN / TABBUS_REAL_ODOO_PASSWORD                             an administrator (default admin / admin)
//
// The database is the URL's `?db=`, else the only one the server lists.

export const SERIES = [15, 16, 17, 18, 19] as const;
export type Series = (typeof SERIES)[number];

export interface RealOdoo {
  readonly series: Series;
  /** Origin and path prefix, without the query or a trailing slash. */
  readonly url: string;
  /** From `?db=`; otherwise asked from the server when the tests start. */
  readonly db: string | undefined;
  /** Whether tabbus_bus is installed there (TABBUS_REAL_ODOO) or not (TABBUS_REAL_ODOO_PLAIN). */
  readonly addon: boolean;
}

/** A malformed server list: the tier stops before any test, saying which entry and why. */
export class RealOdooConfigError extends Error {
  override readonly name = 'RealOdooConfigError';
  constructor(
    readonly variable: string,
    readonly entry: string,
    reason: string,
  ) {
    super(`${variable}: ${JSON.stringify(entry)}: ${reason} (expected <series>=<url>[?db=<database>], series ${SERIES.join(', ')}, comma-separated)`);
  }
}

export function parseServers(variable: string, value: string | undefined, addon: boolean): RealOdoo[] {
  const servers: RealOdoo[] = [];
  for (const entry of (value ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^(\d+)=(.+)$/.exec(entry);
    if (!match) throw new RealOdooConfigError(variable, entry, 'no <series>=');
    const series = Number(match[1]) as Series;
    if (!SERIES.includes(series)) throw new RealOdooConfigError(variable, entry, `series ${match[1]} is not one tabbus_bus supports on a real Odoo`);
    let url: URL;
    try {
      url = new URL(match[2]!);
    } catch {
      throw new RealOdooConfigError(variable, entry, 'not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RealOdooConfigError(variable, entry, 'not an http(s) URL');
    if (servers.some((s) => s.series === series)) throw new RealOdooConfigError(variable, entry, `series ${series} is listed twice`);
    const db = url.searchParams.get('db') ?? undefined;
    servers.push({ series, url: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, db, addon });
  }
  return servers;
}

export function serversFromEnv(env: NodeJS.ProcessEnv = process.env): RealOdoo[] {
  return [...parseServers('TABBUS_REAL_ODOO', env['TABBUS_REAL_ODOO'], true), ...parseServers('TABBUS_REAL_ODOO_PLAIN', env['TABBUS_REAL_ODOO_PLAIN'], false)];
}

export const credentials = (env: NodeJS.ProcessEnv = process.env) => ({
  login: env['TABBUS_REAL_ODOO_LOGIN'] || 'admin',
  password: env['TABBUS_REAL_ODOO_PASSWORD'] || 'admin',
});
