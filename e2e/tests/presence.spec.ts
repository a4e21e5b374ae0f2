import { controllableVisibility, expect, receivedIds, setVisibility, settledLeader, shiftableClock, shiftClocks, test } from '../support/fixtures';

// Odoo 10–15 take `bus_inactivity` (ms since the user's latest input) with every poll and call the user
// away once it passes 30 min. The browser's inactivity is the latest input in ANY tab, so one poll per
// browser carries it.
test('presence: one write per poll for the whole browser; idle everywhere → away; input in a hidden tab → online', async ({ context, openTabs, server, publish }) => {
  await controllableVisibility(context);
  await shiftableClock(context);
  const pages = await openTabs(4);
  const leader = await settledLeader(pages);
  const followers = pages.filter((p) => p !== leader);
  for (const page of followers) await setVisibility(page, 'hidden');

  await server.resetStats();
  for (let i = 0; i < 10; i++) {
    const id = await publish('chat', `presence ${i}`);
    for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(id);
  }
  const stats = await server.stats();
  const polls = stats.requests['/longpolling/poll'] ?? 0;
  const report = `4 tabs, 10 notifications: ${polls} polls, ${stats.presenceWrites} presence writes`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  // Odoo writes presence when a poll arrives: one write per poll, and the browser sends one poll at a time.
  expect(stats.presenceWrites).toBe(polls);
  expect(Object.keys(stats.presenceWritesByUser)).toEqual(['2']);

  const status = async () => (await server.presence()).find((p) => p.uid === 2)?.status;
  // 31 minutes without input in any tab (both clocks move): away.
  await shiftClocks(pages, 31 * 60_000);
  await server.advance(31 * 60_000);
  const wake1 = await publish('chat', 'poll again');
  await expect.poll(() => receivedIds(leader)).toContain(wake1);
  await expect.poll(status).toBe('away');

  // A key pressed in a hidden follower tab: the leader's next poll says the user is active.
  await followers[0]!.evaluate(() => window.dispatchEvent(new KeyboardEvent('keydown', { key: 'a' })));
  await new Promise((r) => setTimeout(r, 100));
  const wake2 = await publish('chat', 'poll once more');
  await expect.poll(() => receivedIds(leader)).toContain(wake2);
  await publish('chat', 'and again');
  await expect.poll(status).toBe('online');
});
