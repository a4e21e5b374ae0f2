import { expect, settledLeader, test } from './fixtures';

// In Firefox too, however many tabs: the server holds one long-poll (or one socket) for the browser.
test('5 tabs hold exactly one connection, and only the leader sends requests', async ({ tabs, server, publish }) => {
  await server.resetStats();
  const pages = await tabs.open(5);
  await settledLeader(pages);
  for (const tab of pages) expect((await tab.state()).mode, 'Firefox has Web Locks and BroadcastChannel').toBe('locks');
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) ids.push(await publish('chat', `ping ${i}`));
  for (const tab of pages) await expect.poll(() => tab.receivedIds()).toEqual(expect.arrayContaining(ids));
  const connections = await server.connections();
  expect(connections.peakPerSession).toBe(1);
  expect(connections.open).toBe(1);
  const states = await Promise.all(pages.map((tab) => tab.state()));
  expect(states.filter((s) => s.role === 'leader')).toHaveLength(1);
  expect(states.filter((s) => s.counters.requests > 0)).toHaveLength(1);
});
