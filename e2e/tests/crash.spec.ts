import type { Page } from '@playwright/test';
import { expectDelivered, crash, expect, leaderSince, percentile, publishStream, receivedIds, settledLeader, test } from '../support/fixtures';

// Web Locks free a crashed holder's lock at once, so the next tab in line polls again within
// milliseconds; the dead leader's poll may still be answered by the server, but nobody reads that reply,
// and the new leader resumes from the cursor the dead one persisted before it fanned out its last batch.
test('a crashed leader is replaced at once, up to 8 times, under a stream: nothing lost, nothing twice', async ({ context, openTabs, server, publish }) => {
  let live: Page[] = await openTabs(10);
  // Chromium may host several tabs of one site in one renderer process on a small machine: a crash then
  // takes them all. Whatever died leaves the list.
  for (const page of live) page.on('crash', () => (live = live.filter((p) => p !== page)));
  await settledLeader(live);
  const stream = publishStream(publish, 15);

  const gaps: number[] = [];
  for (let round = 0; round < 8 && live.length > 2; round++) {
    const leader = await settledLeader(live);
    const witness = live.find((p) => p !== leader)!;
    const seenBefore = Math.max(0, ...(await receivedIds(witness)));
    const crashedAt = Date.now();
    await crash(context, leader);
    const next = await settledLeader(live);
    const since = await leaderSince(next);
    const [first] = await server.polls(since);
    expect(first, 'the new leader polled').toBeDefined();
    gaps.push(first!.at - crashedAt);
    // Resumed from the persisted cursor: not from 0, not from before what the tabs had already seen.
    expect(first!.last).toBeGreaterThanOrEqual(seenBefore);
    await leader.close();
  }
  await stream.stop();
  expect(gaps.length, 'crash rounds run').toBeGreaterThanOrEqual(4);
  const sent = stream.sent.map((s) => s.id);
  // Every tab that lived through all the crashes got every id once, in order.
  for (const survivor of live) await expectDelivered(survivor, sent);
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);
  const report = `failover after crash (death → new leader's first poll at the server), ${gaps.length} rounds: p50 ${percentile(gaps, 50)} ms, max ${Math.max(...gaps)} ms (${gaps.join(', ')})`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
  // Sooner than any steal could be: a leader that kept its lock would be replaced only after the watcher
  // heard nothing for the whole `leaderTimeout` (the demo's default, 3 s), so every gap below it is the
  // browser freeing the crashed tab's lock. (A looser bound than the figures above: on a slow, shared
  // machine a WebSocket takeover has taken 2.3–2.9 s.)
  expect(Math.max(...gaps)).toBeLessThan(3000);
});
