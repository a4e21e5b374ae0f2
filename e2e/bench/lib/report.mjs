// The markdown report: a summary per contender, the full load matrix, and tabbus against its
// targets with the ratio to the best peer. Reports what was measured; judges nothing but the targets.
import { CONTENDERS } from './browser.mjs';
import { percentile, summary } from './stats.mjs';

const KB = 1024;
const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '—' : Number(v).toFixed(digits));
const kb = (bytes) => (bytes ? `${(bytes / KB).toFixed(2)} KB` : '—');
const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : null);
const PEERS = CONTENDERS.filter((c) => c !== 'tabbus');

/** Gap summary of one kind, failed takeovers (null gaps) counted apart. */
export function gapSummary(gaps = []) {
  const ok = gaps.filter((g) => g !== null);
  return { ...summary(ok), failed: gaps.length - ok.length };
}

const gapCell = (s) => (s && s.n ? `${fmt(s.p50)} / ${fmt(s.p99)} / ${fmt(s.max)}${s.failed ? ` (${s.failed} no takeover)` : ''}` : 'n/a');

/** Derived figures per contender, the ones the tables and the chart show. */
export function derive(results) {
  const out = {};
  for (const c of CONTENDERS) {
    const load = results.load?.[c]?.rows ?? [];
    const at = (tabs, visibility, rate) => load.find((r) => r.tabs === tabs && r.visibility === visibility && r.rate === rate);
    const sizes = [...new Set(load.map((r) => r.tabs))];
    const ref = sizes.includes(10) ? 10 : sizes.at(-1);
    const fo = results.failover?.[c];
    const idle = results.idle?.[c];
    const followerMean = (phase, key) => (idle ? mean(idle[phase].followers.map((f) => f[key])) : null);
    out[c] = {
      maxPeak: load.length ? Math.max(...load.map((r) => r.peakPollsPerSession)) : null,
      refTabs: ref,
      visible2: at(ref, 'visible', 2)?.requestsPerMin ?? null,
      hidden2: at(ref, 'hidden', 2)?.requestsPerMin ?? null,
      hiddenBySize: Object.fromEntries(sizes.map((n) => [n, at(n, 'hidden', 2)?.requestsPerMin ?? null])),
      close: fo ? gapSummary(fo.close) : null,
      crash: fo ? gapSummary(fo.crash) : null,
      lost: fo?.lost ?? null,
      lanes: fo?.lanes ?? null,
      leaderless: fo?.lanesWithoutLeaderAtEnd ?? 0,
      duplicated: fo?.duplicated ?? null,
      fanout: results.fanout?.[c]?.sizes ?? {},
      idleTimersVisible: followerMean('visible', 'timersPerMin'),
      idleTimersHidden: followerMean('hidden', 'timersPerMin'),
      idleWritesVisible: followerMean('visible', 'writesPerMin'),
      idleWritesHidden: followerMean('hidden', 'writesPerMin'),
      idleBrowser: idle?.browser ?? null,
      bytes: results.bytes?.[c]?.code ?? null,
    };
  }
  return out;
}

/** One row per contender the run measured (`ran`: a run of some contenders lists only them). */
function summaryTable(d, fanoutSizes, ran) {
  const head = [
    'contender',
    'peak polls / browser (any N)',
    `req/min, ${d.tabbus.refTabs ?? '—'} tabs, 2/s: visible → hidden`,
    'failover close p50 / p99 / max (ms)',
    'failover crash p50 / p99 / max (ms)',
    'lost / duplicated',
    ...fanoutSizes.map((n) => `fan-out ${n} tabs p50 / p99 (ms)`),
    'idle follower timers/min: visible / hidden',
    'idle follower storage writes/min: visible / hidden',
    `idle browser, ${d.tabbus.idleBrowser?.tabs ?? 5} visible tabs: timers/min, writes/min (all tabs), followers awake`,
    'browser code min+gzip',
  ];
  const rows = CONTENDERS.filter((c) => ran.includes(c)).map((c) => {
    const x = d[c];
    return [
      `**${c}**`,
      fmt(x.maxPeak),
      `${fmt(x.visible2)} → ${fmt(x.hidden2)}`,
      c === 'naive' ? 'n/a (every tab polls)' : gapCell(x.close),
      c === 'naive' ? 'n/a' : gapCell(x.crash),
      c === 'naive' ? 'n/a' : `${fmt(x.lost)} / ${fmt(x.duplicated)}${x.leaderless ? ` (${x.leaderless} of ${x.lanes} browsers ended with no leader)` : ''}`,
      ...fanoutSizes.map((n) => (x.fanout[n] ? `${fmt(x.fanout[n].p50)} / ${fmt(x.fanout[n].p99)}${x.fanout[n].missing ? ` (${x.fanout[n].missing} missing)` : ''}` : '—')),
      `${fmt(x.idleTimersVisible, 1)} / ${fmt(x.idleTimersHidden, 1)}`,
      `${fmt(x.idleWritesVisible, 1)} / ${fmt(x.idleWritesHidden, 1)}`,
      x.idleBrowser ? `${fmt(x.idleBrowser.timersPerMin)}, ${fmt(x.idleBrowser.writesPerMin)}, ${fmt(x.idleBrowser.awakeFollowers)}` : '—',
      kb(x.bytes),
    ];
  });
  return table(head, rows);
}

function loadTable(results) {
  const head = ['contender', 'tabs', 'visible 0/s: peak, req/min', 'visible 2/s', 'hidden 2/s', 'hidden 0/s'];
  const rows = [];
  for (const c of CONTENDERS) {
    const load = results.load?.[c]?.rows ?? [];
    for (const n of [...new Set(load.map((r) => r.tabs))]) {
      const cell = (visibility, rate) => {
        const r = load.find((x) => x.tabs === n && x.visibility === visibility && x.rate === rate);
        return r ? `${r.peakPollsPerSession}, ${r.requestsPerMin}` : '—';
      };
      rows.push([c, n, cell('visible', 0), cell('visible', 2), cell('hidden', 2), cell('hidden', 0)]);
    }
  }
  return table(head, rows);
}

/** The best peer for a figure where lower is better: [name, value]. */
function bestPeer(d, pick) {
  let best = null;
  for (const c of PEERS) {
    const v = pick(d[c], c);
    if (v === null || v === undefined) continue;
    if (!best || v < best[1]) best = [c, v];
  }
  return best;
}

const ratio = (mine, best) => {
  if (mine === null || best === null || best === undefined) return '—';
  if (best === 0) return mine === 0 ? '1× (both 0)' : `${fmt(mine, 1)} vs 0`;
  return `${(mine / best).toFixed(2)}×`;
};

function targetsTable(d, results) {
  const t = d.tabbus;
  const rows = [];
  const add = (target, mine, met, pick, { skipNaive = false } = {}) => {
    const best = bestPeer(d, (x, c) => (skipNaive && c === 'naive' ? null : pick(x)));
    rows.push([target, mine === null ? '—' : String(mine), met === null ? '—' : met ? 'met' : '**missed**', best ? `${best[0]}: ${fmt(best[1], best[1] % 1 ? 1 : 0)}` : '—', ratio(pick(t), best?.[1] ?? null)]);
  };
  add('1 open poll per browser for every N', t.maxPeak, t.maxPeak === null ? null : t.maxPeak <= 1, (x) => x.maxPeak);
  // Hidden requests against naive, at every N measured: the worst ratio is the one reported.
  const naiveHidden = d.naive.hiddenBySize;
  const ratios = Object.entries(t.hiddenBySize)
    .filter(([n, v]) => v !== null && naiveHidden[n])
    .map(([n, v]) => [Number(n), v / naiveHidden[n]]);
  const worst = ratios.length ? ratios.reduce((a, b) => (b[1] > a[1] ? b : a)) : null;
  rows.push([
    'hidden tabs, 2/s: requests/min ≤ 1/10 of naive (worst N)',
    worst ? `${fmt(t.hiddenBySize[worst[0]])} vs naive ${fmt(naiveHidden[worst[0]])} at N=${worst[0]} (${worst[1].toFixed(3)}×)` : '—',
    worst ? (worst[1] <= 0.1 ? 'met' : '**missed**') : '—',
    (() => {
      const b = bestPeer(d, (x, c) => (c === 'naive' ? null : x.hidden2));
      return b ? `${b[0]}: ${fmt(b[1])} at N=${t.refTabs}` : '—';
    })(),
    ratio(t.hidden2, bestPeer(d, (x, c) => (c === 'naive' ? null : x.hidden2))?.[1] ?? null),
  ]);
  add('failover p99 after close ≤ 100 ms', t.close?.p99 ?? null, t.close?.n ? t.close.p99 <= 100 && !t.close.failed : null, (x) => x.close?.p99 ?? null, { skipNaive: true });
  add('failover p99 after crash ≤ 500 ms', t.crash?.p99 ?? null, t.crash?.n ? t.crash.p99 <= 500 && !t.crash.failed : null, (x) => x.crash?.p99 ?? null, { skipNaive: true });
  add('0 lost across failovers', t.lost, t.lost === null ? null : t.lost === 0, (x) => x.lost, { skipNaive: true });
  add('0 duplicated across failovers', t.duplicated, t.duplicated === null ? null : t.duplicated === 0, (x) => x.duplicated, { skipNaive: true });
  for (const [label, key] of [
    ['idle hidden follower: 0 timer callbacks/min', 'idleTimersHidden'],
    ['idle hidden follower: 0 storage writes/min', 'idleWritesHidden'],
    ['idle visible follower: 0 timer callbacks/min', 'idleTimersVisible'],
    ['idle visible follower: 0 storage writes/min', 'idleWritesVisible'],
  ]) {
    add(label, t[key] === null ? null : fmt(t[key], 1), t[key] === null ? null : t[key] === 0, (x) => x[key], { skipNaive: true });
  }
  const ib = t.idleBrowser;
  add(`idle browser of ${ib?.tabs ?? 5} visible tabs: ≤ 20 timer callbacks/min, all tabs`, ib ? fmt(ib.timersPerMin) : null, ib ? ib.timersPerMin <= 20 : null, (x) => x.idleBrowser?.timersPerMin ?? null, { skipNaive: true });
  add(`idle browser of ${ib?.tabs ?? 5} visible tabs: 0 storage writes/min, all tabs`, ib ? fmt(ib.writesPerMin) : null, ib ? ib.writesPerMin === 0 : null, (x) => x.idleBrowser?.writesPerMin ?? null, { skipNaive: true });
  add(`idle browser of ${ib?.tabs ?? 5} visible tabs: at most one follower awake`, ib ? fmt(ib.awakeFollowers) : null, ib ? ib.awakeFollowers <= 1 : null, (x) => x.idleBrowser?.awakeFollowers ?? null, { skipNaive: true });
  const iife = results.bytes?.tabbus?.iife ?? null;
  rows.push([
    'script-tag IIFE ≤ 10 KB min+gzip',
    iife === null ? '—' : `${kb(iife)} (ESM createOdooBus alone: ${kb(results.bytes.tabbus.esmCreateOdooBus)}${familyBytes(results.bytes.tabbus)})`,
    iife === null ? '—' : iife <= 10 * KB ? 'met' : '**missed**',
    (() => {
      const b = bestPeer(d, (x, c) => (c === 'naive' ? null : x.bytes));
      return b ? `${b[0]}: ${kb(b[1])}` : '—';
    })(),
    ratio(iife, bestPeer(d, (x, c) => (c === 'naive' ? null : x.bytes))?.[1] ?? null),
  ]);
  return table(['target (tabbus)', 'tabbus measured', 'target', 'best peer', 'tabbus ÷ best peer'], rows);
}

/** The one-family script tags' bytes, when the results have them (runs before they existed do not). */
const familyBytes = (b) => (b.iifeLongpolling && b.iifeWebsocket ? `; Odoo 8–15 build: ${kb(b.iifeLongpolling)}, Odoo 16+ build: ${kb(b.iifeWebsocket)}` : '');

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Fan-out latency per contender and size, whole and in its two parts (server → polling tab, then the relay). */
function fanoutTable(d, fanoutSizes) {
  const cell = (s) => (s ? `${fmt(s.p50)} / ${fmt(s.p99)}` : '—');
  const rows = CONTENDERS.flatMap((c) =>
    fanoutSizes.filter((n) => d[c].fanout[n]).map((n) => {
      const f = d[c].fanout[n];
      return [c, n, cell(f), cell(f.toLeader), cell(f.relay)];
    }),
  );
  const head = ['contender', 'tabs', 'every tab p50 / p99 (ms)', 'server → the polling tab', 'polling tab → each other tab'];
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The failover gap in its three parts, medians per contender and kind. */
function failoverPartsTable(results) {
  const rows = [];
  for (const c of CONTENDERS) {
    for (const kind of ['close', 'crash']) {
      const parts = results.failover?.[c]?.[`${kind}Parts`];
      if (!parts?.length) continue;
      const p50 = (values) => fmt(percentile(values, 50));
      rows.push([c, kind, parts.length, p50(parts.map((x) => x.elected)), p50(parts.map((x) => x.sent - x.elected)), p50(parts.map((x) => x.gap - x.sent)), p50(parts.map((x) => x.gap))]);
    }
  }
  if (!rows.length) return null;
  const head = ['contender', 'failover', 'trials', 'to "I lead"', 'then to its poll', 'then to the server', 'gap'];
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function markdown(results) {
  const d = derive(results);
  const fanoutSizes = [...new Set(CONTENDERS.flatMap((c) => Object.keys(d[c].fanout).map(Number)))].sort((a, b) => a - b);
  const m = results.machine;
  const fo = results.failover?.tabbus;
  const laned = Object.entries(results.params.lanes).filter(([c]) => results.failover?.[c]);
  const problems = CONTENDERS.flatMap((c) => ['load', 'idle', 'fanout', 'failover'].flatMap((p) => (results[p]?.[c]?.problems ?? []).map((x) => `${c} (${p}): ${x}`)));
  return [
    `# tabbus bench (${results.mode})`,
    '',
    `${results.date} · ${m.os} · ${m.cpus} · ${m.memory} · Node ${m.node} · ${m.chromium} · load average ${m.loadavg} at start, ${m.loadavgAtEnd ?? '?'} at end · ${Math.round(results.durationMs / 1000)} s`,
    '',
    'Same page, same dev server (Odoo 15 long-polling), same scenario; only the coordination layer differs. ' +
      'Numbers from one run on a shared machine: noisy, reported as measured.',
    '',
    '## Summary',
    '',
    summaryTable(d, fanoutSizes, results.contenders ?? CONTENDERS),
    '',
    `Failover: ${fo ? `${fo.close.length} closes and ${fo.crash.length} crashes per contender` : 'not run'}, a stream of ${results.params.failoverRate} notifications/s throughout, ${results.params.failoverTabs} tabs per browser; ` +
      `gap = from just before the close/crash to the new leader's first poll reaching the server. ` +
      `${laned.map(([c, n]) => `${c}: ${n} browsers side by side (its takeovers take seconds), `).join('')}${laned.length ? 'the others' : 'every contender'} one trial at a time` +
      `${!results.params.turns ? '' : ', in turns (one trial of each in its own browser, then the next: a change in load over the phase weighs on all alike)'}. ` +
      `Lost/duplicated: over every tab alive at the end, ids published after the tab was ready. Requests/min: every bus route (polls and session checks). ` +
      `Idle: mean over the follower tabs of a ${results.params.idleTabs}-tab browser (${results.params.idleWindow / 1000} s windows), the leader visible; tabex's timers run in a Web Worker and are counted as the worker's messages. ` +
      `Idle browser: ${results.params.idleBrowserTabs ?? 5} visible tabs of one more browser (${(results.params.idleBrowserWindow ?? results.params.idleWindow) / 1000} s window), every tab summed (leader included), and the followers that ran any timer. ` +
      `Bytes, min+gzip (gzip -9): what the page loads for the contender, its package plus the bench's glue (and, but for tabbus, the bench's poll loop); ` +
      `odoo-crosstab is this bench's reimplementation (Odoo's own CrossTabBus runs on its web client's class system and RPC layer); naive loads the tabbus bundle.`,
    '',
    '## Targets',
    '',
    targetsTable(d, results),
    '',
    ...(failoverPartsTable(results)
      ? [
          '## Failover, in three parts',
          '',
          'Medians, in ms, of each trial cut in three: from just before the close or crash until the new leader says it took over ' +
            "(the election; tabbus: its role machine's time, the others: when their code hears it), then until its first poll leaves (fetch() called), " +
            'then until the server has that poll (the browser process, the network stack and the server, all competing for the same cores as the tabs). ' +
            'Medians of parts do not add up to the median gap.',
          '',
          failoverPartsTable(results),
          '',
        ]
      : []),
    ...(fanoutSizes.some((n) => CONTENDERS.some((c) => d[c].fanout[n]?.relay))
      ? [
          '## Fan-out, in two parts',
          '',
          'From just before Node publishes to the handler: to the tab that polls (the server and the network stack, the same for every contender, ' +
            "then that tab's own handling of the reply: tabbus posts the batch to the other tabs before its own handler runs), " +
            'and from that tab to each other tab (what the coordination layer adds). ' +
            "naive has no second part: every tab polls. A contender's row has no parts when its leader changed during the measurement.",
          '',
          fanoutTable(d, fanoutSizes),
          '',
        ]
      : []),
    '## Server load: peak concurrent polls per session, bus requests/min',
    '',
    `Each cell: peak polls held at once for the browser's session, bus requests/min. Windows: ${results.params.window0 / 1000} s at 0/s, ${results.params.window2 / 1000} s at 2/s` +
      `${results.params.longHidden ? `, ${results.params.longHidden.window / 1000} s for hidden 2/s at ${results.params.longHidden.tabs} tabs (tabbus polls once per 30 s while every tab is hidden: shorter windows may see none)` : ' (tabbus polls once per 30 s while every tab is hidden: a short window may see none)'}. ` +
      'At 0/s a poll is held 50 s, so a short window sees few requests. ' +
      "naive tabs beyond 6 wait for one of Chromium's 6 connections per host: its peak cannot exceed 6.",
    '',
    loadTable(results),
    '',
    ...(problems.length ? ['## Page errors', '', ...problems.map((p) => `- ${p}`), ''] : []),
  ].join('\n');
}
