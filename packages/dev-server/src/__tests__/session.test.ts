import { describe, expect, it } from 'vitest';
import { cookieSessionId, login, postJson, rpc, startPoll, startServer, untilOpenPolls } from './helpers';

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

  it('8/9: get_session_info needs no login, and answers a session nobody is logged into with uid and db null', async () => {
    for (const odoo of [8, 9] as const) {
      const server = await startServer({ odoo });
      const sessionId = await login(server, 'demo');
      expect((await rpc(server, '/web/session/get_session_info', {}, { sessionId })).body.result).toMatchObject({ uid: 6, db: server.db });
      await rpc(server, '/web/session/destroy', {}, { sessionId });
      const after = await rpc(server, '/web/session/get_session_info', {}, { sessionId });
      expect(after.body.error).toBeUndefined();
      expect(after.body.result).toMatchObject({ uid: null, db: null });
    }
    const ten = await startServer({ odoo: 10 });
    expect((await rpc(ten, '/web/session/get_session_info', {})).body.error.code).toBe(100);
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

  it('GET /web/session/logout (the web client navigating away) logs out and redirects 303 with a new public session', async () => {
    const server = await startServer({ databases: ['other'] });
    const sessionId = (await rpc(server, '/web/session/authenticate', { db: 'other', login: 'demo', password: 'demo' })).sessionId!;
    const reply = await fetch(`${server.url}/web/session/logout?redirect=/index.html`, { headers: { Cookie: `session_id=${sessionId}` }, redirect: 'manual' });
    expect(reply.status).toBe(303);
    expect(reply.headers.get('location')).toBe('/index.html');
    const fresh = cookieSessionId(reply.headers);
    expect(fresh).toMatch(/^[0-9a-f]{40}$/);
    expect(fresh).not.toBe(sessionId);
    expect((await rpc(server, '/web/session/get_session_info', {}, { sessionId })).body.error.code).toBe(100);
    // The new public session stays in the same database.
    const peek = await rpc(server, '/longpolling/poll', { channels: [], last: 0, options: { peek: true } }, { sessionId: fresh });
    expect(peek.body.result.channels).toEqual([['other', 'broadcast']]);
    // Only a local path is followed.
    const away = await fetch(`${server.url}/web/session/logout?redirect=//evil.example`, { redirect: 'manual' });
    expect(away.headers.get('location')).toBe('/web');
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

describe('session expiry, as Odoo shows it', () => {
  const expired = {
    code: 100,
    message: 'Odoo Session Expired',
    data: { name: 'odoo.http.SessionExpiredException', message: 'Session expired', arguments: ['Session expired'], context: {} },
  };
  const peek = { channels: ['chat'], last: 0, options: { peek: true } };

  it('a deleted session is not an error on /longpolling/poll: a new public session is served with a new cookie', async () => {
    const server = await startServer();
    const sessionId = await login(server);
    await rpc(server, '/web/session/destroy', {}, { sessionId });
    const id = server.publish('chat', { type: 't', payload: 1 });
    const poll = await rpc(server, '/longpolling/poll', peek, { sessionId });
    expect(poll.status).toBe(200);
    expect(poll.body.error).toBeUndefined();
    expect(poll.body.result.notifications.map((n: { id: number }) => n.id)).toEqual([id]);
    expect(poll.sessionId).toMatch(/^[0-9a-f]{40}$/);
    expect(poll.sessionId).not.toBe(sessionId);
    // The new session is public: the user is gone, and only authenticated routes say so.
    const info = await rpc(server, '/web/session/get_session_info', {}, { sessionId: poll.sessionId });
    expect(info.body.error).toMatchObject(expired);
  });

  it('POST /tabbus/expire deletes every session; get_session_info then answers Session Expired', async () => {
    const server = await startServer();
    const admin = await login(server, 'admin');
    const demo = await login(server, 'demo');
    const anonymous = (await rpc(server, '/longpolling/poll', peek)).sessionId;
    const reply = await postJson(server, '/tabbus/expire', {});
    expect(reply).toEqual({ status: 200, body: { deleted: 3 } });
    for (const sessionId of [admin, demo]) {
      const info = await rpc(server, '/web/session/get_session_info', {}, { sessionId });
      expect(info.status).toBe(200);
      expect(info.body).toEqual({ jsonrpc: '2.0', id: expect.any(Number), error: { ...expired, data: { ...expired.data, debug: expect.any(String) } } });
    }
    const poll = await rpc(server, '/longpolling/poll', peek, { sessionId: anonymous });
    expect(poll.body.error).toBeUndefined();
    expect(poll.sessionId).not.toBe(anonymous);
    // An empty body means every session too.
    await login(server);
    const again = await fetch(server.url + '/tabbus/expire', { method: 'POST' });
    expect(await again.json()).toEqual({ deleted: 2 }); // the login above and the poll's public session
  });

  it('{"login"} deletes only that user’s sessions', async () => {
    const server = await startServer();
    const admin1 = await login(server, 'admin');
    const admin2 = await login(server, 'admin');
    const demo = await login(server, 'demo');
    expect((await postJson(server, '/tabbus/expire', { login: 'admin' })).body).toEqual({ deleted: 2 });
    for (const sessionId of [admin1, admin2]) {
      expect((await rpc(server, '/web/session/get_session_info', {}, { sessionId })).body.error.code).toBe(100);
    }
    expect((await rpc(server, '/web/session/get_session_info', {}, { sessionId: demo })).body.result.uid).toBe(6);
    expect((await rpc(server, '/web/session/destroy', {}, { sessionId: admin1 })).body.error.code).toBe(100);
    expect((await postJson(server, '/tabbus/expire', { login: 'nobody' })).body).toEqual({ deleted: 0 });
  });

  it('a poll held while its session expires is answered as usual: a long-poll cannot tell', async () => {
    const server = await startServer();
    const sessionId = await login(server);
    const held = startPoll(server, { channels: ['chat'], last: 0 }, { sessionId });
    await untilOpenPolls(server, 1);
    expect((await postJson(server, '/tabbus/expire', {})).body).toEqual({ deleted: 1 });
    const id = server.publish('chat', { type: 't', payload: 1 });
    const reply = await held;
    expect(reply.body.error).toBeUndefined();
    expect(reply.body.result).toEqual([{ id, message: { type: 't', payload: 1 } }]);
    expect(reply.sessionId).toBeUndefined(); // the session is gone: no cookie to refresh
  });

  it('refuses a body that is not {} or {"login": string}', async () => {
    const server = await startServer();
    await login(server);
    for (const body of [{ login: 2 }, [1], 'x', 42]) {
      const reply = await postJson(server, '/tabbus/expire', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.code).toBe('bad_request');
    }
    expect((await fetch(server.url + '/tabbus/expire')).status).toBe(405);
  });
});
