/**
 * `@tabbus/core/effects`: sounds and desktop notifications that happen in one tab per notification, not
 * in every open tab. Optional, and kept out of the main bundles: import it only where you use it.
 *
 * @packageDocumentation
 */
export { createEffects } from './effects';
export type { Effects, EffectsOptions, OnceBus } from './effects';
export { createSound } from './sound';
export type { Sound, SoundCheck, SoundOptions, SoundResult } from './sound';
export { requestDesktopPermission } from './desktop';
export type { DesktopResult } from './desktop';
