#!/usr/bin/env node
// `pnpm bench`: five ways for the tabs of one browser to share the Odoo bus, on the same page, the
// same dev server (Odoo 15 long-polling) and the same scenario; only the coordination layer differs.
// See README.md beside this file. Writes results/<mode>.{md,json,svg}.
//
//   node e2e/bench/run.mjs            the full run (under 10 minutes on 2 cores)
//   node e2e/bench/run.mjs --quick    fewer tabs, trials and shorter windows (a minute or two)
//   node e2e/bench/run.mjs --smoke    every phase at its smallest, checked for working, not measured (< 30 s)
//   --only tabbus,tabex               some contenders    --phases load,idle,fanout,failover   some phases
//   --out DIR                         where to write (default e2e/bench/results, .smoke for --smoke)
//   --trials N                        failover trials of each kind (close, crash) per contender (full: 20)
//   --notifications N                 fan-out notifications per tab count (full: 20): more for a p99 that is no max
//   --name NAME                       the files' name: <out>/NAME.{md,json,svg} (default: the mode's)
//   --render FILE.json                rewrite the .md and .svg beside a saved run's JSON, measuring nothing
//   node e2e/bench/run.mjs --soak     tabbus alone, for minutes: heap and bus state per tab → results/soak.{md,json}
//     --soak-minutes 10 --soak-tabs 10 --soak-rate 20 --soak-failover 30 (s) --soak-warmup 30 (s) --soak-sample 60 (s)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { CONTENDERS, launch } from './lib/browser.mjs';
import { buildPage, measureBytes } from './lib/build.mjs';
import { svg } from './lib/chart.mjs';
import { measureFailover, turns } from './lib/failover.mjs';
import { measureFanout } from './lib/fanout.mjs';
import { measureIdle } from './lib/idle.mjs';
import { measureLoad } from './lib/load.mjs';
import { derive, markdown } from './lib/report.mjs';
import { REPO } from './lib/server.mjs';
import { smokeChecks } from './lib/smoke.mjs';
import { runSoak, soakMarkdown } from './lib/soak.mjs';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const PHASES = ['load', 'idle', 'fanout', 'failover'];

/**
 * Parameters per mode. Failover lanes: the Odoo crosstab and tabex take seconds per crash (stale
 * heartbeats), so their trials run in parallel browsers; the others run one trial at a time.
 */
const MODES = {
  full: {
    sizes: [1, 5, 10, 20, 50], window0: 3000, window2: 6000, longHidden: { tabs: 10, window: 35_000 },
    idleWindow: 20_000, idleTabs: 3, idleBrowserTabs: 5, idleBrowserWindow: 60_000,
    fanoutSizes: [5, 20], fanoutCount: 20,
    perKind: 20, lanes: { 'odoo-crosstab': 5, tabex: 5 }, failoverRate: 5, failoverTabs: 4, turns: true,
  },
  quick: {
    sizes: [1, 5, 10], window0: 1000, window2: 2000,
    idleWindow: 5000, idleTabs: 3, idleBrowserTabs: 5, idleBrowserWindow: 15_000,
    fanoutSizes: [5, 20], fanoutCount: 6,
    perKind: 5, lanes: { 'odoo-crosstab': 5, tabex: 5 }, failoverRate: 5, failoverTabs: 4, turns: true,
  },
  smoke: {
    sizes: [2], window0: 300, window2: 600,
    idleWindow: 500, idleTabs: 2, idleBrowserTabs: 2, idleBrowserWindow: 500,
    fanoutSizes: [2], fanoutCount: 3,
    perKind: 1, kinds: ['close'], lanes: {}, failoverRate: 5, failoverTabs: 2,
  },
};

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    smoke: { type: 'boolean' },
    only: { type: 'string' },
    phases: { type: 'string' },
    out: { type: 'string' },
    render: { type: 'string' },
    trials: { type: 'string' },
    notifications: { type: 'string' },
    name: { type: 'string' },
    soak: { type: 'boolean' },
    'soak-minutes': { type: 'string' },
    'soak-tabs': { type: 'string' },
    'soak-rate': { type: 'string' },
    'soak-failover': { type: 'string' },
    'soak-warmup': { type: 'string' },
    'soak-sample': { type: 'string' },
  },
});

/** A positive number flag, or its default; a bad value stops the run with a message. */
function numberFlag(name, fallback) {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

/** Writes <dir>/<name, or the mode>.{json,md,svg} from a run's results; returns the markdown. */
function write(dir, results) {
  mkdirSync(dir, { recursive: true });
  const report = markdown(results);
  const d = derive(results);
  const { derived: _, ...raw } = results;
  const base = join(dir, results.name ?? results.mode);
  writeFileSync(`${base}.json`, `${JSON.stringify({ ...raw, derived: d }, null, 2)}\n`);
  writeFileSync(`${base}.md`, `${report}\n`);
  writeFileSync(`${base}.svg`, svg(d, { title: `tabbus bench (${results.mode}), ${results.date.slice(0, 10)}, ${results.machine.cpus.split(' ×')[0]} cores`, refTabs: d.tabbus.refTabs ?? 10 }));
  return report;
}

if (flags.render) {
  const saved = JSON.parse(readFileSync(flags.render, 'utf8'));
  console.log(write(resolve(flags.render, '..'), saved));
  process.exit(0);
}
const mode = flags.smoke ? 'smoke' : flags.quick ? 'quick' : 'full';
// A p99 of 20 trials is their slowest one: more trials (a run of a phase or two) give a tail that says more.
const params = { ...MODES[mode], perKind: Math.round(numberFlag('trials', MODES[mode].perKind)), fanoutCount: Math.round(numberFlag('notifications', MODES[mode].fanoutCount)) };
const contenders = flags.only ? flags.only.split(',') : CONTENDERS;
for (const c of contenders) if (!CONTENDERS.includes(c)) throw new Error(`--only: unknown contender "${c}" (${CONTENDERS.join(', ')})`);
const phases = flags.phases ? flags.phases.split(',') : PHASES;
const outDir = resolve(flags.out ?? here(mode === 'smoke' ? '.smoke' : 'results'));

const started = Date.now();
const log = (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);

for (const file of ['packages/odoo/dist/tabbus.global.min.js', 'packages/dev-server/dist/cli.mjs']) {
  if (!existsSync(join(REPO, file))) {
    console.error(`${file} is missing: run \`pnpm build\` first`);
    process.exit(1);
  }
}

function machine(chromium) {
  const osRelease = existsSync('/etc/os-release') ? /PRETTY_NAME="?([^"\n]+)/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] : undefined;
  const cpu = cpus();
  return {
    os: `${osRelease ?? type()} (${type()} ${release()})`,
    cpus: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB (${Math.round(freemem() / 2 ** 30)} free)`,
    node: process.version,
    chromium,
    loadavg: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

/** Runs `fn` for each contender, all at once: for figures the CPU does not move (counts). */
async function parallel(fn) {
  const out = {};
  await Promise.all(contenders.map(async (c) => (out[c] = await fn(c))));
  return out;
}

/** One contender after the other: for timings, which share two cores badly. */
async function sequential(fn) {
  const out = {};
  for (const c of contenders) out[c] = await fn(c);
  return out;
}

if (flags.soak) {
  // The soak measures tabbus alone, for minutes: nothing of the comparison runs.
  const soakParams = {
    minutes: numberFlag('soak-minutes', 10),
    tabs: Math.round(numberFlag('soak-tabs', 10)),
    rate: numberFlag('soak-rate', 20),
    failoverEvery: numberFlag('soak-failover', 30),
    warmup: numberFlag('soak-warmup', 30),
    sampleEvery: numberFlag('soak-sample', 60),
  };
  await buildPage();
  const browser = await launch();
  const meta = { date: new Date().toISOString(), machine: machine(`Chromium ${browser.version()}`) };
  let soak;
  try {
    soak = await runSoak({ browser, ...soakParams, log });
  } finally {
    await browser.close();
  }
  meta.machine.loadavgAtEnd = loadavg().map((l) => l.toFixed(2)).join(' ');
  const dir = resolve(flags.out ?? here('results'));
  mkdirSync(dir, { recursive: true });
  const report = soakMarkdown(soak, meta);
  writeFileSync(join(dir, 'soak.json'), `${JSON.stringify({ ...meta, durationMs: Date.now() - started, ...soak }, null, 2)}\n`);
  writeFileSync(join(dir, 'soak.md'), `${report}\n`);
  console.log(`\n${report}`);
  log(`written to ${dir}/soak.{md,json}`);
  process.exit(0);
}

log(`mode ${mode}: ${contenders.join(', ')}; phases ${phases.join(', ')}`);
await buildPage();
const results = { mode, ...(flags.name && { name: flags.name }), date: new Date().toISOString(), params, contenders, bytes: await measureBytes() };
log('bytes measured');

const browser = await launch();
results.machine = machine(`Chromium ${browser.version()}`);
const phase = {
  load: (contender) => measureLoad({ browser, contender, sizes: params.sizes, window0: params.window0, window2: params.window2, longHidden: params.longHidden ?? null, log }),
  idle: (contender) => measureIdle({ browser, contender, window: params.idleWindow, tabs: params.idleTabs, browserTabs: params.idleBrowserTabs, browserWindow: params.idleBrowserWindow }),
  fanout: async (contender) => {
    const r = await measureFanout({ browser, contender, sizes: params.fanoutSizes, count: params.fanoutCount });
    log(`fan-out ${contender}: ${Object.entries(r.sizes).map(([n, s]) => `${n} tabs p50 ${s.p50} p99 ${s.p99} ms`).join(', ')}`);
    return r;
  },
  // naive has no leader to lose.
  failover: async (contender, turn) => {
    if (contender === 'naive') return undefined;
    const r = await measureFailover({ browser, contender, perKind: params.perKind, lanes: params.lanes[contender] ?? 1, tabs: params.failoverTabs, rate: params.failoverRate, ...(params.kinds ? { kinds: params.kinds } : {}), turn, log: mode === 'full' ? () => {} : log });
    log(`failover ${contender}: close ${JSON.stringify(r.close)} crash ${JSON.stringify(r.crash)} lost ${r.lost} dup ${r.duplicated}${r.stuckLanes ? `, ${r.stuckLanes} lane(s) left with no leader` : ''}`);
    return r;
  },
};
try {
  if (mode === 'smoke') {
    // Nothing is measured: every contender runs its phases at the same time, to finish in seconds.
    for (const name of phases) results[name] = {};
    await parallel(async (c) => {
      for (const name of phases) results[name][c] = await phase[name](c);
    });
  } else {
    // Counts (requests, polls, timer callbacks) do not depend on the CPU: contenders side by side.
    // So do failovers that take seconds (odoo-crosstab, tabex: in lanes), next to the light idle phase.
    const slow = contenders.filter((c) => params.lanes[c]);
    if (phases.includes('load')) results.load = await parallel(phase.load);
    if (phases.includes('failover')) results.failover = {};
    await Promise.all([
      phases.includes('idle') ? parallel(phase.idle).then((r) => (results.idle = r)) : null,
      phases.includes('failover') ? parallel((c) => (slow.includes(c) ? phase.failover(c) : undefined)).then((r) => Object.assign(results.failover, r)) : null,
    ]);
    // Short timings do depend on the CPU: one contender at a time.
    if (phases.includes('fanout')) results.fanout = await sequential(phase.fanout);
    // The quick failovers (broadcast-channel and tabbus) are compared with each other: their browsers
    // run side by side and take turns, one trial each, so a change in the machine's load over the phase
    // weighs on both alike (one after the other, the second ran on a hotter machine).
    if (phases.includes('failover')) {
      const turn = turns();
      const quick = contenders.filter((c) => !slow.includes(c) && c !== 'naive');
      const timed = await Promise.all(quick.map((c) => phase.failover(c, turn)));
      quick.forEach((c, i) => (results.failover[c] = timed[i]));
    }
  }
} finally {
  await browser.close();
}
results.durationMs = Date.now() - started;
results.machine.loadavgAtEnd = loadavg().map((l) => l.toFixed(2)).join(' ');

const report = write(outDir, results);
console.log(`\n${report}`);
log(`written to ${outDir}/${mode}.{md,json,svg}`);

if (mode === 'smoke') {
  const failures = smokeChecks(results);
  if (failures.length) {
    console.error(`\nsmoke: ${failures.length} check(s) failed:\n${failures.map((f) => `  ✗ ${f}`).join('\n')}`);
    process.exit(1);
  }
  console.log('smoke: every contender ran every phase');
}
