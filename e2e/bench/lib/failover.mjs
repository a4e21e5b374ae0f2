// Failover: the leader tab is closed or its renderer crashed (CDP Page.crash) while a stream of
// notifications runs; the gap runs from Node's Date.now() just before the close/crash to the arrival
// at the server of the first poll the new leader sent (GET /tabbus/polls). A fresh tab replaces each
// dead one. At the end every live tab's deliveries are checked: ids published after the tab was
// ready and never delivered are lost; ids delivered twice are duplicated.
import { deliveries, newBrowser, openTab, settle, sleep } from './browser.mjs';
import { BenchServer } from './server.mjs';
import { accountDeliveries } from './stats.mjs';
import { publishStream } from './stream.mjs';

/** Crashes a tab's renderer as "Aw, Snap!" does: no pagehide, no unload, no goodbye. */
async function crash(context, page) {
  const cdp = await context.newCDPSession(page);
  const crashed = page.waitForEvent('crash');
  // The CDP call never resolves: the renderer dies before it can answer.
  cdp.send('Page.crash').catch(() => undefined);
  await crashed;
}

/** The earliest poll send at or after `since` among `pages` (Date.now() in the page), or null on timeout. */
async function firstPollSend(pages, since, timeout) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const sends = await Promise.all(pages.map((p) => p.evaluate((since) => window.bench.pollSends.find((t) => t >= since) ?? null, since)));
    const found = sends.filter((t) => t !== null);
    if (found.length) return Math.min(...found);
    await sleep(20);
  }
  return null;
}

/**
 * Turns for lanes that run side by side but must not time their trials at the same moment: `take(fn)`
 * runs `fn` once every turn taken before it has ended. Taken in order, so two lanes that each ask again
 * as soon as their turn ends alternate, one trial each: whatever the machine's load does over the run
 * falls on both alike, which a run of one contender after the other cannot promise.
 */
export function turns() {
  let last = Promise.resolve();
  return {
    take(fn) {
      const run = last.then(fn);
      last = run.catch(() => undefined);
      return run;
    },
  };
}

/** Without turns: every trial at once is the lane's own business. */
const ownTurns = { take: (fn) => fn() };

/**
 * One lane: one browser (context) with `tabs` tabs going through `kinds` (a list of 'close' and
 * 'crash'), one after another. Lanes of a contender can run side by side (each is its own session),
 * which the slow contenders need to fit 20 trials of 5–15 s each in the time budget. With `turn`
 * shared between lanes, each trial (the election settling, the kill, the takeover, the replacement
 * tab's load) waits for the other lanes' trials to end.
 */
export async function failoverLane({ browser, server, contender, kinds, tabs = 4, takeoverTimeout = 20_000, turn = ownTurns, log = () => {} }) {
  const b = await newBrowser(browser, server);
  const pages = [];
  await turn.take(async () => {
    for (let i = 0; i < tabs; i++) pages.push(await openTab(b, contender));
  });
  const trials = [];
  for (const kind of kinds) {
    const trial = await turn.take(() => failoverTrial({ b, pages, contender, kind, server, takeoverTimeout }));
    trials.push(trial);
    if (trial.stuck) break;
    log(`${contender} ${kind}: ${trial.gap === null ? 'no takeover' : `${trial.gap} ms`}`);
  }
  return { b, pages, trials };
}

/** One trial of a lane: its leader closed or crashed, the takeover timed, a fresh tab in its place. */
async function failoverTrial({ b, pages, contender, kind, server, takeoverTimeout }) {
  let leader;
  try {
    leader = await settle(pages, contender, { timeout: takeoverTimeout });
  } catch {
    // No tab leads and polls (tabex can end up there after a crash): the lane is stuck, and every
    // notification from now on is lost in it. Recorded, not retried.
    return { kind, gap: null, stuck: true };
  }
  // Let the leader's term run a little, as it would between two real failures.
  await sleep(150);
  const survivors = pages.filter((p) => p !== leader);
  pages.splice(pages.indexOf(leader), 1);
  const t0 = Date.now();
  if (kind === 'close') await leader.close({ runBeforeUnload: true }).then(() => leader.isClosed() || leader.waitForEvent('close'));
  else await crash(b.context, leader);
  const sentAt = await firstPollSend(survivors, t0, takeoverTimeout);
  let gap = null;
  // The page saw its poll leave; the server may not have it yet.
  for (const deadline = Date.now() + 10_000; sentAt !== null && gap === null && Date.now() < deadline; ) {
    const arrival = (await server.polls(sentAt)).find((p) => p.session === b.session);
    if (arrival) gap = arrival.at - t0;
    else await sleep(20);
  }
  // Where the gap went: until the new leader said it leads (the election), until its poll left (its own
  // work), until the server had the poll (the browser's network stack and the server).
  const elected = gap === null ? 0 : await electedAt(survivors);
  const parts = elected ? { elected: elected - t0, sent: sentAt - t0 } : null;
  if (kind === 'crash') await leader.close();
  pages.push(await openTab(b, contender));
  return { kind, gap, parts };
}

/** When the tab that leads among `pages` says it took over (Date.now() in the page); 0 when none leads. */
async function electedAt(pages) {
  const since = await Promise.all(pages.map((p) => p.evaluate(() => (window.bench.role === 'leader' ? window.bench.leaderSince : 0))));
  return Math.max(...since);
}

/**
 * The failover measurement of one contender: `lanes` lanes in parallel on one server, the `kinds`
 * alternating, `perKind` trials of each in total, a stream of `rate` notifications/s throughout.
 * `turn` (from `turns()`), shared with other contenders' measurements, makes their trials take turns.
 */
export async function measureFailover({ browser, contender, perKind, lanes = 1, tabs = 4, rate = 5, kinds = ['close', 'crash'], turn, log = () => {} }) {
  const server = await BenchServer.start();
  try {
    return await run({ browser, server, contender, perKind, lanes, tabs, rate, kinds, turn, log });
  } finally {
    await server.stop();
  }
}

async function run({ browser, server, contender, perKind, lanes, tabs, rate, kinds, turn = ownTurns, log }) {
  const stream = publishStream(server, rate);
  const laneKinds = Array.from({ length: lanes }, () => []);
  for (let i = 0; i < perKind * kinds.length; i++) laneKinds[i % lanes].push(kinds[i % kinds.length]);
  const results = await Promise.all(laneKinds.map((kinds) => failoverLane({ browser, server, contender, kinds, tabs, turn, log })));
  // The wind-down (the drain, the accounts, closing the browser) takes a turn too: it would otherwise
  // fall on another contender's trial.
  return turn.take(() => account({ results, stream, contender, log }));
}

async function account({ results, stream, contender, log }) {
  await stream.stop();
  const sent = stream.sent;
  const last = sent.at(-1) ?? { id: 0, at: 0 };
  // Drain: every live tab that was ready before the last notification should get it, unless its
  // browser is left with no leader (nothing will ever arrive there).
  const pages = results.flatMap((r) => r.pages);
  const waiting = (r) =>
    Promise.all(r.pages.map((p) => p.evaluate((last) => ({ leader: window.bench.role === 'leader', done: window.bench.readyAt > last.at || window.bench.arrivals[last.id] !== undefined }), last))).then(
      (tabs) => tabs.some((t) => t.leader) && !tabs.every((t) => t.done),
    );
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await Promise.all(results.map(waiting))).some(Boolean)) await sleep(100);
  if (Date.now() >= deadline) {
    const states = await Promise.all(pages.map((p) => p.evaluate(() => `${window.bench.role} (last delivered ${window.bench.delivered.at(-1)})`)));
    log(`${contender}: not every tab got the last notification (${last.id}) within 30 s: ${states.join(', ')}`);
  }
  let lost = 0;
  let duplicated = 0;
  for (const page of pages) {
    const d = await deliveries(page);
    const expected = sent.filter((s) => s.at >= d.readyAt).map((s) => s.id);
    const r = accountDeliveries(expected, d.delivered);
    lost += r.lost;
    duplicated += r.duplicated;
  }
  // How each browser ended: a lane with no leader (or two) loses (or repeats) whatever comes next.
  const endLeaders = await Promise.all(results.map(async (r) => (await Promise.all(r.pages.map((p) => p.evaluate(() => window.bench.role)))).filter((x) => x === 'leader').length));
  const problems = results.flatMap((r) => r.b.problems);
  for (const r of results) await r.b.context.close();
  const trials = results.flatMap((r) => r.trials);
  return {
    // null: no new leader polled within the timeout (or the lane was stuck before this trial).
    close: trials.filter((t) => t.kind === 'close').map((t) => t.gap),
    crash: trials.filter((t) => t.kind === 'crash').map((t) => t.gap),
    // Per trial with a takeover: { elected, sent } in ms from the close/crash (the gap is in close/crash).
    closeParts: trials.filter((t) => t.kind === 'close' && t.parts).map((t) => ({ ...t.parts, gap: t.gap })),
    crashParts: trials.filter((t) => t.kind === 'crash' && t.parts).map((t) => ({ ...t.parts, gap: t.gap })),
    stuckLanes: trials.filter((t) => t.stuck).length,
    lanes: results.length,
    lanesWithoutLeaderAtEnd: endLeaders.filter((n) => n === 0).length,
    lanesWithTwoLeadersAtEnd: endLeaders.filter((n) => n > 1).length,
    notifications: sent.length,
    tabsChecked: pages.length,
    lost,
    duplicated,
    problems,
  };
}
