#!/usr/bin/env node
// `pnpm measure:compile-hint`: what V8's compile hint (`//# allFunctionsCalledOnLoad`, the second line of the
// browser bundles) does for a tab, measured side by side: the built script-tag bundle as it is against the
// same bytes with the hint line taken out, served in turn to fresh browsers on the bench page (Odoo 15
// long-polling on the dev server), interleaved so the machine's load weighs on both alike. It reports and
// asserts nothing about time.
//
// - A close failover, 4 tabs: the new leader's time from its election (the lock's grant) to its first poll,
//   and from the close to that poll, both read in the page (Date.now, 1 ms steps). Every new leader is a tab
//   that never led, whose leader code has never run.
// - Loading and starting a tab: the main thread's script time (CDP Performance.getMetrics ScriptDuration)
//   until the bundle is loaded, and then until the bus listens.
//
//   node e2e/bench/compile-hint.mjs [--rounds 8]     (after `pnpm build`)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { launch, newBrowser, openTab, settle, sleep } from './lib/browser.mjs';
import { BenchServer, REPO } from './lib/server.mjs';
import { percentile } from './lib/stats.mjs';

const HINT = '//# allFunctionsCalledOnLoad\n';
const { values: flags } = parseArgs({ options: { rounds: { type: 'string', default: '8' } } });
const ROUNDS = Number(flags.rounds);
const CLOSES = 4;
const TABS = 4;

const built = readFileSync(`${REPO}/packages/odoo/dist/tabbus.global.min.js`, 'utf8');
if (!built.includes(HINT)) throw new Error('tabbus.global.min.js has no compile hint: run `pnpm build` first');
const bundles = { 'with the hint': built, 'without it': built.replace(HINT, '') };
const names = Object.keys(bundles);
const figures = Object.fromEntries(names.map((name) => [name, { grantToPoll: [], closeToPoll: [], loadScript: [], startScript: [] }]));

const browser = await launch();
const server = await BenchServer.start();
const scriptMs = async (cdp) => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ScriptDuration').value * 1000;

/** Opens and starts a tab of `b`, recording the main thread's script time to load and to start. */
async function openMeasured(b, name) {
  const page = await b.context.newPage();
  const cdp = await b.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  await page.goto(`${server.url}/index.html?c=tabbus&uid=${b.uid}&db=${b.db}&channels=bench&defer=1`, { timeout: 60_000 });
  await page.waitForFunction(() => window.bench.loaded || window.bench.error, null, { timeout: 60_000, polling: 20 });
  const loaded = await scriptMs(cdp);
  await page.evaluate(() => window.benchGo());
  await page.waitForFunction(() => window.bench.ready || window.bench.error, null, { timeout: 60_000, polling: 'raf' });
  const error = await page.evaluate(() => window.bench.error);
  if (error) throw new Error(`a tab failed to start: ${error}`);
  figures[name].loadScript.push(loaded);
  figures[name].startScript.push((await scriptMs(cdp)) - loaded);
  await cdp.detach();
  return page;
}

for (let round = 0; round < ROUNDS; round++) {
  for (const name of round % 2 ? [...names].reverse() : names) {
    const b = await newBrowser(browser, server);
    await b.context.route('**/vendor/tabbus/tabbus.global.min.js', (route) => route.fulfill({ body: bundles[name], contentType: 'text/javascript' }));
    const pages = [];
    for (let i = 0; i < TABS; i++) pages.push(await openMeasured(b, name));
    for (let k = 0; k < CLOSES; k++) {
      const leader = await settle(pages, 'tabbus');
      await sleep(300);
      pages.splice(pages.indexOf(leader), 1);
      const closedAt = Date.now();
      await leader.close();
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(20)) {
        const seen = await Promise.all(pages.map((p) => p.evaluate((t) => ({ since: window.bench.leaderSince, sent: window.bench.pollSends.find((s) => s >= t) ?? null }), closedAt)));
        const next = seen.find((s) => s.sent !== null && s.since >= closedAt);
        if (!next) continue;
        figures[name].grantToPoll.push(next.sent - next.since);
        figures[name].closeToPoll.push(next.sent - closedAt);
        break;
      }
      pages.push(await openMeasured(b, name));
    }
    await b.context.close();
  }
  console.log(`round ${round + 1} of ${ROUNDS} done`);
}
await browser.close();
server.stop();

const p50 = (values) => percentile(values, 50);
const line = (label, key, digits = 0) => `| ${label} | ${names.map((name) => `${p50(figures[name][key]).toFixed(digits)} (n ${figures[name][key].length})`).join(' | ')} |`;
console.log(`\ncompile hint, ${ROUNDS} rounds, p50 in ms:\n`);
console.log(`| | ${names.join(' | ')} |\n| --- | --- | --- |`);
console.log(line('close failover: the new leader\'s election → its first poll', 'grantToPoll'));
console.log(line('close failover: the close → the new leader\'s first poll', 'closeToPoll'));
console.log(line('a tab\'s script time until the bundle is loaded', 'loadScript', 2));
console.log(line('a tab\'s script time from start until the bus listens', 'startScript', 2));
