import { settled, wake } from './autoplay';
import { playTone } from './tone';

/**
 * How a play went: `'played'`; `'blocked'` by the browser's autoplay rules (no user gesture on the page
 * yet); `'unsupported'`: no Web Audio / `Audio` here, or the file could not be played (format, network).
 */
export type SoundResult = 'played' | 'blocked' | 'unsupported';

/** What {@link Sound.check} finds: `'ready'`, or why a play would not be heard now. */
export type SoundCheck = 'ready' | 'blocked' | 'unsupported';

/** Options of {@link createSound}. Without `url` the sound is a short Web Audio tone. */
export interface SoundOptions {
  /** An audio file to play (through one reused `HTMLAudioElement`) instead of the tone. */
  url?: string;
  /** From 0 to 1. Default 0.3. */
  volume?: number;
  /** The tone's pitch, in Hz. Default 880. */
  frequency?: number;
  /** The tone's length, in ms. Default 150. */
  duration?: number;
  /** Called after every play with its result: a hook for tests (count the plays of a page) and metrics. */
  onPlay?: (result: SoundResult) => void;
}

/** A sound that can be played any number of times. */
export interface Sound {
  /** Plays it. Never rejects: what the browser refused is in the result. */
  play(): Promise<SoundResult>;
  /**
   * Whether a play would be heard now, without playing: `'blocked'` until the page had a user gesture (show
   * a hint, say). Prepares the tone's AudioContext. A file is `'ready'` wherever `Audio` exists: only
   * playing it tells. Never rejects.
   */
  check(): Promise<SoundCheck>;
  /** How many plays resolved `'played'`. */
  readonly plays: number;
}

/**
 * How long the tone's AudioContext runs with nothing to play before it is suspended, in ms. A running
 * context renders silence for as long as the page lives, a thread waking every few ms (Chromium's audio
 * threads, and after 30 s of silence a timer-driven stand-in for the device), in every tab that ever
 * checked or beeped (`beep` checks in every tab). A context that was allowed to run may resume without a
 * new user gesture, so the next beep resumes it.
 */
export const AUDIO_REST = 2000;

/** A `NotAllowedError` is the autoplay policy; anything else means this sound cannot play here. */
const refusal = (error: unknown): 'blocked' | 'unsupported' =>
  (error as { name?: unknown } | null | undefined)?.name === 'NotAllowedError' ? 'blocked' : 'unsupported';

/**
 * A notification sound: a short tone by default, or the file at `options.url`. One AudioContext (or one
 * audio element) is created at the first use and reused: browsers limit how many a page may open. The
 * context is suspended 2 s after its last use (a running one keeps rendering silence) and resumed by
 * the next play.
 *
 * @example
 * ```ts
 * const ding = createSound({ frequency: 660 });
 * if ((await ding.play()) === 'blocked') showHint('click anywhere to enable sounds');
 * ```
 */
export function createSound(options: SoundOptions = {}): Sound {
  const { url, frequency = 880, duration = 150, onPlay } = options;
  // Out of range throws on an audio element and inverts the envelope of the tone.
  const volume = Math.min(1, Math.max(0, options.volume ?? 0.3));
  let context: AudioContext | undefined;
  let audio: HTMLAudioElement | undefined;
  let plays = 0;
  /** Suspends the context AUDIO_REST ms after its last use (set while that is pending). */
  let restTimer: ReturnType<typeof setTimeout> | undefined;
  /** The suspension under way: a play waits for it (250 ms at most), or its tone would be cut off. */
  let resting: Promise<void> | undefined;
  /** This sound suspended a running context: it was allowed to start, and a play resumes it. */
  let rested = false;
  /** When the latest tone ends (wall clock, ms): a check meanwhile must not cut a long one off. */
  let playingUntil = 0;

  /** Suspends `current` once it has had nothing to play for AUDIO_REST ms (a later use puts it off). */
  const rest = (current: AudioContext): void => {
    clearTimeout(restTimer);
    restTimer = setTimeout(() => {
      restTimer = undefined;
      if (current !== context || current.state !== 'running' || typeof current.suspend !== 'function') return;
      rested = true;
      // Bounded: a browser whose suspend() never settled would otherwise hold every later play back.
      resting = settled(current.suspend().catch(() => void (rested = false)));
    }, Math.max(0, playingUntil - Date.now()) + AUDIO_REST);
  };

  /** The tone's context, running, or why there is none. */
  const toneContext = async (): Promise<AudioContext | 'blocked' | 'unsupported'> => {
    if (typeof AudioContext !== 'function') return 'unsupported';
    if (!context || context.state === 'closed') {
      const created = (context = new AudioContext());
      // However it starts running (here, or at the page's next input after autoplay blocked it), it rests again.
      created.onstatechange = () => created.state === 'running' && restTimer === undefined && rest(created);
    }
    const current = context;
    await resting;
    resting = undefined;
    // A context this sound put to rest was allowed to run: resume it even where the page had no user
    // activation (autoplay allowed by a policy or a site setting), where wake() would not ask.
    const ranBefore = rested;
    rested = false;
    if (!(await wake(current, ranBefore))) return 'blocked';
    rest(current);
    return current;
  };

  const check = async (): Promise<SoundCheck> => {
    if (url !== undefined) return typeof Audio === 'function' ? 'ready' : 'unsupported';
    // Resting, it would play: no need to wake it (most tabs check and then leave the key to another).
    if (rested && context?.state === 'suspended') return 'ready';
    // Running with its rest due: a check alone (another tab may be the one that plays) does not put it off.
    if (context?.state === 'running' && restTimer !== undefined) return 'ready';
    const current = await toneContext();
    return typeof current === 'string' ? current : 'ready';
  };

  const attempt = async (): Promise<SoundResult> => {
    if (url === undefined) {
      const current = await toneContext();
      if (typeof current === 'string') return current;
      playTone(current, { frequency, duration, volume });
      playingUntil = Math.max(playingUntil, Date.now() + duration);
      rest(current);
      return 'played';
    }
    if (typeof Audio !== 'function') return 'unsupported';
    audio ??= new Audio(url);
    audio.volume = volume;
    // From the start even while the last play is still going: each call is its own beep.
    audio.currentTime = 0;
    await audio.play();
    return 'played';
  };

  return {
    async play() {
      const result = await attempt().catch(refusal);
      if (result === 'played') plays++;
      try {
        onPlay?.(result);
      } catch (error) {
        // The hook's failure is its own: report it like any uncaught error, and keep the promise of a result.
        setTimeout(() => {
          throw error;
        });
      }
      return result;
    },
    check: () => check().catch(refusal),
    get plays() {
      return plays;
    },
  };
}
