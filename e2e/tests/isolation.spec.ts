import { expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

test('two users in two browsers each get one connection and only their own notifications', async ({ openTabs, newContext, server, publish }) => {
  await server.resetStats();
  const otherBrowser = await newContext();
  const admin = await openTabs(2, { path: 'index.html?login=admin&channel=admin-room' });
  const demo = await openTabs(2, { context: otherBrowser, path: 'index.html?login=demo&channel=demo-room' });
  await settledLeader(admin);
  await settledLeader(demo);
  expect((await state(admin[0]!)).scope).not.toEqual((await state(demo[0]!)).scope);
  const forAdmin = await publish('admin-room', 'admin only');
  const forDemo = await publish('demo-room', 'demo only');
  for (const page of admin) {
    await expect.poll(() => receivedIds(page)).toContain(forAdmin);
    expect(await receivedIds(page)).not.toContain(forDemo);
  }
  for (const page of demo) {
    await expect.poll(() => receivedIds(page)).toContain(forDemo);
    expect(await receivedIds(page)).not.toContain(forAdmin);
  }
  const connections = await server.connections();
  expect(connections.open).toBe(2);
  expect(connections.peakPerSession).toBe(1);
});
