import { expect, receivedIds, settledLeader, state, test, type DemoWindow } from '../support/fixtures';

test('bus.stop() hands the connection over; bus.start() rejoins as a follower and gets new notifications', async ({ openTabs, server, publish }) => {
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  await leader.evaluate(() => (window as unknown as DemoWindow).demo.bus.stop());
  expect((await state(leader)).role).toBe('stopped');
  const others = pages.filter((p) => p !== leader);
  const next = await settledLeader(others);
  expect((await state(next)).epoch).toBe(2);
  const whileStopped = await publish('chat', 'while stopped');
  await expect.poll(() => receivedIds(next)).toContain(whileStopped);
  expect(await receivedIds(leader)).not.toContain(whileStopped);

  await leader.evaluate(() => (window as unknown as DemoWindow).demo.bus.start());
  await settledLeader(pages);
  expect((await state(leader)).role).toBe('follower');
  const afterRestart = await publish('chat', 'after restart');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(afterRestart);
  await expect.poll(async () => (await server.stats()).openPolls).toBe(1);
});
