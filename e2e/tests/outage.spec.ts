import type { Browser, Page } from '@playwright/test';
import { DevServer } from '../support/dev-server';
import { expect, expectDelivered, openOn, receivedIds, settledLeader, state, test, type DemoWindow } from '../support/fixtures';

const gaps = (page: Page) => page.evaluate(() => (window as unknown as DemoWindow).demo.gaps);

// The dev server is killed (SIGKILL: held polls see the connection drop) and started again on the same
// port with its memory store empty, so ids start again at 1 while the tabs' cursor is far above. The
// sessions file keeps the browser logged in, as Odoo's session store on disk does.
test('server killed and restarted: the bus backs off, recovers by itself and treats the restarted ids as a reset', async ({ browser, odoo }) => {
  const server = await DevServer.start(['--odoo', String(odoo)]);
  const context = await (browser as Browser).newContext();
  try {
    const pages = await openOn(server, context, 3, '?backoff=200');
    const leader = await settledLeader(pages);
    const before: number[] = [];
    for (let i = 0; i < 30; i++) before.push(await server.send({ channel: 'chat', type: 'demo/message', payload: { text: `before ${i}` } }));
    for (const page of pages) await expectDelivered(page, before);

    await server.kill();
    // Every tab shows the leader's connection backing off, and the error that caused it.
    for (const page of pages) await expect.poll(async () => ['backoff', 'connecting'].includes((await state(page)).transport)).toBe(true);
    await expect.poll(async () => (await state(leader)).lastError?.code).toMatch(/network|http/);
    await new Promise((r) => setTimeout(r, 1000));

    await server.revive();
    const after: number[] = [];
    for (let i = 0; i < 5; i++) after.push(await server.send({ channel: 'chat', type: 'demo/message', payload: { text: `after ${i}` } }));
    expect(after[0]).toBe(1); // the store really started again
    for (const page of pages) {
      await expect.poll(async () => (await receivedIds(page)).slice(-5), { timeout: 15_000 }).toEqual(after);
      const seen = await gaps(page);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ reason: 'reset', cursor: before.at(-1) });
    }
    await settledLeader(pages);
    await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('offline: the leader stops polling at once; back online it polls at once and catches up', async ({ context, openTabs, server, publish }) => {
  // A 60 s backoff: a reconnect that waited out a backoff rather than following `online` could not catch up
  // within expectDelivered's 15 s, so "at once" is told apart without a bound on the wall clock.
  const pages = await openTabs(2, { path: 'index.html?backoff=60000' });
  await settledLeader(pages);
  const first = await publish('chat', 'before');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(first);

  await context.setOffline(true);
  for (const page of pages) await expect.poll(async () => (await state(page)).transport).toBe('offline');
  await expect.poll(async () => (await server.connections()).open).toBe(0);
  const missed = [await publish('chat', 'while offline 1'), await publish('chat', 'while offline 2')];
  await new Promise((r) => setTimeout(r, 300));
  const requestsOffline = (await Promise.all(pages.map(state))).reduce((n, s) => n + s.counters.requests, 0);
  await new Promise((r) => setTimeout(r, 1500));
  // No retry storm while offline: not one request.
  expect((await Promise.all(pages.map(state))).reduce((n, s) => n + s.counters.requests, 0)).toBe(requestsOffline);

  const onlineAt = Date.now();
  await context.setOffline(false);
  for (const page of pages) await expectDelivered(page, [first, ...missed]);
  const arrived = await pages[0]!.evaluate((id) => (window as unknown as DemoWindow).demo.arrivals[id]!, missed[0]!);
  const report = `back online → missed notification delivered in ${arrived - onlineAt} ms`;
  test.info().annotations.push({ type: 'measurement', description: report });
});
