import type { Page } from '@playwright/test';
import {
  controllableVisibility,
  expect,
  expectDelivered,
  publishStream,
  receivedIds,
  setVisibility,
  settledLeader,
  state,
  test,
  type DemoWindow,
} from '../support/fixtures';

// What only the WebSocket transport (Odoo 16+) has: Odoo's close codes, the version check, the server's
// keep-alive ping, and closing the socket while nobody looks. Runs in the websocket-17 project.

const outdatedOf = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).demo.outdated);

test('10 tabs: one socket for the browser, where one socket per tab is what Odoo does without a SharedWorker', async ({ openTabs, newContext, server, publish }) => {
  await server.resetStats();
  const pages = await openTabs(10);
  await settledLeader(pages);
  const shared = await server.connections();
  // The same 10 tabs in another browser, each connecting for itself (Odoo 16+'s Worker fallback).
  const naive = await newContext();
  await openTabs(10, { context: naive, path: 'index.html?coordination=none' });
  await expect.poll(async () => (await server.connections()).open).toBe(11);
  const bySession = Object.values((await server.connections()).bySession).sort((a, b) => a - b);
  expect(bySession).toEqual([1, 10]);
  const id = await publish('chat', 'to all twenty tabs');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(id);
  const report = `open sockets for 10 tabs: tabbus ${shared.open}, one per tab (Odoo's Worker fallback) 10`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  expect(shared.peakPerSession).toBe(1);
});

test('an id committed after a higher one (17+ send it late): every tab gets it once, also the tabs that join after', async ({ openTabs, server, publish }) => {
  const pages = await openTabs(3);
  await settledLeader(pages);
  const before = await publish('chat', 'before');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(before);
  // Two transactions side by side: the first takes its id, the second commits a higher one before it.
  const late = await server.sendUncommitted({ channel: 'chat', type: 'demo/message', payload: { text: 'committed late' } });
  const higher = await publish('chat', 'committed first');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(higher);
  expect(await server.commit([late])).toEqual([late]);
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(late);
  const after = await publish('chat', 'after');
  const [joined] = await openTabs(1);
  const last = await publish('chat', 'last');
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= before)).toEqual([before, higher, late, after, last]);
  await expect.poll(async () => (await receivedIds(joined!)).filter((id) => id > after)).toEqual([last]);
  expect(await receivedIds(joined!), 'a tab that joined after the late id never gets it').not.toContain(late);
  for (const page of [...pages, joined!]) expect((await state(page)).lastError).toBeNull();
});

test('4002 (the connection reached its age limit): the leader reconnects at once; a second 4002 before the new socket was up 10 s waits out the backoff (a server closing every socket at once cannot make it loop); nothing is lost or doubled', async ({ openTabs, server, publish }) => {
  const pages = await openTabs(3, { path: 'index.html?backoff=5000' });
  const leader = await settledLeader(pages);
  const stream = publishStream(publish, 20);
  /** Closes the leader's socket with 4002; resolves with the time until the next socket subscribed. */
  const closeAndTime = async (): Promise<number> => {
    const before = (await state(leader)).counters.requests;
    const closedAt = Date.now();
    expect(await server.closeSockets(4002)).toBe(1);
    await expect.poll(async () => (await state(leader)).counters.requests, { timeout: 20_000 }).toBe(before + 1);
    await expect.poll(async () => (await server.polls(closedAt)).length, { message: 'the new socket subscribed', timeout: 20_000 }).toBeGreaterThan(0);
    const [subscribe] = await server.polls(closedAt);
    return subscribe!.at - closedAt;
  };
  await new Promise((r) => setTimeout(r, 300));
  const first = await closeAndTime();
  // The new socket is up for well under 10 s: a 4002 now is a server that closes every socket at once.
  await new Promise((r) => setTimeout(r, 300));
  const again = closeAndTime();
  await expect.poll(async () => (await state(leader)).transport, { message: 'the leader shows the back-off' }).toBe('backoff');
  const second = await again;
  await stream.stop();
  const sent = stream.sent.map((s) => s.id);
  for (const page of pages) await expectDelivered(page, sent);
  const report = `reconnect after 4002: ${first} ms; after a second 4002 on a socket up 0.3 s: ${second} ms (backoff 5 s)`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  // Bounds tied to the behaviour (the page's 5 s backoff), not to the machine's speed.
  expect(first, 'the first 4002 did not wait out the backoff').toBeLessThan(5000);
  expect(second, 'the second 4002 waited out the backoff').toBeGreaterThanOrEqual(5000);
  expect((await state(leader)).lastError).toBeNull();
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
});

test('1013 (try later): every tab shows the back-off and the error; the leader waits at least 2 s, then resumes from the cursor', async ({ openTabs, server, publish }) => {
  const pages = await openTabs(2, { path: 'index.html?backoff=100' });
  const leader = await settledLeader(pages);
  const first = await publish('chat', 'before 1013');
  const closedAt = Date.now();
  expect(await server.closeSockets(1013)).toBe(1);
  for (const page of pages) await expect.poll(async () => (await state(page)).transport).toBe('backoff');
  expect((await state(leader)).lastError).toMatchObject({ code: 'network', message: expect.stringMatching(/1013/) });
  const during = await publish('chat', 'during the back-off');
  await settledLeader(pages);
  const [subscribe] = await server.polls(closedAt);
  expect(subscribe!.at - closedAt, 'waited out the rate window (2 s) though the backoff is 100 ms').toBeGreaterThanOrEqual(1900);
  expect(subscribe!.last).toBeGreaterThanOrEqual(first);
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= first)).toEqual([first, during]);
});

test('a session expired on the server (4001, default session check): every tab hears session_expired once and stops; no reconnect', async ({ openTabs, server }) => {
  // The periodic session check is minutes away: only the server closing the socket (4001) tells the bus.
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  expect(await server.expire()).toBeGreaterThan(0);
  for (const page of pages) {
    await expect.poll(async () => (await state(page)).role).toBe('stopped');
    expect(await page.evaluate(() => (window as unknown as DemoWindow).demo.expired)).toHaveLength(1);
  }
  expect((await state(leader)).lastError).toMatchObject({ code: 'session_expired' });
  await expect.poll(async () => (await server.connections()).open).toBe(0);
  const attempts = async () => (await Promise.all(pages.map(state))).map((s) => s.counters.requests);
  const before = await attempts();
  await new Promise((r) => setTimeout(r, 1500));
  expect(await attempts(), 'no reconnect after the session expired').toEqual(before);
});

test('an outdated page (another worker version): every tab hears `outdated` once and stops; no reconnect loop', async ({ openTabs, server }) => {
  const pages = await openTabs(3, { path: 'index.html?workerVersion=17.0-0' });
  for (const page of pages) {
    await expect.poll(() => outdatedOf(page)).toHaveLength(1);
    await expect.poll(async () => (await state(page)).role).toBe('stopped');
    await expect(page.locator('#error')).toHaveText(/reload/);
  }
  await expect.poll(async () => (await server.connections()).open).toBe(0);
  // A tab alone when it opened (the one before had stopped) tried once, and only once; one that opened while
  // the one before still led heard `outdated` from it and tried nothing (which of the two depends on how
  // fast the machine is: a loaded CI run saw [1, 0, 1]).
  const attempts = async () => (await Promise.all(pages.map(state))).map((s) => s.counters.requests);
  const tried = await attempts();
  expect(tried.every((n) => n <= 1) && tried[0] === 1, `each tab tried at most once, the first one once: ${tried}`).toBe(true);
  await new Promise((r) => setTimeout(r, 1500));
  expect(await attempts(), 'no reconnect after OUTDATED_VERSION').toEqual(tried);
  expect((await server.connections()).open).toBe(0);
});

test('17+: the worker version is learned once per browser; a new leader opens its socket without asking for it, nor for the session', async ({ openTabs, server, publish }) => {
  // The demo passes no websocketWorkerVersion: the first leader asks the session info and shares the answer.
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  await expect.poll(async () => (await server.connections()).open).toBe(1);
  await server.resetStats();
  const survivors = pages.filter((p) => p !== leader);
  await leader.close({ runBeforeUnload: true });
  const next = await settledLeader(survivors);
  await expect.poll(async () => (await state(next)).transport).toBe('open');
  const id = await publish('chat', 'through the new leader');
  for (const page of survivors) await expect.poll(() => receivedIds(page)).toContain(id);
  // The new leader asks no session info at all: without the shared version it would ask before its socket,
  // and the first leader's session check still holds (the next one is due an interval after it).
  await new Promise((r) => setTimeout(r, 300));
  expect((await server.stats()).requests['/web/session/get_session_info'] ?? 0).toBe(0);
  for (const page of survivors) expect(await outdatedOf(page)).toEqual([]);
});

test("an idle socket lives on: the server pings after 45 s of silence, the browser answers, and nothing reconnects", async ({ openTabs, server, publish }) => {
  const pages = await openTabs(2);
  const leader = await settledLeader(pages);
  const before = (await state(leader)).counters.requests;
  // 45 s of silence (on the server's clock): a ping; the pong must come within 15 s or the socket is dropped.
  await server.advance(45_000);
  await new Promise((r) => setTimeout(r, 300));
  await server.advance(15_000);
  await server.advance(45_000);
  await new Promise((r) => setTimeout(r, 300));
  await server.advance(15_000);
  await new Promise((r) => setTimeout(r, 300));
  expect((await server.connections()).open).toBe(1);
  expect((await state(leader)).counters.requests).toBe(before);
  const id = await publish('chat', 'after a long silence');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(id);
});

test('hiddenSocketClose: with every tab hidden the socket closes; the first tab shown reopens it from the cursor, losing nothing', async ({ context, openTabs, server, publish }) => {
  await controllableVisibility(context);
  const pages = await openTabs(3, { path: 'index.html?hiddenSocketClose=500' });
  await settledLeader(pages);
  const first = await publish('chat', 'visible');
  for (const page of pages) await setVisibility(page, 'hidden');
  await expect.poll(async () => (await server.connections()).open).toBe(0);
  for (const page of pages) await expect.poll(async () => (await state(page)).transport).toBe('paused');
  const whileClosed = [await publish('chat', 'hidden 1'), await publish('chat', 'hidden 2')];
  await new Promise((r) => setTimeout(r, 300));
  for (const page of pages) expect(await receivedIds(page)).not.toContain(whileClosed[0]);
  const shownAt = Date.now();
  await setVisibility(pages[2]!, 'visible');
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= first)).toEqual([first, ...whileClosed]);
  const caughtUp = Date.now() - shownAt;
  const report = `hidden socket reopened and caught up ${caughtUp} ms after a tab was shown`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  await expect.poll(async () => (await server.connections()).open).toBe(1);
});
