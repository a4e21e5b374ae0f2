// Resilience of the bus, on a virtual clock: a frozen leader and the steal, duplicate leaders and fencing
// (frames and the shared store), handoff(), server resets and retention gaps, session checks and
// sessionExpired(), offline/online, garbage on the frames channel, lastError.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBus, TEST_HOOKS, type BusOptions, type GapEvent, type TabBus } from '../index';
import { TabBusError } from '../errors';
import { FRAME_VERSION } from '../frames';
import { CURSOR_WRITE_DELAY } from '../link';
import { FakeBrowser, FakeTransport, VirtualClock, type FakeTab } from '../testing';
import { advanceUntil, FRAMES, ids, leaders, range, SCOPE, startAll, startLate, storedEpoch, type Note } from './virtual-tabs';


const CURSOR_KEY = `tabbus:${SCOPE}:cursor`;
const CHECKED_KEY = `tabbus:${SCOPE}:checked`;
/** A timeout no other timer of the bus uses, so the watch's timers can be told apart. */
const LEADER_TIMEOUT = 1234;

interface World {
  clock: VirtualClock;
  browser: FakeBrowser;
  /** Every transport any tab opened, oldest first. */
  transports: FakeTransport<Note>[];
}

interface Harness {
  tab: FakeTab;
  bus: TabBus<Note>;
  /** The transports this tab opened. */
  transports: FakeTransport<Note>[];
  received: number[];
  errors: TabBusError[];
  gaps: GapEvent[];
  expired: TabBusError[];
  /** Delays of the timers this tab set that are still pending. */
  pendingTimers: Set<{ ms: number }>;
  /** Every delay this tab's timers were set with. */
  timerDelays: number[];
}

let running: Harness[] = [];
afterEach(async () => {
  for (const h of running) await h.bus.stop();
  running = [];
});

function world(options: { online?: boolean } = {}): World {
  const clock = new VirtualClock();
  return { clock, browser: new FakeBrowser({ clock, ...(options.online === false ? { online: false } : {}) }), transports: [] };
}

function spawn(w: World, options: Partial<BusOptions<Note>> = {}, tabOptions: { visible?: boolean } = {}): Harness {
  const tab = w.browser.tab(tabOptions);
  const transports: FakeTransport<Note>[] = [];
  const pendingTimers = new Set<{ ms: number }>();
  const timerDelays: number[] = [];
  const handles = new Map<unknown, { ms: number }>();
  const env = tab.env({
    setTimeout: (fn, ms) => {
      const entry = { ms };
      pendingTimers.add(entry);
      timerDelays.push(ms);
      const handle = tab.setTimeout(() => {
        pendingTimers.delete(entry);
        fn();
      }, ms);
      handles.set(handle, entry);
      return handle;
    },
    clearTimeout: (handle) => {
      const entry = handles.get(handle);
      if (entry) pendingTimers.delete(entry);
      tab.clearTimeout(handle);
    },
  });
  const bus = createBus<Note>({
    scope: SCOPE,
    transport: () => {
      const t = new FakeTransport<Note>();
      transports.push(t);
      w.transports.push(t);
      return t;
    },
    unionDelay: 1,
    leaderTimeout: LEADER_TIMEOUT,
    env,
    ...options,
  });
  const h: Harness = { tab, bus, transports, received: [], errors: [], gaps: [], expired: [], pendingTimers, timerDelays };
  bus.on('notification', (items) => h.received.push(...items.map((i) => i.id)));
  bus.on('error', (e) => h.errors.push(e));
  bus.on('gap', (g) => h.gaps.push(g));
  bus.on('session_expired', (e) => h.expired.push(e));
  running.push(h);
  return h;
}

const openTransports = (w: World) => w.transports.filter((t) => t.isOpen);
const liveTransport = (h: Harness): FakeTransport<Note> => {
  const open = h.transports.filter((t) => t.isOpen);
  if (open.length !== 1) throw new Error(`expected one open transport in ${h.tab.id}, have ${open.length}`);
  return open[0]!;
};
const storedCursor = (w: World): number | undefined => {
  const raw = w.browser.storage.map.get(CURSOR_KEY);
  return raw === undefined ? undefined : (JSON.parse(raw) as { id: number }).id;
};
/** Frames of `type` posted by `tab` (or by anyone) since `from` (an index into the channel log). */
const framesOf = (w: World, type: string, tab?: FakeTab, from = 0) =>
  w.browser.posted.slice(from).filter((m) => m.name === FRAMES && (m.data as { type?: string }).type === type && (!tab || m.from === tab.id));
/** A new watcher probes a leader quiet for a third of leaderTimeout: its first timer is set that far ahead. */
const WATCH_PERIOD = Math.ceil(LEADER_TIMEOUT / 3);
/** The documented bound from a freeze to the takeover, 4/3 × leaderTimeout, plus advanceUntil's 10 ms step. */
const TAKEOVER_BOUND = Math.ceil((4 * LEADER_TIMEOUT) / 3) + 10;
const watchTimers = (h: Harness) => [...h.pendingTimers].filter((t) => t.ms === WATCH_PERIOD).length;



describe('a frozen leader', () => {
  it('a visible follower probes, gets no answer and steals within 4/3 × leaderTimeout; the new term resumes from the shared cursor', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w, {}, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    expect(await startAll(w, hs)).toBe(a);
    liveTransport(a).push(ids(1, 5));
    await w.clock.advanceAsync(LEADER_TIMEOUT * 3); // quiet, but alive: probes are answered
    for (const h of hs) expect(h.received).toEqual(range(1, 5));
    expect(b.bus.state().counters.steals).toBe(0);
    expect(framesOf(w, 'probe', b.tab).length).toBeGreaterThan(0);
    expect(framesOf(w, 'alive', a.tab).length).toBeGreaterThan(0);

    const postedBefore = w.browser.posted.length;
    let ledAt: number | undefined;
    b.bus.on('state', (state) => void (state.role === 'leader' && (ledAt ??= w.clock.now())));
    const frozenAt = w.clock.now();
    a.tab.freeze();
    await advanceUntil(w, () => ledAt !== undefined, TAKEOVER_BOUND + 100);
    expect(ledAt! - frozenAt).toBeLessThanOrEqual(TAKEOVER_BOUND);
    expect(ledAt! - frozenAt).toBeGreaterThanOrEqual(LEADER_TIMEOUT / 2);
    expect(framesOf(w, 'probe', b.tab, postedBefore).length).toBeGreaterThan(0);
    expect(b.bus.state().counters.steals).toBe(1);
    expect(c.bus.state().counters.steals).toBe(0);
    expect(framesOf(w, 'probe', c.tab)).toEqual([]);
    // A steal counts two terms up: it never shares an epoch with a grant it races.
    expect(b.bus.state().epoch).toBe(3);
    expect(storedEpoch(w)).toBe(3);
    expect(w.browser.locks.holders(`tabbus:${SCOPE}:leader`)).toEqual([b.tab.id]);
    const next = liveTransport(b);
    expect(next.sink!.cursor()).toBe(5);
    await w.clock.advanceAsync(10);
    expect(c.bus.state()).toMatchObject({ leaderId: b.bus.tabId, epoch: 3 });
  });

  /** Three tabs (a leads, b visible, c hidden), ids 1–5 delivered, then a freezes and b steals. */
  async function stolen() {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w, {}, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    liveTransport(a).push(ids(1, 5));
    // The cursor stored too, before the freeze.
    await w.clock.advanceAsync(CURSOR_WRITE_DELAY);
    a.tab.freeze();
    await advanceUntil(w, () => b.bus.state().role === 'leader', TAKEOVER_BOUND);
    await w.clock.advanceAsync(10);
    return { w, hs, a, b, c, old: liveTransport(a) };
  }

  it('on thaw the old leader steps down, closes its transport and follows the new term', async () => {
    const { w, hs, a, b, old } = await stolen();
    expect(a.bus.state().role).toBe('leader'); // frozen: it knows nothing yet
    a.tab.thaw();
    await w.clock.advanceAsync(10);
    expect(a.bus.state()).toMatchObject({ role: 'follower', epoch: 3, leaderId: b.bus.tabId });
    expect(old.closed).toBe(true);
    expect(openTransports(w)).toEqual([liveTransport(b)]);
    expect(leaders(hs)).toEqual([b]);
    liveTransport(b).push(ids(4, 8));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 8));
    // The thawed tab is now a visible follower of a leader that answers: no steal back.
    await w.clock.advanceAsync(LEADER_TIMEOUT * 5);
    expect(leaders(hs)).toEqual([b]);
    expect(a.bus.state().counters.steals).toBe(0);
  });

  it('a reply reaching the old leader as it thaws is dropped: not delivered, not fanned out, the shared cursor stays', async () => {
    const { w, hs, a, b, c, old } = await stolen();
    const posted = w.browser.posted.length;
    a.tab.thaw();
    // Its poll's answer is the first thing it runs, before it hears of the steal from the lock or the frames.
    old.push(ids(6, 8));
    expect(a.bus.state().role).toBe('follower');
    expect(old.closed).toBe(true);
    expect(storedCursor(w)).toBe(5);
    expect(framesOf(w, 'batch', a.tab, posted)).toEqual([]);
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 5));
    expect(liveTransport(b).sink!.cursor()).toBe(5);
    liveTransport(b).push(ids(6, 8));
    await w.clock.advanceAsync(CURSOR_WRITE_DELAY);
    for (const h of hs) expect(h.received).toEqual(range(1, 8));
    expect(storedCursor(w)).toBe(8);
    expect(c.bus.state().counters.delivered).toBe(8);
    expect(openTransports(w)).toHaveLength(1);
  });

  it('a tab that stops and starts again while the leader is frozen joins at once (the frozen leader was granted its lifetime lock as it stopped, and holds it until it thaws)', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, { channels: ['mine'] }), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    expect(await startAll(w, hs)).toBe(a);
    a.tab.freeze();
    await b.bus.stop();
    await w.clock.advanceAsync(10);
    void b.bus.start();
    await w.clock.advanceAsync(LEADER_TIMEOUT * 4);
    expect(b.bus.state().role).not.toBe('joining');
    const [lead] = leaders([b, c]);
    expect(leaders([b, c])).toHaveLength(1);
    a.tab.thaw();
    await w.clock.advanceAsync(100);
    expect(leaders(hs)).toEqual([lead]);
    for (const h of hs) expect(h.bus.state().tabs).toBe(3);
    expect(liveTransport(lead!).unions.at(-1)).toEqual(['mine']);
    liveTransport(lead!).push(ids(1, 2));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual([1, 2]);
  });

  it('two visible followers: in the end one leader, one transport, every id once', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    liveTransport(a).push(ids(1, 3));
    a.tab.freeze();
    await w.clock.advanceAsync(2 * LEADER_TIMEOUT + 10);
    expect(leaders([b, c])).toHaveLength(1);
    a.tab.thaw();
    await w.clock.advanceAsync(LEADER_TIMEOUT * 3);
    const [leader] = leaders(hs);
    expect(leaders(hs)).toHaveLength(1);
    expect(openTransports(w)).toEqual([liveTransport(leader!)]);
    expect(liveTransport(leader!).sink!.cursor()).toBe(3);
    liveTransport(leader!).push(ids(2, 6));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 6));
  });

  it('hidden followers run no watch: no timer, no probe, no steal, until one turns visible', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, {}, { visible: false }), spawn(w, {}, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    await w.clock.advanceAsync(LEADER_TIMEOUT * 5);
    a.tab.freeze();
    await w.clock.advanceAsync(LEADER_TIMEOUT * 10);
    for (const h of [b, c]) {
      expect(h.pendingTimers.size).toBe(0);
      expect(h.timerDelays).not.toContain(WATCH_PERIOD);
      expect(h.bus.state()).toMatchObject({ role: 'follower', counters: { steals: 0 } });
    }
    expect(framesOf(w, 'probe')).toEqual([]);
    b.tab.setVisible(true);
    expect(watchTimers(b)).toBe(1);
    const took = await advanceUntil(w, () => b.bus.state().role === 'leader', TAKEOVER_BOUND);
    expect(took).toBeLessThanOrEqual(TAKEOVER_BOUND);
    expect(c.bus.state().counters.steals).toBe(0);
  });

  it('a visible follower that turns hidden stops its watch', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    expect(watchTimers(b)).toBe(1);
    b.tab.setVisible(false);
    expect(b.pendingTimers.size).toBe(0);
    const posted = w.browser.posted.length;
    await w.clock.advanceAsync(LEADER_TIMEOUT * 5);
    expect(framesOf(w, 'probe', b.tab, posted)).toEqual([]);
  });

  it('a busy leader is never probed', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    for (let id = 1; id <= 40; id++) {
      liveTransport(a).push([{ id }]);
      await w.clock.advanceAsync(LEADER_TIMEOUT / 4);
    }
    expect(b.received).toEqual(range(1, 40));
    expect(framesOf(w, 'probe')).toEqual([]);
    expect(framesOf(w, 'alive')).toEqual([]);
  });

  it('leaderTimeout: 0 turns the watch off: a frozen leader is waited for', async () => {
    const w = world();
    const hs = [spawn(w, { leaderTimeout: 0 }), spawn(w, { leaderTimeout: 0 })];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    a.tab.freeze();
    await w.clock.advanceAsync(60_000);
    expect(b.pendingTimers.size).toBe(0);
    expect(framesOf(w, 'probe')).toEqual([]);
    expect(b.bus.state()).toMatchObject({ role: 'follower', counters: { steals: 0 } });
  });
});

describe('duplicate leaders (TEST_HOOKS.forceLead)', () => {
  /** The newest transport the tab opened. */
  const newest = (h: Harness) => h.transports.at(-1)!;

  it("the older term's frames are fenced, the old leader steps down, and every tab delivers each id once", async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const first = liveTransport(a);
    first.push(ids(1, 3));
    await w.clock.advanceAsync(10);
    b.bus[TEST_HOOKS].forceLead();
    expect(b.bus.state()).toMatchObject({ role: 'leader', epoch: 2 });
    expect(a.bus.state()).toMatchObject({ role: 'leader', epoch: 1 });
    expect(openTransports(w)).toHaveLength(2);
    // The old leader's connection changes state before it hears of the new term: its status frame is stale.
    first.status('backoff');
    await w.clock.advanceAsync(10);
    expect(c.bus.state().counters.fenced).toBe(1);
    expect(b.bus.state().counters.fenced).toBe(1);
    expect(c.bus.state().transport).not.toBe('backoff');
    expect(a.bus.state()).toMatchObject({ role: 'follower', leaderId: b.bus.tabId });
    expect(first.closed).toBe(true);
    await w.clock.advanceAsync(100);
    expect(leaders(hs)).toHaveLength(1);
    const [leader] = leaders(hs);
    for (const h of hs) expect(h.bus.state()).toMatchObject({ epoch: leader!.bus.state().epoch, leaderId: leader!.bus.tabId });
    expect(newest(leader!).sink!.cursor()).toBe(3);
    newest(leader!).push(ids(2, 6));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 6));
  });

  it('without a shared store, a batch of the older term reaches no other tab, and nothing is delivered twice', async () => {
    const w = world();
    w.browser.storage.fail = 'denied';
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const first = liveTransport(a);
    first.push(ids(1, 3));
    await w.clock.advanceAsync(10);
    b.bus[TEST_HOOKS].forceLead();
    liveTransport(b).push(ids(4, 5));
    first.push(ids(4, 6)); // the old leader still polls: nothing in the store tells it about the new term
    expect(a.received).toEqual(range(1, 6));
    await w.clock.advanceAsync(10);
    expect(b.received).toEqual(range(1, 5));
    expect(c.received).toEqual(range(1, 5));
    expect(c.bus.state().counters.fenced).toBe(1);
    expect(b.bus.state().counters.fenced).toBe(1);
    expect(first.closed).toBe(true);
    await w.clock.advanceAsync(100);
    expect(leaders(hs)).toHaveLength(1);
    const [leader] = leaders(hs);
    newest(leader!).push(ids(4, 8));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 8));
  });

  // forceLead() makes the tab lead while its own campaign still waits for the lock: when the old leader
  // steps down and resigns, that campaign is granted and #lead runs a second time in the same tab. It must
  // not leave the forced term's transport open.
  it('in the end exactly one transport is open, and none after every tab stopped', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [, b] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    b.bus[TEST_HOOKS].forceLead();
    await w.clock.advanceAsync(100);
    expect(leaders(hs)).toHaveLength(1);
    expect(openTransports(w)).toHaveLength(1);
    for (const h of hs) await h.bus.stop();
    expect(openTransports(w)).toEqual([]);
  });
});

describe('handoff()', () => {
  it('the leader gives the connection to the next tab, which resumes from the shared cursor with epoch + 1', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const first = liveTransport(a);
    first.push(ids(1, 5));
    await w.clock.advanceAsync(10);
    expect(b.bus.handoff()).toBe(false);
    expect(c.bus.handoff()).toBe(false);
    expect(leaders(hs)).toEqual([a]);
    expect(a.bus.handoff()).toBe(true);
    expect(a.bus.state().role).toBe('follower');
    expect(first.closed).toBe(true);
    await w.clock.advanceAsync(10);
    expect(leaders(hs)).toEqual([b]);
    for (const h of hs) expect(h.bus.state()).toMatchObject({ epoch: 2, leaderId: b.bus.tabId, tabs: 3 });
    expect(openTransports(w)).toEqual([liveTransport(b)]);
    expect(liveTransport(b).sink!.cursor()).toBe(5);
    liveTransport(b).push(ids(3, 8)); // a replay from before the cursor
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 8));
    // The tab that handed off queued again: it is next after c.
    expect(b.bus.handoff()).toBe(true);
    await w.clock.advanceAsync(10);
    expect(leaders(hs)).toEqual([c]);
    expect(c.bus.state().epoch).toBe(3);
    expect(c.bus.handoff()).toBe(true);
    await w.clock.advanceAsync(10);
    expect(leaders(hs)).toEqual([a]);
    expect(a.bus.state().epoch).toBe(4);
    expect(liveTransport(a).sink!.cursor()).toBe(8);
  });

  it('a lone leader takes the connection back with a new term', async () => {
    const w = world();
    const a = spawn(w);
    await startAll(w, [a]);
    liveTransport(a).push(ids(1, 2));
    expect(a.bus.handoff()).toBe(true);
    await w.clock.advanceAsync(10);
    expect(a.bus.state()).toMatchObject({ role: 'leader', epoch: 2 });
    expect(a.transports.map((t) => t.isOpen)).toEqual([false, true]);
    expect(liveTransport(a).sink!.cursor()).toBe(2);
  });

  it('returns false on a stopped bus', async () => {
    const w = world();
    const a = spawn(w);
    expect(a.bus.handoff()).toBe(false);
    await startAll(w, [a]);
    await a.bus.stop();
    expect(a.bus.handoff()).toBe(false);
  });
});

/**
 * Tabs a, b and c of one world: a leads and c follows; b has not started. With another tab open the leader
 * stores its cursor a moment after each fan-out (alone, with each reply).
 */
async function leaderAndFollower(w: World): Promise<[Harness, Harness, Harness]> {
  const tabs = [spawn(w), spawn(w), spawn(w)] as [Harness, Harness, Harness];
  await startLate(w, tabs[0]);
  await startLate(w, tabs[2]);
  return tabs;
}

describe('server reset', () => {
  it('every tab hears of the gap once, forgets its ids, then delivers the new low ids; the shared cursor follows', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const transport = liveTransport(a);
    transport.push(ids(1, 10));
    await w.clock.advanceAsync(CURSOR_WRITE_DELAY);
    expect(storedCursor(w)).toBe(10);
    transport.reset();
    transport.push(ids(1, 3));
    await w.clock.advanceAsync(CURSOR_WRITE_DELAY);
    for (const h of hs) {
      expect(h.gaps).toEqual([{ cursor: 10, age: 0, reason: 'reset' }]);
      expect(h.received).toEqual([...range(1, 10), 1, 2, 3]);
      expect(h.bus.state().cursor).toBe(3);
    }
    expect(transport.sink!.cursor()).toBe(3);
    expect(storedCursor(w)).toBe(3);
    transport.push(ids(3, 4));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received.slice(10)).toEqual([1, 2, 3, 4]);
    // The next term starts from the new ids.
    a.bus.handoff();
    await w.clock.advanceAsync(10);
    const [next] = leaders(hs);
    expect(next).not.toBe(a);
    expect(liveTransport(next!).sink!.cursor()).toBe(4);
    for (const h of hs) expect(h.gaps).toHaveLength(1);
  });

  it('a tab that starts before the leader stored its cursor starts at the cursor in its welcome: leading later, it polls from there', async () => {
    const w = world();
    const [a, b, c] = await leaderAndFollower(w);
    liveTransport(a).push(ids(1, 5));
    // The cursor is stored CURSOR_WRITE_DELAY after the fan-out: b starts before that, and reads none.
    await startLate(w, b);
    expect(storedCursor(w)).toBeUndefined();
    await w.clock.advanceAsync(CURSOR_WRITE_DELAY);
    // Gone, c is not the next in line for the lock.
    await c.bus.stop();
    a.bus.handoff();
    await w.clock.advanceAsync(10);
    expect(leaders([a, b])).toEqual([b]);
    // From 0, an Odoo 8–15 server would bring its last 50 s again, all of it new to this tab.
    expect(liveTransport(b).sink!.cursor()).toBe(5);
    expect(b.received).toEqual([]);
  });

  it('a tab that starts while the stored cursor is one batch behind (stored a moment after each fan-out) asks for no replay of what came before it', async () => {
    const w = world();
    const [a, b] = await leaderAndFollower(w);
    liveTransport(a).push(ids(1, 5));
    await w.clock.advanceAsync(CURSOR_WRITE_DELAY);
    liveTransport(a).push(ids(6, 8));
    const posted = w.browser.posted.length;
    await startLate(w, b);
    expect(storedCursor(w)).toBe(5);
    await w.clock.advanceAsync(2000);
    expect(framesOf(w, 'resync', b.tab, posted)).toEqual([]);
    expect(b.received).toEqual([]);
    liveTransport(a).push(ids(9, 9));
    await w.clock.advanceAsync(10);
    expect(b.received).toEqual([9]);
  });

  it('is not what a stale read of the stored cursor shows (storage reaches each renderer late): a tab started again at once delivers nothing twice', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    liveTransport(a).push(ids(1, 8));
    await w.clock.advanceAsync(10);
    const stale = w.browser.storage.map.get(CURSOR_KEY)!;
    liveTransport(a).push(ids(9, 10));
    await w.clock.advanceAsync(10);
    await b.bus.stop();
    // b's renderer has not seen the write of the last batch's cursor yet.
    w.browser.storage.map.set(CURSOR_KEY, stale);
    await startLate(w, b);
    w.browser.storage.map.set(CURSOR_KEY, JSON.stringify({ id: 10, at: w.clock.now() }));
    liveTransport(a).push(ids(11, 11));
    await w.clock.advanceAsync(2000);
    expect(b.received).toEqual(range(1, 11));
    expect(b.gaps).toEqual([]);
  });

  it('a tab away across it (stopped, or in the back/forward cache), back within retention, hears of it and delivers the new ids', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    liveTransport(a).push(ids(1, 10));
    await w.clock.advanceAsync(10);
    await b.bus.stop();
    await w.clock.advanceAsync(10);
    c.tab.pageHide(true);
    await w.clock.advanceAsync(10);
    liveTransport(a).reset();
    liveTransport(a).push(ids(1, 3));
    await w.clock.advanceAsync(10);
    await startLate(w, b);
    c.tab.pageShow(true);
    await w.clock.advanceAsync(100);
    liveTransport(a).push(ids(4, 5));
    await w.clock.advanceAsync(100);
    for (const h of [b, c]) {
      // Its old ids 4 and 5 are not the new ones: it missed 1-3 and says so with the gap the others had.
      expect(h.received).toEqual([...range(1, 10), 4, 5]);
      expect(h.gaps).toMatchObject([{ reason: 'reset' }]);
    }
  });
});

describe('an id the server sends after higher ones (a late commit: Odoo 17+ holds its last id back 10 s)', () => {
  it('every tab delivers it once, also across a hand-off that replays what the tabs have', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const one = (...list: number[]) => list.map((id) => ({ id }) as Note);
    liveTransport(a).push(one(1, 2, 4, 5));
    await w.clock.advanceAsync(10);
    liveTransport(a).push(one(3));
    await w.clock.advanceAsync(CURSOR_WRITE_DELAY);
    for (const h of hs) expect(h.received).toEqual([1, 2, 4, 5, 3]);
    expect(storedCursor(w)).toBe(5);
    a.bus.handoff();
    await w.clock.advanceAsync(10);
    const [next] = leaders(hs);
    expect(next).not.toBe(a);
    // The new term resends what every tab has, the late id among them, and one new id.
    liveTransport(next!).push(one(2, 3, 4, 5, 6));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual([1, 2, 4, 5, 3, 6]);
  });
});

describe('retention gap within a term', () => {
  const RETENTION = 10_000;

  it('a leader that heard nothing from the server for longer than retention raises gap in the tabs old enough', async () => {
    const w = world();
    const hs = [spawn(w, { retention: RETENTION }), spawn(w, { retention: RETENTION })];
    const [a] = hs as [Harness, Harness];
    await startAll(w, hs);
    const transport = liveTransport(a);
    transport.push(ids(1, 2));
    await w.clock.advanceAsync(RETENTION); // exactly the retention: no gap yet
    transport.push([]);
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.gaps).toEqual([]);

    const young = spawn(w, { retention: RETENTION });
    await w.clock.advanceAsync(RETENTION - 100);
    const started = young.bus.start();
    await w.clock.advanceAsync(20);
    await started;
    expect(young.bus.state()).toMatchObject({ role: 'follower', tabs: 3 });
    await w.clock.advanceAsync(200); // the server has been silent for RETENTION + 110 ms
    const silence = RETENTION - 100 + 20 + 200 + 10;
    transport.push(ids(3, 4));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.gaps).toEqual([{ cursor: 2, age: silence, reason: 'retention' }]);
    expect(young.gaps).toEqual([]);
    for (const h of [...hs, young]) expect(h.received.slice(-2)).toEqual([3, 4]);
    // Heard again: no second gap.
    await w.clock.advanceAsync(RETENTION / 2);
    transport.push(ids(5, 5));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.gaps).toHaveLength(1);
  });
});

describe('replays the leader serves from what it kept', () => {
  const RETENTION = 10_000;

  /**
   * Tab `b` goes into the bfcache after ids 1–3, misses what `meanwhile` has the leader `a` receive, and comes
   * back (it asks `a` for a replay). `served`: the batches `a` had posted before that.
   */
  async function backFromBfcache(w: World, a: Harness, b: Harness, meanwhile: (transport: FakeTransport<Note>) => Promise<void>) {
    const transport = liveTransport(a);
    transport.push(ids(1, 3));
    await w.clock.advanceAsync(10);
    b.tab.pageHide(true);
    await w.clock.advanceAsync(10);
    await meanwhile(transport);
    const served = framesOf(w, 'batch', a.tab).length;
    b.tab.pageShow(true);
    return { transport, served };
  }

  it('are no news from the server: a later leader still tells of the gap when it was last heard longer than retention ago', async () => {
    const w = world();
    const hs = [spawn(w, { retention: RETENTION }), spawn(w, { retention: RETENTION }), spawn(w, { retention: RETENTION })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const { transport, served } = await backFromBfcache(w, a, b, async (t) => {
      t.push(ids(4, 5)); // the server's last word
      t.status('backoff'); // unreachable from here on
      await w.clock.advanceAsync(RETENTION - 2000); // b comes back within the retention
    });
    await advanceUntil(w, () => b.received.includes(5), 3000);
    expect(framesOf(w, 'batch', a.tab, 0).slice(served).map((m) => m.data)).toMatchObject([{ after: 3, items: ids(4, 5) }]);
    expect(transport.refreshes).toBe(0); // served from what the leader kept
    // Still unreachable, the leader closes: the next term asks from 5, the server silent for longer than retention.
    await w.clock.advanceAsync(5000);
    a.tab.close();
    await advanceUntil(w, () => leaders([b, c]).length === 1, 5000);
    expect(c.gaps).toMatchObject([{ cursor: 5, reason: 'retention' }]);
  });

  it('bring an id the server sent late, below the watermark of the tab that asks, if that tab never had it', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const one = (...list: number[]) => list.map((id) => ({ id }) as Note);
    liveTransport(a).push(one(1, 2, 4));
    await w.clock.advanceAsync(10);
    b.tab.pageHide(true);
    await w.clock.advanceAsync(10);
    liveTransport(a).push(one(5));
    liveTransport(a).push(one(3)); // committed late
    await w.clock.advanceAsync(10);
    b.tab.pageShow(true);
    await advanceUntil(w, () => b.received.includes(5), 3000);
    await w.clock.advanceAsync(2000);
    expect(a.received).toEqual([1, 2, 4, 5, 3]);
    expect(b.received).toEqual([1, 2, 4, 5, 3]);
  });

  it('bring an id the server sent late while a tab was in the bfcache, also when nothing above its watermark came', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const one = (...list: number[]) => list.map((id) => ({ id }) as Note);
    liveTransport(a).push(one(1, 2, 4, 5));
    await w.clock.advanceAsync(10);
    b.tab.pageHide(true);
    await w.clock.advanceAsync(10);
    liveTransport(a).push(one(3)); // committed late
    await w.clock.advanceAsync(10);
    b.tab.pageShow(true);
    await w.clock.advanceAsync(2000);
    expect(b.received).toEqual([1, 2, 4, 5, 3]);
    expect(a.received).toEqual([1, 2, 4, 5, 3]);
    expect(liveTransport(a).refreshes).toBe(0); // from what the leader kept
  });

  it("are what the server sent, whatever the leader's own listeners did to the items (Odoo 17's mail store adds what a channel cannot clone)", async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    a.bus.on('notification', (notes) => {
      for (const note of notes) Object.assign(note, { text: 'changed here', render: () => undefined });
    });
    const { transport, served } = await backFromBfcache(w, a, b, async (t) => {
      t.push(ids(4, 5));
      await w.clock.advanceAsync(10);
    });
    await advanceUntil(w, () => b.received.includes(5), 3000);
    expect(framesOf(w, 'batch', a.tab, 0).slice(served).map((m) => m.data)).toMatchObject([{ after: 3, items: ids(4, 5) }]);
    expect((framesOf(w, 'batch', a.tab, 0).at(-1)!.data as { items: object[] }).items.every((item) => !('text' in item) && !('render' in item))).toBe(true);
    expect(transport.refreshes).toBe(0);
  });

  it('a tab back while a channel just joined waits for its request gets the replay from the server, with that channel', async () => {
    const w = world();
    const hs = [spawn(w, { unionDelay: 500 }), spawn(w, { unionDelay: 500 }), spawn(w, { unionDelay: 500 })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const transport = liveTransport(a);
    transport.push(ids(1, 3));
    await w.clock.advanceAsync(10);
    b.tab.pageHide(true); // into the bfcache
    await w.clock.advanceAsync(10);
    c.bus.addChannel('y'); // the union's only holder of y: the leader asks for it after unionDelay
    await w.clock.advanceAsync(10);
    // Before that request, the one of the old union answers: 4 and 6, not 5 (sent on y).
    transport.push([{ id: 4 }, { id: 6 }]);
    await w.clock.advanceAsync(10);
    b.tab.pageShow(true); // back: it missed 4 and 6, and asks the leader from 3
    await w.clock.advanceAsync(100);
    // What the server replays from the cursor the leader asks from, for the union with y.
    if (transport.sink!.cursor() === 3) transport.push(ids(4, 6));
    await w.clock.advanceAsync(1000);
    expect(c.received).toEqual([1, 2, 3, 4, 6, 5]);
    expect(b.received).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('session checks', () => {
  const INTERVAL = 60_000;
  const expiredError = () => new TabBusError('session_expired', 'the session expired', { fatal: true });

  /** The passes `tab` told of in its `alive` frames (each once: the answers to probes repeat the latest; 0 is none). */
  const alivePasses = (w: World, tab: FakeTab) => [
    ...new Set(w.browser.posted.filter((m) => m.name === FRAMES && m.from === tab.id && (m.data as { type: string }).type === 'alive').flatMap((m) => (m.data as { checked?: number }).checked || [])),
  ];

  /** A checkSession per tab that records when it was called and answers with `answer()`. */
  function checker(w: World, answer: () => Promise<void> = () => Promise.resolve()) {
    const calls: number[] = [];
    const fn = vi.fn(() => {
      calls.push(w.clock.now());
      return answer();
    });
    return { fn, calls };
  }

  it('the leader checks at once when no pass is known, at the first transport error after a reply (then at most once per 10 s), and every interval across terms; followers never', async () => {
    const w = world();
    const checks = [checker(w), checker(w), checker(w)];
    const hs = checks.map((c) => spawn(w, { checkSession: c.fn, sessionCheckInterval: INTERVAL }));
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const [ca, cb, cc] = checks as [ReturnType<typeof checker>, ReturnType<typeof checker>, ReturnType<typeof checker>];
    expect(ca.calls).toHaveLength(1);
    const t0 = ca.calls[0]!;
    const at = async (t: number) => w.clock.advanceAsync(t0 + t - w.clock.now());
    const fail = () => liveTransport(a).fail(new TabBusError('network', 'no answer'));

    await at(9_999);
    fail();
    // The first error after a reply (or the start) is checked at once.
    expect(ca.calls).toEqual([t0, t0 + 9_999]);
    fail();
    await at(9_999 + 9_999);
    fail();
    // The same run of errors (no reply between): at most once per 10 s.
    expect(ca.calls).toHaveLength(2);
    await at(9_999 + 10_000);
    fail();
    expect(ca.calls).toEqual([t0, t0 + 9_999, t0 + 19_999]);
    // A reply ends the run: the next error is checked at once again.
    liveTransport(a).push([]);
    await at(19_999 + 1);
    fail();
    expect(ca.calls).toEqual([t0, t0 + 9_999, t0 + 19_999, t0 + 20_000]);
    // The interval counts from the last check.
    await at(20_000 + INTERVAL - 1);
    expect(ca.calls).toHaveLength(4);
    await at(20_000 + INTERVAL);
    expect(ca.calls).toHaveLength(5);
    await at(20_000 + 3 * INTERVAL);
    expect(ca.calls).toHaveLength(7);
    expect(a.errors.map((e) => e.code)).toEqual(['network', 'network', 'network', 'network', 'network']);
    expect(cb.calls).toEqual([]);
    expect(cc.calls).toEqual([]);

    // A new term goes on from the scope's last pass (a's last check): the new leader checks an interval
    // after it, not at once; the old leader stops checking. Only the first pass, when a was still alone,
    // was stored; the followers heard of every pass in `alive` frames, and nothing was written for the others.
    const lastPass = ca.calls.at(-1)!;
    expect(w.browser.storage.map.get(CHECKED_KEY)).toBe(String(t0));
    expect(alivePasses(w, a.tab)).toEqual(ca.calls);
    a.bus.handoff();
    await w.clock.advanceAsync(10);
    expect(leaders(hs)).toEqual([b]);
    expect(cb.calls).toEqual([]);
    await w.clock.advanceAsync(lastPass + INTERVAL - 1 - w.clock.now());
    expect(cb.calls).toEqual([]);
    await w.clock.advanceAsync(1);
    expect(cb.calls).toEqual([lastPass + INTERVAL]);
    await w.clock.advanceAsync(INTERVAL);
    expect(cb.calls).toEqual([lastPass + INTERVAL, lastPass + 2 * INTERVAL]);
    expect(ca.calls).toHaveLength(7);
    expect(cc.calls).toEqual([]);
    expect(c.bus.state().role).toBe('follower');
  });

  it('a check that did not pass is no pass: the next leader checks at once', async () => {
    const w = world();
    const ca = checker(w, () => Promise.reject(new TabBusError('network', 'no answer')));
    const cb = checker(w);
    const hs = [spawn(w, { checkSession: ca.fn, sessionCheckInterval: INTERVAL }), spawn(w, { checkSession: cb.fn, sessionCheckInterval: INTERVAL })];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    expect(ca.calls).toHaveLength(1);
    expect(w.browser.storage.map.has(CHECKED_KEY)).toBe(false);
    await w.clock.advanceAsync(1000);
    a.bus.handoff();
    await w.clock.advanceAsync(10);
    expect(leaders(hs)).toEqual([b]);
    expect(cb.calls).toEqual([w.clock.now() - 10]);
    expect(alivePasses(w, a.tab)).toEqual([]);
    expect(alivePasses(w, b.tab)).toEqual(cb.calls);
  });

  it('a pass is stored only by a tab alone; a tab that opens later learns the pass from the answer to a probe', async () => {
    const w = world();
    const first = checker(w);
    const a = spawn(w, { checkSession: first.fn, sessionCheckInterval: INTERVAL });
    await startAll(w, [a]);
    const pass = first.calls[0]!;
    expect(w.browser.storage.map.get(CHECKED_KEY)).toBe(String(pass));
    expect(alivePasses(w, a.tab)).toEqual([]);
    // Storage says nothing newer from now on: what b learns, it learns from a's frames.
    w.browser.storage.map.delete(CHECKED_KEY);
    await w.clock.advanceAsync(10_000);
    const later = checker(w);
    const b = spawn(w, { checkSession: later.fn, sessionCheckInterval: INTERVAL });
    await startLate(w, b);
    expect(b.bus.state().watching).toBe(true);
    // b probes the quiet leader within a leaderTimeout; a's answer carries the pass.
    await w.clock.advanceAsync(4_000);
    expect(alivePasses(w, a.tab)).toContain(pass);
    a.tab.crash();
    await advanceUntil(w, () => b.bus.state().role === 'leader', 1000);
    expect(later.calls).toEqual([]);
    await w.clock.advanceAsync(pass + INTERVAL - 1 - w.clock.now());
    expect(later.calls).toEqual([]);
    await w.clock.advanceAsync(1);
    expect(later.calls).toEqual([pass + INTERVAL]);
    // b is alone now: its pass is stored.
    await w.clock.advanceAsync(10);
    expect(w.browser.storage.map.get(CHECKED_KEY)).toBe(String(pass + INTERVAL));
  });

  it('a tab that opens after the last `alive` learns the pass from its welcome: leading at once, it asks nothing', async () => {
    const w = world();
    const first = checker(w);
    const a = spawn(w, { checkSession: first.fn, sessionCheckInterval: INTERVAL });
    await startAll(w, [a]);
    const pass = first.calls[0]!;
    // Neither storage nor an `alive` tells b: only the leader's welcome can.
    w.browser.storage.map.delete(CHECKED_KEY);
    const later = checker(w);
    const b = spawn(w, { checkSession: later.fn, sessionCheckInterval: INTERVAL });
    await startLate(w, b);
    expect(alivePasses(w, a.tab)).toEqual([]);
    a.tab.crash();
    await advanceUntil(w, () => b.bus.state().role === 'leader', 1000);
    await w.clock.advanceAsync(pass + INTERVAL - 1 - w.clock.now());
    expect(later.calls).toEqual([]);
    await w.clock.advanceAsync(1);
    expect(later.calls).toEqual([pass + INTERVAL]);
  });

  it('the pass is kept for the next page: a tab that starts leading soon after checks an interval after it', async () => {
    const w = world();
    const first = checker(w);
    const a = spawn(w, { checkSession: first.fn, sessionCheckInterval: INTERVAL });
    await startAll(w, [a]);
    expect(first.calls).toHaveLength(1);
    const pass = first.calls[0]!;
    await w.clock.advanceAsync(10_000);
    await a.bus.stop();
    // The same browser, a new page of the same scope (a reload).
    const again = checker(w);
    const b = spawn(w, { checkSession: again.fn, sessionCheckInterval: INTERVAL });
    await startAll(w, [b]);
    expect(b.bus.state().role).toBe('leader');
    expect(again.calls).toEqual([]);
    await w.clock.advanceAsync(pass + INTERVAL - w.clock.now());
    expect(again.calls).toEqual([pass + INTERVAL]);
  });

  it('a stored pass in the future (the clock was set back) delays the first check by one interval at most; an unreadable one not at all', async () => {
    for (const [stored, wait] of [[`${Date.UTC(2100, 0)}`, INTERVAL], ['"garbage"', 0], ['{', 0]] as const) {
      const w = world();
      w.browser.storage.map.set(CHECKED_KEY, stored);
      const check = checker(w);
      const a = spawn(w, { checkSession: check.fn, sessionCheckInterval: INTERVAL });
      const before = w.clock.now();
      await startAll(w, [a]);
      const led = a.bus.state().transition!.at;
      expect(led - before).toBeLessThan(100);
      expect(check.calls).toEqual(wait ? [] : [led]);
      await w.clock.advanceAsync(led + INTERVAL - w.clock.now());
      expect(check.calls).toEqual(wait ? [led + INTERVAL] : [led, led + INTERVAL]);
      await a.bus.stop();
    }
  });

  it("a solo tab (coordination 'none') checks the session as a leader does", async () => {
    const w = world();
    const c = checker(w);
    const a = spawn(w, { coordination: 'none', checkSession: c.fn, sessionCheckInterval: INTERVAL });
    await a.bus.start();
    await w.clock.advanceAsync(10);
    expect(a.bus.state().role).toBe('solo');
    expect(c.calls).toHaveLength(1);
    await w.clock.advanceAsync(2 * INTERVAL);
    expect(c.calls).toHaveLength(3);
    // Alone, it keeps the pass for the next page.
    expect(Number(w.browser.storage.map.get(CHECKED_KEY))).toBe(c.calls.at(-1));
  });

  it('a check that passes after its tab handed the connection over says nothing: the new leader stays', async () => {
    const w = world();
    const passes = new Map<Harness, () => void>();
    const pending = (h: () => Harness) => vi.fn(() => new Promise<void>((resolve) => void passes.set(h(), resolve)));
    const x: Harness = spawn(w, { checkSession: pending(() => x), sessionCheckInterval: INTERVAL });
    const y: Harness = spawn(w, { checkSession: pending(() => y), sessionCheckInterval: INTERVAL });
    // The first leader has the higher tab id: of two terms of one epoch, the higher id wins, so an `alive` of
    // the new epoch from it would depose the tab it handed over to.
    const [a, b] = x.bus.tabId > y.bus.tabId ? [x, y] : [y, x];
    expect(await startAll(w, [a, b])).toBe(a);
    expect([...passes.keys()]).toEqual([a]); // its term-start check, still on its way
    expect(a.bus.handoff()).toBe(true);
    await w.clock.advanceAsync(10);
    expect(leaders([a, b])).toEqual([b]);
    const epoch = b.bus.state().epoch;
    passes.get(a)!();
    await w.clock.advanceAsync(LEADER_TIMEOUT * 3);
    expect(b.bus.state()).toMatchObject({ role: 'leader', epoch, leaderId: b.bus.tabId });
    expect(a.bus.state()).toMatchObject({ role: 'follower', epoch, leaderId: b.bus.tabId });
  });

  it('sessionCheckInterval: 0 checks only at term start and after errors', async () => {
    const w = world();
    const check = checker(w);
    const a = spawn(w, { checkSession: check.fn, sessionCheckInterval: 0 });
    await startAll(w, [a]);
    await w.clock.advanceAsync(10 * 300_000);
    expect(check.calls).toHaveLength(1);
    liveTransport(a).fail(new TabBusError('network', 'no answer'));
    expect(check.calls).toHaveLength(2);
  });

  it.each([
    ['at term start', 0],
    ['at an interval check', 2],
  ])('a session_expired rejection %s stops every tab with one session_expired each', async (_when, okChecks) => {
    const w = world();
    let calls = 0;
    const checkSession = vi.fn(() => (++calls > okChecks ? Promise.reject(expiredError()) : Promise.resolve()));
    const hs = [spawn(w, { checkSession, sessionCheckInterval: INTERVAL }), spawn(w), spawn(w)];
    const [a] = hs as [Harness, Harness, Harness];
    for (const h of hs) void h.bus.start();
    await w.clock.advanceAsync(okChecks * INTERVAL + 100);
    for (const h of hs) {
      expect(h.expired).toHaveLength(1);
      expect(h.expired[0]).toMatchObject({ code: 'session_expired', fatal: true });
      expect(h.bus.state()).toMatchObject({ role: 'stopped', lastError: { code: 'session_expired' } });
    }
    expect(a.transports.every((t) => t.closed)).toBe(true);
    expect(openTransports(w)).toEqual([]);
    await w.clock.advanceAsync(3 * INTERVAL);
    expect(checkSession).toHaveBeenCalledTimes(okChecks + 1);
    for (const h of hs) expect(h.expired).toHaveLength(1);
  });

  it.each([
    ['a network TabBusError', () => new TabBusError('network', 'no answer')],
    ['a server TabBusError', () => new TabBusError('server', 'boom')],
    ['a plain Error', () => new Error('boom')],
    ['a string', () => 'nope'],
  ])('ignores a rejection with %s and keeps checking', async (_what, reason) => {
    const w = world();
    const check = checker(w, () => Promise.reject(reason()));
    const hs = [spawn(w, { checkSession: check.fn, sessionCheckInterval: INTERVAL }), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    await w.clock.advanceAsync(2 * INTERVAL);
    expect(check.calls).toHaveLength(3);
    expect(a.bus.state()).toMatchObject({ role: 'leader', lastError: null });
    expect(b.bus.state().role).toBe('follower');
    for (const h of hs) expect([h.errors, h.expired]).toEqual([[], []]);
    expect(liveTransport(a).isOpen).toBe(true);
  });

  it('sessionExpired() in a follower stops every tab with one session_expired each; start() then resumes from the stored cursor', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, , c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const first = liveTransport(a);
    first.push(ids(1, 5));
    await w.clock.advanceAsync(10);
    c.bus.sessionExpired();
    expect(c.expired).toHaveLength(1);
    await w.clock.advanceAsync(10);
    for (const h of hs) {
      expect(h.expired).toHaveLength(1);
      expect(h.expired[0]).toMatchObject({ code: 'session_expired', fatal: true });
      expect(h.bus.state().role).toBe('stopped');
    }
    expect(first.closed).toBe(true);
    c.bus.sessionExpired(); // stopped: nothing to tell
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.expired).toHaveLength(1);
    expect(storedCursor(w)).toBe(5);

    const leader = await startAll(w, hs);
    expect(leader.bus.state().epoch).toBe(2);
    expect(liveTransport(leader).sink!.cursor()).toBe(5);
    liveTransport(leader).push(ids(4, 7));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 7));
  });

  // A tab that has not heard from the leader yet still has epoch 0: its halt must not be fenced as stale.
  it('sessionExpired() right after start(), before the welcome arrived, still stops every tab', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    await startAll(w, hs);
    const late = spawn(w);
    let started = false;
    void late.bus.start().then(() => (started = true));
    while (!started) {
      w.clock.runNext();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(late.bus.state()).toMatchObject({ role: 'follower', epoch: 0 });
    late.bus.sessionExpired();
    await w.clock.advanceAsync(10);
    for (const h of [...hs, late]) {
      expect(h.expired).toHaveLength(1);
      expect(h.bus.state().role).toBe('stopped');
    }
  });

  it('sessionExpired() in the leader does the same', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a] = hs as [Harness, Harness];
    await startAll(w, hs);
    a.bus.sessionExpired('custom detail');
    await w.clock.advanceAsync(10);
    for (const h of hs) {
      expect(h.expired.map((e) => e.message)).toEqual(['tabbus: custom detail']);
      expect(h.bus.state().role).toBe('stopped');
    }
    expect(openTransports(w)).toEqual([]);
  });
});

describe('offline and online', () => {
  it('the leader drops its transport when the browser goes offline, every tab shows offline, and online reopens at once', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const first = liveTransport(a);
    first.push(ids(1, 2));
    w.browser.setOnline(false);
    expect(first.closed).toBe(true);
    expect(a.bus.state().transport).toBe('offline');
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.bus.state()).toMatchObject({ transport: 'offline', leaderId: a.bus.tabId });
    await w.clock.advanceAsync(60_000);
    expect(a.transports).toHaveLength(1);
    expect(b.transports).toEqual([]);
    expect(c.transports).toEqual([]);

    w.browser.setOnline(true);
    expect(a.transports).toHaveLength(2);
    const second = liveTransport(a);
    expect(second.sink!.cursor()).toBe(2);
    expect(a.bus.state().transport).toBe('open');
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.bus.state().transport).toBe('open');
    expect(b.transports).toEqual([]);
    second.push(ids(3, 4));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 4));
  });

  it('a tab that starts offline opens no transport until the browser is online', async () => {
    const w = world({ online: false });
    const hs = [spawn(w), spawn(w)];
    const [a] = hs as [Harness, Harness];
    await startAll(w, hs);
    await w.clock.advanceAsync(30_000);
    expect(w.transports).toEqual([]);
    for (const h of hs) expect(h.bus.state().transport).toBe('offline');
    w.browser.setOnline(true);
    expect(openTransports(w)).toEqual([liveTransport(a)]);
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.bus.state().transport).toBe('open');
  });

  it('a follower that takes over while offline waits for online too', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    w.browser.setOnline(false);
    a.bus.handoff();
    await w.clock.advanceAsync(10);
    expect(b.bus.state()).toMatchObject({ role: 'leader', transport: 'offline' });
    expect(b.transports).toEqual([]);
    w.browser.setOnline(true);
    expect(b.transports).toHaveLength(1);
    expect(a.transports).toHaveLength(1);
    expect(openTransports(w)).toEqual([liveTransport(b)]);
  });

  it("coordination 'none': each tab drops and reopens its own transport", async () => {
    const w = world();
    const hs = [spawn(w, { coordination: 'none' }), spawn(w, { coordination: 'none' })];
    for (const h of hs) await h.bus.start();
    expect(openTransports(w)).toHaveLength(2);
    w.browser.setOnline(false);
    expect(openTransports(w)).toEqual([]);
    for (const h of hs) expect(h.bus.state()).toMatchObject({ role: 'solo', transport: 'offline' });
    w.browser.setOnline(true);
    expect(openTransports(w)).toHaveLength(2);
    for (const h of hs) expect(h.transports).toHaveLength(2);
  });

  // Going offline stops the session checks with the transport; coming back must start them again.
  it('the leader checks the session when the browser is back online, and keeps checking every interval', async () => {
    const w = world();
    const calls: number[] = [];
    const checkSession = () => (calls.push(w.clock.now()), Promise.resolve());
    const a = spawn(w, { checkSession, sessionCheckInterval: 60_000 });
    await startAll(w, [a]);
    expect(calls).toHaveLength(1);
    await w.clock.advanceAsync(20_000);
    w.browser.setOnline(false);
    await w.clock.advanceAsync(5_000);
    w.browser.setOnline(true);
    expect(calls).toHaveLength(2);
    await w.clock.advanceAsync(3 * 60_000);
    expect(calls).toHaveLength(5);
  });
});

describe('garbage on the frames channel', () => {
  it('ignores what is not a tabbus frame, reports an unknown version once, and keeps working', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const valid = { v: FRAME_VERSION, scope: SCOPE, epoch: 1, from: a.bus.tabId, type: 'batch', items: [{ id: 99 }], cursor: 99 };
    const garbage: unknown[] = [
      'garbage',
      42,
      null,
      true,
      [],
      [valid],
      {},
      { type: 'batch' },
      { ...valid, epoch: '1' },
      // An epoch that is no count would stick in every tab (each new term the same) and end fencing.
      { ...valid, epoch: Infinity },
      { ...valid, epoch: Number.NaN },
      { ...valid, epoch: -1 },
      { ...valid, epoch: 1.5 },
      { ...valid, from: 7 },
      { ...valid, type: undefined },
      { ...valid, scope: 'http://other|db|2' },
    ];
    for (const g of garbage) w.browser.inject(FRAMES, g);
    for (const h of hs) expect(h.bus.state().counters.ignored).toBe(garbage.length);
    for (const h of hs) expect(h.errors).toEqual([]);
    const wrongVersion = { ...valid, v: FRAME_VERSION + 1 };
    for (let i = 0; i < 3; i++) w.browser.inject(FRAMES, wrongVersion);
    for (const h of hs) {
      expect(h.bus.state().counters.ignored).toBe(garbage.length + 3);
      expect(h.errors.map((e) => e.code)).toEqual(['frame']);
      expect(h.errors[0]!.message).toContain(`version ${FRAME_VERSION + 1}`);
      expect(h.bus.state().lastError).toMatchObject({ code: 'frame' });
      expect(h.received).toEqual([]);
    }
    await w.clock.advanceAsync(LEADER_TIMEOUT * 3);
    expect(leaders(hs)).toEqual([a]);
    expect(b.bus.state()).toMatchObject({ role: 'follower', epoch: 1, counters: { fenced: 0, steals: 0 } });
    liveTransport(a).push(ids(1, 2));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual([1, 2]);
  });

  it("a welcome with junk in its map (another page of the origin, another build) is taken all the same: the tabs it lists and the connection's state", async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const frame = { v: FRAME_VERSION, scope: SCOPE, epoch: a.bus.state().epoch, from: a.bus.tabId, type: 'welcome', to: b.bus.tabId, transport: 'backoff', cursor: 0 };
    w.browser.inject(FRAMES, { ...frame, tabs: [null, 7, { id: 'x', channels: 'news' }, { id: 'c', channels: ['news'], visible: true }] });
    expect(b.bus.state()).toMatchObject({ transport: 'backoff', tabs: 3 });
    expect(b.bus.state().tabList.map((t) => t.id)).toContain('c');
    expect(b.errors).toEqual([]);
  });

  it('a yield that names no tab to take over (another page of the origin, another build) makes no follower take the lock', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const a = await startAll(w, hs);
    const { epoch } = a.bus.state();
    w.browser.inject(FRAMES, { v: FRAME_VERSION, scope: SCOPE, epoch, from: a.bus.tabId, type: 'yield', cursor: 0 });
    await w.clock.advanceAsync(100);
    expect(leaders(hs).map((h) => h.bus.tabId)).toEqual([a.bus.tabId]);
    for (const h of hs) expect(h.bus.state()).toMatchObject({ epoch, leaderId: a.bus.tabId });
  });
});

describe('lastError', () => {
  it('a non-fatal transport error shows in the leader, with its code, message and time; followers keep theirs', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    expect(a.bus.state().lastError).toBeNull();
    await w.clock.advanceAsync(1000);
    liveTransport(a).fail(new TabBusError('network', 'no answer'));
    expect(a.bus.state().lastError).toEqual({ code: 'network', message: 'tabbus: no answer', at: w.clock.now() });
    expect(a.bus.state().role).toBe('leader');
    await w.clock.advanceAsync(500);
    liveTransport(a).fail(new TabBusError('timeout', 'too slow'));
    expect(a.bus.state().lastError).toEqual({ code: 'timeout', message: 'tabbus: too slow', at: w.clock.now() });
    await w.clock.advanceAsync(10);
    expect(b.bus.state().lastError).toBeNull();
    expect(a.errors.map((e) => e.code)).toEqual(['network', 'timeout']);
  });

  it('a fatal transport error shows in every tab', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a] = hs as [Harness, Harness];
    await startAll(w, hs);
    liveTransport(a).fail(new TabBusError('session_expired', 'Session expired', { fatal: true }));
    await w.clock.advanceAsync(10);
    for (const h of hs) {
      expect(h.bus.state()).toMatchObject({ role: 'stopped', lastError: { code: 'session_expired', message: 'tabbus: Session expired' } });
      expect(h.expired).toHaveLength(1);
    }
  });
});

describe('transport-level news every tab hears', () => {
  it('an `outdated` error from the leader\'s transport: every tab emits `outdated` once and stops', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const outdated: string[][] = hs.map(() => []);
    hs.forEach((h, i) => h.bus.on('outdated', (e) => outdated[i]!.push(e.code)));
    liveTransport(a).fail(new TabBusError('outdated', 'the server runs a newer bus', { fatal: true }));
    await w.clock.advanceAsync(10);
    expect(outdated).toEqual([['outdated'], ['outdated'], ['outdated']]);
    for (const h of hs) expect(h.bus.state()).toMatchObject({ role: 'stopped', lastError: { code: 'outdated' } });
    for (const h of hs) expect(h.expired).toEqual([]);
    expect(openTransports(w)).toEqual([]);
  });

  it('the leader\'s transport hears when every tab is hidden and when one is shown again (paceChanged)', async () => {
    const w = world();
    // The leader stays where it is (no handoff to the visible tab), so one transport sees it all.
    const hs = [spawn(w, { preferVisibleLeader: false }), spawn(w, { preferVisibleLeader: false })];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const t = liveTransport(a);
    expect(t.paceChanges).toBe(0);
    a.tab.setVisible(false);
    await w.clock.advanceAsync(10);
    expect(t.paceChanges).toBe(0); // b is still visible
    b.tab.setVisible(false);
    await w.clock.advanceAsync(10);
    expect(t.paceChanges).toBe(1);
    expect(t.sink!.pace()).toBeGreaterThan(0);
    b.tab.setVisible(true);
    await w.clock.advanceAsync(10);
    expect(t.paceChanges).toBe(2);
    expect(t.sink!.pace()).toBe(0);
  });

  it('state().transportName is what the transportName option says, in every tab', async () => {
    const w = world();
    let name: string | undefined;
    const hs = [spawn(w, { transportName: () => name }), spawn(w, { transportName: () => name })];
    await startAll(w, hs);
    for (const h of hs) expect(h.bus.state().transportName).toBeUndefined();
    name = 'websocket';
    for (const h of hs) expect(h.bus.state().transportName).toBe('websocket');
  });
});


