// The part of the bench page that is the same for every contender: it records what the page
// delivered and when, which tab polls, and when each poll left; then it loads the contender named by
// ?c= and starts it. Node reads everything through `window.bench` (see lib/browser.mjs).
// Not counted in any contender's bytes.

const params = new URLSearchParams(location.search);

/** Vendor scripts each contender needs before its own glue (served by the dev server, see lib/server.mjs). */
const VENDOR = {
  naive: ['/vendor/tabbus/tabbus.global.min.js'],
  tabbus: ['/vendor/tabbus/tabbus.global.min.js'],
  tabex: ['/vendor/tabex/tabex.min.js'],
  'odoo-crosstab': [],
  'broadcast-channel': [],
};

const bench = {
  contender: params.get('c') ?? '',
  /** The contender's code is loaded (with ?defer=1 it waits for window.benchGo()). */
  loaded: false,
  ready: false,
  /** Date.now() once the contender started listening (ids published later must arrive). */
  readyAt: 0,
  /** Every id the contender handed to the application, in order, repeats included. */
  delivered: [],
  /** id → Date.now() of its first delivery here. */
  arrivals: {},
  /** 'starting' | 'leader' (this tab polls) | 'follower' | 'stopped'. */
  role: 'starting',
  /** Date.now() when this tab last became leader. */
  leaderSince: 0,
  /** Date.now() of each /longpolling/poll this tab sent (the latest 500). */
  pollSends: [],
  /**
   * With ?record=counts (the soak, which runs for minutes and measures the heap): `delivered` and
   * `arrivals` stay empty, so the harness itself does not grow; this summary is kept instead.
   */
  counts: { delivered: 0, firstId: 0, lastId: 0, outOfOrder: 0 },
  error: null,
};
const countsOnly = params.get('record') === 'counts';
window.bench = bench;

// Poll sends are seen at fetch(): every contender long-polls through it. Installed before any
// contender code runs, so the ones that capture `fetch` at load capture this wrapper.
const realFetch = window.fetch.bind(window);
window.fetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (url.includes('/longpolling/poll')) {
    bench.pollSends.push(Date.now());
    if (bench.pollSends.length > 500) bench.pollSends.splice(0, 100);
  }
  return realFetch(input, init);
};

/** What a contender's glue gets: the scenario (channels, user) and where to report to. */
const host = {
  channels: (params.get('channels') ?? 'bench').split(','),
  uid: Number(params.get('uid')),
  db: params.get('db') ?? '',
  deliver(items) {
    const at = Date.now();
    for (const item of items) {
      const c = bench.counts;
      c.delivered++;
      // Ids reach the application in increasing order, each once: anything else is counted.
      if (item.id <= c.lastId) c.outOfOrder++;
      else c.lastId = item.id;
      if (c.firstId === 0) c.firstId = item.id;
      if (countsOnly) continue;
      bench.delivered.push(item.id);
      if (!(item.id in bench.arrivals)) bench.arrivals[item.id] = at;
    }
  },
  /** `since`: when the contender says it took over, if it says (tabbus: its role machine's time). */
  setRole(role, since) {
    if (role === 'leader' && bench.role !== 'leader') bench.leaderSince = since ?? Date.now();
    bench.role = role;
  },
};

function load(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

(async () => {
  try {
    const vendor = VENDOR[bench.contender];
    if (!vendor) throw new Error(`unknown contender "${bench.contender}"`);
    for (const src of vendor) await load(src);
    // naive and tabbus share one glue file; the glue reads host.contender.
    await load(`/build/${bench.contender === 'naive' ? 'tabbus' : bench.contender}.js`);
    host.contender = bench.contender;
    // ?defer=1: loaded, but started only when Node says so. Node loads every tab of a measurement
    // before the first one polls: in a naive browser, 6 held polls take all of Chromium's
    // connections to the host and a page load would queue behind them.
    bench.loaded = true;
    if (params.get('defer')) await new Promise((resolve) => (window.benchGo = resolve));
    await window.__benchStart(host);
    bench.readyAt = Date.now();
    bench.ready = true;
  } catch (error) {
    bench.error = String(error?.stack ?? error);
    console.error(error);
  }
})();
