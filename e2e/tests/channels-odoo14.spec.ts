import { expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

// Odoo 8–14 items name their channel, so tabs can drop what they did not join.
test.use({ odoo: 14 });

test('a channel joined in a follower is polled by the leader and reaches only the tabs that joined it', async ({ openTabs, publish }) => {
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  const [joiner, bystander] = pages.filter((p) => p !== leader) as [typeof leader, typeof leader];
  await joiner.evaluate(() => (window as any).demo.bus.addChannel('sales'));
  await expect.poll(async () => (await state(leader)).union).toEqual(['chat', 'sales', 'tabbus.jobs.2']);
  // The leader restarted its poll with the new union: a notification on `sales` now arrives.
  const salesId = await publish('sales', 'for the sales team');
  const chatId = await publish('chat', 'for everyone');
  await expect.poll(() => receivedIds(joiner)).toEqual(expect.arrayContaining([salesId, chatId]));
  for (const page of [leader, bystander]) {
    await expect.poll(() => receivedIds(page)).toContain(chatId);
    expect(await receivedIds(page)).not.toContain(salesId);
  }
  // Leaving: the leader drops the channel once no tab has it.
  await joiner.evaluate(() => (window as any).demo.bus.deleteChannel('sales'));
  await expect.poll(async () => (await state(leader)).union).toEqual(['chat', 'tabbus.jobs.2']);
});
