// The real-Odoo tier's server list: what the variables may hold and the errors that name the bad entry.
import { describe, expect, it } from 'vitest';
import { credentials, parseServers, RealOdooConfigError, serversFromEnv } from '../servers';

describe('the real-Odoo server list', () => {
  it('reads <series>=<url> entries, the database from ?db=, without a trailing slash', () => {
    expect(parseServers('V', ' 15=http://127.0.0.1:8115/ , 19=https://odoo.test/prefix/?db=main', true)).toEqual([
      { series: 15, url: 'http://127.0.0.1:8115', db: undefined, addon: true },
      { series: 19, url: 'https://odoo.test/prefix', db: 'main', addon: true },
    ]);
  });

  it('is empty when the variable is unset or blank', () => {
    expect(parseServers('V', undefined, true)).toEqual([]);
    expect(parseServers('V', ' , ', true)).toEqual([]);
    expect(serversFromEnv({})).toEqual([]);
  });

  it.each([
    ['http://127.0.0.1:8115', /no <series>=/],
    ['14=http://127.0.0.1:8014', /series 14 is not one/],
    ['17=not a url', /not a URL/],
    ['17=ftp://odoo.test', /not an http\(s\) URL/],
    ['17=http://a.test,17=http://b.test', /series 17 is listed twice/],
  ])('rejects %j, naming the variable and the entry', (value, reason) => {
    let error: unknown;
    try {
      parseServers('TABBUS_REAL_ODOO', value, true);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RealOdooConfigError);
    expect((error as Error).message).toMatch(/^TABBUS_REAL_ODOO: "/);
    expect((error as Error).message).toMatch(reason);
  });

  it('takes servers with the addon and without it from their two variables, and the login from its own', () => {
    const env = { TABBUS_REAL_ODOO: '17=http://a.test', TABBUS_REAL_ODOO_PLAIN: '17=http://b.test', TABBUS_REAL_ODOO_LOGIN: 'boss' };
    expect(serversFromEnv(env).map((s) => [s.series, s.url, s.addon])).toEqual([
      [17, 'http://a.test', true],
      [17, 'http://b.test', false],
    ]);
    expect(credentials(env)).toEqual({ login: 'boss', password: 'admin' });
  });
});
