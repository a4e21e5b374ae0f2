import type { Page } from '@playwright/test';
import { expect, percentile, receivedIds, settledLeader, state, test, type DemoWindow } from '../support/fixtures';

// Web Locks grant the lock to waiting tabs in request order, so the tabs opened first lead first and
// the two observers opened last see every failover without ever leading.
test('closing the leader hands over within a second, 10 times, losing and duplicating nothing', async ({ openTabs, server, publish }) => {
  const candidates = await openTabs(10);
  const observers = await openTabs(2);
  let live: Page[] = [...candidates, ...observers];
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
    expect(observers).not.toContain(leader);
    live = live.filter((p) => p !== leader);
    const closedAt = Date.now();
    await leader.close();
    const next = await settledLeader(live);
    const since = await next.evaluate(() => (window as unknown as DemoWindow).demo.leaderSince!);
    gaps.push(since - closedAt);
  }
  streaming = false;
  await stream;

  for (const observer of observers) {
    await expect.poll(() => receivedIds(observer).then((ids) => ids.filter((id) => id >= sent[0]!).length), { timeout: 15_000 }).toBe(sent.length);
    const ids = (await receivedIds(observer)).filter((id) => id >= sent[0]!);
    expect(ids).toEqual(sent); // every id once, in order
  }
  const median = percentile(gaps, 50);
  const report = `failover on close, 10 rounds: median ${median} ms, max ${Math.max(...gaps)} ms (${gaps.join(', ')})`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  expect(Math.max(...gaps)).toBeLessThan(1000);
  expect((await server.stats()).peakOpenPollsPerSession).toBe(1);
  expect((await state(observers[0]!)).epoch).toBeGreaterThanOrEqual(11);
});
