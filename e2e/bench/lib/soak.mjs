// The soak (`pnpm bench --soak`): a tab open for a week, compressed. One browser with N tabbus tabs on the
// dev server (Odoo 15 long-polling) takes a steady stream of notifications for minutes; every tab calls
// `once` for each notification (a once-per-browser effect, as a beep) and listens to a `shared` value the
// leader updates with each batch (an unread counter); every `failoverEvery` seconds the leadership moves.
// Each tab's JS heap (after a forced GC) and what the bus exposes of its own state are read after the
// warm-up, at every sample, and at the end. Nothing may grow with the number of notifications or failovers.
//
// Failovers follow a cycle of eight: handoff ×3, close, handoff ×3, crash. A handoff moves the connection
// to the next tab in line and keeps every tab alive, so most tabs live from the warm-up to the end and their
// heaps can be compared; a close or a crash (CDP Page.crash) kills the leader, and a new tab replaces it.
import { newBrowser, openTab, settle, sleep } from './browser.mjs';
import { BenchServer } from './server.mjs';
import { publishStream } from './stream.mjs';

const FAILOVER_CYCLE = ['handoff', 'handoff', 'handoff', 'close', 'handoff', 'handoff', 'handoff', 'crash'];

/** What the page does with the bus, as an application would: a `once` per notification, a shared counter. */
function installUse(page) {
  return page.evaluate(() => {
    const bus = window.benchBus;
    const soak = { onceRan: 0, sharedSeen: 0, sharedSet: 0, errors: 0 };
    window.soak = soak;
    const unread = bus.shared('soak:unread');
    unread.on(() => soak.sharedSeen++);
    bus.on('error', () => soak.errors++);
    bus.on('notification', (items) => {
      // The key names the notification, as `once('sound:' + id)` does: one new key per notification.
      for (const item of items) void bus.once(`soak:${item.id}`, () => soak.onceRan++);
      if (bus.state().role === 'leader') {
        unread.set((unread.get() ?? 0) + items.length);
        soak.sharedSet++;
      }
    });
  });
}

/** A tab of the soak: its page, a CDP session for heap readings, and when it started. */
async function openSoakTab(b, index) {
  const page = await openTab(b, 'tabbus');
  await installUse(page);
  const cdp = await b.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  return { page, cdp, index, startedAt: Date.now(), warm: null };
}

/** The tab's JS heap after a forced GC, what the public API says of the bus, and the sizes of its own collections (its test hook). */
async function readTab(tab) {
  await tab.cdp.send('HeapProfiler.collectGarbage');
  const { metrics } = await tab.cdp.send('Performance.getMetrics');
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  const bus = await tab.page.evaluate(() => {
    const s = window.benchBus.state();
    // The lead engineer's debug hook, when the bus has it: the sizes of its own maps and sets by name.
    const hooks = window.benchBus[Symbol.for('tabbus.testHooks')];
    const debug = typeof hooks?.sizes === 'function' ? hooks.sizes() : null;
    return {
      role: s.role,
      epoch: s.epoch,
      tabs: s.tabs,
      visibleTabs: s.visibleTabs,
      channels: s.channels.length,
      union: s.union.length,
      cursor: s.cursor,
      counters: s.counters,
      lastError: s.lastError?.code ?? null,
      delivery: window.bench.counts,
      use: window.soak,
      debug,
    };
  });
  return { at: Date.now(), heapUsed: m.JSHeapUsedSize, heapTotal: m.JSHeapTotalSize, listeners: m.JSEventListeners, nodes: m.Nodes, ...bus };
}

/**
 * What the origin holds for the scope, read from one tab (Web Locks and localStorage are per origin):
 * locks held and waiting by kind (`once` claims are held for a minute each), localStorage keys and bytes
 * by kind (`once:` claims live five minutes).
 */
function readOrigin(page) {
  return page.evaluate(async () => {
    const kindOf = (name) => {
      const m = /^tabbus:.*?:(once|tab|leader|shared|cursor|epoch|frames|elect)(?::|$)/.exec(name);
      return m ? m[1] : name.startsWith('tabbus:') ? 'other-tabbus' : 'other';
    };
    const count = (list) => {
      const byKind = {};
      for (const item of list) byKind[kindOf(item.name)] = (byKind[kindOf(item.name)] ?? 0) + 1;
      return byKind;
    };
    const q = await navigator.locks.query();
    const storage = { keys: 0, bytes: 0, byKind: {} };
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      const value = localStorage.getItem(key) ?? '';
      storage.keys++;
      // UTF-16, as browsers count the quota.
      storage.bytes += 2 * (key.length + value.length);
      storage.byKind[kindOf(key)] = (storage.byKind[kindOf(key)] ?? 0) + 1;
    }
    return { locksHeld: count(q.held), locksPending: count(q.pending), storage };
  });
}

/** Crashes a tab's renderer (CDP Page.crash): no pagehide, no goodbye. */
async function crash(context, page) {
  const cdp = await context.newCDPSession(page);
  const crashed = page.waitForEvent('crash');
  cdp.send('Page.crash').catch(() => undefined);
  await crashed;
}

const mib = (bytes) => Math.round((bytes / 2 ** 20) * 100) / 100;

/**
 * Runs the soak. `minutes` of stream at `rate`/s over `tabs` tabs, a failover every `failoverEvery` s,
 * readings after `warmup` s and every `sampleEvery` s. Returns the figures the report prints.
 */
export async function runSoak({ browser, minutes, tabs: tabCount, rate, failoverEvery, warmup, sampleEvery, log }) {
  const server = await BenchServer.start();
  const b = await newBrowser(browser, server);
  b.query = '&record=counts';
  const tabs = [];
  const gone = [];
  const failovers = [];
  const samples = [];
  let stream;
  try {
    for (let i = 0; i < tabCount; i++) tabs.push(await openSoakTab(b, i));
    await settle(tabs.map((t) => t.page), 'tabbus');
    stream = publishStream(server, rate);
    const start = Date.now();
    const end = start + minutes * 60_000;
    let nextFailover = start + failoverEvery * 1000;
    let nextSample = start + warmup * 1000;
    let nextIndex = tabCount;
    let warmedUp = false;
    log(`soak: ${tabCount} tabs, ${rate} notifications/s, a failover every ${failoverEvery} s, ${minutes} min (warm-up ${warmup} s)`);

    const sample = async (label) => {
      const readings = [];
      for (const tab of tabs) {
        const r = await readTab(tab);
        // A tab's own baseline: its first reading once it has run for the warm-up.
        if (tab.warm === null && r.at - tab.startedAt >= warmup * 1000) tab.warm = r;
        readings.push({ tab: tab.index, ...r });
      }
      const origin = await readOrigin(tabs[0].page);
      const sent = stream.sent.length;
      samples.push({ label, at: Date.now(), minute: (Date.now() - start) / 60_000, sent, failovers: failovers.length, origin, readings });
      const heaps = readings.map((r) => mib(r.heapUsed));
      log(
        `soak ${label} (${((Date.now() - start) / 60_000).toFixed(1)} min, ${sent} sent, ${failovers.length} failovers): heap MiB ${Math.min(...heaps)}–${Math.max(...heaps)}; ` +
          `once locks held ${origin.locksHeld.once ?? 0}; localStorage ${origin.storage.keys} keys (${Math.round(origin.storage.bytes / 1024)} KiB)`,
      );
    };

    while (Date.now() < end) {
      const now = Date.now();
      if (now >= nextSample) {
        await sample(warmedUp ? 'sample' : 'warm-up');
        warmedUp = true;
        nextSample = now + sampleEvery * 1000;
        continue;
      }
      if (now >= nextFailover) {
        const kind = FAILOVER_CYCLE[failovers.length % FAILOVER_CYCLE.length];
        const leaderPage = await settle(tabs.map((t) => t.page), 'tabbus');
        const leader = tabs.find((t) => t.page === leaderPage);
        const t0 = Date.now();
        if (kind === 'handoff') {
          await leader.page.evaluate(() => window.benchBus.handoff());
        } else {
          // Its last reading before it goes: the counts of a killed tab still say what it did.
          gone.push({ tab: leader.index, kind, startedAt: leader.startedAt, at: t0, last: await readTab(leader) });
          tabs.splice(tabs.indexOf(leader), 1);
          await leader.cdp.detach().catch(() => undefined);
          if (kind === 'close') await leader.page.close({ runBeforeUnload: true });
          else {
            await crash(b.context, leader.page);
            await leader.page.close();
          }
        }
        const next = await settle(tabs.map((t) => t.page), 'tabbus');
        failovers.push({ kind, ms: Date.now() - t0, sameLeader: next === leader.page });
        if (kind !== 'handoff') tabs.push(await openSoakTab(b, nextIndex++));
        nextFailover += failoverEvery * 1000;
        continue;
      }
      await sleep(Math.max(0, Math.min(nextSample, nextFailover, end) - Date.now()));
    }
    await stream.stop();
    // Let the last batches reach every tab, then the final reading.
    const lastId = stream.sent.at(-1)?.id ?? 0;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
      const lasts = await Promise.all(tabs.map((t) => t.page.evaluate(() => window.bench.counts.lastId)));
      if (lasts.every((id) => id >= lastId)) break;
    }
    await sample('end');
    const problems = [...b.problems];
    return summarize({ params: { minutes, tabs: tabCount, rate, failoverEvery, warmup, sampleEvery }, stream, tabs, gone, failovers, samples, problems });
  } finally {
    await stream?.stop().catch(() => undefined);
    await b.context.close().catch(() => undefined);
    await server.stop();
  }
}

/** The per-tab table (warm-up vs end), the origin's locks and storage, and the delivery checks. */
function summarize({ params, stream, tabs, gone, failovers, samples, problems }) {
  const sent = stream.sent.map((s) => s.id);
  const end = samples.at(-1);
  const warm = samples.find((s) => s.label === 'warm-up') ?? samples[0];
  const perTab = tabs.map((tab) => {
    const last = end.readings.find((r) => r.tab === tab.index);
    const first = tab.warm;
    // Every id published after the tab listened must have been delivered once, in order.
    const due = sent.filter((id) => id >= (last.delivery.firstId || Infinity)).length;
    return {
      tab: tab.index,
      original: tab.index < params.tabs,
      minutes: Math.round(((last.at - tab.startedAt) / 60_000) * 10) / 10,
      heapWarmMiB: first ? mib(first.heapUsed) : null,
      heapEndMiB: mib(last.heapUsed),
      growthKiB: first ? Math.round((last.heapUsed - first.heapUsed) / 1024) : null,
      listenersWarm: first?.listeners ?? null,
      listenersEnd: last.listeners,
      tabsSeen: last.tabs,
      role: last.role,
      delivered: last.delivery.delivered,
      due,
      outOfOrder: last.delivery.outOfOrder,
      onceRan: last.use.onceRan,
      errors: last.use.errors,
      debugWarm: first?.debug ?? null,
      debugEnd: last.debug,
    };
  });
  const onceRanTotal = perTab.reduce((n, t) => n + t.onceRan, 0) + gone.reduce((n, g) => n + g.last.use.onceRan, 0);
  return {
    params,
    sent: sent.length,
    failovers,
    gone: gone.map((g) => ({ tab: g.tab, kind: g.kind, minutes: Math.round(((g.at - g.startedAt) / 60_000) * 10) / 10 })),
    perTab,
    onceRanTotal,
    origin: { warm: warm.origin, end: end.origin },
    series: samples.map((s) => ({
      minute: Math.round(s.minute * 100) / 100,
      label: s.label,
      sent: s.sent,
      failovers: s.failovers,
      heapMiB: s.readings.map((r) => ({ tab: r.tab, heap: mib(r.heapUsed) })),
      onceLocks: s.origin.locksHeld.once ?? 0,
      storageKeys: s.origin.storage.keys,
      storageKiB: Math.round(s.origin.storage.bytes / 1024),
    })),
    problems,
  };
}

/** The soak's markdown report. */
export function soakMarkdown(r, meta) {
  const lines = [];
  const p = r.params;
  lines.push(`# tabbus soak: ${p.tabs} tabs, ${p.rate} notifications/s, a failover every ${p.failoverEvery} s, ${p.minutes} min`);
  lines.push('');
  lines.push(`${meta.date}, ${meta.machine.cpus}, ${meta.machine.chromium}, Node ${meta.machine.node}; load average ${meta.machine.loadavg} → ${meta.machine.loadavgAtEnd}.`);
  lines.push(`Odoo 15 long-polling (dev server). Every tab calls \`once('soak:' + id)\` per notification and listens to a \`shared\` counter the leader sets per batch. ` +
    `Failovers cycle handoff ×3, close, handoff ×3, crash (a killed leader is replaced by a new tab). Heap: CDP \`Performance.getMetrics\` JSHeapUsedSize after \`HeapProfiler.collectGarbage\`; a tab's warm-up reading is its first after ${p.warmup} s of life.`);
  lines.push('');
  const kinds = {};
  for (const f of r.failovers) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
  lines.push(`Sent ${r.sent} notifications; ${r.failovers.length} failovers (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')}); once ran ${r.onceRanTotal} times in all (one per notification expected, a killed tab's last count included).`);
  if (r.problems.length) lines.push(`Page errors: ${r.problems.slice(0, 5).join('; ')}`);
  lines.push('');
  lines.push('| tab | lived (min) | heap after warm-up (MiB) | heap at end (MiB) | growth (KiB) | event listeners warm → end | tabs known | delivered / due | out of order | once ran here |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const t of r.perTab) {
    lines.push(
      `| ${t.tab}${t.original ? '' : ' (new)'} | ${t.minutes} | ${t.heapWarmMiB ?? '–'} | ${t.heapEndMiB} | ${t.growthKiB ?? '–'} | ${t.listenersWarm ?? '–'} → ${t.listenersEnd} | ${t.tabsSeen} | ${t.delivered} / ${t.due} | ${t.outOfOrder} | ${t.onceRan} |`,
    );
  }
  lines.push('');
  const o = r.origin;
  const fmt = (x) => Object.entries(x).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  lines.push('| origin (one tab reads it) | after warm-up | end |');
  lines.push('| --- | --- | --- |');
  lines.push(`| Web Locks held | ${fmt(o.warm.locksHeld)} | ${fmt(o.end.locksHeld)} |`);
  lines.push(`| Web Locks waiting | ${fmt(o.warm.locksPending)} | ${fmt(o.end.locksPending)} |`);
  lines.push(`| localStorage keys | ${o.warm.storage.keys} (${fmt(o.warm.storage.byKind)}) | ${o.end.storage.keys} (${fmt(o.end.storage.byKind)}) |`);
  lines.push(`| localStorage size | ${Math.round(o.warm.storage.bytes / 1024)} KiB | ${Math.round(o.end.storage.bytes / 1024)} KiB |`);
  lines.push('');
  lines.push('Over time (heap per tab, MiB):');
  lines.push('');
  lines.push('| minute | sent | failovers | heap min–max | once locks held | localStorage keys (KiB) |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const s of r.series) {
    const heaps = s.heapMiB.map((h) => h.heap);
    lines.push(`| ${s.minute} | ${s.sent} | ${s.failovers} | ${Math.min(...heaps)}–${Math.max(...heaps)} | ${s.onceLocks} | ${s.storageKeys} (${s.storageKiB}) |`);
  }
  const debug = r.perTab.find((t) => t.debugEnd);
  lines.push('');
  lines.push(debug ? `Bus internals (the test hook's \`sizes()\`: tabs known, once keys remembered, shared keys, channels joined, event listeners), tab ${debug.tab}: warm-up ${JSON.stringify(debug.debugWarm)}, end ${JSON.stringify(debug.debugEnd)}.` : 'Bus internals: the bus has no test hook; only what `state()` exposes is read (tabs known, channels, union).');
  return lines.join('\n');
}
