import type { Page } from '@playwright/test';
import type { DevServer } from '../support/dev-server';
import { expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

/**
 * Two builds' pages in one browser: both get every notification over one connection, and when the pages of
 * the build that leads close, the other build's pages take the connection over and go on.
 */
async function shareOneConnection(server: DevServer, publish: (channel: string, text: string) => Promise<number>, one: Page[], other: Page[]) {
  const pages = [...one, ...other];
  const id = await publish('chat', 'to both builds');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(id);
  expect((await server.connections()).peakPerSession).toBe(1);
  // Hand the connection to the other build: close the leader and its sibling.
  const leader = await settledLeader(pages);
  const leaderIsOne = one.includes(leader);
  for (const page of leaderIsOne ? one : other) await page.close();
  const remaining = leaderIsOne ? other : one;
  await settledLeader(remaining);
  const after = await publish('chat', 'after the handover');
  for (const page of remaining) await expect.poll(() => receivedIds(page)).toContain(after);
  expect((await state(remaining[0]!)).epoch).toBeGreaterThanOrEqual(2);
  // The closed tabs' connections end as the server notices them (a closing sibling may have led a moment too):
  // then the browser holds one again.
  await expect.poll(async () => (await server.connections()).open).toBe(1);
}

test('the script-tag page and the ESM page share one leader and one connection', async ({ openTabs, server, publish }) => {
  await server.resetStats();
  const classic = await openTabs(2, { path: 'index.html' });
  const esm = await openTabs(2, { path: 'esm.html' });
  await settledLeader([...classic, ...esm]);
  expect(await esm[0]!.evaluate(() => document.querySelector('#build')!.textContent)).toMatch(/ESM/);
  await shareOneConnection(server, publish, classic, esm);
});

// An Odoo page with the addon loads the script tag of its series' family; a page of the same site may load the
// full one (from a CDN, say). Same frames, same scope: one leader and one connection for the browser.
test('the full script tag and the one-family script tag share one leader and one connection', async ({ openTabs, server, publish }) => {
  await server.resetStats();
  const full = await openTabs(2, { path: 'index.html' });
  const family = await openTabs(2, { path: 'series.html' });
  await settledLeader([...full, ...family]);
  const file = `tabbus.${server.odoo >= 16 ? 'websocket' : 'longpolling'}.global.min.js`;
  expect(await family[0]!.evaluate(() => document.querySelector('#build')!.textContent)).toContain(file);
  // The family page runs the family build: its createOdooBus refuses the other family's versions.
  const refused = await family[0]!.evaluate((other) => {
    try {
      (window as unknown as { TabBus: { createOdooBus(o: object): unknown } }).TabBus.createOdooBus({ version: other, start: false });
      return 'made a bus';
    } catch (error) {
      return (error as { code?: string }).code;
    }
  }, server.odoo >= 16 ? 15 : 17);
  expect(refused).toBe('config');
  await shareOneConnection(server, publish, full, family);
});
