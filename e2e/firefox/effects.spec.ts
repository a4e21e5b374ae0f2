import { audioRecorder, audioStates, sounded } from '../support/audio';
import { expect, settledLeader, test } from './fixtures';

// The demo runs one effect per message for the whole browser through `bus.once`, and beeps through
// TabBusEffects (a `once` per message too, taken only by a tab that can play). In Firefox: each message's
// effect runs in exactly one tab, every beep settles (where Firefox has no audio output its AudioContext's
// resume() never settles: the beep says 'blocked' rather than waiting for good), at most one tab plays each
// message, and no tab is left with a running AudioContext.
test('one effect per message in exactly one tab; beeps settle, play in one tab at most, and leave no AudioContext running', async ({ tabs, publish }) => {
  // A channel of its own: nothing an earlier test published comes with the first poll.
  const channel = `effects-${Date.now()}`;
  const pages = await tabs.open(3, { query: `?channel=${channel}`, init: [audioRecorder] });
  // Browsers let a tab play sound once the user interacted with it.
  for (const tab of pages) await tab.page.click('h1');
  await settledLeader(pages);
  const effects = () => Promise.all(pages.map((tab) => tab.evaluate(() => (window as unknown as { demo: { effects: number[] } }).demo.effects)));

  const sent: number[] = [];
  for (const text of ['first', 'second', 'third']) sent.push(await publish(channel, text));
  for (const tab of pages) await expect.poll(() => tab.receivedIds()).toEqual(sent);
  await expect.poll(async () => (await effects()).flat().sort((a, b) => a - b)).toEqual(sent);

  // A beep asked in every tab at once settles everywhere, each tab's result one of the documented ones.
  const results = await Promise.all(
    pages.map((tab) =>
      tab.evaluate(() => {
        const sound = (window as unknown as { demo: { sound: { beep(key: string): Promise<string> } } }).demo.sound;
        return Promise.race([sound.beep('firefox-probe'), new Promise<string>((done) => setTimeout(() => done('pending after 5 s'), 5_000))]);
      }),
    ),
  );
  console.log(`firefox effects: ${sent.length} messages, one effect each in ${(await effects()).map((e) => e.length).join('/')} per tab; a beep asked in every tab at once: ${results.join(', ')}`);
  for (const result of results) expect(['played', 'blocked', 'unsupported', 'skipped']).toContain(result);
  expect(results.filter((r) => r === 'played').length).toBeLessThanOrEqual(1);
  const playedPerMessage = (await Promise.all(pages.map(sounded))).flat();
  expect(new Set(playedPerMessage).size, 'no message played in two tabs').toBe(playedPerMessage.length);
  await expect.poll(async () => (await Promise.all(pages.map(audioStates))).flat().filter((state) => state === 'running'), { timeout: 15_000 }).toEqual([]);
});
