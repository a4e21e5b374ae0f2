import { readdirSync, readFileSync } from 'node:fs';
import { audioStates, recordAudioContexts, sounded } from '../support/audio';
import { expect, receivedIds, settledLeader, test } from '../support/fixtures';

// What an idle browser pays for the beep's AudioContext: 5 demo tabs, each clicked (so each may play), one
// message (one beep, every tab checks), then nothing. Side by side in one run: the demo as it is (the context
// rests between beeps) and the same page with AudioContext.suspend() made a no-op, i.e. contexts that keep
// running, as before the rest. Two windows: 5–25 s after the beep, and 40–60 s, after Chromium has moved a
// context silent for 30 s from the output device to a timer-driven stand-in. CPU time from Linux /proc (elsewhere
// n/a): Chromium's audio threads by name, and every thread of every Chromium process (the demo's own work, the
// same in both passes, included).

const TABS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The windows, in ms after the beep. */
const WINDOWS = [
  [5_000, 25_000],
  [40_000, 60_000],
] as const;

/** CPU time so far, in ms, of Chromium's audio threads (renderers' output devices, the audio service's worker) and of all its threads. */
function chromiumCpu(): { audio: number; all: number } | undefined {
  let audio = 0;
  let all = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let tasks: string[];
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chromium')) continue;
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ms = (Number(fields[11]) + Number(fields[12])) * 10;
        all += ms;
        if (/^Audio(OutputDevi|WorkerThre)/.test(name)) audio += ms;
      } catch {
        // The thread ended meanwhile.
      }
    }
  }
  return { audio, all };
}

test('an idle browser after one beep: running AudioContexts and the audio threads\' CPU, resting vs kept running (reported)', async ({ newContext, server, publish }) => {
  test.setTimeout(300_000);
  const lines: string[] = [];
  for (const keepRunning of [false, true]) {
    const context = await newContext();
    await recordAudioContexts(context, keepRunning);
    const channel = `audio-${Date.now()}`;
    const pages = [];
    for (let i = 0; i < TABS; i++) {
      const page = await context.newPage();
      await page.goto(`${server.url}/index.html?channel=${channel}`);
      await page.waitForSelector('body[data-ready="true"]');
      await page.click('h1');
      pages.push(page);
    }
    await settledLeader(pages);
    const id = await publish(channel, 'one beep');
    for (const page of pages) await expect.poll(() => receivedIds(page)).toContain(id);
    const beepAt = Date.now();
    const spans: string[] = [];
    for (const [from, to] of WINDOWS) {
      await sleep(beepAt + from - Date.now());
      const before = chromiumCpu();
      await sleep(beepAt + to - Date.now());
      const after = chromiumCpu();
      const perMinute = (a: number, b: number) => Math.round(((b - a) * 60_000) / (to - from));
      spans.push(
        `${from / 1000}–${to / 1000} s: ${before && after ? `audio threads ${perMinute(before.audio, after.audio)}, all Chromium ${perMinute(before.all, after.all)} ms/min of CPU` : 'CPU n/a (no /proc)'}`,
      );
    }
    const states = (await Promise.all(pages.map(audioStates))).flat();
    const beeps = (await Promise.all(pages.map(sounded))).flat().length;
    lines.push(`${keepRunning ? 'kept running (suspend() a no-op)' : 'as built (resting)'}: ${beeps} beep(s), ${states.filter((s) => s === 'running').length} of ${states.length} context(s) running at the end; ${spans.join('; ')}`);
  }
  const report = `idle browser of ${TABS} clicked tabs after one beep: ${lines.join(' | ')}`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
});
