import type { BrowserContext } from '@playwright/test';

/**
 * In the page, before its own scripts: keeps every AudioContext it makes, so a test can read their states
 * (tabbus keeps its own private), and each one's states from its creation on (`statechange` events); with
 * `keep`, `suspend()` does nothing, as if contexts were never put to rest. Self-contained: it is serialized
 * into the page (Playwright's init scripts, puppeteer's in the Firefox tier).
 */
export function audioRecorder(keep?: boolean): void {
  const Original = window.AudioContext;
  const made: AudioContext[] = [];
  const histories: AudioContextState[][] = [];
  Object.assign(window, { __audioContexts: made, __audioHistories: histories });
  window.AudioContext = class extends Original {
    constructor(options?: AudioContextOptions) {
      super(options);
      made.push(this);
      const history = [this.state];
      histories.push(history);
      this.addEventListener('statechange', () => history.push(this.state));
    }
  };
  if (keep) AudioContext.prototype.suspend = () => Promise.resolve();
}

/** {@link audioRecorder} in every page of `context`. */
export const recordAudioContexts = (context: BrowserContext, keepRunning = false) => context.addInitScript(audioRecorder, keepRunning);

/** What the readers below need of a page: Playwright's, or the Firefox tier's tab. */
interface Evaluates {
  evaluate<R>(fn: () => R): Promise<R>;
}

/** The states of the AudioContexts `page` made, oldest first (see {@link recordAudioContexts}). */
export const audioStates = (page: Evaluates) => page.evaluate(() => (window as unknown as { __audioContexts: AudioContext[] }).__audioContexts.map((c) => c.state));

/** Each AudioContext's states in `page`, from its creation on, oldest context first. */
export const audioHistories = (page: Evaluates) => page.evaluate(() => (window as unknown as { __audioHistories: AudioContextState[][] }).__audioHistories);

/** The ids whose beep the demo in `page` played. */
export const sounded = (page: Evaluates) => page.evaluate(() => (window as unknown as { demo: { sounded: number[] } }).demo.sounded);
