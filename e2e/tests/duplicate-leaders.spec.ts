import { expectDelivered, expect, publishStream, settledLeader, state, test, type DemoWindow } from '../support/fixtures';

const TEST_HOOKS = 'tabbus.testHooks';

// Two tabs that both believe they lead (forced through the test hook, as a bug or a race might): the
// newer epoch wins, the older leader drops its connection, frames of the older epoch are dropped, and
// every tab still delivers each id once.
test('two leaders at once: the newer epoch wins, one connection remains, each id is delivered once', async ({ openTabs, server, publish }) => {
  const pages = await openTabs(4);
  const leader = await settledLeader(pages);
  const before = (await state(leader)).epoch;
  const stream = publishStream(publish, 10);
  await new Promise((r) => setTimeout(r, 200));

  for (const usurper of pages.filter((p) => p !== leader).slice(0, 2)) {
    await usurper.evaluate((key) => {
      const bus = (window as unknown as DemoWindow).demo.bus as unknown as Record<symbol, { forceLead(): void }>;
      bus[Symbol.for(key)]!.forceLead();
    }, TEST_HOOKS);
    await new Promise((r) => setTimeout(r, 150));
  }
  const settled = await settledLeader(pages);
  expect((await state(settled)).epoch).toBeGreaterThan(before + 1);
  expect((await Promise.all(pages.map(state))).filter((s) => s.role === 'leader')).toHaveLength(1);
  await new Promise((r) => setTimeout(r, 200));
  await stream.stop();

  const sent = stream.sent.map((s) => s.id);
  for (const page of pages) {
    await expectDelivered(page, sent);
  }
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
  const fenced = (await Promise.all(pages.map(state))).reduce((sum, s) => sum + s.counters.fenced, 0);
  test.info().annotations.push({ type: 'measurement', description: `frames fenced across the tabs: ${fenced}` });
});
