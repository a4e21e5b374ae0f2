import type { Page } from '@playwright/test';
import { crash, expect, leaderSince, leadersSeen, percentile, publishStream, receivedIds, settledLeader, state, test, type DemoWindow } from '../support/fixtures';

type Kind = 'close' | 'crash' | 'handoff';
const KINDS: readonly Kind[] = ['close', 'crash', 'handoff'];
const ROUNDS = 100;
/**
 * Wall-clock room for the rounds, in minutes (`TABBUS_CHAOS_MINUTES`; 0: none, every round runs, as
 * `pnpm test:chaos` does). 100 rounds take 2–3 minutes on the 2-core development machine; with its CPU
 * slowed they took 6 s each, past the CI budget. Past this room (and at least MIN_ROUNDS, eight of each
 * kind) the test stops failing over and checks what ran, and the report says how many rounds that was.
 * `pnpm test` runs the short form; the full hundred is `pnpm test:chaos`.
 */
const ROOM_MINUTES = Number(process.env.TABBUS_CHAOS_MINUTES ?? 2);
const ROUND_BUDGET_MS = ROOM_MINUTES > 0 ? ROOM_MINUTES * 60_000 : Infinity;
const MIN_ROUNDS = 24;
const TABS = 10;

/**
 * Runs in each page before its scripts: when the page called fetch for each long-poll (wall clock), so a
 * gap can be split into the tab's part (until its first poll is asked for) and the way to the server.
 * Self-contained: it is sent to the page as source.
 */
function recordPollCalls(): void {
  const calls: number[] = [];
  (window as unknown as { __pollCalls: number[] }).__pollCalls = calls;
  const original = window.fetch;
  window.fetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
    if (String(input instanceof Request ? input.url : input).includes('/longpolling/poll')) calls.push(Date.now());
    return original.call(window, input, init);
  };
}
const pollCallSince = (page: Page, since: number) =>
  page.evaluate((at) => (window as unknown as { __pollCalls: number[] }).__pollCalls.find((t) => t >= at), since);

// Ten tabs under a stream of 50 notifications/s while the leader is taken away 100 times, in turn by
// closing its tab, crashing its renderer and handing the connection over; a new tab replaces each dead
// one. Every tab still open at the end must have delivered every id published while it was open, once
// each and in order; no epoch may ever have had two leaders.
test('chaos: 10 tabs, 50 notifications/s, up to 100 leader failovers by close, crash and handoff', async ({ context, openTabs, server, publish }) => {
  // The room, plus six minutes for the tabs to open, for the rounds the minimum adds past the room and
  // for the checks after them (without a room: 2–3 minutes for the 100 rounds on the 2-core development
  // machine, over 10 when its CPU is slowed).
  test.setTimeout(ROOM_MINUTES > 0 ? (ROOM_MINUTES + 6) * 60_000 : 30 * 60_000);
  const tabs = new Map<Page, number>(); // page → when it was ready
  /** Tabs that died with another: Chromium may host several tabs of one site in one renderer process, and a crash then takes them all. */
  let dragged = 0;
  const track = (page: Page) => {
    tabs.set(page, Date.now());
    page.on('crash', () => {
      if (tabs.delete(page)) dragged++;
    });
  };
  const live = () => [...tabs.keys()];
  /** Opens tabs until there are TABS again. */
  const topUp = async () => {
    while (tabs.size < TABS) for (const page of await openTabs(1)) track(page);
  };
  await context.addInitScript(recordPollCalls);
  for (const page of await openTabs(TABS)) track(page);
  await settledLeader(live);
  const leaders = new Map<string, Set<string>>();
  const remember = async (page: Page) => {
    for (const [epoch, ids] of Object.entries(await leadersSeen(page))) {
      const known = leaders.get(epoch) ?? new Set<string>();
      for (const id of ids) known.add(id);
      leaders.set(epoch, known);
    }
  };
  const gaps: Record<Kind, number[]> = { close: [], crash: [], handoff: [] };
  /** Each gap in three: death → the new leader's term began; → it called fetch for its first poll; → the server saw that poll. */
  const parts: Record<Kind, { elected: number[]; asked: number[]; carried: number[] }> = {
    close: { elected: [], asked: [], carried: [] },
    crash: { elected: [], asked: [], carried: [] },
    handoff: { elected: [], asked: [], carried: [] },
  };
  /** Handoff rounds tried again because leadership had moved on by itself before the call. */
  let retried = 0;
  const stream = publishStream(publish, 20);

  const started = Date.now();
  let rounds = 0;
  for (let round = 0; round < ROUNDS; round++) {
    if (round >= MIN_ROUNDS && Date.now() - started > ROUND_BUDGET_MS) break;
    const kind = KINDS[round % KINDS.length]!;
    const leader = await settledLeader(live);
    await remember(leader);
    const before = await leaderSince(leader);
    const t0 = Date.now();
    if (kind === 'handoff') {
      // False when this tab no longer leads: on a starved machine the watcher may have taken over from it
      // since it settled (a leader silent for `leaderTimeout` looks frozen). That was a failover of its own;
      // this round is tried again on the next settled leader.
      if (!(await leader.evaluate(() => (window as unknown as DemoWindow).demo.bus.handoff()))) {
        retried++;
        round--;
        continue;
      }
    } else {
      tabs.delete(leader);
      if (kind === 'close') {
        // With its unload handlers run, close() returns before the tab is gone; under load Chromium has
        // once kept such a tab open for minutes, still leading. The tab's own code is not what is tested
        // here: one that outlives the wait is closed without them.
        await leader.close({ runBeforeUnload: true });
        if (!leader.isClosed()) await leader.waitForEvent('close', { timeout: 10_000 }).catch(() => leader.close());
      } else await crash(context, leader);
    }
    const next = await settledLeader(live);
    const since = await leaderSince(next);
    expect(next !== leader || since !== before, 'a new term began').toBe(true);
    const [first] = await server.polls(since);
    expect(first, `round ${round} (${kind}): the new leader polled`).toBeDefined();
    gaps[kind].push(first!.at - t0);
    const askedAt = await pollCallSince(next, since);
    if (askedAt !== undefined) {
      parts[kind].elected.push(since - t0);
      parts[kind].asked.push(askedAt - since);
      parts[kind].carried.push(first!.at - askedAt);
    }
    if (kind === 'crash') await leader.close();
    await topUp();
    rounds = round + 1;
  }
  await stream.stop();

  const sent = stream.sent;
  const sentIds = new Set(sent.map((s) => s.id));
  for (const [page, readyAt] of tabs) {
    await remember(page);
    const expected = sent.filter((s) => s.at >= readyAt).map((s) => s.id);
    if (expected.length > 0) await expect
      .poll(async () => (await receivedIds(page)).includes(expected.at(-1)!), { timeout: 15_000 })
      .toBe(true)
      .catch(async (error: Error) => {
        const got = new Set(await receivedIds(page));
        const s = await state(page);
        const missing = expected.filter((id) => !got.has(id));
        throw new Error(`${error.message}\ntab ${s.tabId} ${s.role} epoch ${s.epoch} cursor ${s.cursor} ${JSON.stringify(s.counters)}; missing ${missing.length}: ${missing.slice(0, 10).join(',')}… of ${expected[0]}..${expected.at(-1)}`);
      });
    const ids = (await receivedIds(page)).filter((id) => id >= sent[0]!.id);
    // One expect per tab, not per id: Playwright's expect costs milliseconds a call, and 40,000 of them
    // once took longer than the failovers.
    const disorder = ids.findIndex((id, i) => i > 0 && id <= ids[i - 1]!);
    expect(disorder < 0 ? [] : ids.slice(Math.max(0, disorder - 2), disorder + 3), 'in order, each once (ids around the first break)').toEqual([]);
    expect(ids.every((id) => sentIds.has(id)), 'nothing that was not sent').toBe(true);
    const got = new Set(ids);
    expect(expected.filter((id) => !got.has(id)), 'ids published while the tab was open and never delivered').toEqual([]);
  }
  for (const [epoch, ids] of leaders) expect([...ids], `leaders of epoch ${epoch}`).toHaveLength(1);
  expect(leaders.size).toBeGreaterThanOrEqual(rounds);
  await expect.poll(async () => Object.values((await server.connections()).bySession)).toEqual([1]);

  const p50p99 = (values: number[]) => `${percentile(values, 50)}/${percentile(values, 99)}`;
  const line = (kind: Kind) => {
    const { elected, asked, carried } = parts[kind];
    return `${kind} (${gaps[kind].length}): p50 ${percentile(gaps[kind], 50)} ms, p99 ${percentile(gaps[kind], 99)} ms, max ${Math.max(...gaps[kind])} ms (p50/p99 of its parts over ${elected.length}: death → new term ${p50p99(elected)}, → poll asked for ${p50p99(asked)}, → at the server ${p50p99(carried)} ms)`;
  };
  const report = `chaos, ${rounds} of ${ROUNDS} failovers${rounds < ROUNDS ? ` (the ${ROOM_MINUTES}-minute room ran out)` : ''}, ${sent.length} notifications, failover gap (death → new leader's first poll at the server): ${KINDS.map(line).join('; ')}${retried ? `; ${retried} handoff round(s) tried again (leadership had moved on by itself)` : ''}${dragged ? `; ${dragged} tab(s) died with a crashed leader (shared renderer process) and were replaced` : ''}`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
});
