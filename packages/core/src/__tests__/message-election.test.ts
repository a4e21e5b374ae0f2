// The election where Web Locks are missing, on a virtual clock with real buses over fake tabs: one
// leader however the tabs start, failover on a goodbye, a crash or a freeze found by a visible tab's
// leader watch, and a leader that thaws stepping down for the newer term.
import { afterEach, describe, expect, it } from 'vitest';
import { createBus, type TabBus } from '../index';
import { APPLY_WINDOW, messageElection } from '../message-election';
import { FakeBrowser, FakeTransport, VirtualClock, type FakeTab } from '../testing';
import { advanceUntil, ids, leaders, range, SCOPE, type Note } from './virtual-tabs';

const LEADER_TIMEOUT = 900;
const ELECT = `tabbus:${SCOPE}:elect`;

interface World {
  clock: VirtualClock;
  browser: FakeBrowser;
}
interface Harness {
  tab: FakeTab;
  bus: TabBus<Note>;
  transports: FakeTransport<Note>[];
  received: number[];
  /** Timers this tab set that have neither run nor been cleared. */
  pending: Set<unknown>;
}

let running: Harness[] = [];
afterEach(async () => {
  for (const h of running) await h.bus.stop();
  running = [];
});

function world(): World {
  const clock = new VirtualClock();
  return { clock, browser: new FakeBrowser({ clock }) };
}

function spawn(w: World, visible = true): Harness {
  const tab = w.browser.tab({ visible });
  const transports: FakeTransport<Note>[] = [];
  const pending = new Set<unknown>();
  const bus = createBus<Note>({
    scope: SCOPE,
    transport: () => {
      const t = new FakeTransport<Note>();
      transports.push(t);
      return t;
    },
    unionDelay: 1,
    leaderTimeout: LEADER_TIMEOUT,
    env: tab.env({
      locks: undefined,
      setTimeout: (fn, ms) => {
        const handle: unknown = tab.setTimeout(() => {
          pending.delete(handle);
          fn();
        }, ms);
        pending.add(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        pending.delete(handle);
        tab.clearTimeout(handle);
      },
    }),
  });
  const h: Harness = { tab, bus, transports, received: [], pending };
  bus.on('notification', (items) => h.received.push(...items.map((i) => i.id)));
  running.push(h);
  return h;
}

const open = (hs: Harness[]) => hs.flatMap((h) => h.transports.filter((t) => t.isOpen));
const live = (h: Harness) => {
  const t = h.transports.filter((x) => x.isOpen);
  if (t.length !== 1) throw new Error(`expected one open transport in ${h.tab.id}, have ${t.length}`);
  return t[0]!;
};
const votes = (w: World, e: string) => w.browser.posted.filter((m) => m.name === ELECT && (m.data as { e?: string }).e === e);

/** Starts the tabs one after another, each once the previous has settled. */
async function startInTurn(w: World, hs: Harness[]): Promise<void> {
  for (const h of hs) {
    const started = h.bus.start();
    await w.clock.advanceAsync(APPLY_WINDOW + 50);
    await started;
  }
}

describe('the message election (no Web Locks)', () => {
  it('the first tab leads after the apply window; later tabs are answered and wait, with no timer running', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, false), spawn(w, false)];
    await startInTurn(w, hs);
    expect(leaders(hs)).toEqual([hs[0]]);
    for (const h of hs) expect(h.bus.state()).toMatchObject({ mode: 'elector', tabs: 3, leaderId: hs[0]!.bus.tabId });
    expect(hs[0]!.bus.state().modeReason).toMatch(/message election over fake channel/);
    // Each later applicant got one `lead` answer.
    expect(votes(w, 'apply')).toHaveLength(3);
    expect(votes(w, 'lead')).toHaveLength(3);
    expect(open(hs)).toHaveLength(1);
    // Waiting costs nothing: the hidden followers have no pending timer at all.
    for (const h of hs.slice(1)) expect(h.pending.size).toBe(0);
  });

  it('tabs that start at the same moment end with one leader and one connection', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w), spawn(w), spawn(w)];
    const started = hs.map((h) => h.bus.start());
    await w.clock.advanceAsync(APPLY_WINDOW * 3);
    await Promise.all(started);
    expect(leaders(hs)).toHaveLength(1);
    expect(open(hs)).toHaveLength(1);
    const leader = leaders(hs)[0]!;
    live(leader).push(ids(1, 4));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 4));
  });

  it('a leader that leaves says bye and a waiting tab leads within the window, resuming from the cursor', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, false), spawn(w, false)];
    await startInTurn(w, hs);
    live(hs[0]!).push(ids(1, 3));
    await w.clock.advanceAsync(10);
    await hs[0]!.bus.stop();
    const rest = hs.slice(1);
    const took = await advanceUntil(w, () => leaders(rest).length === 1, APPLY_WINDOW * 3);
    expect(took).toBeLessThanOrEqual(APPLY_WINDOW + 60);
    await w.clock.advanceAsync(APPLY_WINDOW * 2);
    expect(leaders(rest)).toHaveLength(1);
    const next = live(leaders(rest)[0]!);
    expect(next.sink!.cursor()).toBe(3);
    next.push(ids(4, 5));
    await w.clock.advanceAsync(10);
    for (const h of rest) expect(h.received).toEqual(range(1, 5));
  });

  it('a crashed leader is replaced by a visible follower through a steal; hidden followers wait without timers', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w, false), spawn(w)];
    await startInTurn(w, hs);
    live(hs[0]!).push(ids(1, 2));
    await w.clock.advanceAsync(10);
    hs[0]!.tab.crash();
    const rest = hs.slice(1);
    await advanceUntil(w, () => leaders(rest).length === 1, LEADER_TIMEOUT * 2);
    expect(leaders(rest)).toEqual([hs[2]]);
    expect(hs[2]!.bus.state().counters.steals).toBe(1);
    await w.clock.advanceAsync(50);
    expect(hs[1]!.bus.state().leaderId).toBe(hs[2]!.bus.tabId);
    // No lifetime locks tell of the dead tab: every tab rebuilt its map from the answers to the new term.
    for (const h of rest) expect(h.bus.state().tabs).toBe(2);
    live(hs[2]!).push(ids(3, 3));
    await w.clock.advanceAsync(10);
    for (const h of rest) expect(h.received).toEqual(range(1, 3));
  });

  it('a frozen leader is replaced, and when it thaws it steps down for the newer term: one connection', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    await startInTurn(w, hs);
    const [a, b] = hs as [Harness, Harness];
    live(a).push(ids(1, 2));
    await w.clock.advanceAsync(10);
    a.tab.freeze();
    await advanceUntil(w, () => b.bus.state().role === 'leader', LEADER_TIMEOUT * 2);
    live(b).push(ids(3, 4));
    a.tab.thaw();
    await w.clock.advanceAsync(APPLY_WINDOW * 2);
    expect(leaders(hs)).toEqual([b]);
    expect(open(hs)).toHaveLength(1);
    live(b).push(ids(5, 5));
    await w.clock.advanceAsync(10);
    for (const h of hs) expect(h.received).toEqual(range(1, 5));
  });

  it('ignores messages of other shapes on its channel', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    await startInTurn(w, hs);
    const stranger = w.browser.tab().openChannel(ELECT);
    for (const data of [null, 'apply', { e: 'lead' }, { e: 'lead', id: 7, term: 1 }, { e: 'bye', id: 'x' }, { e: 'lead', id: 'x', term: '9' }]) stranger.post(data);
    await w.clock.advanceAsync(APPLY_WINDOW * 2);
    expect(leaders(hs)).toEqual([hs[0]]);
    expect(open(hs)).toHaveLength(1);
  });

  it('on its own: a steal wins over the leader, which learns it through onLost; a bye wakes the waiting tab', async () => {
    const w = world();
    const tabs = [w.browser.tab(), w.browser.tab(), w.browser.tab()];
    const events: string[] = [];
    const elections = tabs.map((tab, i) => {
      const election = messageElection(tab.openChannel('e'), { now: () => tab.now(), setTimeout: (fn, ms) => tab.setTimeout(fn, ms), clearTimeout: (h) => tab.clearTimeout(h), random: Math.random });
      return { election, campaign: () => election.campaign(() => events.push(`elected ${i}`), () => events.push(`lost ${i}`)) };
    });
    elections[0]!.campaign();
    await w.clock.advanceAsync(APPLY_WINDOW + 10);
    elections[1]!.campaign();
    elections[2]!.campaign();
    await w.clock.advanceAsync(APPLY_WINDOW * 2);
    expect(events).toEqual(['elected 0']);
    elections[1]!.election.steal!(() => events.push('elected 1'), () => events.push('lost 1'));
    await w.clock.advanceAsync(10);
    expect(events).toEqual(['elected 0', 'elected 1', 'lost 0']);
    // Tabs 0 and 2 now wait for tab 1; its goodbye starts a new round that exactly one of them wins.
    elections[1]!.election.resign();
    await w.clock.advanceAsync(APPLY_WINDOW * 3);
    expect(events.slice(0, 3)).toEqual(['elected 0', 'elected 1', 'lost 0']);
    expect(events.slice(3)).toEqual([expect.stringMatching(/^elected [02]$/)]);
  });
});

describe('stop() after a hand-off', () => {
  it('leaves no timer behind: the pause before the old leader stands again ends with the bus', async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    await startInTurn(w, hs);
    leaders(hs)[0]!.bus.handoff();
    await w.clock.advanceAsync(10);
    for (const h of hs) await h.bus.stop();
    for (const h of hs) expect(h.pending.size).toBe(0);
  });
});

describe('garbage on the frames channel', () => {
  it("a hello whose tab is not of our shape (another page of the origin) breaks no tab's map, and no such channel reaches the server", async () => {
    const w = world();
    const hs = [spawn(w), spawn(w)];
    const [a, b] = hs as [Harness, Harness];
    await startInTurn(w, hs);
    // Without lifetime locks a tab stays in the map until the next term: nothing else would take it out.
    for (const channels of [5, 'news', [5], [{}], null]) {
      w.browser.inject(`tabbus:${SCOPE}:frames`, { v: 1, scope: SCOPE, epoch: 0, from: 'stray', type: 'hello', tab: { id: 'stray', channels, visible: true } });
    }
    await w.clock.advanceAsync(10);
    expect(() => b.bus.addChannel('news')).not.toThrow();
    await w.clock.advanceAsync(100);
    expect(live(a).unions.at(-1)).toEqual(['news']);
    for (const h of hs) expect(h.bus.state().tabs).toBe(2);
  });
});

