import { describe, expect, it } from 'vitest';
import { login, rpc, startServer } from './helpers';

describe('/web/session/*', () => {
  it('authenticate logs in, sets a 40-hex HttpOnly session cookie and answers the session info', async () => {
    const server = await startServer({ odoo: 14 });
    const reply = await rpc(server, '/web/session/authenticate', { db: 'tabbus', login: 'admin', password: 'admin' });
    expect(reply.status).toBe(200);
    expect(reply.sessionId).toMatch(/^[0-9a-f]{40}$/);
    const cookie = reply.headers.get('set-cookie')!;
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain('SameSite=Lax');
    expect(reply.body.result).toMatchObject({
      uid: 2,
      partner_id: 3,
      name: 'Mitchell Admin',
      username: 'admin',
      db: 'tabbus',
      is_system: true,
      server_version: '14.0',
      server_version_info: [14, 0, 0, 'final', 0, ''],
    });
    expect(reply.body.result.user_context).toMatchObject({ uid: 2 });
  });

  it('every login gets a new session id', async () => {
    const server = await startServer();
    const first = await login(server, 'demo');
    const second = await login(server, 'demo');
    expect(second).not.toBe(first);
  });

  it('refuses a wrong password or database with AccessDenied', async () => {
    const server = await startServer();
    for (const params of [
      { db: 'tabbus', login: 'admin', password: 'nope' },
      { db: 'other', login: 'admin', password: 'admin' },
      { db: 'tabbus', login: 'nobody', password: 'nobody' },
    ]) {
      const reply = await rpc(server, '/web/session/authenticate', params);
      expect(reply.status).toBe(200);
      expect(reply.sessionId).toBeUndefined();
      expect(reply.body.error).toMatchObject({
        code: 200,
        message: 'Odoo Server Error',
        data: { name: 'odoo.exceptions.AccessDenied', message: 'Access Denied', arguments: ['Access Denied'], context: {} },
      });
    }
  });

  it('get_session_info answers the logged-in user, and Session Expired without a logged-in session', async () => {
    const server = await startServer();
    const sessionId = await login(server, 'demo');
    const info = await rpc(server, '/web/session/get_session_info', {}, { sessionId });
    expect(info.body.result).toMatchObject({ uid: 6, partner_id: 7, name: 'Marc Demo', is_system: false });
    expect(info.sessionId).toBe(sessionId); // the cookie is refreshed

    // A public session, as /longpolling/poll hands out.
    const poll = await rpc(server, '/longpolling/poll', { channels: [], last: 0, options: { peek: true } });
    const publicSession = poll.sessionId;
    expect(publicSession).toMatch(/^[0-9a-f]{40}$/);

    for (const sid of [undefined, 'f'.repeat(40), publicSession]) {
      const reply = await rpc(server, '/web/session/get_session_info', {}, { sessionId: sid });
      expect(reply.status).toBe(200);
      expect(reply.body.result).toBeUndefined();
      expect(reply.body.error).toMatchObject({
        code: 100,
        message: 'Odoo Session Expired',
        data: { name: 'odoo.http.SessionExpiredException', message: 'Session expired' },
      });
    }
  });

  it('destroy logs the session out', async () => {
    const server = await startServer();
    const sessionId = await login(server);
    const reply = await rpc(server, '/web/session/destroy', {}, { sessionId });
    expect(reply.body).toEqual({ jsonrpc: '2.0', id: expect.any(Number) });
    const after = await rpc(server, '/web/session/get_session_info', {}, { sessionId });
    expect(after.body.error.code).toBe(100);
  });

  it('a missing argument is a Python TypeError', async () => {
    const server = await startServer();
    const reply = await rpc(server, '/web/session/authenticate', { db: 'tabbus' });
    expect(reply.body.error.data).toMatchObject({
      name: 'builtins.TypeError',
      message: "authenticate() missing 2 required positional arguments: 'login' and 'password'",
    });
  });
});
