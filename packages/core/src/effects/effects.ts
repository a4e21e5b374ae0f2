import { desktopPermission, showDesktop, type DesktopResult } from './desktop';
import { createSound, type SoundOptions, type SoundResult } from './sound';

/** What the effects need of a bus: `TabBus` (from `createBus` or `createOdooBus`) has it. */
export interface OnceBus {
  /** Runs `fn` in one tab of the scope per `key`; resolves with whether it ran in this tab. */
  once(key: string, fn: () => void): Promise<boolean>;
}

/** Options of {@link createEffects}. */
export interface EffectsOptions {
  /** The sound of {@link Effects.beep} (see {@link createSound}); `false`: this tab never beeps. Default: the tone. */
  sound?: SoundOptions | false;
  /** `false`: this tab never shows desktop notifications. Default `true` (still only with permission). */
  desktop?: boolean;
}

/** One-tab effects: each key's effect happens in one tab of the scope, whichever tab asks first. */
export interface Effects {
  /**
   * Plays the sound for `key` (a notification id, say) unless another tab of the scope did: `'skipped'`
   * then, and also when `sound` is `false`. Every tab that gets the notification may call it. Only a tab
   * that may play sound competes for the key: `'blocked'` (no user gesture in this tab yet) and
   * `'unsupported'` leave it to the others.
   */
  beep(key: string | number): Promise<SoundResult | 'skipped'>;
  /**
   * Shows a desktop notification for `key` unless another tab of the scope did (`'skipped'`). Only with
   * permission already granted: otherwise `'denied'` (or `'unsupported'`), without taking the key. Never asks.
   */
  notify(key: string | number, title: string, options?: NotificationOptions): Promise<DesktopResult | 'skipped'>;
  /** How many beeps this tab took the key for (and played, or tried to): over all tabs, at most one per key. */
  readonly plays: number;
}

/**
 * Sound and desktop notifications that happen once per browser, not once per tab: each goes through
 * `bus.once('sound:' + key)` / `bus.once('desktop:' + key)`.
 *
 * @example
 * ```ts
 * const effects = createEffects(bus);
 * bus.on('notification', (items) => items.forEach((item) => void effects.beep(item.id)));
 * ```
 */
export function createEffects(bus: OnceBus, options: EffectsOptions = {}): Effects {
  const sound = options.sound === false ? undefined : createSound(options.sound);
  let plays = 0;
  return {
    async beep(key) {
      if (!sound) return 'skipped';
      // Autoplay rules hold per tab, and the tab that gets a notification first (the leader) is often one
      // the user never clicked in: it must not take the key from a tab that can be heard.
      const state = await sound.check();
      if (state !== 'ready') return state;
      let played: Promise<SoundResult> | undefined;
      // `once` runs its callback synchronously and knows nothing of promises: keep the play to await it here.
      await bus.once(`sound:${key}`, () => {
        plays++;
        played = sound.play();
      });
      return played ?? 'skipped';
    },
    async notify(key, title, notification) {
      if (options.desktop === false) return 'skipped';
      // Checked before claiming the key: a tab that may not show it must not keep the others from it.
      const permission = desktopPermission();
      if (permission !== 'granted') return permission;
      let result: DesktopResult | 'skipped' = 'skipped';
      await bus.once(`desktop:${key}`, () => {
        // The tag makes the system fold duplicates, should a key ever run in two tabs (no shared storage).
        result = showDesktop(title, { tag: `tabbus:${key}`, ...notification });
      });
      return result;
    },
    get plays() {
      return plays;
    },
  };
}
