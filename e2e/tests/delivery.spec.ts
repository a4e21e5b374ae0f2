import { expect, percentile, receivedIds, settledLeader, test, type DemoWindow } from '../support/fixtures';

test('every tab receives each of 200 notifications exactly once, in id order', async ({ openTabs, publish }) => {
  const pages = await openTabs(5);
  await settledLeader(pages);
  const sent: number[] = [];
  for (let i = 0; i < 200; i++) sent.push(await publish('chat', `message ${i}`));
  expect(sent).toEqual([...sent].sort((a, b) => a - b));
  for (const page of pages) {
    await expect.poll(() => receivedIds(page).then((ids) => ids.filter((id) => id >= sent[0]!).length), { timeout: 20_000 }).toBeGreaterThanOrEqual(sent.length);
    // The server may replay earlier tests' notifications (last == 0 catch-up); look at ours.
    expect((await receivedIds(page)).filter((id) => id >= sent[0]!)).toEqual(sent);
  }
});

test('fan-out latency from publish to every tab (5 tabs, reported)', async ({ openTabs, publish }) => {
  const pages = await openTabs(5);
  await settledLeader(pages);
  const sentAt = new Map<number, number>();
  for (let i = 0; i < 40; i++) {
    const before = Date.now();
    const id = await publish('chat', `latency ${i}`);
    sentAt.set(id, before);
    await new Promise((r) => setTimeout(r, 25));
  }
  const latencies: number[] = [];
  for (const page of pages) {
    const first = Math.min(...sentAt.keys());
    await expect.poll(() => receivedIds(page).then((ids) => ids.filter((id) => id >= first).length)).toBe(sentAt.size);
    const arrivals = await page.evaluate(() => (window as unknown as DemoWindow).demo.arrivals);
    for (const [id, at] of sentAt) latencies.push(arrivals[id]! - at);
  }
  const report = `fan-out latency, 5 tabs, ${latencies.length} deliveries: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  expect(latencies.every((l) => l >= 0)).toBe(true);
});
