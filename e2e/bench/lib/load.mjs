// Server load: for N tabs in one browser, all visible then all hidden, under 0 and then 2
// notifications/s, what the server saw in a window: the peak of concurrent polls held for the
// session and bus requests per minute (every route but static files and the dev routes).
import { newBrowser, openTabs, setVisibility, settle, sleep } from './browser.mjs';
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

export async function measureLoad({ browser, contender, sizes, window0, window2, log = () => {} }) {
  const server = await BenchServer.start();
  const b = await newBrowser(browser, server);
  const pages = [];
  const rows = [];
  try {
    for (const n of sizes) {
      // A per-tab poller (naive) holds one of Chromium's 6 connections per host in each tab, and
      // the 7th tab's page load would wait up to 50 s for one: a stream keeps the polls cycling.
      const pump = publishStream(server, 5);
      pages.push(...(await openTabs(b, contender, n - pages.length)));
      await pump.stop();
      // Measured even without a settled leader: then the figures show what that costs.
      const leader = await settle(pages, contender, { timeout: 10_000, required: false });
      for (const visibility of ['visible', 'hidden']) {
        for (const page of pages) await setVisibility(page, visibility);
        await sleep(300);
        // 2/s before 0/s while hidden: the 0/s cell then starts from a quiet, paced leader.
        for (const rate of visibility === 'visible' ? [0, 2] : [2, 0]) {
          const result = await cell(server, rate, rate ? window2 : window0);
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
