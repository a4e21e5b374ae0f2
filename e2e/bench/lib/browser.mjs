// Chromium and its tabs: one BrowserContext is one browser (one cookie jar, one localStorage, one
// session at the server); tabs are `context.newPage()` (a popup would share its opener's renderer).
import { chromium } from '@playwright/test';
import { existsSync } from 'node:fs';

export const CONTENDERS = ['naive', 'odoo-crosstab', 'tabex', 'broadcast-channel', 'tabbus'];

const executablePath = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/lib/chromium/chromium'].find((p) => existsSync(p));
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launch() {
  return chromium.launch({ headless: true, ...(executablePath ? { executablePath } : {}), args: ARGS });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Headless pages are always visible: this override lets the bench hide them (TOOLCHAIN.md). */
function visibilityControl() {
  let vis = 'visible';
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => vis });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => vis === 'hidden' });
  window.__setVisibility = (v) => {
    if (v !== vis) {
      vis = v;
      document.dispatchEvent(new Event('visibilitychange'));
    }
  };
}

/**
 * Idle-cost counters, installed before any page script: timer callbacks (setTimeout, setInterval,
 * and messages from Web Workers, which is how tabex runs its timers) and localStorage writes
 * (setItem, removeItem, clear).
 */
function costCounters() {
  const counts = { timers: 0, writes: 0 };
  window.__costs = counts;
  const wrap = (original) =>
    function (callback, ...rest) {
      const counted =
        typeof callback === 'function'
          ? function (...args) {
              counts.timers++;
              return callback.apply(this, args);
            }
          : callback;
      return original.call(window, counted, ...rest);
    };
  window.setTimeout = wrap(window.setTimeout);
  window.setInterval = wrap(window.setInterval);
  const RealWorker = window.Worker;
  window.Worker = class extends RealWorker {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => counts.timers++);
    }
  };
  for (const name of ['setItem', 'removeItem', 'clear']) {
    const original = Storage.prototype[name];
    Storage.prototype[name] = function (...args) {
      if (this === window.localStorage) counts.writes++;
      return original.apply(this, args);
    };
  }
}

/**
 * A new "browser" logged in as admin. Returns { context, session, uid, db, problems }: `session` is
 * the label the dev server uses for it (first 8 characters of the session id), `problems` collects
 * page errors.
 */
export async function newBrowser(browser, server, { costs = false } = {}) {
  const context = await browser.newContext();
  await context.addInitScript(visibilityControl);
  if (costs) await context.addInitScript(costCounters);
  const problems = [];
  context.on('page', (page) => {
    page.on('pageerror', (error) => problems.push(`${page.url()}: ${error.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) problems.push(`${page.url()}: ${msg.text()}`);
    });
  });
  // context.request shares the context's cookie jar: the tabs open logged in.
  const response = await context.request.post(`${server.url}/web/session/authenticate`, {
    data: { jsonrpc: '2.0', method: 'call', params: { db: (await server.stats()).db, login: 'admin', password: 'admin' }, id: 1 },
  });
  const { result } = await response.json();
  const cookie = (await context.cookies(server.url)).find((c) => c.name === 'session_id');
  return { context, server, session: cookie.value.slice(0, 8), uid: result.uid, db: result.db, problems };
}

/** Loads one tab of `contender` without starting it (see ?defer in page/harness.js). */
async function loadTab(b, contender) {
  const page = await b.context.newPage();
  // Generous timeouts: the machine may be busy (the numbers are then noisy, not wrong).
  // `b.query`: extra page parameters a phase sets on its browser (the soak: `&record=counts`).
  await page.goto(`${b.server.url}/index.html?c=${contender}&uid=${b.uid}&db=${b.db}&channels=bench&defer=1${b.query ?? ''}`, { timeout: 60_000 });
  await page.waitForFunction(() => window.bench.loaded || window.bench.error, null, { timeout: 60_000, polling: 20 });
  return page;
}

/** Starts a loaded tab and waits until it listens. */
async function startTab(page, contender) {
  await page.evaluate(() => window.benchGo());
  await page.waitForFunction(() => window.bench.ready || window.bench.error, null, { timeout: 60_000, polling: 20 });
  const error = await page.evaluate(() => window.bench.error);
  if (error) throw new Error(`${contender} tab failed to start: ${error}`);
}

/** Loads `count` tabs, not started, a few at a time (nothing runs in them yet, so nothing can race). */
export async function loadTabs(b, contender, count, concurrency = 4) {
  const pages = [];
  while (pages.length < count) {
    const batch = Math.min(concurrency, count - pages.length);
    pages.push(...(await Promise.all(Array.from({ length: batch }, () => loadTab(b, contender)))));
  }
  return pages;
}

/**
 * Starts loaded tabs one after the other, each once the previous one listens, as a user opens tabs
 * (tabs that start in the same millisecond trip tabex's election).
 */
export async function startTabs(pages, contender) {
  for (const page of pages) await startTab(page, contender);
  return pages;
}

/** Opens and starts `count` tabs. */
export async function openTabs(b, contender, count) {
  return startTabs(await loadTabs(b, contender, count), contender);
}

/** Opens and starts one tab. */
export async function openTab(b, contender) {
  return (await openTabs(b, contender, 1))[0];
}

export const setVisibility = (page, v) => page.evaluate((v) => window.__setVisibility(v), v);
export const costs = (page) => page.evaluate(() => ({ ...window.__costs }));
/** What a tab delivered: { delivered: ids in order, arrivals: id → ms, readyAt }. */
export const deliveries = (page) => page.evaluate(() => ({ delivered: window.bench.delivered, arrivals: window.bench.arrivals, readyAt: window.bench.readyAt }));

/**
 * Waits until the tabs settle: one leader that has sent a poll since it took over (every tab leads
 * for naive). Returns the leader's page (the first tab for naive), or null after `timeout` when
 * `required` is false (tabex can end with no master at all: two tabs elect themselves at once and
 * each believes the other).
 */
export async function settle(pages, contender, { timeout = 20_000, required = true } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const states = await Promise.all(pages.map((p) => p.evaluate(() => ({ role: window.bench.role, since: window.bench.leaderSince, sent: window.bench.pollSends.at(-1) ?? 0 }))));
    const leaders = states.filter((s) => s.role === 'leader');
    const polling = leaders.every((s) => s.sent >= s.since);
    if (contender === 'naive' ? leaders.length === pages.length && polling : leaders.length === 1 && polling) {
      return pages[states.findIndex((s) => s.role === 'leader')];
    }
    if (Date.now() > deadline) {
      const message = `${contender}: no settled leader after ${timeout} ms (roles: ${states.map((s) => s.role).join(', ')})`;
      if (required) throw new Error(message);
      console.warn(`warning: ${message}`);
      return null;
    }
    await sleep(50);
  }
}
