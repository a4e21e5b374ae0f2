import type { DevServer } from '../support/dev-server';
import { expect, expectDelivered, settledLeader, sleep, test } from './fixtures';

const polls = async (server: DevServer) => (await server.stats()).requests['/longpolling/poll'] ?? 0;

// While every tab is hidden the leader pauses `hiddenPace` between polls; the first tab shown ends the
// pause at once. A hidden leader gives the connection to a visible tab. (Firefox's own background-tab
// visibility is replaced by the test's, as in Chromium, so the test decides which tab is hidden.)
test('every tab hidden: the leader paces its polls; a tab shown catches up at once and takes the connection', async ({ tabs, server, publish }) => {
  const pages = await tabs.open(3);
  const leader = await settledLeader(pages);
  for (const tab of pages) await tab.setVisibility('hidden');
  await expect.poll(async () => (await leader.state()).pace).toBe(30_000);
  // A burst while paced costs one poll at most (live, each notification would end a poll and start the next).
  await server.resetStats();
  const burst: number[] = [];
  for (let i = 0; i < 10; i++) {
    burst.push(await publish('chat', `while hidden ${i}`));
    await sleep(100);
  }
  expect(await polls(server), 'polls during a paced burst of 10').toBeLessThanOrEqual(2);
  await expect.poll(async () => (await leader.state()).transport).toBe('paused');
  const waiting = await publish('chat', 'while everyone looks away');
  await sleep(300);
  expect(await pages[1]!.receivedIds()).not.toContain(waiting);
  // The user looks at a follower: it catches up at once, and the hidden leader hands it the connection.
  const shown = pages.find((tab) => tab !== leader)!;
  const shownAt = Date.now();
  await shown.setVisibility('visible');
  await expect.poll(() => shown.receivedIds()).toContain(waiting);
  const caughtUp = Date.now() - shownAt;
  await expect.poll(async () => (await shown.state()).role).toBe('leader');
  for (const tab of pages) await expectDelivered(tab, [...burst, waiting]);
  const report = `Firefox: catch-up after a tab is shown within ${caughtUp} ms`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  expect(caughtUp).toBeLessThan(1500);
});
