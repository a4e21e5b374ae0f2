import { launch, newBrowser, openTabs, settle, sleep } from '/work/main/e2e/bench/lib/browser.mjs';
import { BenchServer } from '/work/main/e2e/bench/lib/server.mjs';
const contender = process.argv[2] ?? 'tabbus';
import { buildPage } from '/work/main/e2e/bench/lib/build.mjs';
await buildPage();
const browser = await launch();
const server = await BenchServer.start();
const b = await newBrowser(browser, server);
const pages = await openTabs(b, contender, 4);
const rows = [];
for (let i = 0; i < 8; i++) {
  const leader = await settle(pages, contender, { timeout: 20000 });
  await sleep(300);
  const survivors = pages.filter((p) => p !== leader);
  pages.splice(pages.indexOf(leader), 1);
  const t0 = Date.now();
  await leader.close({ runBeforeUnload: true });
  let info = null;
  for (let k = 0; k < 200 && !info; k++) {
    const all = await Promise.all(survivors.map((p) => p.evaluate((t0) => ({ since: window.bench.leaderSince, send: window.bench.pollSends.find((t) => t >= t0) ?? null, tr: window.benchBus?.state?.().transition ?? null }), t0)));
    info = all.find((x) => x.send !== null) ?? null;
    if (!info) await sleep(10);
  }
  rows.push({ grant: info.since - t0, send: info.send - t0, tr: info.tr?.at ? info.tr.at - t0 : null, reason: info.tr?.reason });
  pages.push(...(await openTabs(b, contender, 1)));
}
console.log(contender, JSON.stringify(rows));
await b.context.close(); await server.stop(); await browser.close();
