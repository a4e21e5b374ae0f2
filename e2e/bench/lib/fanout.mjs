// Fan-out latency: from just before Node publishes (POST /tabbus/send) to the notification handler
// in every tab (Date.now() in the page: Node and the pages share the wall clock, ms resolution),
// for each size in `sizes` (tabs added to the same browser), all tabs visible.
import { loadTabs, newBrowser, settle, sleep, startTabs } from './browser.mjs';
import { BenchServer } from './server.mjs';
import { summary } from './stats.mjs';

export async function measureFanout({ browser, contender, sizes, count, intervalMs = 200 }) {
  const server = await BenchServer.start();
  const b = await newBrowser(browser, server);
  const pages = [];
  const results = {};
  try {
    // Every tab loads before the first one polls (see ?defer in page/harness.js); then they start as N grows.
    const loaded = await loadTabs(b, contender, Math.max(...sizes));
    for (const n of sizes) {
      const started = pages.length;
      pages.push(...loaded.slice(started, n));
      await startTabs(pages.slice(started), contender);
      const settled = await settle(pages, contender, { timeout: 10_000, required: false });
      await sleep(300);
      const sent = [];
      for (let i = 0; i < count; i++) {
        const at = Date.now();
        sent.push({ id: await server.send('bench', { seq: i }), at });
        await sleep(intervalMs);
      }
      // Wait for the last one everywhere (a naive tab may queue behind the browser's 6 connections).
      const lastId = sent.at(-1).id;
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const got = await Promise.all(pages.map((p) => p.evaluate((id) => window.bench.arrivals[id] !== undefined, lastId)));
        if (got.every(Boolean)) break;
        await sleep(50);
      }
      const latencies = [];
      let missing = 0;
      for (const page of pages) {
        const arrivals = await page.evaluate(() => window.bench.arrivals);
        for (const { id, at } of sent) {
          if (arrivals[id] === undefined) missing++;
          else latencies.push(arrivals[id] - at);
        }
      }
      results[n] = { ...summary(latencies), missing, ...(settled ? {} : { noLeader: true }) };
    }
  } finally {
    await b.context.close();
    await server.stop();
  }
  return { sizes: results, problems: b.problems };
}
