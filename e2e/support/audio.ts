import type { BrowserContext, Page } from '@playwright/test';

/**
 * Keeps every AudioContext the context's pages make, so a test can read their states (tabbus keeps its
 * own private), and each one's states from its creation on (`statechange` events); with `keepRunning`,
 * `suspend()` does nothing, as if contexts were never put to rest.
 */
export const recordAudioContexts = (context: BrowserContext, keepRunning = false) =>
  context.addInitScript((keep: boolean) => {
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
  }, keepRunning);

/** The states of the AudioContexts `page` made, oldest first (see {@link recordAudioContexts}). */
export const audioStates = (page: Page) => page.evaluate(() => (window as unknown as { __audioContexts: AudioContext[] }).__audioContexts.map((c) => c.state));

/** Each AudioContext's states in `page`, from its creation on, oldest context first. */
export const audioHistories = (page: Page) => page.evaluate(() => (window as unknown as { __audioHistories: AudioContextState[][] }).__audioHistories);

/** The ids whose beep the demo in `page` played. */
export const sounded = (page: Page) => page.evaluate(() => (window as unknown as { demo: { sounded: number[] } }).demo.sounded);
