import type { Page } from '@playwright/test';
import { expect, percentile, receivedIds, settledLeader, state, test, type DemoWindow } from '../support/fixtures';

// Whichever tab leads is closed, 10 times out of 12 tabs; the two left at the end saw every failover.
// (Web Locks grant in request order, so those are usually the last two opened, but nothing relies on it.)
test('closing the leader hands over at once (the lock freed, not stolen), 10 times, losing and duplicating nothing', async ({ openTabs, server, publish }) => {
  let live: Page[] = await openTabs(12);
  await settledLeader(live);
  await server.resetStats();

  const sent: number[] = [];
  let streaming = true;
  const stream = (async () => {
    for (let i = 0; streaming; i++) {
      sent.push(await publish('chat', `during failover ${i}`));
      await new Promise((r) => setTimeout(r, 15));
    }
  })();

  const gaps: number[] = [];
  for (let round = 0; round < 10; round++) {
    const leader = await settledLeader(live);
    live = live.filter((p) => p !== leader);
    const closedAt = Date.now();
    // As when a user closes the tab: the page's unload handlers run (tabbus aborts its poll in pagehide).
    const closed = leader.waitForEvent('close');
    await leader.close({ runBeforeUnload: true });
    await closed;
    const next = await settledLeader(live);
    // Granted the lock the closed tab let go of, not a steal after `leaderTimeout` of silence (see crash.spec.ts).
    expect((await state(next)).transition, `round ${round}: the new leader was elected, not a thief`).toMatchObject({ to: 'leader', reason: 'elected' });
    const since = await next.evaluate(() => (window as unknown as DemoWindow).demo.leaderSince!);
    gaps.push(since - closedAt);
    // Once the handover settles the server holds at most one poll for this browser (under the stream a
    // poll is answered within milliseconds, so a snapshot may catch none; the stream check below proves
    // the polling goes on).
    await expect.poll(async () => Math.max(0, ...Object.values((await server.connections()).bySession))).toBeLessThanOrEqual(1);
  }
  streaming = false;
  await stream;

  const observers = live;
  expect(observers).toHaveLength(2);
  const steals = (await Promise.all(observers.map(state))).reduce((n, s) => n + s.counters.steals, 0);
  test.info().annotations.push({ type: 'measurement', description: `takeovers of a silent leader by the survivors: ${steals}` });
  for (const observer of observers) {
    await expect.poll(() => receivedIds(observer).then((ids) => ids.filter((id) => id >= sent[0]!).length), { timeout: 15_000 }).toBe(sent.length);
    const ids = (await receivedIds(observer)).filter((id) => id >= sent[0]!);
    expect(ids).toEqual(sent); // every id once, in order
  }
  const median = percentile(gaps, 50);
  const report = `failover on close, 10 rounds: median ${median} ms, max ${Math.max(...gaps)} ms (${gaps.join(', ')})`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  // No bound on the gaps: wall-clock figures of a shared machine (reported above). What shows the closed
  // tab freed its lock at once is how each new leader got it: elected, never by a steal.
  // The closing tab aborts its poll in pagehide, but the server may register the new leader's poll a
  // millisecond or two before it sees the old socket close; so a peak of 2 can show here (and is reported).
  const { peakPerSession } = await server.connections();
  test.info().annotations.push({ type: 'measurement', description: `peak connections per session across the failovers: ${peakPerSession}` });
  expect(peakPerSession).toBeLessThanOrEqual(2);
  expect((await state(observers[0]!)).epoch).toBeGreaterThanOrEqual(11);
  // Each new leader goes on from the first leader's session check (kept in storage, due again 5 minutes
  // after it): no failover asks for the session info.
  expect((await server.stats()).requests['/web/session/get_session_info'] ?? 0).toBe(0);
});

test("a leader closed without running its unload handlers is replaced too, and nothing is lost", async ({ openTabs, publish }) => {
  // Playwright's default page.close() skips unload handlers: no pagehide, no goodbye frame, no abort.
  const candidates = await openTabs(3);
  const observer = (await openTabs(1))[0]!;
  let live: Page[] = [...candidates, observer];
  await settledLeader(live);
  const sent: number[] = [];
  const gaps: number[] = [];
  for (let round = 0; round < 3; round++) {
    const leader = await settledLeader(live);
    live = live.filter((p) => p !== leader);
    sent.push(await publish('chat', `before close ${round}`));
    const closedAt = Date.now();
    await leader.close();
    sent.push(await publish('chat', `during handover ${round}`));
    const next = await settledLeader(live);
    // The browser frees a closed tab's locks even without its unload handlers: elected, not a steal.
    expect((await state(next)).transition, `round ${round}: the new leader was elected, not a thief`).toMatchObject({ to: 'leader', reason: 'elected' });
    const since = await next.evaluate(() => (window as unknown as DemoWindow).demo.leaderSince!);
    gaps.push(since - closedAt);
  }
  await expect.poll(async () => (await receivedIds(observer)).filter((id) => id >= sent[0]!)).toEqual(sent);
  test.info().annotations.push({ type: 'measurement', description: `failover on close without unload handlers (to the new leader's term): ${gaps.join(', ')} ms` });
});
