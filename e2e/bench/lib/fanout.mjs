// Fan-out latency: from just before Node publishes (POST /tabbus/send) to the notification handler
// in every tab (Date.now() in the page: Node and the pages share the wall clock, ms resolution),
// for each size in `sizes` (tabs added to the same browser), all tabs visible. Split in two where a tab
// polls for the others: server → that tab, and that tab → each other tab (the relay).
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
      const arrivalsByPage = await Promise.all(pages.map((p) => p.evaluate(() => window.bench.arrivals)));
      for (const arrivals of arrivalsByPage) {
        for (const { id, at } of sent) {
          if (arrivals[id] === undefined) missing++;
          else latencies.push(arrivals[id] - at);
        }
      }
      // The latency in two parts: the server to the tab that polls (the same server and network for every
      // contender; the reply's handling in that tab is each one's own),
      // then that tab to each of the others, which is all the coordination layer adds. naive has no
      // relay (every tab polls), nor has a run whose leader changed or was never found.
      const stillLeads = settled && (await settled.evaluate(() => window.bench.role === 'leader'));
      const leader = contender === 'naive' || !stillLeads ? null : arrivalsByPage[pages.indexOf(settled)];
      const toLeader = [];
      const relay = [];
      if (leader) {
        for (const { id, at } of sent) {
          if (leader[id] === undefined) continue;
          toLeader.push(leader[id] - at);
          for (const arrivals of arrivalsByPage) if (arrivals !== leader && arrivals[id] !== undefined) relay.push(arrivals[id] - leader[id]);
        }
      }
      results[n] = { ...summary(latencies), missing, ...(leader ? { toLeader: summary(toLeader), relay: summary(relay) } : {}), ...(settled ? {} : { noLeader: true }) };
    }
  } finally {
    await b.context.close();
    await server.stop();
  }
  return { sizes: results, problems: b.problems };
}
