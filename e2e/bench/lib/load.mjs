// Server load: for N tabs in one browser, all visible then all hidden, under 0 and then 2
// notifications/s, what the server saw in a window: the peak of concurrent polls held for the
// session and bus requests per minute (every route but static files and the dev routes).
import { loadTabs, newBrowser, setVisibility, settle, sleep, startTabs } from './browser.mjs';
import { BenchServer, busRequests } from './server.mjs';
import { publishStream } from './stream.mjs';

/** One cell: reset the counters, wait `window` ms (a stream at `rate`/s running), read them. */
async function cell(server, rate, window) {
  const stream = publishStream(server, rate);
  // Let the polls the stream's start ended come back before counting.
  await sleep(200);
  await server.resetStats();
  const from = Date.now();
  await sleep(window);
  const stats = await server.stats();
  const ms = Date.now() - from;
  await stream.stop();
  return {
    requestsPerMin: Math.round((busRequests(stats) * 60_000) / ms),
    peakPollsPerSession: stats.peakOpenPollsPerSession,
    presenceWritesPerMin: Math.round((stats.presenceWrites * 60_000) / ms),
    windowMs: ms,
    requests: stats.requests,
  };
}

/**
 * `longHidden` ({tabs, window}): the hidden 2/s cell at that size gets a longer window, so that a
 * leader pacing its polls while every tab is hidden (tabbus: one per 30 s) is seen at its rate.
 */
export async function measureLoad({ browser, contender, sizes, window0, window2, longHidden = null, log = () => {} }) {
  const server = await BenchServer.start();
  const b = await newBrowser(browser, server);
  const pages = [];
  const rows = [];
  try {
    // Every tab loads before the first one polls (see ?defer in page/harness.js); then they start as N grows.
    const loaded = await loadTabs(b, contender, Math.max(...sizes));
    for (const n of sizes) {
      const started = pages.length;
      pages.push(...loaded.slice(started, n));
      await startTabs(pages.slice(started), contender);
      // Measured even without a settled leader: then the figures show what that costs.
      const leader = await settle(pages, contender, { timeout: 10_000, required: false });
      for (const visibility of ['visible', 'hidden']) {
        for (const page of pages) await setVisibility(page, visibility);
        await sleep(300);
        // 2/s before 0/s while hidden: the 0/s cell then starts from a quiet, paced leader.
        for (const rate of visibility === 'visible' ? [0, 2] : [2, 0]) {
          const long = longHidden && longHidden.tabs === n && visibility === 'hidden' && rate > 0;
          const result = await cell(server, rate, long ? longHidden.window : rate ? window2 : window0);
          rows.push({ tabs: n, visibility, rate, ...result, ...(leader ? {} : { noLeader: true }) });
          log(`${contender} N=${n} ${visibility} ${rate}/s: ${result.requestsPerMin} req/min, peak ${result.peakPollsPerSession} polls/session`);
        }
      }
      for (const page of pages) await setVisibility(page, 'visible');
    }
  } finally {
    await b.context.close();
    await server.stop();
  }
  return { rows, problems: b.problems };
}
