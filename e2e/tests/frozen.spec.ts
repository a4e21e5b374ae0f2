import type { Page } from '@playwright/test';
import { expectDelivered, expect, leaderSince, publishStream, settledLeader, state, test } from '../support/fixtures';

// A tab whose event loop stops keeps its Web Locks: without a check, every tab would wait behind it for
// ever (rxdb#8514). Freezing it with the debugger stops it exactly there: no frame handled, no reply
// read, no lock released. A visible follower takes over by stealing the lock once the leader has been
// silent for leaderTimeout (3 s by default; the 4/3 × leaderTimeout bound is checked on a virtual clock in
// packages/core's leader-watch and watcher tests, not here on a shared machine's wall clock).
test('a frozen leader is replaced by a visible follower through a steal, and steps down when it thaws', async ({ context, openTabs, server, publish }) => {
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  const others = pages.filter((p) => p !== leader);
  const stream = publishStream(publish, 50);

  const cdp = await context.newCDPSession(leader);
  await cdp.send('Debugger.enable');
  const frozenAt = Date.now();
  await cdp.send('Debugger.pause');

  // The frozen tab cannot answer evaluate(): watch the others only.
  await expect.poll(async () => (await Promise.all(others.map(state))).filter((s) => s.role === 'leader').length, { timeout: 10_000 }).toBe(1);
  const states = await Promise.all(others.map(state));
  const next = others[states.findIndex((s) => s.role === 'leader')]!;
  const takeover = (await leaderSince(next)) - frozenAt;
  expect((await state(next)).counters.steals).toBe(1);
  const report = `frozen leader replaced after ${takeover} ms (leaderTimeout 3000 ms: bound 4000 ms)`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  // The new leader holds a poll while the frozen one's is still open on the server, or was dropped.
  await expect.poll(async () => (await server.polls(await leaderSince(next))).length).toBeGreaterThan(0);

  await new Promise((r) => setTimeout(r, 500));
  await cdp.send('Debugger.resume');
  await cdp.send('Debugger.disable');
  await settledLeader(pages);
  expect((await state(leader)).role).toBe('follower');
  await stream.stop();
  const sent = stream.sent.map((s) => s.id);
  for (const page of pages) {
    // Each id once and in order, the thawed tab included: the batches sent while it was paused never
    // reach it, so it sees that the leader's cursor is ahead of its own and asks for a replay.
    await expectDelivered(page, sent);
  }
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
});

// Only one visible follower watches the leader (the others sleep: an idle browser costs next to nothing),
// so the watcher itself may die. The other visible followers follow its lifetime lock and one of them
// takes the watch over, even though the frozen leader cannot tell anyone that the watcher is gone.
test('one visible follower watches; when it crashes while the leader is frozen, another takes over', async ({ context, openTabs }) => {
  const pages = await openTabs(4);
  const leader = await settledLeader(pages);
  const followers = pages.filter((p) => p !== leader);
  await expect.poll(async () => (await Promise.all(followers.map(state))).filter((s) => s.watching).length).toBe(1);
  const watcher = followers[(await Promise.all(followers.map(state))).findIndex((s) => s.watching)]!;
  const rest = followers.filter((p) => p !== watcher);

  const cdp = await context.newCDPSession(leader);
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  const crashCdp = await context.newCDPSession(watcher);
  const crashed = watcher.waitForEvent('crash');
  const crashedAt = Date.now();
  crashCdp.send('Page.crash').catch(() => undefined);
  await crashed;
  await expect.poll(async () => (await Promise.all(rest.map(state))).filter((s) => s.role === 'leader').length, { timeout: 10_000 }).toBe(1);
  const next = rest[(await Promise.all(rest.map(state))).findIndex((s) => s.role === 'leader')]!;
  const takeover = (await leaderSince(next)) - crashedAt;
  const report = `frozen leader replaced ${takeover} ms after the watcher crashed (bound 4/3 × 3000 ms)`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  expect((await state(next)).counters.steals, 'taken over by a steal (the frozen leader still holds its lock)').toBe(1);
  await cdp.send('Debugger.resume');
  await cdp.send('Debugger.disable');
  await expect.poll(async () => (await state(leader)).role).toBe('follower');
});

// A follower that missed batches (here paused in the debugger; a tab the browser froze, one back from the
// bfcache) asks the leader for a replay. The leader serves what it handed out from what it keeps, so the
// server sees nothing of it: no aborted poll on 8–15, no fresh socket on 16+ (Odoo 17+ marks the user
// offline for every socket that closes, so colleagues would see the user flicker).
test('a follower paused while batches went by catches up from what the leader kept, with no request to the server', async ({ context, openTabs, server, publish, odoo }) => {
  const route = odoo >= 16 ? '/websocket' : '/longpolling/poll';
  const requests = async () => (await server.stats()).requests[route] ?? 0;
  // Each tab counts the replays it asks for: the paused tab must ask (or this test shows nothing).
  await context.addInitScript(() => {
    const post = BroadcastChannel.prototype.postMessage;
    (window as unknown as { resyncs: number }).resyncs = 0;
    BroadcastChannel.prototype.postMessage = function (this: BroadcastChannel, data: unknown) {
      if ((data as { type?: unknown } | null)?.type === 'resync') (window as unknown as { resyncs: number }).resyncs++;
      return post.call(this, data);
    };
  });
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  const [paused, awake] = pages.filter((p) => p !== leader) as [Page, Page];
  const cdp = await context.newCDPSession(paused);
  await cdp.send('Debugger.enable');
  await cdp.send('Debugger.pause');
  const sent: number[] = [];
  for (const text of ['one', 'two', 'three']) sent.push(await publish('chat', `while paused: ${text}`));
  await expectDelivered(awake, sent);
  // Settled: the leader made its requests after the last batch (8–15 polls again after each reply).
  let before = await requests();
  for (let again = -1; again !== before; ) {
    again = before;
    await new Promise((resolve) => setTimeout(resolve, 500));
    before = await requests();
  }
  await cdp.send('Debugger.resume');
  await cdp.send('Debugger.disable');
  await expectDelivered(paused, sent);
  expect(await paused.evaluate(() => (window as unknown as { resyncs: number }).resyncs), 'replays the paused tab asked for').toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(await requests(), `${route} requests once the paused tab caught up`).toBe(before);
  expect((await state(leader)).role).toBe('leader');
});
