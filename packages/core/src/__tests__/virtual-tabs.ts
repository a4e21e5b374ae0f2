// Shared by the core's tab-level tests on a virtual clock (resilience, visibility): the scope they use,
// the notifications they push, and starting tabs and moving time the same way in both.
import { expect } from 'vitest';
import type { TabBus } from '../index';
import type { FakeBrowser, VirtualClock } from '../testing';

export interface Note {
  id: number;
}

export const SCOPE = 'http://odoo.test|db|2';
export const FRAMES = `tabbus:${SCOPE}:frames`;
export const EPOCH_KEY = `tabbus:${SCOPE}:epoch`;

interface Clocked {
  readonly clock: VirtualClock;
}
interface Tab {
  readonly bus: TabBus<Note>;
}

/** Notifications `from`..`to`. */
export const ids = (from: number, to: number): Note[] => Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i }));
export const range = (from: number, to: number): number[] => ids(from, to).map((n) => n.id);
export const leaders = <H extends Tab>(hs: H[]): H[] => hs.filter((h) => h.bus.state().role === 'leader');
export const storedEpoch = (w: { readonly browser: FakeBrowser }): number => Number(w.browser.storage.map.get(EPOCH_KEY) ?? 0);

/** Starts the tabs in order (the first one leads) and lets the election and the greetings settle. */
export async function startAll<H extends Tab>(w: Clocked, hs: H[]): Promise<H> {
  for (const h of hs) await startLate(w, h);
  await w.clock.advanceAsync(10);
  const lead = leaders(hs);
  expect(lead).toHaveLength(1);
  for (const h of hs) expect(h.bus.state()).toMatchObject({ tabs: hs.length, leaderId: lead[0]!.bus.tabId });
  return lead[0]!;
}

/** Starts one more tab (on the virtual clock, start() waits for a lock grant). */
export async function startLate(w: Clocked, h: Tab): Promise<void> {
  const started = h.bus.start();
  await w.clock.advanceAsync(10);
  await started;
}

/** Moves the clock in steps of `step` ms until `done()` or `limit` ms have passed; returns the time it took. */
export async function advanceUntil(w: Clocked, done: () => boolean, limit: number, step = 10): Promise<number> {
  const start = w.clock.now();
  while (!done()) {
    if (w.clock.now() - start > limit) throw new Error(`not done after ${limit} ms`);
    await w.clock.advanceAsync(step);
  }
  return w.clock.now() - start;
}
