import type { Page } from '@playwright/test';
import { controllableVisibility, crash, expect, receivedIds, setVisibility, settledLeader, state, test, type DemoWindow } from '../support/fixtures';

// The demo's picture of the browser (demo/picture.js): every tab draws the same tabs, leader and epoch, the
// connections the server really holds for the browser, and a timeline in which a closed leader shows as a
// failover and bus.handoff() as a handoff. DEMO_SCREENSHOT=docs/demo.png also saves the README's picture.

interface DrawnTab {
  id: string;
  role: string;
  visible: boolean;
  channels: string;
}

const picture = (page: Page) =>
  page.evaluate(() => ({
    tabs: [...document.querySelectorAll<HTMLElement>('#tabmap li')].map((li) => ({
      id: li.dataset['tab']!,
      role: li.dataset['role']!,
      visible: li.dataset['visible'] === 'true',
      channels: li.dataset['channels']!,
    })),
    epoch: Number(document.querySelector<HTMLElement>('#scope-line')!.dataset['epoch']),
    serverConnections: document.querySelector<HTMLElement>('#server-connections')!.dataset['count'],
  }));

const timeline = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('#timeline li')].map((li) => ({
      kind: li.dataset['kind']!,
      epoch: Number(li.dataset['epoch']),
      gap: li.dataset['gap'] === undefined ? null : Number(li.dataset['gap']),
      text: li.textContent ?? '',
    })),
  );

/** What every tab should draw: the tabs as the pages themselves report them, sorted by id. */
async function truth(pages: Page[], hidden: Page[] = []): Promise<{ tabs: DrawnTab[]; epoch: number; serverConnections: string }> {
  const states = await Promise.all(pages.map(state));
  const leader = states.find((s) => s.role === 'leader')!;
  const tabs = states
    .map((s, i) => ({ id: s.tabId, role: s.role === 'leader' ? 'leader' : 'follower', visible: !hidden.includes(pages[i]!), channels: s.channels.join(',') }))
    .sort((a, b) => a.id.localeCompare(b.id));
  return { tabs, epoch: leader.epoch, serverConnections: '1' };
}

async function everyTabDraws(pages: Page[], hidden: Page[] = []): Promise<void> {
  const expected = await truth(pages, hidden);
  for (const page of pages) await expect.poll(() => picture(page), { message: `the picture in tab ${(await state(page)).tabId}` }).toEqual(expected);
}

test.beforeEach(async ({ context }) => controllableVisibility(context));

test('every tab draws the same picture of the browser; a closed leader is drawn as a failover, a hand-off as a handoff', async ({ openTabs, publish }) => {
  let pages = await openTabs(4);
  const first = await settledLeader(pages);
  await pages.find((p) => p !== first)!.evaluate(() => (window as unknown as DemoWindow).demo.bus.addChannel('sales'));
  await everyTabDraws(pages);
  const firstEpoch = (await state(first)).epoch;

  // Close the leader as a user does: the survivors draw three tabs and a failover, with its gap.
  const closedAt = Date.now();
  await first.close({ runBeforeUnload: true });
  pages = pages.filter((p) => p !== first);
  const second = await settledLeader(pages);
  const failoverEpoch = (await state(second)).epoch;
  expect(failoverEpoch).toBeGreaterThan(firstEpoch);
  await everyTabDraws(pages);
  for (const page of pages) {
    await expect.poll(async () => (await timeline(page)).find((e) => e.epoch === failoverEpoch && e.kind !== 'role')?.kind).toBe('failover');
    const { gap, text } = (await timeline(page)).find((e) => e.kind === 'failover')!;
    expect(text).toMatch(/is gone; \d+ ms without a connection/);
    // The drawn gap is a real figure of this failover: it starts no sooner than the close and ends by the
    // time the test saw it drawn (no wall-clock bound: the machine is shared).
    expect(gap).toBeGreaterThanOrEqual(0);
    expect(gap).toBeLessThanOrEqual(Date.now() - closedAt);
  }
  const gaps = await Promise.all(pages.map(async (p) => (await timeline(p)).find((e) => e.kind === 'failover')!.gap));
  test.info().annotations.push({ type: 'measurement', description: `failover gap as each surviving tab drew it: ${gaps.join(', ')} ms` });

  // The hand-off button: only the leader's is enabled; the connection moves, the old leader stays open.
  await expect(second.locator('#handoff')).toBeEnabled();
  for (const page of pages.filter((p) => p !== second)) await expect(page.locator('#handoff')).toBeDisabled();
  await second.click('#handoff');
  await expect.poll(async () => (await state(second)).role).toBe('follower');
  const third = await settledLeader(pages);
  expect(third).not.toBe(second);
  const handoffEpoch = (await state(third)).epoch;
  for (const page of pages) {
    await expect.poll(async () => (await timeline(page)).find((e) => e.epoch === handoffEpoch && e.kind !== 'role')?.kind).toBe('handoff');
  }
  await everyTabDraws(pages);

  // A hidden tab is drawn hidden in every tab; it is still a plain chat.
  const hidden = pages.find((p) => p !== third)!;
  await setVisibility(hidden, 'hidden');
  await everyTabDraws(pages, [hidden]);
  const ids = [await publish('chat', 'the picture agrees'), await publish('sales', 'and the chat still works')];
  for (const page of pages) await expect.poll(async () => (await receivedIds(page)).filter((id) => id >= ids[0]!)).toEqual(ids);
  await expect(third.locator('#messages li').first()).toContainText('and the chat still works');

  const screenshot = process.env['DEMO_SCREENSHOT'];
  if (screenshot) {
    const shown = pages.find((p) => p !== third && p !== hidden)!;
    await shown.setViewportSize({ width: 1100, height: 860 });
    // A poll just answered (the messages above) is renewed within milliseconds: shoot once it is back.
    await expect(shown.locator('#server-connections')).toHaveAttribute('data-count', '1');
    await shown.screenshot({ path: screenshot });
    console.log(`demo screenshot saved to ${screenshot}`);
  }
});

test('a crashed leader is drawn as a failover too, and the picture drops it', async ({ context, openTabs }) => {
  const pages = await openTabs(3);
  const leader = await settledLeader(pages);
  await crash(context, leader);
  const rest = pages.filter((p) => p !== leader);
  const next = await settledLeader(rest);
  const epoch = (await state(next)).epoch;
  await everyTabDraws(rest);
  for (const page of rest) await expect.poll(async () => (await timeline(page)).find((e) => e.epoch === epoch && e.kind !== 'role')?.kind).toBe('failover');
});
