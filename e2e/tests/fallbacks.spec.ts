import type { BrowserContext } from '@playwright/test';
import { crash, expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

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
  for (const page of pages) expect(await state(page)).toMatchObject({ mode: 'elector', modeReason: expect.stringMatching(/no Web Locks/) });
  const ids = [await publish('chat', 'one'), await publish('chat', 'two')];
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= ids[0]!)).toEqual(ids);
  // The message election can crown several tabs for a moment while they start together: an applicant
  // leads if nobody objects within 250 ms, and a tab still busy loading its page may answer later than
  // that (seen once with all 3 on a loaded CI machine). tabbus's epochs then close the losers' polls, and
  // no id is delivered twice (checked above): never more polls than tabs, and one once it settles.
  expect((await server.stats()).peakOpenPollsPerSession).toBeLessThanOrEqual(pages.length);
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
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
  for (const page of pages) expect(await state(page)).toMatchObject({ mode: 'locks', modeReason: expect.stringMatching(/localstorage/) });
  const sent: number[] = [];
  for (let i = 0; i < 20; i++) sent.push(await publish('chat', `via storage ${i}`));
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= sent[0]!)).toEqual(sent);
});

const withThrowingStorageGetter = (context: BrowserContext) =>
  context.addInitScript(() =>
    Object.defineProperty(window, 'localStorage', {
      configurable: true,
      get: () => {
        throw new DOMException('Access is denied for this document.', 'SecurityError');
      },
    }),
  );

// Two ways localStorage fails: every write throws (quota, some private modes), or touching
// `window.localStorage` at all throws (cookies blocked, sandboxed iframes).
for (const [how, install] of [
  ['setItem throws', withThrowingStorage],
  ['the localStorage getter throws', withThrowingStorageGetter],
] as const) {
  test(`when ${how}: the bus keeps working from memory and says so`, async ({ context, openTabs, server, publish }) => {
    await install(context);
    const pages = await openTabs(3);
    const leader = await settledLeader(pages);
    for (const page of pages) expect(await state(page)).toMatchObject({ mode: 'locks', modeReason: expect.stringMatching(/native/) });
    const sent: number[] = [];
    for (let i = 0; i < 10; i++) sent.push(await publish('chat', `no storage ${i}`));
    for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= sent[0]!)).toEqual(sent);
    // Nothing reached storage: the cursor lives in memory.
    const scope = (await state(leader)).scope;
    for (const page of pages) {
      const stored = await page.evaluate((prefix) => {
        try {
          return Object.keys(localStorage).filter((k) => k.startsWith(prefix));
        } catch {
          return [];
        }
      }, `tabbus:${scope}:`);
      expect(stored).toEqual([]);
      expect((await state(page)).cursor).toBe(sent.at(-1));
    }
    // Failover: the next leader resumes from the cursor it holds in memory, not from 0 (which would make
    // the server replay its last 50 s) and not past anything.
    const since = Date.now();
    await leader.close();
    const rest = pages.filter((p) => p !== leader);
    const next = await settledLeader(rest);
    await expect.poll(async () => (await server.polls(since)).map((p) => p.last)[0], { message: "the new leader's first poll" }).toBe(sent.at(-1));
    const after = [await publish('chat', 'after failover 1'), await publish('chat', 'after failover 2')];
    for (const page of rest) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= sent[0]!)).toEqual([...sent, ...after]);
    // The fallback is visible to the application: in the mode's reason or as the last error.
    const s = await state(next);
    expect(`mode: ${s.mode} (${s.modeReason}); last error: ${s.lastError?.code ?? 'none'} ${s.lastError?.message ?? ''}`, 'the storage fallback is reported').toMatch(/storage/i);
  });
}

// Nothing to coordinate with: no Web Locks, no BroadcastChannel, no usable localStorage (so broadcast-channel
// has no method either). Two ways a browser hides localStorage: the getter throws (cookies blocked,
// sandboxed iframes) or there is none.
for (const storage of ['throws', 'undefined'] as const) {
  test(`with no Web Locks, no BroadcastChannel and a localStorage getter that ${storage === 'throws' ? 'throws' : 'returns undefined'}: solo, each tab polls alone and delivers each id once`, async ({ context, openTabs, server, publish }) => {
    await withoutLocks(context);
    await withoutNativeBroadcastChannel(context);
    await context.addInitScript((how) => {
      Object.defineProperty(window, 'localStorage', {
        configurable: true,
        get: () => {
          if (how === 'throws') throw new DOMException('Access is denied for this document.', 'SecurityError');
          return undefined;
        },
      });
    }, storage);
    const pages = await openTabs(3);
    // The init scripts took: the page sees none of the three.
    expect(await pages[0]!.evaluate(() => [typeof navigator.locks, typeof (window as { BroadcastChannel?: unknown }).BroadcastChannel, (() => { try { return typeof localStorage; } catch { return 'throws'; } })()])).toEqual([
      'undefined',
      'undefined',
      storage,
    ]);
    for (const page of pages) {
      await expect.poll(async () => (await state(page)).transport).toBe('open');
      const s = await state(page);
      expect(s).toMatchObject({ mode: 'solo', role: 'solo', leaderId: s.tabId, tabs: 1 });
      expect(s.modeReason).toMatch(/\w/);
      expect(s.modeReason).not.toBe('not started');
    }
    // One held poll per tab, all for the same browser session.
    await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([3]);
    const sent: number[] = [];
    for (let i = 0; i < 10; i++) sent.push(await publish('chat', `solo ${i}`));
    for (const page of pages) {
      await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= sent[0]!)).toEqual(sent);
      expect((await state(page)).counters.requests).toBeGreaterThanOrEqual(2);
    }
    // A tab that leaves takes only its own poll with it; the others go on.
    await pages[0]!.close();
    await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([2]);
    const after = await publish('chat', 'solo after close');
    for (const page of pages.slice(1)) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= sent[0]!)).toEqual([...sent, after]);
  });
}

// The oldest and most limited browsers: neither Web Locks nor a native BroadcastChannel. tabbus's own
// message election runs over its own localStorage channel; a crashed leader sends no goodbye, so a
// visible follower's leader watch finds the silence and takes over.
test('without Web Locks and without BroadcastChannel: the message election over localStorage survives a leader crash', async ({ context, openTabs, server, publish }) => {
  await withoutLocks(context);
  await withoutNativeBroadcastChannel(context);
  let pages = await openTabs(3, { path: 'index.html?leaderTimeout=1500' });
  for (const page of pages) page.on('crash', () => (pages = pages.filter((p) => p !== page)));
  const leader = await settledLeader(pages);
  for (const page of pages) expect(await state(page)).toMatchObject({ mode: 'elector', modeReason: expect.stringMatching(/message election over localstorage channel/) });
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
  const before = [await publish('chat', 'before crash 1'), await publish('chat', 'before crash 2')];
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= before[0]!)).toEqual(before);
  await crash(context, leader);
  const during = await publish('chat', 'while nobody leads');
  const rest = pages.filter((p) => p !== leader);
  expect(rest.length, 'tabs that survived the crash').toBeGreaterThan(0);
  const next = await settledLeader(rest);
  expect((await state(next)).counters.steals).toBe(1);
  const after = await publish('chat', 'after the takeover');
  for (const page of rest) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= before[0]!)).toEqual([...before, during, after]);
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
});
