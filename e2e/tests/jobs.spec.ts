import type { Page } from '@playwright/test';
import { crash, expect, settledLeader, test, type DemoWindow } from '../support/fixtures';

// The jobs exchange, in the demo: job progress published by the dev server's runner on the user's jobs
// channel reaches every tab exactly once and in order (watchJobs, TabBusJobs), and the end of each job
// is announced once for the whole browser, failovers included.

interface JobUpdate {
  uuid: string;
  state: string;
  progress: number;
  seq: number;
}
type JobsWindow = DemoWindow & { demo: { jobUpdates: JobUpdate[]; jobsDone: string[] } };

const updates = (page: Page) => page.evaluate(() => (window as unknown as JobsWindow).demo.jobUpdates);
const announced = (page: Page) => page.evaluate(() => (window as unknown as JobsWindow).demo.jobsDone);

async function startJob(page: Page, name: string, steps: number, stepMs: number): Promise<string> {
  return page.evaluate(
    async ({ name, steps, stepMs }) => {
      const reply = await fetch('/tabbus/jobs', { method: 'POST', body: JSON.stringify({ name, steps, stepMs }) });
      return ((await reply.json()) as { uuid: string }).uuid;
    },
    { name, steps, stepMs },
  );
}

/** Each job's updates in this tab: every seq from 1 to the last, once, in order, ending done. */
function expectComplete(seen: JobUpdate[], uuids: string[], steps: number) {
  for (const uuid of uuids) {
    const mine = seen.filter((u) => u.uuid === uuid);
    // pending, enqueued, started, steps − 1 progress steps, done.
    expect(mine.map((u) => u.seq)).toEqual(Array.from({ length: steps + 3 }, (_, i) => i + 1));
    expect(mine.at(-1)!.state).toBe('done');
  }
}

test('job progress reaches every tab exactly once, in order; each finished job is announced once in the browser', async ({ openTabs }) => {
  const pages = await openTabs(3);
  await settledLeader(pages);
  const uuids = [await startJob(pages[1]!, 'a', 4, 150), await startJob(pages[2]!, 'b', 4, 200)];
  for (const page of pages) await expect.poll(async () => (await updates(page)).filter((u) => u.state === 'done').length, { timeout: 15_000 }).toBe(2);
  for (const page of pages) expectComplete(await updates(page), uuids, 4);
  // Every tab sees it, one tab says it. (The server is shared by the tests of a worker: a new browser's
  // first poll may bring an earlier test's finished jobs, which it announces too; only this test's count.)
  const all = (await Promise.all(pages.map(announced))).flat().filter((uuid) => uuids.includes(uuid)).sort();
  expect(all).toEqual([...uuids].sort());
  // The progress bars moved in every tab.
  for (const page of pages) await expect(page.locator(`#job-${uuids[0]} .state`)).toHaveText('done');
});

/**
 * Notes each job end this tab announces in localStorage too (`announced:<uuid>:<tab>`), read back from any tab
 * later: a tab that announces in the instant it closes (or crashes) can no longer be asked, and a console
 * message it sends then may not reach the test, but a storage write it made reaches the browser's storage.
 */
async function noteAnnouncements(page: Page): Promise<void> {
  await page.evaluate(() => {
    const done = (window as unknown as JobsWindow).demo.jobsDone;
    const push = done.push.bind(done);
    const tab = Math.random().toString(36).slice(2);
    for (const uuid of done) localStorage.setItem(`announced:${uuid}:${tab}`, '1');
    done.push = (...uuids: string[]) => {
      for (const uuid of uuids) localStorage.setItem(`announced:${uuid}:${tab}`, '1');
      return push(...uuids);
    };
  });
}

/** Which job ends were announced, once per announcing tab, as the tabs noted them (see noteAnnouncements). */
const announcedInBrowser = (page: Page) =>
  page.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('announced:')).map((key) => key.split(':')[1]!));

test('jobs that finish after the leader crashed and while the next one closes are neither lost nor announced twice', async ({ context, openTabs }) => {
  let pages = await openTabs(4, { path: 'index.html?leaderTimeout=1500' });
  for (const page of pages) page.on('crash', () => (pages = pages.filter((p) => p !== page)));
  for (const page of pages) await noteAnnouncements(page);
  const leader = await settledLeader(pages);
  const starter = pages.find((p) => p !== leader)!;
  const slow = await startJob(starter, 'slow', 8, 150);
  const fast = await startJob(starter, 'fast', 4, 150);
  // The leader dies before either job ends (the first ends after 1.2 s: the runner takes one job of the
  // channel at a time), then the next leader leaves while they finish: the runner's updates keep coming,
  // whoever polls.
  await new Promise((r) => setTimeout(r, 200));
  await crash(context, leader);
  const next = await settledLeader(pages);
  await expect.poll(async () => (await updates(next)).filter((u) => u.uuid === fast && u.progress >= 50).length).toBeGreaterThan(0);
  // The next leader may claim a job's end in the instant it closes: the notes above count it.
  await next.close();
  pages = pages.filter((p) => p !== next);
  await settledLeader(pages);
  for (const page of pages) await expect.poll(async () => (await updates(page)).filter((u) => u.state === 'done').length, { timeout: 15_000 }).toBe(2);
  for (const page of pages) {
    const seen = await updates(page);
    expectComplete(seen, [slow], 8);
    expectComplete(seen, [fast], 4);
  }
  // Announced once in the browser, by whichever tab: the crashed one, the closed one, or one of the two that
  // remain. (An earlier test's jobs, which a new browser's first poll may bring from the shared server, do
  // not count.)
  const all = (await announcedInBrowser(pages[0]!)).filter((uuid) => uuid === slow || uuid === fast).sort();
  expect(all).toEqual([slow, fast].sort());
  // The notes agree with what the tabs that remain show.
  const shown = (await Promise.all(pages.map(announced))).flat().filter((uuid) => uuid === slow || uuid === fast);
  for (const uuid of shown) expect(all).toContain(uuid);
});
