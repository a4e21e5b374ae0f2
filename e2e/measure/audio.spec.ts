import { readdirSync, readFileSync } from 'node:fs';
import { audioStates, recordAudioContexts, sounded } from '../support/audio';
import { expect, receivedIds, settledLeader, test } from '../support/fixtures';

// What an idle browser pays for the beep's AudioContext: 5 demo tabs, each clicked (so each may play), one
// message (one beep, every tab checks), then nothing. Side by side in one run: the demo as it is (the context
// rests between beeps) and the same page with AudioContext.suspend() made a no-op, i.e. contexts that keep
// running, as before the rest. The CPU time is Chromium's audio threads' (Linux /proc; elsewhere n/a).

const TABS = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WINDOW = 20_000;

/** CPU time, in ms, of every thread named like Chromium's audio threads (renderers' output devices, the audio service's worker), and how many there are. */
function audioThreads(): { ms: number; threads: number } | undefined {
  let ticks = 0;
  let threads = 0;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (!/^Audio(OutputDevi|WorkerThre)/.test(name)) continue;
        // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
        threads++;
      } catch {
        // The thread ended meanwhile.
      }
    }
  }
  return { ms: ticks * 10, threads };
}

test('an idle browser after one beep: running AudioContexts and the audio threads\' CPU, resting vs kept running (reported)', async ({ newContext, server, publish }) => {
  test.setTimeout(180_000);
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
    await sleep(5_000);
    const before = audioThreads();
    await sleep(WINDOW);
    const after = audioThreads();
    const states = (await Promise.all(pages.map(audioStates))).flat();
    const beeps = (await Promise.all(pages.map(sounded))).flat().length;
    const cpu = before && after ? `${Math.round(((after.ms - before.ms) * 60_000) / WINDOW)} ms/min of CPU in ${after.threads} audio thread(s)` : 'audio threads: n/a (no /proc)';
    lines.push(`${keepRunning ? 'kept running (suspend() a no-op)' : 'as built (resting)'}: ${beeps} beep(s), ${states.filter((s) => s === 'running').length} of ${states.length} context(s) running; ${cpu}`);
  }
  const report = `idle browser of ${TABS} clicked tabs, 5 s after one beep, over ${WINDOW / 1000} s: ${lines.join('; ')}`;
  console.log(report);
  test.info().annotations.push({ type: 'measurement', description: report });
});
