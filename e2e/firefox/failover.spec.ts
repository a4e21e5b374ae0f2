import { expect, expectDelivered, settledLeader, sleep, test, type FirefoxTab } from './fixtures';

// Whichever tab leads is closed, three times, under a stream of notifications: the tabs left get every id
// once and in order, and a new leader takes over within a second each time.
test('closing the leader hands over within a second, 3 times, losing and duplicating nothing', async ({ tabs, server, publish }) => {
  let live: FirefoxTab[] = await tabs.open(5);
  await settledLeader(live);
  const sent: number[] = [];
  let streaming = true;
  const stream = (async () => {
    for (let i = 0; streaming; i++) {
      sent.push(await publish('chat', `during failover ${i}`));
      await sleep(20);
    }
  })();
  const gaps: number[] = [];
  for (let round = 0; round < 3; round++) {
    const leader = await settledLeader(live);
    live = live.filter((tab) => tab !== leader);
    const closedAt = Date.now();
    await leader.close();
    const next = await settledLeader(live);
    gaps.push((await next.evaluate(() => (window as unknown as { demo: { leaderSince: number } }).demo.leaderSince)) - closedAt);
    await expect.poll(async () => Math.max(0, ...Object.values((await server.connections()).bySession))).toBeLessThanOrEqual(1);
  }
  streaming = false;
  await stream;
  for (const tab of live) await expectDelivered(tab, sent);
  const report = `Firefox, failover on close, 3 rounds: ${gaps.join(', ')} ms`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  expect(Math.max(...gaps)).toBeLessThan(1000);
});
