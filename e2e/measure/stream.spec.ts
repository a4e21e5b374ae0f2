import type { BrowserContext, Page } from '@playwright/test';
import { leaderSince, percentile, publishStream, settledLeader, state, test } from '../support/fixtures';

// Where a failover gap goes under the chaos test's load: ten demo tabs and a stream of 50 notifications/s.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('main-thread time per notification and timer callbacks per second in each tab, 10 tabs under 50 notifications/s (reported)', async ({ context, openTabs, publish }) => {
  // Every setTimeout callback of the page (tabbus's and the demo's) is counted as it runs.
  await context.addInitScript(() => {
    const setTimer = window.setTimeout.bind(window);
    const w = window as unknown as { timersFired: number };
    w.timersFired = 0;
    window.setTimeout = ((fn: TimerHandler, ms?: number, ...args: unknown[]) =>
      setTimer(() => {
        w.timersFired++;
        if (typeof fn === 'function') (fn as (...a: unknown[]) => void)(...args);
      }, ms)) as typeof window.setTimeout;
  });
  const tabs = await openTabs(10);
  const leader = await settledLeader(tabs);
  const sessions = await Promise.all(tabs.map(async (page) => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    return cdp;
  }));
  /** Chromium's cumulative main-thread seconds of one tab: every task, and the script and style/layout parts of them. */
  const times = async () => Promise.all(sessions.map(async (cdp) => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
    return { task: m.TaskDuration!, script: m.ScriptDuration!, layout: m.LayoutDuration! + m.RecalcStyleDuration! };
  }));
  const fired = () => Promise.all(tabs.map((page) => page.evaluate(() => (window as unknown as { timersFired: number }).timersFired)));
  const stream = publishStream(publish, 20);
  await sleep(2000);
  const before = await times();
  const firedBefore = await fired();
  const sent = stream.sent.length;
  await sleep(10_000);
  const after = await times();
  const firedAfter = await fired();
  const count = stream.sent.length - sent;
  await stream.stop();
  const lines: string[] = [];
  for (let i = 0; i < tabs.length; i++) {
    const per = (k: 'task' | 'script' | 'layout') => (((after[i]![k] - before[i]![k]) * 1000) / count).toFixed(1);
    const timers = ((firedAfter[i]! - firedBefore[i]!) / 10).toFixed(0);
    lines.push(`${tabs[i] === leader ? 'leader' : (await state(tabs[i]!)).role}: task ${per('task')}, script ${per('script')}, style+layout ${per('layout')} ms, ${timers} timer callbacks/s`);
  }
  const total = after.reduce((sum, t, i) => sum + t.task - before[i]!.task, 0) / 10;
  const report = `main thread per notification (${count} in 10 s), CDP Performance.getMetrics: ${lines.join('; ')}; all tabs together ${total.toFixed(1)} s of tasks per second on ${(await import('node:os')).cpus().length} cores`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
});

/** Turns off, before the demo loads, its one-tab effects (`off: 'effects'`) or those and its `once` per message too (`'once'`). */
async function demoWithout(context: BrowserContext, off: 'effects' | 'once'): Promise<void> {
  await context.addInitScript((alsoOnce: boolean) => {
    // The effects script's `var TabBusEffects` assigns through this setter, which keeps it away.
    Object.defineProperty(window, 'TabBusEffects', { configurable: true, get: () => undefined, set: () => undefined });
    if (!alsoOnce) return;
    type Api = { createOdooBus(options: unknown): { once: unknown } };
    let api: Api | undefined;
    Object.defineProperty(window, 'TabBus', {
      configurable: true,
      get: () => api,
      set: (real: Api) => {
        api = { ...real, createOdooBus: (options) => Object.assign(real.createOdooBus(options), { once: () => Promise.resolve(false) }) };
      },
    });
  }, off === 'once');
}

for (const pass of [1, 2]) {
  for (const demo of ['as it is', 'without effects', 'without effects and once'] as const) {
    test(`close failover under 50 notifications/s, demo ${demo}, pass ${pass} (reported)`, async ({ context, openTabs, server, publish }) => {
      test.setTimeout(240_000);
      if (demo !== 'as it is') await demoWithout(context, demo === 'without effects' ? 'effects' : 'once');
      const tabs: Page[] = await openTabs(10);
      await settledLeader(tabs);
      const stream = publishStream(publish, 20);
      const gaps: number[] = [];
      for (let round = 0; round < 20; round++) {
        const leader = await settledLeader(tabs);
        const closedAt = Date.now();
        tabs.splice(tabs.indexOf(leader), 1);
        await leader.close({ runBeforeUnload: true });
        const next = await settledLeader(tabs);
        const [first] = await server.polls(await leaderSince(next));
        gaps.push(first!.at - closedAt);
        tabs.push(...(await openTabs(1)));
      }
      await stream.stop();
      const report = `demo ${demo}, pass ${pass}: close → the new leader's first poll, 20 closes: p50 ${percentile(gaps, 50)} ms, p90 ${percentile(gaps, 90)} ms, max ${Math.max(...gaps)} ms`;
      console.log(report);
      test.info().annotations.push({ type: 'measurement', description: report });
    });
  }
}
