import { audioHistories, audioStates, recordAudioContexts, sounded } from '../support/audio';
import { expect, receivedIds, settledLeader, test } from '../support/fixtures';

// The demo beeps once per message for the whole browser (TabBusEffects). Every tab that may play checks
// its AudioContext for each message, and a running context renders silence, a thread waking every few ms,
// for as long as the page lives: the contexts must rest between beeps, and the next beep must still be
// heard, in one tab.
test('the beep: every tab\'s AudioContext rests once nothing plays, and the next message still beeps in exactly one tab', async ({ context, openTabs, publish }) => {
  await recordAudioContexts(context);
  // A channel of its own: the server answers a new browser's first poll with what it kept from the last 50 s
  // (Odoo's catch-up), and earlier tests of this worker published on the demo's default channel.
  const channel = `sound-${Date.now()}`;
  const pages = await openTabs(3, { path: `index.html?channel=${channel}` });
  // Browsers let a tab play sound once the user interacted with it.
  for (const page of pages) await page.click('h1');
  await settledLeader(pages);
  const allSounded = async () => (await Promise.all(pages.map(sounded))).flat().sort((a, b) => a - b);
  const playedIn = async (id: number) => {
    for (const page of pages) if ((await sounded(page)).includes(id)) return page;
    throw new Error(`no tab played ${id}`);
  };

  const first = await publish(channel, 'first');
  await expect.poll(allSounded).toEqual([first]);
  const player = await playedIn(first);
  // Then every tab's contexts rest (each tab made one, reused).
  await expect.poll(async () => (await Promise.all(pages.map(audioStates))).flat(), { timeout: 15_000 }).toEqual(['suspended', 'suspended', 'suspended']);
  // The player's ran for the tone before it rested (read from its state changes: no race with the rest).
  expect((await audioHistories(player))[0]).toContain('running');

  const second = await publish(channel, 'second');
  for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(second);
  await expect.poll(allSounded).toEqual([first, second]);
  await expect.poll(async () => (await Promise.all(pages.map(audioStates))).flat(), { timeout: 15_000 }).toEqual(['suspended', 'suspended', 'suspended']);
  // Resumed for the tone, in the tab that took the key, and rested again: the same context, not a new one.
  const [history] = await audioHistories(await playedIn(second));
  expect(history!.slice(history!.lastIndexOf('suspended', -2))).toEqual(['suspended', 'running', 'suspended']);
});
