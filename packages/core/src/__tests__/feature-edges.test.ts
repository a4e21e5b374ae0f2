// once, shared and presence where a page meets them first: calls made before the tab joined, a tab back from
// the back/forward cache, a clock that steps back, odd times in frames from other pages, records of earlier pages.
import { afterEach, describe, expect, it } from 'vitest';
import { createBus, type BusOptions, type TabBus } from '../index';
import type { BusEnv } from '../env';
import { FRAME_VERSION } from '../frames';
import { FakeBrowser, FakeTransport, VirtualClock, type FakeTab } from '../testing';
import { FRAMES, SCOPE, startAll, startLate, type Note } from './virtual-tabs';

interface H {
  tab: FakeTab;
  bus: TabBus<Note>;
}
let running: H[] = [];
afterEach(async () => {
  for (const h of running) await h.bus.stop();
  running = [];
});
const world = () => {
  const clock = new VirtualClock();
  return { clock, browser: new FakeBrowser({ clock }) };
};
type W = ReturnType<typeof world>;
const spawn = (w: W, options: Partial<BusOptions<Note>> = {}, env: Partial<BusEnv> = {}): H => {
  const tab = w.browser.tab();
  const bus = createBus<Note>({ scope: SCOPE, transport: () => new FakeTransport<Note>(), env: tab.env(env), ...options });
  bus.on('error', () => undefined);
  const h = { tab, bus };
  running.push(h);
  return h;
};
const settle = (w: W) => w.clock.advanceAsync(10);
/** Two tabs of one world, both started and agreed on one leader (startAll checks it). */
const twoStarted = async (w: W): Promise<[H, H]> => {
  const hs: [H, H] = [spawn(w), spawn(w)];
  await startAll(w, hs);
  return hs;
};
const frame = (body: Record<string, unknown>) => ({ v: FRAME_VERSION, scope: SCOPE, epoch: 1, from: 'zzzz-other-tab', ...body });

describe('frames from other pages with odd times', () => {
  it('an activity frame with an absurd `at` (1e300) does not freeze the presence of every tab', async () => {
    const w = world();
    const hs = await twoStarted(w);
    w.browser.inject(FRAMES, frame({ type: 'activity', at: 1e300 }));
    await w.clock.advanceAsync(10 * 60_000); // ten minutes without any input
    for (const h of hs) expect(h.bus.state().inactivity).toBeGreaterThanOrEqual(10 * 60_000);
  });

  it('a shared frame with an absurd `at` (1e300) does not lock the key: a later set() still wins in the tab that made it', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const a = await startAll(w, hs);
    w.browser.inject(FRAMES, frame({ type: 'shared', key: 'unread', value: 99, at: 1e300 }));
    await w.clock.advanceAsync(1000);
    a.bus.shared<number>('unread').set(0);
    expect(a.bus.shared<number>('unread').get()).toBe(0);
  });
});

describe('shared values at the edges: values JSON changes or cannot write', () => {
  it('a value JSON changes (a Date) reads the same in every tab, the setter too, and in a page opened later', async () => {
    const w = world();
    const [a, b] = await twoStarted(w);
    const heard: unknown[] = [];
    b.bus.shared<unknown>('since').on((v) => heard.push(v));
    a.bus.shared<unknown>('since').set({ at: new Date(0), tags: new Set(['x']) });
    await settle(w);
    const asJson = { at: '1970-01-01T00:00:00.000Z', tags: {} };
    expect(a.bus.shared('since').get()).toEqual(asJson);
    expect(b.bus.shared('since').get()).toEqual(asJson);
    expect(heard).toEqual([asJson]);
    const later = spawn(w);
    await startLate(w, later);
    expect(later.bus.shared('since').get()).toEqual(asJson);
  });

  it('a value JSON cannot write (a cycle, a BigInt) or writes as nothing (a function, a symbol) throws a config error at set() and changes nothing anywhere; undefined may be set', async () => {
    const w = world();
    const [a, b] = await twoStarted(w);
    a.bus.shared<unknown>('v').set(1);
    await settle(w);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [cyclic, 10n, () => 2, Symbol('x')]) {
      expect(() => a.bus.shared<unknown>('v').set(bad)).toThrow(expect.objectContaining({ name: 'TabBusError', code: 'config' }));
    }
    await settle(w);
    expect([a.bus.shared('v').get(), b.bus.shared('v').get()]).toEqual([1, 1]);
    a.bus.shared<unknown>('v').set(undefined);
    await settle(w);
    expect([a.bus.shared('v').get(), b.bus.shared('v').get()]).toEqual([undefined, undefined]);
  });
});

describe('shared values at the edges: before joining, after the bfcache, a clock that steps back', () => {
  it('a listener of a tab back from the back/forward cache hears of a value set meanwhile (get() already knows it)', async () => {
    const w = world();
    const [a, b] = await twoStarted(w);
    const heard: unknown[] = [];
    b.bus.shared<number>('unread').on((v) => heard.push(v));
    a.bus.shared<number>('unread').set(1);
    await settle(w);
    expect(heard).toEqual([1]);
    b.tab.pageHide(true); // into the bfcache: the bus leaves, its channel closes
    await settle(w);
    await w.clock.advanceAsync(1000);
    a.bus.shared<number>('unread').set(2);
    await settle(w);
    b.tab.pageShow(true);
    await w.clock.advanceAsync(100);
    expect(b.bus.state().role).not.toBe('stopped');
    expect(b.bus.shared<number>('unread').get()).toBe(2);
    expect(heard).toEqual([1, 2]);
  });

  it('set() right after creation (before the scope is resolved) reaches the other tabs', async () => {
    const w = world();
    const a = spawn(w);
    await startLate(w, a);
    const b = spawn(w, { scope: async () => SCOPE /* createOdooBus: asks the session info */ });
    const starting = b.bus.start();
    b.bus.shared<string>('theme').set('dark'); // the application sets it at load
    await w.clock.advanceAsync(50);
    await starting;
    await w.clock.advanceAsync(50);
    expect(b.bus.shared<string>('theme').get()).toBe('dark');
    expect(a.bus.shared<string>('theme').get()).toBe('dark');
  });

  it('set() then get() in the same tab returns what was set, even when the clock stepped back (NTP correction)', async () => {
    const w = world();
    let skew = 0;
    const a = spawn(w, {}, { now: () => w.clock.now() + skew });
    await startLate(w, a);
    a.bus.shared<number>('unread').set(5);
    skew = -60_000; // the system clock is corrected by a minute
    await w.clock.advanceAsync(1000);
    a.bus.shared<number>('unread').set(0); // the user read everything
    expect(a.bus.shared<number>('unread').get()).toBe(0);
  });
});

describe('once before joining', () => {
  it('once() called while the scope is still being resolved runs fn (no tab ran the key)', async () => {
    const w = world();
    const a = spawn(w, { scope: async () => SCOPE /* createOdooBus: asks the session info */ });
    const starting = a.bus.start();
    let ran = 0;
    const result = a.bus.once('welcome-tip', () => ran++);
    await w.clock.advanceAsync(100);
    await starting;
    await w.clock.advanceAsync(100);
    expect(a.bus.state().role).toBe('leader');
    expect({ result: await result, ran }).toEqual({ result: true, ran: 1 });
  });
});

describe('once records in storage', () => {
  it('expired once records do not pile up in localStorage across page loads (each page claims fewer than 100 keys)', async () => {
    const w = world();
    const ONCE_TTL = 150_000;
    // 20 page loads, 5 minutes apart, each getting 60 notifications that beep once (sound:<id>).
    let id = 0;
    for (let page = 0; page < 20; page++) {
      const h = spawn(w);
      await startLate(w, h);
      const calls = Array.from({ length: 60 }, () => h.bus.once(`sound:${++id}`, () => undefined));
      await w.clock.advanceAsync(100);
      expect(await Promise.all(calls)).toEqual(calls.map(() => true));
      await h.bus.stop();
      h.tab.close();
      await w.clock.advanceAsync(5 * 60_000);
    }
    const now = w.clock.now();
    const stale = [...w.browser.storage.map].filter(([k, v]) => k.startsWith(`tabbus:${SCOPE}:once:`) && now - Number(v) >= ONCE_TTL);
    // All are long past the TTL. Only what the last page wrote may still wait for a sweep; the 19 pages before it must be gone.
    expect(stale.length).toBeLessThanOrEqual(60);
  });
});
