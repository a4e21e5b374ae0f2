// Idle cost of a follower tab: timer callbacks and localStorage writes per minute while nothing is
// published, with the followers visible and then hidden (the leader stays visible). naive has no
// followers: its tabs after the first are reported, each polling for itself. Then the cost of a whole
// idle browser: `browserTabs` visible tabs, summed over every tab, and how many followers are awake.
import { costs, newBrowser, openTabs, setVisibility, settle, sleep } from './browser.mjs';
import { BenchServer } from './server.mjs';

/** Per-minute rates of each page's counters over one window; the last page is the leader. */
async function perMinute(followers, leader, window) {
  const pages = [...followers, leader];
  const before = await Promise.all(pages.map(costs));
  const from = Date.now();
  await sleep(window);
  const after = await Promise.all(pages.map(costs));
  const ms = Date.now() - from;
  const rate = (i, key) => Math.round(((after[i][key] - before[i][key]) * 60_000) / ms);
  const of = (i) => ({ timersPerMin: rate(i, 'timers'), writesPerMin: rate(i, 'writes') });
  return { followers: followers.map((_, i) => of(i)), leader: of(pages.length - 1), windowMs: ms };
}

/** An idle browser of `tabs` visible tabs: timer callbacks and storage writes per minute over every tab. */
async function idleBrowser({ browser, server, contender, window, tabs }) {
  const b = await newBrowser(browser, server, { costs: true });
  try {
    const pages = await openTabs(b, contender, tabs);
    const leader = (await settle(pages, contender, { timeout: 10_000, required: false })) ?? pages[0];
    await sleep(Math.min(3000, window));
    const rates = await perMinute(pages.filter((p) => p !== leader), leader, window);
    const all = [...rates.followers, rates.leader];
    const sum = (key) => all.reduce((n, r) => n + r[key], 0);
    return { tabs, timersPerMin: sum('timersPerMin'), writesPerMin: sum('writesPerMin'), awakeFollowers: rates.followers.filter((f) => f.timersPerMin > 0).length, leader: rates.leader, windowMs: rates.windowMs, problems: b.problems };
  } finally {
    await b.context.close();
  }
}

// The whole browser's window is longer than the followers' own: the one watcher wakes once per
// `leaderTimeout` (3 s), so a 20 s window counts 6 or 7 of them (18 or 21/min) by phase alone.
export async function measureIdle({ browser, contender, window, tabs = 3, browserTabs = 5, browserWindow = window }) {
  const server = await BenchServer.start();
  const b = await newBrowser(browser, server, { costs: true });
  try {
    const pages = await openTabs(b, contender, tabs);
    const settled = await settle(pages, contender, { timeout: 10_000, required: false });
    const leader = settled ?? pages[0];
    const followers = pages.filter((p) => p !== leader);
    // Let start-up timers (elections, first heartbeats) pass before counting.
    await sleep(Math.min(1000, window));
    const visible = await perMinute(followers, leader, window);
    for (const page of followers) await setVisibility(page, 'hidden');
    await sleep(500);
    const hidden = await perMinute(followers, leader, window);
    await b.context.close();
    const whole = await idleBrowser({ browser, server, contender, window: browserWindow, tabs: browserTabs });
    return { visible, hidden, browser: whole, problems: [...b.problems, ...whole.problems], ...(settled ? {} : { noLeader: true }) };
  } finally {
    await b.context.close().catch(() => undefined);
    await server.stop();
  }
}
