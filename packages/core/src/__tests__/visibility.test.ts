// Visibility and the features built on the tab map, on a virtual clock: hidden pacing (state().pace,
// TransportSink.pace(), refresh when the first tab turns visible), the hand-over from a hidden leader to a
// visible tab (claim / yield / steal), browser-wide inactivity (activity frames), bus.once(), bus.shared(),
// and what an idle hidden follower costs (timers, frames, storage writes).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BACK_AFTER, createBus, type BusOptions, type TabBus } from '../index';
import type { BusEnv, FrameChannel } from '../env';
import type { TabBusError } from '../errors';
import { FRAME_VERSION } from '../frames';
import { FakeBrowser, FakeTransport, ManualElection, MemoryStorage, VirtualClock, type FakeTab, type StorageArea } from '../testing';
import { advanceUntil, FRAMES, ids, leaders, range, SCOPE, startAll, startLate, storedEpoch, type Note } from './virtual-tabs';


const PREFIX = `tabbus:${SCOPE}:`;
const LEADER_LOCK = `${PREFIX}leader`;
/** The default `hiddenPace`. */
const HIDDEN_PACE = 30_000;
/** bus.ts constants the tests measure against. */
const CLAIM_INTERVAL = 1000;
const YIELD_TIMEOUT = 2000;
const INPUT_POST_INTERVAL = 5000;
const ONCE_HOLD = 5_000;
const HOLD_GROUP = 1_000;
const ONCE_TTL = 150_000;
const FOLLOWER_WAIT = 50;

interface World {
  clock: VirtualClock;
  browser: FakeBrowser;
  /** Every transport any tab opened, oldest first. */
  transports: CountingTransport[];
  /** The most transports ever open at the same time (checked each time one opens). */
  maxOpen: number;
}

interface Harness {
  tab: FakeTab;
  bus: TabBus<Note>;
  /** The transports this tab opened. */
  transports: FakeTransport<Note>[];
  received: number[];
  errors: TabBusError[];
  /** Timers this tab set that are still pending. */
  pendingTimers: Set<{ ms: number }>;
  /** How many timers this tab ever set. */
  timersSet: number;
  /** Keys this tab wrote (setItem) or removed in localStorage, in order. */
  storageWrites: string[];
  /** Called after each frame this tab posts (the frame as posted). */
  onPost?: (frame: { type: string; [key: string]: unknown }) => void;
}

let running: Harness[] = [];
afterEach(async () => {
  for (const h of running) await h.bus.stop();
  running = [];
});

function world(options: { storage?: MemoryStorage } = {}): World {
  const clock = new VirtualClock();
  return { clock, browser: new FakeBrowser({ clock, ...(options.storage ? { storage: options.storage } : {}) }), transports: [], maxOpen: 0 };
}

/** A transport that records, each time one opens, how many are open in the whole browser. */
class CountingTransport extends FakeTransport<Note> {
  constructor(
    readonly w: World,
    readonly owner: FakeTab,
  ) {
    super();
  }
  override open(sink: Parameters<FakeTransport<Note>['open']>[0]): void {
    super.open(sink);
    this.w.maxOpen = Math.max(this.w.maxOpen, openTransports(this.w).length);
  }
}

function spawn(w: World, options: Partial<BusOptions<Note>> = {}, tabOptions: { visible?: boolean } = {}, envOverrides: Partial<BusEnv> = {}): Harness {
  const tab = w.browser.tab(tabOptions);
  const h: Harness = {
    tab,
    bus: undefined as unknown as TabBus<Note>,
    transports: [],
    received: [],
    errors: [],
    pendingTimers: new Set(),
    timersSet: 0,
    storageWrites: [],
  };
  const handles = new Map<unknown, { ms: number }>();
  const storage: StorageArea = {
    get length() {
      return tab.storage.length;
    },
    key: (i) => tab.storage.key(i),
    getItem: (key) => tab.storage.getItem(key),
    setItem: (key, value) => {
      h.storageWrites.push(key);
      tab.storage.setItem(key, value);
    },
    removeItem: (key) => {
      h.storageWrites.push(key);
      tab.storage.removeItem(key);
    },
    clear: () => tab.storage.clear(),
  };
  const env = tab.env({
    setTimeout: (fn, ms) => {
      const entry = { ms };
      h.pendingTimers.add(entry);
      h.timersSet++;
      const handle = tab.setTimeout(() => {
        h.pendingTimers.delete(entry);
        fn();
      }, ms);
      handles.set(handle, entry);
      return handle;
    },
    clearTimeout: (handle) => {
      const entry = handles.get(handle);
      if (entry) h.pendingTimers.delete(entry);
      tab.clearTimeout(handle);
    },
    storage,
    openChannel: (name): FrameChannel => {
      const channel = tab.openChannel(name);
      return {
        kind: channel.kind,
        post: (frame) => {
          channel.post(frame);
          h.onPost?.(frame as { type: string });
        },
        listen: (listener) => channel.listen(listener),
        close: () => channel.close(),
      };
    },
    ...envOverrides,
  });
  h.bus = createBus<Note>({
    scope: SCOPE,
    transport: () => {
      const t = new CountingTransport(w, tab);
      h.transports.push(t);
      w.transports.push(t);
      return t;
    },
    unionDelay: 1,
    env,
    ...options,
  });
  h.bus.on('notification', (items) => h.received.push(...items.map((i) => i.id)));
  h.bus.on('error', (e) => h.errors.push(e));
  running.push(h);
  return h;
}

/** Open transports of live tabs (a crashed tab's connection dies with it; nobody calls close()). */
const openTransports = (w: World) => w.transports.filter((t) => t.isOpen && t.owner.alive);
const liveTransport = (h: Harness): FakeTransport<Note> => {
  const open = h.transports.filter((t) => t.isOpen);
  if (open.length !== 1) throw new Error(`expected one open transport in ${h.tab.id}, have ${open.length}`);
  return open[0]!;
};
type FrameData = { type: string; to?: string; at?: number; [key: string]: unknown };
/** Frames of `type` posted by `tab` (or by anyone) since `from` (an index into the channel log). */
const framesOf = (w: World, type: string, tab?: FakeTab, from = 0) =>
  w.browser.posted
    .slice(from)
    .filter((m) => m.name === FRAMES && (m.data as FrameData).type === type && (!tab || m.from === tab.id))
    .map((m) => ({ from: m.from, data: m.data as FrameData }));
const paces = (hs: Harness[]) => hs.map((h) => h.bus.state().pace);



/** Lets the frames and lock grants in flight land. */
const settle = (w: World) => w.clock.advanceAsync(10);


// ---------------------------------------------------------------------------------------------------------

describe('hidden pacing', () => {
  // preferVisibleLeader: false keeps the leader in place, so the pace is all that changes.
  const still = { preferVisibleLeader: false } as const;

  it('pace is 0 while any tab is visible and hiddenPace (default 30 000) once every tab is hidden, in every tab and in TransportSink.pace()', async () => {
    const w = world();
    const hs = [spawn(w, still), spawn(w, still), spawn(w, still)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    expect(await startAll(w, hs)).toBe(a);
    const t = liveTransport(a);
    const refreshes = t.refreshes;
    expect(paces(hs)).toEqual([0, 0, 0]);
    expect(t.sink!.pace()).toBe(0);
    c.tab.setVisible(false);
    b.tab.setVisible(false);
    await settle(w);
    expect(paces(hs)).toEqual([0, 0, 0]);
    expect(a.bus.state().visibleTabs).toBe(1);
    expect(t.sink!.pace()).toBe(0);
    a.tab.setVisible(false);
    expect(t.sink!.pace()).toBe(HIDDEN_PACE); // the leader's own visibility counts at once
    await settle(w);
    expect(paces(hs)).toEqual([HIDDEN_PACE, HIDDEN_PACE, HIDDEN_PACE]);
    for (const h of hs) expect(h.bus.state().visibleTabs).toBe(0);
    // Going hidden ends no pause: the transport reads the pace after its next reply.
    expect(t.refreshes).toBe(refreshes);
  });

  it('the first tab to become visible ends the pause: the leader refreshes its transport once, not for the next ones', async () => {
    const w = world();
    const hs = [spawn(w, still, { visible: false }), spawn(w, still, { visible: false }), spawn(w, still, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    expect(await startAll(w, hs)).toBe(a);
    const t = liveTransport(a);
    expect(t.sink!.pace()).toBe(HIDDEN_PACE);
    const base = t.refreshes;

    b.tab.setVisible(true); // a follower
    await settle(w);
    expect(t.refreshes).toBe(base + 1);
    expect(t.sink!.pace()).toBe(0);
    expect(paces(hs)).toEqual([0, 0, 0]);
    c.tab.setVisible(true); // already live
    await settle(w);
    expect(t.refreshes).toBe(base + 1);

    b.tab.setVisible(false);
    c.tab.setVisible(false);
    await settle(w);
    expect(t.sink!.pace()).toBe(HIDDEN_PACE);
    expect(t.refreshes).toBe(base + 1);

    a.tab.setVisible(true); // the leader itself
    expect(t.refreshes).toBe(base + 2);
    expect(t.sink!.pace()).toBe(0);
    await settle(w);
    expect(paces(hs)).toEqual([0, 0, 0]);
    expect(leaders(hs)).toEqual([a]);
  });

  it('a tab opened visible while every tab is hidden ends the pause', async () => {
    const w = world();
    const hs = [spawn(w, still, { visible: false }), spawn(w, still, { visible: false })];
    const [a] = hs as [Harness, Harness];
    await startAll(w, hs);
    const t = liveTransport(a);
    const base = t.refreshes;
    const d = spawn(w, still);
    await startLate(w, d);
    expect(t.refreshes).toBe(base + 1);
    expect(t.sink!.pace()).toBe(0);
    expect(d.bus.state()).toMatchObject({ role: 'follower', pace: 0 });
  });

  it.each([
    ['closes', (tab: FakeTab) => tab.close()],
    ['crashes', (tab: FakeTab) => tab.crash()],
  ] as const)('when the only visible tab %s, the hidden leader paces again', async (_, end) => {
    const w = world();
    const hs = [spawn(w, still, { visible: false }), spawn(w, still)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    expect(a.bus.state().pace).toBe(0);
    end(b.tab);
    await settle(w);
    expect(a.bus.state()).toMatchObject({ tabs: 1, visibleTabs: 0, pace: HIDDEN_PACE });
    expect(liveTransport(a).sink!.pace()).toBe(HIDDEN_PACE);
  });

  it('a new leader paces by the tabs it knows: the visible leader crashes, a hidden follower takes over hidden-paced', async () => {
    const w = world();
    const hs = [spawn(w, still), spawn(w, still, { visible: false })];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    a.tab.crash();
    await advanceUntil(w, () => b.bus.state().role === 'leader', 1000);
    await settle(w);
    expect(b.bus.state()).toMatchObject({ tabs: 1, pace: HIDDEN_PACE });
    expect(liveTransport(b).sink!.pace()).toBe(HIDDEN_PACE);
  });

  it('hiddenPace sets the pause; hiddenPace: 0 is always live and never refreshes for visibility', async () => {
    const w = world();
    const hs = [spawn(w, { ...still, hiddenPace: 5000 }), spawn(w, { ...still, hiddenPace: 5000 }, { visible: false })];
    await startAll(w, hs);
    hs[0]!.tab.setVisible(false);
    await settle(w);
    expect(paces(hs)).toEqual([5000, 5000]);
    expect(liveTransport(hs[0]!).sink!.pace()).toBe(5000);

    const v = world();
    const live = [spawn(v, { ...still, hiddenPace: 0 }), spawn(v, { ...still, hiddenPace: 0 }, { visible: false })];
    const [a, b] = live as [Harness, Harness];
    await startAll(v, live);
    const t = liveTransport(a);
    const base = t.refreshes;
    a.tab.setVisible(false);
    await settle(v);
    expect(paces(live)).toEqual([0, 0]);
    expect(t.sink!.pace()).toBe(0);
    b.tab.setVisible(true);
    a.tab.setVisible(true);
    await settle(v);
    expect(t.refreshes).toBe(base);
  });

  it("solo mode (coordination: 'none') paces by the tab's own visibility", async () => {
    const w = world();
    const a = spawn(w, { coordination: 'none' });
    const b = spawn(w, { coordination: 'none' }, { visible: false });
    await a.bus.start();
    await b.bus.start();
    const [ta, tb] = [liveTransport(a), liveTransport(b)];
    expect(a.bus.state()).toMatchObject({ role: 'solo', pace: 0 });
    expect(b.bus.state()).toMatchObject({ role: 'solo', pace: HIDDEN_PACE });
    expect(tb.sink!.pace()).toBe(HIDDEN_PACE);
    const [ra, rb] = [ta.refreshes, tb.refreshes];
    b.tab.setVisible(true);
    expect(tb.sink!.pace()).toBe(0);
    expect(tb.refreshes).toBe(rb + 1);
    a.tab.setVisible(false); // another tab is visible, but solo tabs pace alone
    expect(ta.sink!.pace()).toBe(HIDDEN_PACE);
    a.tab.setVisible(true);
    expect(ta.refreshes).toBe(ra + 1);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('a hidden leader hands the connection to a visible tab (preferVisibleLeader)', () => {
  it('the visible follower claims, the leader closes its transport then yields {to}, the follower steals with epoch + 2 (a steal counts two terms) from the cursor; never two transports', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w, {}, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    expect(await startAll(w, hs)).toBe(a);
    const first = liveTransport(a);
    first.push(ids(1, 5));
    await settle(w);
    let closedWhenYielding: boolean | undefined;
    a.onPost = (frame) => void (frame.type === 'yield' && (closedWhenYielding = first.closed));
    const from = w.browser.posted.length;

    a.tab.setVisible(false);
    await settle(w);
    expect(framesOf(w, 'claim', undefined, from).map((f) => f.from)).toEqual([b.tab.id]);
    const yields = framesOf(w, 'yield', undefined, from);
    expect(yields.map((f) => [f.from, f.data.to, f.data['cursor']])).toEqual([[a.tab.id, b.bus.tabId, 5]]);
    expect(closedWhenYielding).toBe(true);
    expect(first.closed).toBe(true);
    expect(b.bus.state()).toMatchObject({ role: 'leader', epoch: 3, leaderId: b.bus.tabId, counters: { steals: 0 } });
    expect(storedEpoch(w)).toBe(3);
    expect(w.browser.locks.holders(LEADER_LOCK)).toEqual([b.tab.id]);
    const next = liveTransport(b);
    expect(next.sink!.cursor()).toBe(5);
    expect(openTransports(w)).toEqual([next]);
    expect(w.maxOpen).toBe(1);
    for (const h of [a, c]) expect(h.bus.state()).toMatchObject({ role: 'follower', epoch: 3, leaderId: b.bus.tabId });
    // The old leader queues for the lock again (behind c, which queued at start).
    expect(w.browser.locks.query().pending.filter((l) => l.name === LEADER_LOCK).map((l) => l.clientId)).toEqual([c.tab.id, a.tab.id]);

    next.push(ids(6, 8));
    await settle(w);
    for (const h of hs) expect(h.received).toEqual(range(1, 8));
    // Settled: nobody claims again.
    await w.clock.advanceAsync(10_000);
    expect(framesOf(w, 'claim', undefined, from)).toHaveLength(1);
    expect(leaders(hs)).toEqual([b]);
  });

  it('two visible followers claim at once: one yield, one new leader, one transport', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    liveTransport(a).push(ids(1, 2));
    await settle(w);
    a.tab.setVisible(false);
    await settle(w);
    expect(framesOf(w, 'claim').map((f) => f.from).sort()).toEqual([b.tab.id, c.tab.id].sort());
    const yields = framesOf(w, 'yield');
    expect(yields).toHaveLength(1);
    const [leader] = leaders(hs);
    expect(leader).not.toBe(a);
    expect(yields[0]!.data.to).toBe(leader!.bus.tabId);
    expect(openTransports(w)).toEqual([liveTransport(leader!)]);
    expect(w.maxOpen).toBe(1);
    await w.clock.advanceAsync(YIELD_TIMEOUT * 2); // the old leader's yield timer must not bring it back
    expect(leaders(hs)).toEqual([leader]);
    liveTransport(leader!).push(ids(3, 4));
    await settle(w);
    for (const h of hs) expect(h.received).toEqual(range(1, 4));
  });

  it('the old leader can lead again later: it claims back when it is the visible one, and takes over when the new leader dies', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    a.tab.setVisible(false);
    await settle(w);
    expect(leaders(hs)).toEqual([b]);

    a.tab.setVisible(true);
    b.tab.setVisible(false);
    await settle(w);
    expect(leaders(hs)).toEqual([a]);
    expect(a.bus.state().epoch).toBe(5);
    expect(framesOf(w, 'yield', b.tab).map((f) => f.data.to)).toEqual([a.bus.tabId]);

    await w.clock.advanceAsync(CLAIM_INTERVAL); // b claimed less than a second ago
    a.tab.setVisible(false);
    b.tab.setVisible(true);
    await settle(w);
    expect(leaders(hs)).toEqual([b]);
    b.tab.crash();
    await advanceUntil(w, () => a.bus.state().role === 'leader', 1000);
    expect(a.bus.state().epoch).toBe(8);
    expect(openTransports(w)).toEqual([liveTransport(a)]);
    expect(w.maxOpen).toBe(1);
  });

  it('a follower claims when it turns visible, and when it opens visible (after the welcome)', async () => {
    const w = world();
    const hs = [spawn(w, {}, { visible: false }), spawn(w, {}, { visible: false })];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    expect(framesOf(w, 'claim')).toEqual([]);
    b.tab.setVisible(true);
    await settle(w);
    expect(framesOf(w, 'claim').map((f) => f.from)).toEqual([b.tab.id]);
    expect(leaders(hs)).toEqual([b]);

    b.tab.setVisible(false);
    await settle(w);
    const from = w.browser.posted.length;
    const c = spawn(w);
    await startLate(w, c);
    expect(framesOf(w, 'claim', undefined, from).map((f) => f.from)).toEqual([c.tab.id]);
    expect(leaders([a, b, c])).toEqual([c]);
    expect(w.maxOpen).toBe(1);
  });

  it('if the tab it yielded to vanished, the old leader leads again after YIELD_TIMEOUT (2 s) with a new term', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const first = liveTransport(a);
    first.push(ids(1, 3));
    await settle(w);
    b.onPost = (frame) => void (frame.type === 'claim' && b.tab.crash());
    let yieldedAt: number | undefined;
    let ledAt: number | undefined;
    a.onPost = (frame) => void (frame.type === 'yield' && (yieldedAt = w.clock.now()));
    a.bus.on('state', (s) => void (s.role === 'leader' && yieldedAt !== undefined && (ledAt ??= w.clock.now())));

    a.tab.setVisible(false);
    await settle(w);
    expect(b.tab.dead).toBe(true);
    expect(yieldedAt).toBeDefined();
    expect(first.closed).toBe(true);
    expect(a.bus.state().role).toBe('follower');
    expect(openTransports(w)).toEqual([]);

    await advanceUntil(w, () => ledAt !== undefined, YIELD_TIMEOUT + 500);
    expect(ledAt! - yieldedAt!).toBe(YIELD_TIMEOUT);
    expect(a.bus.state()).toMatchObject({ role: 'leader', epoch: 2, leaderId: a.bus.tabId });
    expect(storedEpoch(w)).toBe(2);
    const again = liveTransport(a);
    expect(again.sink!.cursor()).toBe(3);
    expect(w.maxOpen).toBe(1);
    await settle(w);
    expect(a.bus.state().tabs).toBe(1); // the dead tab is forgotten once the new term watches it
  });

  it('preferVisibleLeader: false keeps the hidden leader', async () => {
    const w = world();
    const opts = { preferVisibleLeader: false } as const;
    const hs = [spawn(w, opts), spawn(w, opts)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    a.tab.setVisible(false);
    b.tab.setVisible(false);
    b.tab.setVisible(true);
    const c = spawn(w, opts);
    await startLate(w, c);
    await w.clock.advanceAsync(10_000);
    expect(framesOf(w, 'claim')).toEqual([]);
    expect(framesOf(w, 'yield')).toEqual([]);
    expect(leaders([a, b, c])).toEqual([a]);
    expect(a.transports).toHaveLength(1);
    expect(a.transports[0]!.isOpen).toBe(true);
  });

  it('claims are rate-limited: at most one per second per tab', async () => {
    const w = world();
    // leaderTimeout: 0, so the unanswered follower never steals: only claims are at play.
    const hs = [spawn(w), spawn(w, { leaderTimeout: 0 })];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const claimedAt: number[] = [];
    b.onPost = (frame) => void (frame.type === 'claim' && claimedAt.push(w.clock.now()));
    // A frozen leader cannot answer: the claims pile up unanswered.
    a.tab.freeze();
    a.tab.setVisible(false); // its hello still goes out (code the test calls runs)
    await settle(w);
    expect(claimedAt).toHaveLength(1);
    const t0 = claimedAt[0]!;
    for (let at = t0 + 100; at < t0 + CLAIM_INTERVAL; at += 100) {
      await w.clock.advanceAsync(at - w.clock.now());
      b.tab.setVisible(false);
      b.tab.setVisible(true);
    }
    await w.clock.advanceAsync(t0 + CLAIM_INTERVAL - 1 - w.clock.now());
    b.tab.setVisible(false);
    b.tab.setVisible(true);
    expect(claimedAt).toHaveLength(1);
    await w.clock.advanceAsync(1);
    b.tab.setVisible(false);
    b.tab.setVisible(true);
    expect(claimedAt).toEqual([t0, t0 + CLAIM_INTERVAL]);

    // Thawed, the leader answers the first claim; the second finds it no longer leading.
    a.tab.thaw();
    await settle(w);
    expect(framesOf(w, 'yield')).toHaveLength(1);
    expect(leaders(hs)).toEqual([b]);
    expect(w.maxOpen).toBe(1);
  });

  it('a claim that falls inside the rate limit is sent once the interval ends, not dropped', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    a.tab.setVisible(false); // b claims and leads
    await settle(w);
    a.tab.setVisible(true);
    b.tab.setVisible(false); // a claims and leads
    await settle(w);
    expect(leaders(hs)).toEqual([a]);
    a.tab.setVisible(false);
    b.tab.setVisible(true); // b's second claim, 20 ms after its first
    await w.clock.advanceAsync(CLAIM_INTERVAL + 100);
    expect(leaders(hs)).toEqual([b]);
  });

  it('a leader yields only while hidden, and only to a tab it knows as visible', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w, {}, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    // Hidden and back at once: b's claim reaches a leader that is visible again.
    a.tab.setVisible(false);
    a.tab.setVisible(true);
    await settle(w);
    expect(framesOf(w, 'claim').map((f) => f.from)).toEqual([b.tab.id]);
    expect(framesOf(w, 'yield')).toEqual([]);
    expect(leaders(hs)).toEqual([a]);
    // Hidden, with claims from a hidden tab and from a tab nobody knows.
    b.tab.setVisible(false);
    await settle(w);
    a.tab.setVisible(false);
    await settle(w);
    const claim = (from: string) => ({ v: FRAME_VERSION, scope: SCOPE, epoch: 1, from, type: 'claim' });
    w.browser.inject(FRAMES, claim(c.bus.tabId));
    w.browser.inject(FRAMES, claim('----------'));
    await settle(w);
    expect(framesOf(w, 'yield')).toEqual([]);
    expect(leaders(hs)).toEqual([a]);
    expect(liveTransport(a).isOpen).toBe(true);
  });

  it('a visible leader is never asked, and hidden followers never ask', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w, {}, { visible: false })];
    await startAll(w, hs);
    hs[1]!.tab.setVisible(false);
    hs[2]!.tab.setVisible(true);
    hs[2]!.tab.setVisible(false);
    await w.clock.advanceAsync(5000);
    expect(framesOf(w, 'claim')).toEqual([]);
    expect(leaders(hs)).toEqual([hs[0]]);
  });

  it('without Web Locks (message election) no tab ever claims', async () => {
    const w = world();
    const election = new ManualElection();
    const env = { locks: undefined, fallbackElection: () => election.create() };
    const a = spawn(w, {}, {}, env);
    const b = spawn(w, {}, {}, env);
    await a.bus.start();
    await b.bus.start();
    election.elect();
    await settle(w);
    expect(a.bus.state()).toMatchObject({ role: 'leader', mode: 'elector' });
    a.tab.setVisible(false);
    await settle(w);
    b.tab.setVisible(false);
    b.tab.setVisible(true);
    const c = spawn(w, {}, {}, env);
    await startLate(w, c);
    await w.clock.advanceAsync(5000);
    expect(b.bus.state()).toMatchObject({ role: 'follower', leaderId: a.bus.tabId, visibleTabs: 2 });
    expect(framesOf(w, 'claim')).toEqual([]);
    expect(leaders([a, b, c])).toEqual([a]);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('inactivity', () => {
  it('input in any tab reaches the leader: TransportSink.inactivity() and state().inactivity count from the latest one', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, {}, { visible: false }), spawn(w, {}, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const sink = liveTransport(a).sink!;
    await w.clock.advanceAsync(60_000);
    expect(sink.inactivity()).toBeGreaterThanOrEqual(60_000);

    b.tab.input();
    const inputAt = w.clock.now();
    expect(b.bus.state().inactivity).toBe(0);
    await settle(w);
    expect(sink.inactivity()).toBe(w.clock.now() - inputAt);
    for (const h of hs) expect(h.bus.state().inactivity).toBe(w.clock.now() - inputAt);
    expect(framesOf(w, 'activity', b.tab).map((f) => f.data.at)).toEqual([inputAt]);

    await w.clock.advanceAsync(30_000);
    a.tab.input(); // the leader's own input counts at once
    expect(sink.inactivity()).toBe(0);
    await w.clock.advanceAsync(1000);
    expect(c.bus.state().inactivity).toBe(1000);
  });

  it("a follower's input after a long spell without any reaches the leader's transport as the user back (Odoo 16+ then sends presence at once)", async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, {}, { visible: false })];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const back: number[] = [];
    Object.assign(liveTransport(a)!, { userBack: (idleFor: number) => back.push(idleFor) });
    await w.clock.advanceAsync(BACK_AFTER + 5000);
    b.tab.input();
    await settle(w);
    expect(back).toHaveLength(1);
    expect(back[0]).toBeGreaterThanOrEqual(BACK_AFTER + 5000);
    // Input soon after: nothing more.
    await w.clock.advanceAsync(10_000);
    b.tab.input();
    a.tab.input();
    await settle(w);
    expect(back).toHaveLength(1);
  });

  it('a tab tells the others at most once per 5 s, without setting any timer', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, {}, { visible: false })];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const sink = liveTransport(a).sink!;
    const timers = b.timersSet;
    const t0 = w.clock.now();
    for (let i = 0; i < 10; i++) {
      b.tab.input();
      await w.clock.advanceAsync(INPUT_POST_INTERVAL / 10 - 10);
    }
    expect(w.clock.now() - t0).toBeLessThan(INPUT_POST_INTERVAL);
    expect(framesOf(w, 'activity', b.tab).map((f) => f.data.at)).toEqual([t0]);
    expect(sink.inactivity()).toBe(w.clock.now() - t0);
    await w.clock.advanceAsync(t0 + INPUT_POST_INTERVAL - w.clock.now());
    b.tab.input();
    expect(framesOf(w, 'activity', b.tab).map((f) => f.data.at)).toEqual([t0, t0 + INPUT_POST_INTERVAL]);
    await settle(w);
    expect(sink.inactivity()).toBe(10);
    expect(b.timersSet).toBe(timers);
    expect(b.pendingTimers.size).toBe(0);
  });

  it('a new leader after failover knows the latest input of the other tabs', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, {}, { visible: false }), spawn(w, {}, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    await w.clock.advanceAsync(100_000);
    c.tab.input();
    const inputAt = w.clock.now();
    await w.clock.advanceAsync(20_000);
    a.tab.crash();
    await advanceUntil(w, () => b.bus.state().role === 'leader', 1000);
    expect(liveTransport(b).sink!.inactivity()).toBe(w.clock.now() - inputAt);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('once(key, fn)', () => {
  const onceLock = (key: string) => `${PREFIX}once:${key}`;
  const onceRecord = (key: string) => `${PREFIX}once:${key}`;

  /** Calls once(key) in every tab (same task), lets the locks answer (after a follower's wait), returns what each resolved. */
  async function callAll(w: World, hs: Harness[], key: string, runs: string[]): Promise<boolean[]> {
    const pending = hs.map((h) => h.bus.once(key, () => runs.push(h.tab.id)));
    await w.clock.advanceAsync(FOLLOWER_WAIT + 10);
    return Promise.all(pending);
  }

  it('several tabs, one key: fn runs in exactly one tab, which alone resolves true, holds the key lock for ONCE_HOLD and records the key', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w, {}, { visible: false })];
    await startAll(w, hs);
    const leader = hs.find((h) => h.bus.state().role === 'leader')!;
    const runs: string[] = [];
    const t0 = w.clock.now();
    // The followers call first, in the same task: the leader, which has a notification first, still runs it.
    const results = await callAll(w, [...hs.filter((h) => h !== leader), leader], 'sound:1', runs);
    expect(runs).toEqual([leader.tab.id]);
    expect(results).toEqual([false, false, true]);
    expect(w.browser.locks.holders(onceLock('sound:1'))).toEqual([leader.tab.id]);
    expect(w.browser.storage.map.get(onceRecord('sound:1'))).toBe(String(t0));
    // Another key is another claim.
    const other: string[] = [];
    expect(await callAll(w, hs, 'sound:2', other)).toEqual(hs.map((h) => h === leader));
    expect(other).toEqual([leader.tab.id]);
    await w.clock.advanceAsync(t0 + ONCE_HOLD - 1 - w.clock.now());
    expect(w.browser.locks.holders(onceLock('sound:1'))).toEqual([leader.tab.id]);
    await w.clock.advanceAsync(1);
    expect(w.browser.locks.holders(onceLock('sound:1'))).toEqual([]);
  });

  it('locks taken within HOLD_GROUP of the first are released with it; a later one starts a group of its own', async () => {
    const w = world();
    const leader = spawn(w);
    await startAll(w, [leader]);
    expect(leader.bus.state().role).toBe('leader');
    const holders = (key: string) => w.browser.locks.holders(onceLock(key));
    const t0 = w.clock.now();
    expect(await callAll(w, [leader], 'g1', [])).toEqual([true]);
    await w.clock.advanceAsync(t0 + 600 - w.clock.now());
    expect(await callAll(w, [leader], 'g2', [])).toEqual([true]);
    await w.clock.advanceAsync(t0 + HOLD_GROUP + 100 - w.clock.now());
    const t3 = w.clock.now();
    expect(await callAll(w, [leader], 'g3', [])).toEqual([true]);
    // Two groups for three keys: the first one closed (its release pending), the second still open.
    const pending = (ms: number) => [...leader.pendingTimers].filter((t) => t.ms === ms).length;
    expect([pending(HOLD_GROUP), pending(ONCE_HOLD - HOLD_GROUP)]).toEqual([1, 1]);
    await w.clock.advanceAsync(t0 + ONCE_HOLD - 1 - w.clock.now());
    expect([holders('g1'), holders('g2'), holders('g3')]).toEqual([[leader.tab.id], [leader.tab.id], [leader.tab.id]]);
    await w.clock.advanceAsync(1);
    // g2 went with g1, held ONCE_HOLD - 600 ms; g3 is held its full ONCE_HOLD.
    expect([holders('g1'), holders('g2'), holders('g3')]).toEqual([[], [], [leader.tab.id]]);
    await w.clock.advanceAsync(t3 + ONCE_HOLD - w.clock.now());
    expect(holders('g3')).toEqual([]);
  });

  it('a clock set back (an NTP step) neither keeps locks held for good nor cuts a hold short: the groups follow timers, not the wall clock', async () => {
    const w = world();
    let skew = 0;
    const leader = spawn(w, {}, {}, { now: () => w.clock.now() + skew });
    await startAll(w, [leader]);
    expect(leader.bus.state().role).toBe('leader');
    const holders = (key: string) => w.browser.locks.holders(onceLock(key));
    expect(await callAll(w, [leader], 'first', [])).toEqual([true]);
    // Set back to before the group began, 2 s into it: a later lock is still held at least ONCE_HOLD - HOLD_GROUP.
    await w.clock.advanceAsync(2_000);
    skew = -3_000;
    expect(await callAll(w, [leader], 'late', [])).toEqual([true]);
    await w.clock.advanceAsync(ONCE_HOLD - HOLD_GROUP - FOLLOWER_WAIT - 20);
    expect(holders('late')).toEqual([leader.tab.id]);
    await w.clock.advanceAsync(ONCE_HOLD);
    expect([holders('first'), holders('late')]).toEqual([[], []]);
    // Set back by a minute after the groups went: a lock taken then is released as any other.
    skew = -60_000;
    expect(await callAll(w, [leader], 'after', [])).toEqual([true]);
    await w.clock.advanceAsync(ONCE_HOLD);
    expect(holders('after')).toEqual([]);
  });

  it('within the hold the lock decides even where storage does not show the record yet (renderers see storage late)', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const runs: string[] = [];
    expect(await callAll(w, [a], 'k', runs)).toEqual([true]);
    // b's copy of localStorage has not seen a's write (writing the map directly sends no event).
    w.browser.storage.map.delete(onceRecord('k'));
    await w.clock.advanceAsync(ONCE_HOLD / 2);
    expect(await callAll(w, [b], 'k', runs)).toEqual([false]);
    expect(runs).toEqual([a.tab.id]);
    // After the hold, with no record either: a's `once` frame told b, which still skips.
    await w.clock.advanceAsync(ONCE_HOLD / 2);
    expect(w.browser.locks.holders(onceLock('k'))).toEqual([]);
    expect(await callAll(w, [b], 'k', runs)).toEqual([false]);
    expect(runs).toEqual([a.tab.id]);
  });

  it('a follower waits FOLLOWER_WAIT for another tab to claim the key, and then asks no lock; alone, it runs the key after the wait', async () => {
    const w = world();
    const [a, b, c] = [spawn(w), spawn(w), spawn(w)] as [Harness, Harness, Harness];
    await startAll(w, [a, b, c]);
    expect(a.bus.state().role).toBe('leader');
    const asked = vi.spyOn(w.browser.locks, 'request');
    const runs: string[] = [];
    // The followers call first; the leader calls a little later (its claim reaches them within the wait).
    const followers = [b, c].map((h) => h.bus.once('k', () => runs.push(h.tab.id)));
    await w.clock.advanceAsync(FOLLOWER_WAIT / 2);
    const first = a.bus.once('k', () => runs.push(a.tab.id));
    await w.clock.advanceAsync(FOLLOWER_WAIT);
    expect(await Promise.all([first, ...followers])).toEqual([true, false, false]);
    expect(asked.mock.calls.filter(([, name]) => name === onceLock('k'))).toHaveLength(1);
    expect(runs).toEqual([a.tab.id]);
    // A key only a follower calls for: it runs there, once the wait is over and not before.
    let ran = false;
    const alone = b.bus.once('j', () => void (ran = true));
    await w.clock.advanceAsync(FOLLOWER_WAIT - 1);
    expect(ran).toBe(false);
    await w.clock.advanceAsync(11);
    expect(ran).toBe(true);
    expect(await alone).toBe(true);
    // Keys called for at different moments each wait their own FOLLOWER_WAIT.
    const x = c.bus.once('x', () => runs.push('x'));
    await w.clock.advanceAsync(FOLLOWER_WAIT - 10);
    const y = c.bus.once('y', () => runs.push('y'));
    await w.clock.advanceAsync(15);
    expect(runs.slice(-1)).toEqual(['x']);
    await w.clock.advanceAsync(FOLLOWER_WAIT - 15);
    expect(runs.slice(-2)).toEqual(['x', 'y']);
    expect(await Promise.all([x, y])).toEqual([true, true]);
  });

  it("a follower's call is settled by the key's frame as it comes: it resolves before FOLLOWER_WAIT, and its timer is cleared rather than fired", async () => {
    const w = world();
    const [a, b] = [spawn(w), spawn(w)] as [Harness, Harness];
    await startAll(w, [a, b]);
    expect(a.bus.state().role).toBe('leader');
    const runs: string[] = [];
    const waiting = () => [...b.pendingTimers].filter((t) => t.ms === FOLLOWER_WAIT).length;
    let settled: boolean | undefined;
    // Two calls of b for the same key wait together; a third, for another key, waits on its own.
    const calls = [b.bus.once('k', () => runs.push('b')), b.bus.once('k', () => runs.push('b again'))];
    void Promise.all(calls).then(() => (settled = true));
    const other = b.bus.once('j', () => runs.push('j'));
    expect(waiting()).toBe(3);
    const first = a.bus.once('k', () => runs.push('a'));
    await w.clock.advanceAsync(5);
    expect(await first).toBe(true);
    // k's frame came: both of its calls are settled, their timers cleared rather than fired; j's still waits.
    expect(settled).toBe(true);
    expect(await Promise.all(calls)).toEqual([false, false]);
    expect(waiting()).toBe(1);
    await w.clock.advanceAsync(FOLLOWER_WAIT);
    expect(await other).toBe(true);
    expect(runs).toEqual(['a', 'j']);
  });

  it('a tab told by a frame that a key ran asks no lock for it (a lock request is a trip to the browser process, per key and tab)', async () => {
    const w = world();
    const [a, b] = [spawn(w), spawn(w)] as [Harness, Harness];
    await startAll(w, [a, b]);
    const runs: string[] = [];
    expect(await callAll(w, [a], 'k', runs)).toEqual([true]);
    await settle(w);
    const asked = vi.spyOn(w.browser.locks, 'request');
    expect(await callAll(w, [b], 'k', runs)).toEqual([false]);
    expect(asked.mock.calls.filter(([, name]) => name === onceLock('k'))).toEqual([]);
    expect(runs).toEqual([a.tab.id]);
    // A key it was not told of is still asked for.
    expect(await callAll(w, [b], 'j', runs)).toEqual([true]);
    expect(asked.mock.calls.filter(([, name]) => name === onceLock('j'))).toHaveLength(1);
  });

  it('a tab opened after the hold (never told by a frame) skips thanks to the storage record; after the 5-minute TTL a new tab runs it again', async () => {
    const w = world();
    const [a, b] = [spawn(w), spawn(w)] as [Harness, Harness];
    await startAll(w, [a, b]);
    const runs: string[] = [];
    const ranAt = w.clock.now();
    expect(await callAll(w, [a], 'k', runs)).toEqual([true]);
    await w.clock.advanceAsync(ONCE_HOLD + 1000);
    expect(w.browser.locks.holders(onceLock('k'))).toEqual([]);
    expect(await callAll(w, [b], 'k', runs)).toEqual([false]);
    expect(await callAll(w, [a], 'k', runs)).toEqual([false]);
    const c = spawn(w);
    await startLate(w, c);
    await w.clock.advanceAsync(ranAt + ONCE_TTL - FOLLOWER_WAIT - 20 - w.clock.now());
    expect(await callAll(w, [c], 'k', runs)).toEqual([false]);
    await w.clock.advanceAsync(ONCE_HOLD); // past the TTL, and past any hold
    const d = spawn(w);
    await startLate(w, d);
    expect(await callAll(w, [d], 'k', runs)).toEqual([true]);
    expect(runs).toEqual([a.tab.id, d.tab.id]);
  });

  it("a throwing fn is reported as a 'handler' error and still counts as run", async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const boom = new Error('no sound card');
    const pending = a.bus.once('k', () => {
      throw boom;
    });
    await settle(w);
    expect(await pending).toBe(true);
    expect(a.errors).toHaveLength(1);
    expect(a.errors[0]).toMatchObject({ code: 'handler', cause: boom });
    expect(a.bus.state().lastError).toMatchObject({ code: 'handler' });
    await w.clock.advanceAsync(ONCE_HOLD + 1000);
    let ran = false;
    const again = b.bus.once('k', () => void (ran = true));
    await settle(w);
    expect(await again).toBe(false);
    expect(ran).toBe(false);
  });

  it('without usable storage only the leader runs it, each key once', async () => {
    const w = world({ storage: new MemoryStorage({ fail: 'denied' }) });
    const hs = [spawn(w), spawn(w), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    for (const h of hs) expect(h.errors.map((e) => e.code)).toEqual(['storage']);
    const runs: string[] = [];
    // The leader gets the notification first (it delivers before the frame reaches the others).
    expect(await callAll(w, [a, b, c], 'k', runs)).toEqual([true, false, false]);
    // After the hold the key lock is free: the followers take it, and leave the effect to the leader.
    await w.clock.advanceAsync(ONCE_HOLD);
    expect(await callAll(w, [b], 'k', runs)).toEqual([false]);
    expect(await callAll(w, [c], 'k2', runs)).toEqual([false]);
    await w.clock.advanceAsync(ONCE_HOLD);
    // The leader remembers the keys it ran.
    expect(await callAll(w, [a], 'k', runs)).toEqual([false]);
    expect(await callAll(w, [a], 'k3', runs)).toEqual([true]);
    expect(runs).toEqual([a.tab.id, a.tab.id]);
  });

  it('without usable storage, a follower that called first does not keep the leader from running it', async () => {
    const w = world({ storage: new MemoryStorage({ fail: 'denied' }) });
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const runs: string[] = [];
    expect(await callAll(w, [b], 'k', runs)).toEqual([false]);
    await w.clock.advanceAsync(1000);
    expect(await callAll(w, [a], 'k', runs)).toEqual([true]);
    expect(runs).toEqual([a.tab.id]);
  });

  it("without usable storage, a solo tab runs each key once", async () => {
    const w = world({ storage: new MemoryStorage({ fail: 'denied' }) });
    const a = spawn(w, { coordination: 'none' });
    await a.bus.start();
    const runs: string[] = [];
    expect(await callAll(w, [a], 'k', runs)).toEqual([true]);
    await w.clock.advanceAsync(ONCE_HOLD + 1000);
    expect(await callAll(w, [a], 'k', runs)).toEqual([false]);
    expect(runs).toEqual([a.tab.id]);
  });

  it('with storage that reads but cannot write (quota), a follower does not run it and it runs once', async () => {
    const w = world({ storage: new MemoryStorage({ fail: 'quota' }) });
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const runs: string[] = [];
    expect(await callAll(w, [b], 'k', runs)).toEqual([false]);
    await w.clock.advanceAsync(ONCE_HOLD + 1000);
    expect(await callAll(w, [a], 'k', runs)).toEqual([true]);
    await w.clock.advanceAsync(ONCE_HOLD + 1000);
    expect(await callAll(w, [a, b], 'k', runs)).toEqual([false, false]);
    expect(runs).toEqual([a.tab.id]);
  });

  it('without Web Locks storage alone decides: the first caller runs it, follower or not', async () => {
    const w = world();
    const election = new ManualElection();
    const env = { locks: undefined, fallbackElection: () => election.create() };
    const hs = [spawn(w, {}, {}, env), spawn(w, {}, {}, env), spawn(w, {}, {}, env)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    for (const h of hs) await h.bus.start();
    election.elect();
    await settle(w);
    expect(a.bus.state().role).toBe('leader');
    const runs: string[] = [];
    // No lock: once() settles in the same task.
    const results = [b, a, c].map((h) => h.bus.once('k', () => runs.push(h.tab.id)));
    expect(runs).toEqual([b.tab.id]);
    expect(await Promise.all(results)).toEqual([true, false, false]);
    expect(w.browser.storage.map.has(onceRecord('k'))).toBe(true);
    await w.clock.advanceAsync(ONCE_TTL - 1000);
    expect(await c.bus.once('k', () => runs.push(c.tab.id))).toBe(false);
    expect(runs).toEqual([b.tab.id]);
  });

  it('without Web Locks nor storage only the leader runs it, each key once', async () => {
    const w = world();
    const election = new ManualElection();
    const env = { locks: undefined, storage: undefined, fallbackElection: () => election.create() };
    const hs = [spawn(w, {}, {}, env), spawn(w, {}, {}, env)];
    const [a, b] = hs as [Harness, Harness];
    for (const h of hs) await h.bus.start();
    election.elect();
    await settle(w);
    const runs: string[] = [];
    expect(await b.bus.once('k', () => runs.push('b'))).toBe(false);
    expect(await a.bus.once('k', () => runs.push('a'))).toBe(true);
    expect(await a.bus.once('k', () => runs.push('a'))).toBe(false);
    expect(runs).toEqual(['a']);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('shared(key)', () => {
  const sharedKey = (key: string) => `${PREFIX}shared:${key}`;

  it('set in one tab: get() and on() in the others, and the value is stored', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w, {}, { visible: false })];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    await startAll(w, hs);
    const seen = hs.map(() => [] as unknown[]);
    hs.forEach((h, i) => h.bus.shared<{ n: number }>('theme').on((v) => seen[i]!.push(v)));
    expect(b.bus.shared('theme').get()).toBeUndefined();
    b.bus.shared<{ n: number }>('theme').set({ n: 1 });
    expect(b.bus.shared('theme').get()).toEqual({ n: 1 });
    await settle(w);
    for (const h of [a, c]) expect(h.bus.shared('theme').get()).toEqual({ n: 1 });
    expect(seen).toEqual([[{ n: 1 }], [{ n: 1 }], [{ n: 1 }]]);
    expect(JSON.parse(w.browser.storage.map.get(sharedKey('theme'))!)).toMatchObject({ value: { n: 1 }, tab: b.bus.tabId });

    await w.clock.advanceAsync(1000);
    c.bus.shared('theme').set({ n: 2 });
    await settle(w);
    for (const h of hs) expect(h.bus.shared('theme').get()).toEqual({ n: 2 });
    expect(seen).toEqual([[{ n: 1 }, { n: 2 }], [{ n: 1 }, { n: 2 }], [{ n: 1 }, { n: 2 }]]);
    expect(a.bus.shared('other').get()).toBeUndefined();

    // on() returns its unsubscriber.
    const heard: unknown[] = [];
    const off = a.bus.shared('theme').on((v) => heard.push(v));
    b.bus.shared('theme').set({ n: 3 });
    await settle(w);
    off();
    await w.clock.advanceAsync(1000);
    b.bus.shared('theme').set({ n: 4 });
    await settle(w);
    expect(heard).toEqual([{ n: 3 }]);
    expect(a.bus.shared('theme').get()).toEqual({ n: 4 });
  });

  it('a tab started later reads the stored value', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    await startAll(w, hs);
    hs[1]!.bus.shared('draft').set('hello');
    await settle(w);
    await hs[1]!.bus.stop();
    await w.clock.advanceAsync(10_000);
    const late = spawn(w);
    await startLate(w, late);
    expect(late.bus.shared('draft').get()).toBe('hello');
  });

  it.each([
    ['a first', [0, 1]],
    ['b first', [1, 0]],
  ] as const)('concurrent sets (same time, %s) converge everywhere on the larger tab id; a later set wins over both', async (_, order) => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w)];
    await startAll(w, hs);
    const writers = [hs[0]!, hs[1]!];
    const last = hs.map(() => undefined as unknown);
    hs.forEach((h, i) => h.bus.shared('x').on((v) => (last[i] = v)));
    for (const i of order) writers[i]!.bus.shared('x').set(`from ${writers[i]!.tab.id}`);
    await settle(w);
    const winner = writers[0]!.bus.tabId > writers[1]!.bus.tabId ? writers[0]! : writers[1]!;
    const expected = `from ${winner.tab.id}`;
    for (const h of hs) expect(h.bus.shared('x').get()).toBe(expected);
    expect(last).toEqual([expected, expected, expected]);
    expect(JSON.parse(w.browser.storage.map.get(sharedKey('x'))!)).toMatchObject({ value: expected });

    // By time first: a set 1 ms later wins whatever the ids.
    await w.clock.advanceAsync(1);
    const loser = winner === writers[0] ? writers[1]! : writers[0]!;
    loser.bus.shared('x').set('later');
    await settle(w);
    for (const h of hs) expect(h.bus.shared('x').get()).toBe('later');
  });

  it('an older value arriving late is ignored', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const setAt = w.clock.now();
    a.bus.shared('x').set('new');
    await settle(w);
    const heard: unknown[] = [];
    b.bus.shared('x').on((v) => heard.push(v));
    w.browser.inject(FRAMES, { v: FRAME_VERSION, scope: SCOPE, epoch: 1, from: 'zzzzzzzzzz', type: 'shared', key: 'x', value: 'old', at: setAt - 1 });
    for (const h of hs) expect(h.bus.shared('x').get()).toBe('new');
    expect(heard).toEqual([]);
  });

  it('a listener that throws is reported as a handler error, not thrown; the other listeners still run', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startAll(w, hs);
    const boom = new Error('listener bug');
    b.bus.shared('x').on(() => {
      throw boom;
    });
    const heard: unknown[] = [];
    b.bus.shared('x').on((v) => heard.push(v));
    a.bus.shared('x').set(1);
    await settle(w); // a throw here would fail the advance
    expect(heard).toEqual([1]);
    expect(b.errors).toHaveLength(1);
    expect(b.errors[0]).toMatchObject({ code: 'handler', cause: boom });
    expect(a.errors).toEqual([]);
    // The setter's own listener too.
    a.bus.shared('x').on(() => {
      throw boom;
    });
    expect(() => a.bus.shared('x').set(2)).not.toThrow();
    expect(a.errors.map((e) => e.code)).toEqual(['handler']);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('idle cost', () => {
  it.each([
    ['a visible leader', true],
    ['a hidden leader', false],
  ] as const)('with %s, a hidden follower with no traffic has no pending timer, posts no frame and writes nothing to storage for an hour', async (_, leaderVisible) => {
    const w = world();
    const hs = [spawn(w, {}, { visible: leaderVisible }), spawn(w, {}, { visible: false }), spawn(w)];
    const [a, b, c] = hs as [Harness, Harness, Harness];
    if (!leaderVisible) c.tab.setVisible(false);
    await startAll(w, hs);
    expect(leaders(hs)).toEqual([a]);
    const from = w.browser.posted.length;
    const timersSet = b.timersSet;
    const hour = 3_600_000;
    for (let t = 0; t < hour; t += 60_000) await w.clock.advanceAsync(60_000);
    expect(b.pendingTimers.size).toBe(0);
    expect(b.timersSet).toBe(timersSet);
    expect(framesOf(w, 'hello', b.tab, from)).toEqual([]);
    expect(w.browser.posted.slice(from).filter((m) => m.from === b.tab.id)).toEqual([]);
    expect(b.storageWrites).toEqual([]);
    expect(b.bus.state()).toMatchObject({ role: 'follower', leaderId: a.bus.tabId });
    // The harness does see what a visible follower costs (its leader watch).
    if (leaderVisible) expect(c.pendingTimers.size).toBeGreaterThan(0);
  });
});
