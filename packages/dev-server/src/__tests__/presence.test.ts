import { describe, expect, it } from 'vitest';
import type { DevServer, DevServerOptions } from '../server';
import type { OdooVersion } from '../odoo-version';
import { login, postJson, rpc, startPoll, startServer, untilOpenPolls } from './helpers';
import type { RpcReply } from './helpers';

// Admin is uid 2 / partner 3 ("Mitchell Admin"), demo is uid 6 / partner 7 ("Marc Demo").
const ADMIN = 2;
const DEMO = 6;

// Presence does not depend on the hold, so most tests answer empty polls at once (holdMs 0)
// and move the clock only to age the presence rows.
function quickServer(odoo: OdooVersion, options: DevServerOptions = {}): Promise<DevServer> {
  return startServer({ odoo, holdMs: 0, ...options });
}

function poll(server: DevServer, sessionId: string | undefined, options?: unknown): Promise<RpcReply> {
  return rpc(server, '/longpolling/poll', { channels: [], last: 0, ...(options === undefined ? {} : { options }) }, { sessionId });
}

async function presenceTable(server: DevServer): Promise<any[]> {
  const response = await fetch(server.url + '/tabbus/presence');
  expect(response.status).toBe(200);
  return (await response.json()) as any[];
}

async function statusOf(server: DevServer, uid: number): Promise<string | undefined> {
  return (await presenceTable(server)).find((row) => row.uid === uid)?.status;
}

function imStatus(server: DevServer, sessionId: string | undefined, partnerIds: unknown): Promise<RpcReply> {
  return rpc(server, '/longpolling/im_status', { partner_ids: partnerIds }, { sessionId });
}

describe('presence on 10–15 (bus.presence, bus_inactivity in ms)', () => {
  it.each([10, 11, 12, 13, 14, 15] as const)('Odoo %i: a logged-in poll writes last_poll = now and last_presence = now − bus_inactivity', async (odoo) => {
    const server = await quickServer(odoo);
    const admin = await login(server);
    const before = server.clock.now();
    const reply = await poll(server, admin, { bus_inactivity: 1200 });
    expect(reply.body.result).toEqual([]);
    const rows = await presenceTable(server);
    expect(rows).toEqual([{ uid: ADMIN, status: 'online', lastPoll: expect.any(Number), lastPresence: expect.any(Number) }]);
    expect(rows[0].lastPoll).toBeGreaterThanOrEqual(before);
    expect(rows[0].lastPoll).toBeLessThanOrEqual(server.clock.now());
    expect(rows[0].lastPoll - rows[0].lastPresence).toBe(1200);
    expect(server.stats()).toMatchObject({ presenceWrites: 1, presenceWritesByUser: { [ADMIN]: 1 } });
  });

  it('the clock drives the status: online below AWAY_TIMER (1800 s), away past it, offline 55 s after the last poll', async () => {
    const server = await quickServer(15);
    const admin = await login(server);
    await poll(server, admin, { bus_inactivity: 1_799_000 });
    expect(await statusOf(server, ADMIN)).toBe('online');
    // No poll needed: the status is computed when read, as Odoo's im_status SQL does.
    server.clock.advance(2_000);
    expect(await statusOf(server, ADMIN)).toBe('away');
    server.clock.advance(52_000); // 54 s since the poll: not yet past DISCONNECTION_TIMER
    expect(await statusOf(server, ADMIN)).toBe('away');
    server.clock.advance(1_500);
    expect(await statusOf(server, ADMIN)).toBe('offline');
    // The row stays; polling again brings the user back.
    await poll(server, admin, { bus_inactivity: 0 });
    expect(await statusOf(server, ADMIN)).toBe('online');
  });

  it('last_presence never moves backwards: a tab reporting older input does not make the user away', async () => {
    const server = await quickServer(14);
    const admin = await login(server);
    await poll(server, admin, { bus_inactivity: 1_900_000 });
    expect(await statusOf(server, ADMIN)).toBe('away');
    await poll(server, admin, { bus_inactivity: 0 });
    const [fresh] = await presenceTable(server);
    expect(fresh.status).toBe('online');
    await poll(server, admin, { bus_inactivity: 1_900_000 });
    const [after] = await presenceTable(server);
    expect(after).toMatchObject({ status: 'online', lastPresence: fresh.lastPresence });
    expect(after.lastPoll).toBeGreaterThanOrEqual(fresh.lastPoll);
    expect(server.stats().presenceWrites).toBe(3);
  });

  it('a poll without bus_inactivity, or with only 8/9\'s im_presence, leaves presence alone; public sessions have none', async () => {
    const server = await quickServer(15);
    const admin = await login(server);
    await poll(server, admin);
    await poll(server, admin, {});
    await poll(server, admin, { im_presence: true });
    await poll(server, admin, 'not an object');
    await poll(server, undefined, { bus_inactivity: 0 }); // no cookie: a public session
    expect(await presenceTable(server)).toEqual([]);
    expect(server.stats()).toMatchObject({ presenceWrites: 0, presenceWritesByUser: {} });
  });

  it('a bus_inactivity that is not a number fails the poll as timedelta() does in Odoo, and writes nothing', async () => {
    const server = await quickServer(13);
    const admin = await login(server);
    const text = await poll(server, admin, { bus_inactivity: 'soon' });
    expect(text.body.error.data).toMatchObject({ name: 'builtins.TypeError', message: 'unsupported type for timedelta milliseconds component: str' });
    const none = await poll(server, admin, { bus_inactivity: null });
    expect(none.body.error.data.message).toBe('unsupported type for timedelta milliseconds component: NoneType');
    const huge = await poll(server, admin, { bus_inactivity: 1e20 });
    expect(huge.body.error.data).toMatchObject({ name: 'builtins.OverflowError', message: 'date value out of range' });
    expect(await presenceTable(server)).toEqual([]);
    // The same bad value from a public session is never read: no presence, no error.
    expect((await poll(server, undefined, { bus_inactivity: 'soon' })).body.result).toEqual([]);
  });

  it('one poll is one write, counted by user; /tabbus/stats/reset zeroes the counts but keeps the table', async () => {
    const server = await quickServer(15);
    const admin = await login(server, 'admin');
    const demo = await login(server, 'demo');
    for (let i = 0; i < 3; i++) await poll(server, admin, { bus_inactivity: 0 });
    for (let i = 0; i < 2; i++) await poll(server, demo, { bus_inactivity: 0, peek: true });
    const stats = (await (await fetch(server.url + '/tabbus/stats')).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ presenceWrites: 5, presenceWritesByUser: { '2': 3, '6': 2 } });
    const reset = await postJson(server, '/tabbus/stats/reset', {});
    expect(reset.body).toMatchObject({ presenceWrites: 0, presenceWritesByUser: {} });
    expect((await presenceTable(server)).map((row) => row.uid)).toEqual([ADMIN, DEMO]);
    await poll(server, demo, { bus_inactivity: 0 });
    expect(server.stats()).toMatchObject({ presenceWrites: 1, presenceWritesByUser: { [DEMO]: 1 } });
  });

  it('a held poll updates presence when it arrives, not when it is answered', async () => {
    const server = await startServer({ odoo: 15 });
    const admin = await login(server);
    const held = startPoll(server, { channels: ['chat'], last: 0, options: { bus_inactivity: 500 } }, { sessionId: admin });
    await untilOpenPolls(server, 1);
    expect(await presenceTable(server)).toEqual([expect.objectContaining({ uid: ADMIN, status: 'online' })]);
    server.clock.advance(50_000);
    expect((await held).body.result).toEqual([]);
    expect(server.stats().presenceWrites).toBe(1);
  });

  it('a poll answered by a queued fault never reaches the presence update', async () => {
    const server = await quickServer(15);
    const admin = await login(server);
    await postJson(server, '/tabbus/fault', { kind: 'http_500' });
    await poll(server, admin, { bus_inactivity: 0 });
    expect(server.stats()).toMatchObject({ faults: 1, presenceWrites: 0 });
    expect(await presenceTable(server)).toEqual([]);
  });
});

describe('presence on 8 (im_chat.presence, im_presence)', () => {
  it('the first poll creates the row online; later polls write only on a status change or a last_poll older than 50 s', async () => {
    const server = await quickServer(8);
    const admin = await login(server);
    await poll(server, admin, { im_presence: false });
    const [created] = await presenceTable(server);
    expect(created).toMatchObject({ uid: ADMIN, status: 'online' });
    expect(server.stats().presenceWrites).toBe(1);

    server.clock.advance(10_000);
    await poll(server, admin, { im_presence: true });
    // Same status, last_poll 10 s old: nothing written, so neither time moved.
    expect(await presenceTable(server)).toEqual([created]);
    expect(server.stats().presenceWrites).toBe(1);

    server.clock.advance(41_000);
    await poll(server, admin, {}); // missing: options.get('im_presence', False)
    const [rewritten] = await presenceTable(server);
    expect(rewritten.status).toBe('online');
    expect(rewritten.lastPoll).toBeGreaterThanOrEqual(created.lastPoll + 51_000);
    expect(rewritten.lastPresence).toBe(created.lastPresence);
    expect(server.stats().presenceWrites).toBe(2);
  });

  it('without focus the user turns away once last_presence is older than 600 s; focus brings them back', async () => {
    const server = await quickServer(8);
    const admin = await login(server);
    await poll(server, admin, { im_presence: true });
    server.clock.advance(590_000);
    await poll(server, admin, { im_presence: false });
    expect(await statusOf(server, ADMIN)).toBe('online');
    server.clock.advance(11_000);
    // Python truthiness: an empty list is false (in JavaScript it would be true).
    await poll(server, admin, { im_presence: [] });
    expect(await statusOf(server, ADMIN)).toBe('away');
    await poll(server, admin, { im_presence: 1 });
    const [back] = await presenceTable(server);
    expect(back.status).toBe('online');
    expect(back.lastPresence).toBe(back.lastPoll);
    expect(server.stats().presenceWritesByUser).toEqual({ [ADMIN]: 4 });
  });

  it('a user who stops polling goes offline only when someone else\'s poll sweeps (55 s without a poll)', async () => {
    const server = await quickServer(8);
    const admin = await login(server, 'admin');
    const demo = await login(server, 'demo');
    await poll(server, admin, { im_presence: true });
    server.clock.advance(56_000);
    // The status is stored: nobody polled, nobody swept.
    expect(await statusOf(server, ADMIN)).toBe('online');
    await poll(server, demo, { im_presence: true });
    expect(await presenceTable(server)).toEqual([
      expect.objectContaining({ uid: ADMIN, status: 'offline' }),
      expect.objectContaining({ uid: DEMO, status: 'online' }),
    ]);
    // Admin's row was written twice (created, swept), demo's once.
    expect(server.stats().presenceWritesByUser).toEqual({ [ADMIN]: 2, [DEMO]: 1 });
  });

  it('public sessions have no presence', async () => {
    const server = await quickServer(8);
    await poll(server, undefined, { im_presence: true });
    expect(await presenceTable(server)).toEqual([]);
  });
});

describe('presence on 9 (bus.presence, im_presence)', () => {
  it('updates only when im_presence is sent; focus → online, no focus → away at once; every update writes', async () => {
    const server = await quickServer(9);
    const admin = await login(server);
    await poll(server, admin, {});
    expect(await presenceTable(server)).toEqual([]);
    await poll(server, admin, { im_presence: false });
    const [created] = await presenceTable(server);
    expect(created).toMatchObject({ uid: ADMIN, status: 'online', lastPresence: created.lastPoll });
    await poll(server, admin, { im_presence: false });
    expect(await statusOf(server, ADMIN)).toBe('away');
    server.clock.advance(5_000);
    await poll(server, admin, { im_presence: true });
    const [back] = await presenceTable(server);
    // last_presence keeps its creation value in 9.0's update.
    expect(back).toMatchObject({ status: 'online', lastPresence: created.lastPresence });
    expect(back.lastPoll).toBeGreaterThanOrEqual(created.lastPoll + 5_000);
    expect(server.stats().presenceWrites).toBe(3);
  });

  it('the disconnection sweep runs at most once a minute, the first a minute after start', async () => {
    const server = await quickServer(9);
    const admin = await login(server, 'admin');
    const demo = await login(server, 'demo');
    await poll(server, admin, { im_presence: true });
    server.clock.advance(56_000);
    await poll(server, demo, { im_presence: true }); // 56 s after start: no sweep yet
    expect(await statusOf(server, ADMIN)).toBe('online');
    server.clock.advance(5_000);
    await poll(server, demo, { im_presence: true }); // 61 s: the first sweep
    expect(await statusOf(server, ADMIN)).toBe('offline');

    await poll(server, admin, { im_presence: true });
    expect(await statusOf(server, ADMIN)).toBe('online');
    server.clock.advance(56_000);
    await poll(server, demo, { im_presence: true }); // 56 s after the last sweep: too soon
    expect(await statusOf(server, ADMIN)).toBe('online');
    server.clock.advance(5_000);
    await poll(server, demo, { im_presence: true });
    expect(await statusOf(server, ADMIN)).toBe('offline');
  });
});

describe('/longpolling/im_status (12–15)', () => {
  it.each([12, 13, 14, 15] as const)('Odoo %i answers [{id, im_status}] for known partners, in display-name order', async (odoo) => {
    const server = await quickServer(odoo);
    const admin = await login(server);
    await poll(server, admin, { bus_inactivity: 0 });
    const reply = await imStatus(server, admin, [3, 7, 999]);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      jsonrpc: '2.0',
      id: expect.any(Number),
      result: [
        { id: 7, im_status: 'offline' }, // Marc Demo never polled
        { id: 3, im_status: 'online' },
      ],
    });
    expect((await imStatus(server, admin, [])).body.result).toEqual([]);
  });

  it('follows the clock like the presence table', async () => {
    const server = await quickServer(15);
    const admin = await login(server);
    const demo = await login(server, 'demo');
    await poll(server, admin, { bus_inactivity: 1_799_500 });
    await poll(server, demo, { bus_inactivity: 0 });
    expect((await imStatus(server, demo, [3])).body.result).toEqual([{ id: 3, im_status: 'online' }]);
    server.clock.advance(1_000);
    expect((await imStatus(server, demo, [3])).body.result).toEqual([{ id: 3, im_status: 'away' }]);
    server.clock.advance(55_000);
    expect((await imStatus(server, demo, [3, 7])).body.result).toEqual([
      { id: 7, im_status: 'offline' },
      { id: 3, im_status: 'offline' },
    ]);
  });

  it('is auth=user: a public or unknown session gets "Odoo Session Expired"', async () => {
    const server = await quickServer(14);
    const publicSession = (await poll(server, undefined)).sessionId;
    expect(publicSession).toBeDefined();
    for (const sessionId of [publicSession, undefined, 'f'.repeat(40)]) {
      const reply = await imStatus(server, sessionId, [3]);
      expect(reply.body.error).toMatchObject({ code: 100, message: 'Odoo Session Expired', data: { name: 'odoo.http.SessionExpiredException' } });
    }
  });

  it('refuses a missing or malformed partner_ids with a Python TypeError', async () => {
    const server = await quickServer(15);
    const admin = await login(server);
    const missing = await rpc(server, '/longpolling/im_status', {}, { sessionId: admin });
    expect(missing.body.error.data).toMatchObject({
      name: 'builtins.TypeError',
      message: "im_status() missing 1 required positional argument: 'partner_ids'",
    });
    for (const bad of [3, '3', [3, 'x'], [1.5], null]) {
      const reply = await imStatus(server, admin, bad);
      expect(reply.body.error?.data?.name, JSON.stringify(bad)).toBe('builtins.TypeError');
    }
  });

  it.each([8, 9, 10, 11] as const)('does not exist on Odoo %i (404)', async (odoo) => {
    const server = await quickServer(odoo);
    const admin = await login(server);
    const reply = await imStatus(server, admin, [3]);
    expect(reply.status).toBe(404);
  });
});

describe('GET /tabbus/presence', () => {
  it('lists rows by uid with exactly {uid, status, lastPoll, lastPresence}, like server.presence()', async () => {
    const server = await quickServer(12);
    const demo = await login(server, 'demo');
    const admin = await login(server, 'admin');
    await poll(server, demo, { bus_inactivity: 10 });
    await poll(server, admin, { bus_inactivity: 20 });
    const rows = await presenceTable(server);
    expect(rows.map((row) => Object.keys(row).sort())).toEqual([
      ['lastPoll', 'lastPresence', 'status', 'uid'],
      ['lastPoll', 'lastPresence', 'status', 'uid'],
    ]);
    expect(rows.map((row) => row.uid)).toEqual([ADMIN, DEMO]);
    expect(server.presence()).toEqual(rows);
  });

  it('is a dev route: 404 with dev: false, 405 for POST', async () => {
    const server = await quickServer(15);
    expect((await fetch(server.url + '/tabbus/presence', { method: 'POST' })).status).toBe(405);
    const noDev = await quickServer(15, { dev: false });
    expect((await fetch(noDev.url + '/tabbus/presence')).status).toBe(404);
  });
});
