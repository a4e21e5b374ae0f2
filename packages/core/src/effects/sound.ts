import { wake } from './autoplay';
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

/** A `NotAllowedError` is the autoplay policy; anything else means this sound cannot play here. */
const refusal = (error: unknown): 'blocked' | 'unsupported' =>
  (error as { name?: unknown } | null | undefined)?.name === 'NotAllowedError' ? 'blocked' : 'unsupported';

/**
 * A notification sound: a short tone by default, or the file at `options.url`. One AudioContext (or one
 * audio element) is created at the first use and reused: browsers limit how many a page may open.
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

  /** The tone's context, running, or why there is none. */
  const toneContext = async (): Promise<AudioContext | 'blocked' | 'unsupported'> => {
    if (typeof AudioContext !== 'function') return 'unsupported';
    if (!context || context.state === 'closed') context = new AudioContext();
    const current = context;
    return (await wake(current)) ? current : 'blocked';
  };

  const check = async (): Promise<SoundCheck> => {
    if (url !== undefined) return typeof Audio === 'function' ? 'ready' : 'unsupported';
    const current = await toneContext();
    return typeof current === 'string' ? current : 'ready';
  };

  const attempt = async (): Promise<SoundResult> => {
    if (url === undefined) {
      const current = await toneContext();
      if (typeof current === 'string') return current;
      playTone(current, { frequency, duration, volume });
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
