import { expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

test.describe('Odoo 14: items name their channel', () => {
  test.use({ odoo: 14 });

  test('a channel joined in a follower is polled by the leader and reaches only the tabs that joined it', async ({ openTabs, publish }) => {
    const pages = await openTabs(3);
    const leader = await settledLeader(pages);
    const [joiner, bystander] = pages.filter((p) => p !== leader) as [typeof leader, typeof leader];
    await joiner.evaluate(() => (window as any).demo.bus.addChannel('sales'));
    await expect.poll(async () => (await state(leader)).union).toEqual(['chat', 'sales']);
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
    await expect.poll(async () => (await state(leader)).union).toEqual(['chat']);
  });
});

test('Odoo 15: a follower-joined channel is polled too (15 items carry no channel, so every tab gets them)', async ({ openTabs, publish }) => {
  const pages = await openTabs(2);
  const leader = await settledLeader(pages);
  const follower = pages.find((p) => p !== leader)!;
  await follower.evaluate(() => (window as any).demo.bus.addChannel('sales'));
  await expect.poll(async () => (await state(leader)).union).toEqual(['chat', 'sales']);
  const id = await publish('sales', 'hello sales');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(id);
});
