import { expectDelivered, settledLeader, test } from './fixtures';

test('every tab receives each of 100 notifications exactly once, in id order', async ({ tabs, publish }) => {
  const pages = await tabs.open(4);
  await settledLeader(pages);
  const sent: number[] = [];
  for (let i = 0; i < 100; i++) sent.push(await publish('chat', `message ${i}`));
  for (const tab of pages) await expectDelivered(tab, sent, 20_000);
});
