import type { BrowserContext } from '@playwright/test';
import { expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

// Browsers without some API: tabbus must still hold one poll and deliver each notification once.
const withoutLocks = (context: BrowserContext) =>
  context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { configurable: true, get: () => undefined }));
const withoutNativeBroadcastChannel = (context: BrowserContext) =>
  context.addInitScript(() => Reflect.deleteProperty(window, 'BroadcastChannel'));
const withThrowingStorage = (context: BrowserContext) =>
  context.addInitScript(() => {
    Storage.prototype.setItem = () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
  });

test('without Web Locks: the message election still gives one leader, one poll and each id once', async ({ context, openTabs, server, publish }) => {
  await withoutLocks(context);
  await server.resetStats();
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  expect(await state(leader)).toMatchObject({ mode: 'elector', modeReason: expect.stringMatching(/no Web Locks/) });
  const ids = [await publish('chat', 'one'), await publish('chat', 'two')];
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= ids[0]!)).toEqual(ids);
  expect((await server.stats()).peakOpenPollsPerSession).toBe(1);
  // Failover without locks: the elector notices the leader's goodbye.
  const closed = leader.waitForEvent('close');
  await leader.close({ runBeforeUnload: true });
  await closed;
  const rest = pages.filter((p) => p !== leader);
  await settledLeader(rest);
  const after = await publish('chat', 'after');
  for (const page of rest) await expect.poll(() => receivedIds(page)).toContain(after);
});

test('without a native BroadcastChannel: frames travel over localStorage', async ({ context, openTabs, publish }) => {
  await withoutNativeBroadcastChannel(context);
  const pages = await openTabs(3);
  await settledLeader(pages);
  expect((await state(pages[0]!)).modeReason).toMatch(/localstorage/);
  const sent: number[] = [];
  for (let i = 0; i < 20; i++) sent.push(await publish('chat', `via storage ${i}`));
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= sent[0]!)).toEqual(sent);
});

test('with localStorage that throws: the bus keeps working from memory', async ({ context, openTabs, publish }) => {
  await withThrowingStorage(context);
  const pages = await openTabs(3);
  await settledLeader(pages);
  const sent: number[] = [];
  for (let i = 0; i < 10; i++) sent.push(await publish('chat', `no storage ${i}`));
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= sent[0]!)).toEqual(sent);
  await expect(pages[0]!.locator('#error')).toHaveText(/storage/);
});
