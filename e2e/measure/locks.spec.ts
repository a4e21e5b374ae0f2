import { percentile, test } from '../support/fixtures';

// What the Web Locks a tab holds cost the next tab when it closes: `once` holds one lock per key it ran
// (ONCE_HOLD), and the leader lock is released with all of them. Plain pages, no tabbus: the browser alone.

const COUNTS = [0, 300, 3000] as const;
const ROUNDS = 8;

test('closing a tab that holds many Web Locks delays the grant of its last lock to another tab (reported)', async ({ context, server }) => {
  test.setTimeout(300_000);
  // A document that is not HTML still makes the browser ask for a favicon, which the dev server does not have.
  await context.route('**/favicon.ico', (route) => route.fulfill({ status: 204 }));
  const delays = new Map<number, number[]>(COUNTS.map((n) => [n, []]));
  // Interleaved, so the machine's load weighs on every count alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const count of COUNTS) {
      const [holder, waiter] = [await context.newPage(), await context.newPage()];
      await Promise.all([holder.goto(`${server.url}/dist/odoo/tabbus.jobs.global.js`), waiter.goto(`${server.url}/dist/odoo/tabbus.jobs.global.js`)]);
      await holder.evaluate(async (count) => {
        // The lock the waiter queues for (the leader lock), then `count` more, each held until the page goes.
        await new Promise<void>((held) => void navigator.locks.request('leader', () => (held(), new Promise<void>(() => {}))));
        for (let i = 0; i < count; i++) void navigator.locks.request(`key:${i}`, { ifAvailable: true }, () => new Promise<void>(() => {}));
        // Every request has reached the browser's lock manager once a query answers.
        await navigator.locks.query();
      }, count);
      await waiter.evaluate(() => {
        (window as unknown as { granted: Promise<number> }).granted = new Promise((granted) => void navigator.locks.request('leader', () => granted(Date.now())));
      });
      const closedAt = Date.now();
      await holder.close();
      const grantedAt = await waiter.evaluate(() => (window as unknown as { granted: Promise<number> }).granted);
      delays.get(count)!.push(grantedAt - closedAt);
      await waiter.close();
    }
  }
  const report = `close → the next tab granted the lock, ${ROUNDS} closes per count, p50 / max: ${COUNTS.map((n) => `${n} more locks held ${percentile(delays.get(n)!, 50)} / ${Math.max(...delays.get(n)!)} ms`).join('; ')}`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
});
