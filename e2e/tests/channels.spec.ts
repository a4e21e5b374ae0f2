import { expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

test('Odoo 15: a follower-joined channel is polled too (15 items carry no channel, so every tab gets them)', async ({ openTabs, publish }) => {
  const pages = await openTabs(2);
  const leader = await settledLeader(pages);
  const follower = pages.find((p) => p !== leader)!;
  await follower.evaluate(() => (window as any).demo.bus.addChannel('sales'));
  await expect.poll(async () => (await state(leader)).union).toEqual(['chat', 'sales', 'tabbus.jobs.2']);
  const id = await publish('sales', 'hello sales');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(id);
});
