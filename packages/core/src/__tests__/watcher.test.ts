// Who watches the leader, on a virtual clock with real tabs of one fake browser: one visible follower at a
// time where Web Locks give lifetimes, what an idle browser costs, and a frozen leader replaced even when
// the watcher itself closes or crashes first.
import { afterEach, describe, expect, it } from 'vitest';
import { createBus, type TabBus } from '../index';
import { FakeBrowser, FakeTransport, VirtualClock, type FakeTab } from '../testing';
import { advanceUntil, leaders, SCOPE, startAll, type Note } from './virtual-tabs';

const T = 3000;

interface Tab {
  tab: FakeTab;
  bus: TabBus<Note>;
  /** Timer callbacks of this tab that fired. */
  fired: number;
  /** localStorage writes by this tab. */
  writes: number;
}

let running: Tab[] = [];
afterEach(async () => {
  for (const t of running) await t.bus.stop();
  running = [];
});

function world() {
  const clock = new VirtualClock();
  return { clock, browser: new FakeBrowser({ clock }) };
}

function open(w: ReturnType<typeof world>, options: { visible?: boolean; locks?: boolean } = {}): Tab {
  const tab = w.browser.tab({ visible: options.visible ?? true });
  const storage = tab.env().storage!;
  const t: Tab = { tab, bus: undefined as never, fired: 0, writes: 0 };
  const env = tab.env({
    setTimeout: (fn, ms) => tab.setTimeout(() => {
      t.fired++;
      fn();
    }, ms),
    storage: {
      getItem: (k) => storage.getItem(k),
      setItem: (k, v) => {
        t.writes++;
        storage.setItem(k, v);
      },
      removeItem: (k) => storage.removeItem(k),
    },
    ...(options.locks === false ? { locks: undefined } : {}),
  });
  t.bus = createBus<Note>({ scope: SCOPE, transport: () => new FakeTransport<Note>(), leaderTimeout: T, env });
  running.push(t);
  return t;
}

const watchers = (tabs: Tab[]) => tabs.filter((t) => t.bus.state().watching);

describe('the watcher', () => {
  it('five visible tabs: one follower watches; idle, the browser runs at most 20 timer callbacks a minute and writes nothing', async () => {
    const w = world();
    const tabs = [open(w), open(w), open(w), open(w), open(w)];
    await startAll(w, tabs);
    const [leader] = leaders(tabs);
    const followers = tabs.filter((t) => t !== leader);
    expect(watchers(tabs)).toHaveLength(1);
    const lowest = followers.map((t) => t.bus.tabId).sort()[0];
    expect(watchers(tabs)[0]!.bus.tabId).toBe(lowest);
    await w.clock.advanceAsync(60_000);
    const fired = tabs.map((t) => t.fired);
    const writes = tabs.map((t) => t.writes);
    await w.clock.advanceAsync(10 * 60_000);
    const perMinute = tabs.map((t, i) => (t.fired - fired[i]!) / 10);
    expect(perMinute.reduce((a, b) => a + b)).toBeLessThanOrEqual(20);
    expect(perMinute.filter((n) => n > 0)).toHaveLength(1);
    expect(tabs.map((t, i) => t.writes - writes[i]!)).toEqual([0, 0, 0, 0, 0]);
  });

  it('the watcher turns hidden or closes: the next visible follower watches', async () => {
    const w = world();
    const tabs = [open(w), open(w), open(w), open(w)];
    await startAll(w, tabs);
    const first = watchers(tabs)[0]!;
    first.tab.setVisible(false);
    await w.clock.advanceAsync(10);
    const second = watchers(tabs)[0]!;
    expect(watchers(tabs)).toHaveLength(1);
    expect(second).not.toBe(first);
    second.tab.close();
    await w.clock.advanceAsync(10);
    expect(watchers(tabs.filter((t) => t !== second))).toHaveLength(1);
    expect(watchers(tabs)[0]).not.toBe(second);
  });

  it('the leader freezes and the watcher crashes: the next visible follower takes over within 4/3 × leaderTimeout of the crash', async () => {
    const w = world();
    const tabs = [open(w), open(w), open(w), open(w)];
    await startAll(w, tabs);
    const [leader] = leaders(tabs);
    await w.clock.advanceAsync(30_000);
    leader!.tab.freeze();
    const watcher = watchers(tabs)[0]!;
    watcher.tab.crash();
    const crashedAt = w.clock.now();
    const rest = tabs.filter((t) => t !== leader && t !== watcher);
    const took = await advanceUntil(w, () => leaders(rest).length === 1, 2 * T);
    expect(took).toBeLessThanOrEqual(Math.ceil((4 * T) / 3) + 10);
    expect(w.clock.now() - crashedAt).toBe(took);
    expect(leaders(rest)[0]!.bus.state().counters.steals).toBe(1);
  });

  it('without Web Locks nobody could tell that a watcher died: every visible follower watches', async () => {
    const w = world();
    const tabs = [open(w, { locks: false }), open(w, { locks: false }), open(w, { locks: false }), open(w, { locks: false, visible: false })];
    for (const t of tabs) void t.bus.start();
    await w.clock.advanceAsync(1000);
    expect(leaders(tabs)).toHaveLength(1);
    expect(tabs.map((t) => t.bus.state().mode)).toEqual(['elector', 'elector', 'elector', 'elector']);
    const visibleFollowers = tabs.filter((t) => t.bus.state().role === 'follower' && t.tab.visible);
    expect(watchers(tabs)).toEqual(visibleFollowers);
  });
});
