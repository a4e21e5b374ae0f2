import type { Page } from '@playwright/test';
import { expectDelivered, crash, expect, leaderSince, percentile, publishStream, receivedIds, settledLeader, state, test } from '../support/fixtures';

// Web Locks free a crashed holder's lock at once, so the next tab in line polls again within
// milliseconds; the dead leader's poll may still be answered by the server, but nobody reads that reply,
// and the new leader resumes from the cursor the dead one persisted before it fanned out its last batch.
test('a crashed leader is replaced at once, up to 8 times, under a stream: nothing lost, nothing twice', async ({ context, openTabs, server, publish }) => {
  // 15–25 s on the 2-core machine; twice that when its CPU is slowed and ten tabs take a stream.
  test.setTimeout(120_000);
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
    // Granted the lock the browser took from the dead tab, not a steal: a leader that kept its lock is
    // replaced only after a tab heard nothing from it for the whole `leaderTimeout`, and says so.
    expect((await state(next)).transition, 'the new leader was elected, not a thief').toMatchObject({ to: 'leader', reason: 'elected' });
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
  // No bound on the gaps: they are wall-clock figures of a shared machine (on a slowed one, ten tabs under
  // the stream stall for seconds at a time, and so does the lock's grant). What proves the browser freed the
  // dead tab's lock is how each new leader got it: elected, never by a steal.
});
