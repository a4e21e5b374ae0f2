import { expect, receivedIds, settledLeader, state, test } from '../support/fixtures';

test('the script-tag page and the ESM page share one leader and one connection', async ({ openTabs, server, publish }) => {
  await server.resetStats();
  const classic = await openTabs(2, { path: 'index.html' });
  const esm = await openTabs(2, { path: 'esm.html' });
  const pages = [...classic, ...esm];
  await settledLeader(pages);
  expect(await esm[0]!.evaluate(() => document.querySelector('#build')!.textContent)).toMatch(/ESM/);
  const id = await publish('chat', 'to both builds');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(id);
  expect((await server.stats()).peakOpenPollsPerSession).toBe(1);
  // Hand the connection to the other build: close the leader and its sibling.
  const leader = await settledLeader(pages);
  const leaderIsClassic = classic.includes(leader);
  for (const page of leaderIsClassic ? classic : esm) await page.close();
  const remaining = leaderIsClassic ? esm : classic;
  await settledLeader(remaining);
  const after = await publish('chat', 'after the handover');
  for (const page of remaining) await expect.poll(() => receivedIds(page)).toContain(after);
  expect((await state(remaining[0]!)).epoch).toBeGreaterThanOrEqual(2);
});
