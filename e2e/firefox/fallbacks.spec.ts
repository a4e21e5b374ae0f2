import { expect, expectDelivered, settledLeader, test } from './fixtures';

// The fallbacks that apply to Firefox (which has Web Locks and BroadcastChannel): each missing API is taken
// away by an init script before the page runs, as e2e/tests/fallbacks.spec.ts does in Chromium.
function withoutLocks(): void {
  Object.defineProperty(Navigator.prototype, 'locks', { configurable: true, get: () => undefined });
}
function withoutBroadcastChannel(): void {
  Reflect.deleteProperty(window, 'BroadcastChannel');
}
function withThrowingSetItem(): void {
  Storage.prototype.setItem = () => {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  };
}
function withoutLocalStorage(): void {
  Object.defineProperty(window, 'localStorage', {
    configurable: true,
    get: () => {
      throw new DOMException('The operation is insecure.', 'SecurityError');
    },
  });
}

test('without Web Locks: the message election gives one leader, one poll, each id once, and a new leader after a close', async ({ tabs, server, publish }) => {
  const pages = await tabs.open(3, { init: [withoutLocks] });
  const leader = await settledLeader(pages);
  for (const tab of pages) expect(await tab.state()).toMatchObject({ mode: 'elector', modeReason: expect.stringMatching(/no Web Locks/) });
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
  const ids = [await publish('chat', 'one'), await publish('chat', 'two')];
  for (const tab of pages) await expectDelivered(tab, ids);
  await leader.close();
  const rest = pages.filter((tab) => tab !== leader);
  await settledLeader(rest);
  const after = await publish('chat', 'after');
  for (const tab of rest) await expectDelivered(tab, [...ids, after]);
});

test('without BroadcastChannel: frames travel over localStorage', async ({ tabs, publish }) => {
  const pages = await tabs.open(3, { init: [withoutBroadcastChannel] });
  await settledLeader(pages);
  for (const tab of pages) expect(await tab.state()).toMatchObject({ mode: 'locks', modeReason: expect.stringMatching(/localstorage/) });
  const sent: number[] = [];
  for (let i = 0; i < 20; i++) sent.push(await publish('chat', `via storage ${i}`));
  for (const tab of pages) await expectDelivered(tab, sent);
});

test('when localStorage writes throw: the cursor lives in memory and a new leader resumes from it', async ({ tabs, server, publish }) => {
  const pages = await tabs.open(3, { init: [withThrowingSetItem] });
  const leader = await settledLeader(pages);
  const sent: number[] = [];
  for (let i = 0; i < 10; i++) sent.push(await publish('chat', `no storage ${i}`));
  for (const tab of pages) await expectDelivered(tab, sent);
  const since = Date.now();
  await leader.close();
  const rest = pages.filter((tab) => tab !== leader);
  await settledLeader(rest);
  await expect.poll(async () => (await server.polls(since)).map((p) => p.last)[0], { message: "the new leader's first poll" }).toBe(sent.at(-1));
  const after = await publish('chat', 'after failover');
  for (const tab of rest) await expectDelivered(tab, [...sent, after]);
});

test('with no Web Locks, no BroadcastChannel and no localStorage: solo, each tab polls alone and delivers each id once', async ({ tabs, server, publish }) => {
  const pages = await tabs.open(3, { init: [withoutLocks, withoutBroadcastChannel, withoutLocalStorage] });
  for (const tab of pages) {
    await expect.poll(async () => (await tab.state()).transport).toBe('open');
    expect(await tab.state()).toMatchObject({ mode: 'solo', role: 'solo', tabs: 1 });
  }
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([3]);
  const sent: number[] = [];
  for (let i = 0; i < 5; i++) sent.push(await publish('chat', `solo ${i}`));
  for (const tab of pages) await expectDelivered(tab, sent);
});
