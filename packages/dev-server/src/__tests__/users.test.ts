// Several users, and several databases, behind one browser cookie: the personal channel Odoo (with mail)
// adds to every logged-in poll and socket, `/tabbus/send {"partner"}`, and `databases`. These make the
// hazard of issue 16 reproducible: a poll is served to whoever holds the cookie now.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createDevServer } from '../server';
import type { DevServer } from '../server';
import { login, postJson, rpc, startPoll, startServer, untilOpenPolls } from './helpers';

const peek = (server: DevServer, sessionId: string | undefined, channels: string[] = []) =>
  rpc(server, '/longpolling/poll', { channels, last: 0, options: { peek: true } }, { sessionId });

const loginTo = async (server: DevServer, db: string, user: string, sessionId?: string): Promise<string> => {
  const reply = await rpc(server, '/web/session/authenticate', { db, login: user, password: user }, { sessionId });
  if (!reply.sessionId) throw new Error(`login as ${user} on ${db} failed: ${JSON.stringify(reply.body)}`);
  return reply.sessionId;
};

/** A browser-like socket that collects the ids of every frame. */
async function socket(server: DevServer, sessionId: string): Promise<{ ws: WebSocket; ids: number[]; closed: Promise<number> }> {
  const version = server.odoo === 17 ? '?version=17.0-1' : server.odoo === 18 ? '?version=18.0-5' : '';
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/websocket${version}`, {
    origin: server.url,
    headers: { Cookie: `session_id=${sessionId}`, 'User-Agent': 'vitest' },
  });
  const ids: number[] = [];
  ws.on('message', (data) => ids.push(...(JSON.parse(String(data)) as { id: number }[]).map((item) => item.id)));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  return { ws, ids, closed };
}

async function until(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sendPartner = async (server: DevServer, body: Record<string, unknown>): Promise<number> => {
  const reply = await postJson(server, '/tabbus/send', body);
  if (reply.status !== 200) throw new Error(`/tabbus/send: ${JSON.stringify(reply.body)}`);
  return (reply.body as { ids: number[] }).ids[0]!;
};

describe('the personal channel (Odoo with mail)', () => {
  it('15: a logged-in poll also listens on ["<db>","res.partner",<partner>]; /tabbus/send {partner} publishes there', async () => {
    const server = await startServer({ odoo: 15 });
    const demo = await login(server, 'demo');
    const admin = await login(server, 'admin');
    expect((await peek(server, demo, ['chat'])).body.result.channels).toEqual([
      ['tabbus', 'chat'],
      ['tabbus', 'broadcast'],
      ['tabbus', 'res.partner', 7],
    ]);
    // A public session has no partner.
    expect((await peek(server, undefined, ['chat'])).body.result.channels).toEqual([
      ['tabbus', 'chat'],
      ['tabbus', 'broadcast'],
    ]);

    const last = server.stats().lastId;
    const demoPoll = startPoll(server, { channels: ['chat'], last }, { sessionId: demo });
    const adminPoll = startPoll(server, { channels: ['chat'], last }, { sessionId: admin });
    await untilOpenPolls(server, 2);
    const id = await sendPartner(server, { partner: 7, type: 'mail.message/inbox', payload: { body: 'for demo only' } });
    expect((await demoPoll).body.result).toEqual([{ id, message: { type: 'mail.message/inbox', payload: { body: 'for demo only' } } }]);
    // Admin's poll is not woken by it, and does not read it.
    expect(server.stats().openPolls).toBe(1);
    await sendPartner(server, { partner: 3, type: 'mail.message/inbox', payload: 'for admin' });
    const adminIds = ((await adminPoll).body.result as { id: number }[]).map((item) => item.id);
    expect(adminIds).not.toContain(id);
    expect(adminIds).toHaveLength(1);
  });

  it('a poll reads as whoever holds the cookie now: after a login as demo, the old cursor reads demo’s partner rows', async () => {
    // The hazard of one browser, several users: the old user's tab polls on with the new cookie.
    const server = await startServer({ odoo: 15 });
    const admin = await login(server, 'admin');
    const cursor = await sendPartner(server, { channel: 'chat', type: 't', payload: 'before' });
    // The login happens in another tab: the browser sends admin's cookie, Odoo rotates it.
    const demo = await loginTo(server, 'tabbus', 'demo', admin);
    expect(demo).not.toBe(admin);
    const privateId = await sendPartner(server, { partner: 7, type: 't', payload: 'demo’s private message' });
    // Admin's old cookie is gone: a poll with it is a public session, without partner channel.
    const old = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: cursor, options: { peek: true } }, { sessionId: admin });
    expect(old.body.result.notifications).toEqual([]);
    // The browser now sends demo's cookie with admin's cursor and channels: demo's private row comes back.
    const now = await rpc(server, '/longpolling/poll', { channels: ['chat'], last: cursor, options: {} }, { sessionId: demo });
    expect(now.body.result).toEqual([{ id: privateId, message: { type: 't', payload: 'demo’s private message' } }]);
  });

  it('14: {partner, message} lands on the tuple channel; the item names it as an array', async () => {
    const server = await startServer({ odoo: 14 });
    const demo = await login(server, 'demo');
    const held = startPoll(server, { channels: ['chat'], last: 0 }, { sessionId: demo });
    await untilOpenPolls(server, 1);
    const id = await sendPartner(server, { partner: 7, message: { body: 'hi' } });
    expect((await held).body.result).toEqual([{ id, channel: ['tabbus', 'res.partner', 7], message: { body: 'hi' } }]);
    expect((await peek(server, demo, ['chat'])).body.result.channels).toEqual(['chat', ['tabbus', 'res.partner', 7]]);
    // 14 has no broadcast, and a wrong shape for the version is refused.
    const wrong = await postJson(server, '/tabbus/send', { partner: 7, type: 't', payload: 1 });
    expect(wrong.status).toBe(400);
  });

  it('8: the personal channel is im_chat’s (db, "im_chat.session", uid), found from the partner', async () => {
    const server = await startServer({ odoo: 8 });
    const demo = await login(server, 'demo');
    const held = startPoll(server, { channels: ['chat'], last: 0 }, { sessionId: demo });
    await untilOpenPolls(server, 1);
    const id = await sendPartner(server, { partner: 7, message: 'ping' });
    expect((await held).body.result).toEqual([{ id, channel: ['tabbus', 'im_chat.session', 6], message: 'ping' }]);
    const nobody = await postJson(server, '/tabbus/send', { partner: 99, message: 'x' });
    expect(nobody.status).toBe(400);
    expect(nobody.body.error.message).toMatch(/no user has partner 99/);
  });

  it('mail: false (8–15) is the bus addon alone: no personal channel; 16+ always add the partner', async () => {
    const bare = await startServer({ odoo: 15, mail: false });
    const demo = await login(bare, 'demo');
    expect((await peek(bare, demo)).body.result.channels).toEqual([['tabbus', 'broadcast']]);
    // Publishing there still works: nobody hears it.
    await sendPartner(bare, { partner: 7, type: 't', payload: 1 });

    const ws17 = await startServer({ odoo: 17, mail: false });
    const session = await login(ws17, 'demo');
    const { ws, ids } = await socket(ws17, session);
    ws.send(JSON.stringify({ event_name: 'subscribe', data: { channels: [], last: 0 } }));
    await until(() => ws17.stats().framesIn === 1, 'the subscribe');
    const id = await sendPartner(ws17, { partner: 7, type: 't', payload: 'socket' });
    await until(() => ids.includes(id), 'the partner notification on the socket');
    ws.close();
  });

  it('17: {partner} reaches the sockets of that partner’s user only; a login as another user closes the old socket 4001', async () => {
    const server = await startServer({ odoo: 17 });
    const admin = await login(server, 'admin');
    const a = await socket(server, admin);
    a.ws.send(JSON.stringify({ event_name: 'subscribe', data: { channels: ['chat'], last: 0 } }));
    await until(() => server.stats().framesIn === 1, 'the subscribe');
    const forAdmin = await sendPartner(server, { partner: 3, type: 't', payload: 'admin' });
    const forDemo = await sendPartner(server, { partner: 7, type: 't', payload: 'demo' });
    await until(() => a.ids.includes(forAdmin), 'admin’s own notification');
    expect(a.ids).not.toContain(forDemo);
    // Another tab logs in as demo with the browser's cookie: Odoo rotates (deletes) admin's session.
    await loginTo(server, 'tabbus', 'demo', admin);
    expect(await a.closed).toBe(4001);
  });

  it('17, websocketSessionCheck on-frame: a socket whose session ended stays open until its next frame or dispatch, then closes 4001', async () => {
    const server = await startServer({ odoo: 17, websocketSessionCheck: 'on-frame' });
    const admin = await login(server, 'admin');
    const quiet = await socket(server, admin);
    const busy = await socket(server, admin);
    quiet.ws.send(JSON.stringify({ event_name: 'subscribe', data: { channels: ['elsewhere'], last: 0 } }));
    busy.ws.send(JSON.stringify({ event_name: 'subscribe', data: { channels: ['chat'], last: 0 } }));
    await until(() => server.stats().framesIn === 2, 'the subscribes');
    await loginTo(server, 'tabbus', 'demo', admin);
    // Nothing went either way: both sockets are still open, as on Odoo until the session is looked up again.
    await new Promise((r) => setTimeout(r, 100));
    expect(server.stats().openSockets).toBe(2);
    // A dispatch looks the session up first: the busy socket closes instead of receiving.
    const id = await sendPartner(server, { channel: 'chat', type: 't', payload: 'after the login' });
    expect(await busy.closed).toBe(4001);
    expect(busy.ids).not.toContain(id);
    await until(() => server.stats().openSockets === 1, 'the server to count the busy socket closed');
    // So does an incoming message.
    quiet.ws.send(JSON.stringify({ event_name: 'update_presence', data: { inactivity_period: 0, im_status_ids_by_model: {} } }));
    expect(await quiet.closed).toBe(4001);
  });

  it('refuses bad partner bodies with 400 and inserts nothing', async () => {
    const server = await startServer({ odoo: 15 });
    const cases: [unknown, RegExp][] = [
      [{ partner: '7', type: 't', payload: 1 }, /"partner" must be a partner id/],
      [{ partner: 0, type: 't', payload: 1 }, /"partner" must be a partner id/],
      [{ partner: 1.5, type: 't', payload: 1 }, /"partner" must be a partner id/],
      [{ partner: 7, channel: 'chat', type: 't', payload: 1 }, /not both/],
      [{ partner: 7, type: 't' }, /\{type: string, payload/],
      [{ partner: 7, db: 5, type: 't', payload: 1 }, /"db" must be a database name/],
      [{ partner: 7, db: 'nope', type: 't', payload: 1 }, /unknown database "nope"/],
      [[{ partner: 7, type: 't', payload: 1 }, { partner: -1, type: 't', payload: 1 }], /item 1: "partner"/],
    ];
    for (const [body, message] of cases) {
      const reply = await postJson(server, '/tabbus/send', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error.message).toMatch(message);
    }
    expect(server.stats().lastId).toBe(0);
  });
});

describe('several databases on one server (`databases`)', () => {
  it('a login names its database; session info, channels and rows are that database’s', async () => {
    const server = await startServer({ odoo: 15, databases: ['other'] });
    expect(server.databases).toEqual(['tabbus', 'other']);
    const other = await loginTo(server, 'other', 'admin');
    const info = await rpc(server, '/web/session/get_session_info', {}, { sessionId: other });
    expect(info.body.result).toMatchObject({ uid: 2, partner_id: 3, db: 'other' });
    expect((await peek(server, other, ['chat'])).body.result.channels).toEqual([
      ['other', 'chat'],
      ['other', 'broadcast'],
      ['other', 'res.partner', 3],
    ]);
    const main = await login(server, 'admin');
    const inMain = await sendPartner(server, { partner: 3, type: 't', payload: 'main' });
    const inOther = await sendPartner(server, { partner: 3, db: 'other', type: 't', payload: 'other' });
    const read = async (sessionId: string) =>
      ((await rpc(server, '/longpolling/poll', { channels: ['chat'], last: 0 }, { sessionId })).body.result as { id: number }[]).map((item) => item.id);
    expect(await read(main)).toEqual([inMain]);
    expect(await read(other)).toEqual([inOther]);
    // A database the server does not have is refused like a wrong password.
    const unknown = await rpc(server, '/web/session/authenticate', { db: 'nope', login: 'admin', password: 'admin' });
    expect(unknown.body.error.data.name).toBe('odoo.exceptions.AccessDenied');
  });

  it('14: the same client channel in two databases: each poll reads its own rows; a row in the other wakes it with []', async () => {
    const server = await startServer({ odoo: 14, databases: ['other'] });
    const main = await login(server, 'demo');
    const other = await loginTo(server, 'other', 'demo');
    const last = server.stats().lastId;
    const held = startPoll(server, { channels: ['chat'], last }, { sessionId: main });
    await untilOpenPolls(server, 1);
    // Odoo's one dispatcher wakes by channel, and "chat" carries no database on 8–14.
    await sendPartner(server, { channel: 'chat', db: 'other', message: 'elsewhere' });
    expect((await held).body.result).toEqual([]);
    const mine = await sendPartner(server, { channel: 'chat', message: 'here' });
    const read = async (sessionId: string) =>
      ((await rpc(server, '/longpolling/poll', { channels: ['chat'], last }, { sessionId })).body.result as { id: number; message: unknown }[]).map((item) => item.message);
    expect(await read(main)).toEqual(['here']);
    expect(await read(other)).toEqual(['elsewhere']);
    expect(mine).toBeGreaterThan(last);
    // Odoo's /longpolling/send publishes in the caller's database.
    await rpc(server, '/longpolling/send', { channel: 'chat', message: 'sent from other' }, { sessionId: other });
    expect(await read(other)).toEqual(['elsewhere', 'sent from other']);
  });

  it('17: a socket subscribes in its session’s database', async () => {
    const server = await startServer({ odoo: 17, databases: ['other'] });
    const other = await loginTo(server, 'other', 'demo');
    const s = await socket(server, other);
    s.ws.send(JSON.stringify({ event_name: 'subscribe', data: { channels: ['chat'], last: 0 } }));
    await until(() => server.stats().framesIn === 1, 'the subscribe');
    const inMain = await sendPartner(server, { partner: 7, type: 't', payload: 'main' });
    const inOther = await sendPartner(server, { partner: 7, db: 'other', type: 't', payload: 'other' });
    await until(() => s.ids.includes(inOther), 'the other database’s notification');
    expect(s.ids).not.toContain(inMain);
    s.ws.close();
  });

  it('refuses several databases with pg, and a bad list', async () => {
    await expect(createDevServer({ port: 0, databases: ['other'], pg: 'postgresql://nowhere/db' })).rejects.toThrow(/several databases/);
    await expect(createDevServer({ port: 0, databases: [''] })).rejects.toThrow(/databases must be/);
  });
});
