import type { Page } from '@playwright/test';
import { expect, receivedIds, settledLeader, shiftableClock, shiftClocks, test, type DemoWindow } from '../support/fixtures';

const gaps = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).demo.gaps);

// Away (offline here) for longer than the server keeps rows (100 s): what was sent meanwhile is gone, so
// every tab that was open before must hear `gap` once and reload its state. 150 s pass on both clocks.
test('a bus away longer than the server keeps notifications raises gap once in every tab', async ({ context, openTabs, server, publish }) => {
  await shiftableClock(context);
  const pages = await openTabs(2);
  await settledLeader(pages);
  const first = await publish('chat', 'before');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(first);

  await context.setOffline(true);
  await publish('chat', 'missed, then collected');
  await server.advance(150_000);
  expect((await server.stats()).rows).toBe(0);
  await shiftClocks(pages, 150_000);
  await context.setOffline(false);

  for (const page of pages) {
    await expect.poll(() => gaps(page)).toHaveLength(1);
    expect((await gaps(page))[0]).toMatchObject({ reason: 'retention', cursor: first });
  }
  const after = await publish('chat', 'after');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(after);
  await new Promise((r) => setTimeout(r, 300));
  for (const page of pages) expect(await gaps(page), 'raised once').toHaveLength(1);
});
