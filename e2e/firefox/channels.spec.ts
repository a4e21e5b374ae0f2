import { expect, settledLeader, test } from './fixtures';

test('a follower-joined channel joins the union the leader polls, and its notifications reach every tab', async ({ tabs, publish }) => {
  const pages = await tabs.open(3);
  const leader = await settledLeader(pages);
  const follower = pages.find((tab) => tab !== leader)!;
  await follower.evaluate(() => (window as unknown as { demo: { bus: { addChannel(name: string): void } } }).demo.bus.addChannel('sales'));
  await expect.poll(async () => (await leader.state()).union).toEqual(['chat', 'sales', 'tabbus.jobs.2']);
  const id = await publish('sales', 'hello sales');
  for (const tab of pages) await expect.poll(() => tab.receivedIds()).toContain(id);
  // Leaving it again: the union shrinks once no tab holds it.
  await follower.evaluate(() => (window as unknown as { demo: { bus: { deleteChannel(name: string): void } } }).demo.bus.deleteChannel('sales'));
  await expect.poll(async () => (await leader.state()).union).toEqual(['chat', 'tabbus.jobs.2']);
});
