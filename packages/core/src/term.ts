import type { Election } from './election';
import { isNewerTerm, LEADER_FRAMES, type Frame } from './frames';
import type { Hub, Part } from './hub';
import type { BusItem } from './transport';

/** After `handoff()` in a message election, how long the old leader waits before standing again, in ms. */
export const HANDOFF_PAUSE = 1000;
/** A visible tab asks a hidden leader for the connection at most this often, in ms. */
export const CLAIM_INTERVAL = 1000;
/** A leader that yielded leads again if the tab it yielded to has not taken over after this long, in ms. */
export const YIELD_TIMEOUT = 2000;

/** Who leads the scope, under which epoch, and every way leadership changes hands. */
export interface Term<Item extends BusItem = BusItem> extends Part<Item> {
  /** The newest term this tab knows of. */
  readonly epoch: number;
  /** Who leads it (null: not known yet). */
  leaderId: string | null;
  /** Enters the election. `lifetimes`: tabs hold lifetime locks, so the tab map never needs rebuilding. */
  join(election: Election, lifetimes: boolean): void;
  /** Leaves the election for good (the bus stops). */
  leave(): void;
  /** Fencing, for every frame from another tab: false for a frame of an older term. */
  admit(frame: Frame<Item>): boolean;
  /** The leader stopped answering probes: take the lock from it. */
  steal(): void;
  /** Leader only: hands the connection to the next tab in line; false when this tab does not lead. */
  handoff(): boolean;
  /** Gives the connection up and queues for leadership again, after `pause` ms. */
  stepDown(reason: string, pause?: number): void;
  /** A visible follower asks a hidden leader for the connection (rate-limited, not dropped). */
  claim(): void;
  /** Test hook: lead now, without the election (two leaders at once). */
  force(): void;
}

/**
 * The leadership term. Elected through the election (Web Locks or messages); stolen from a leader that
 * stopped answering; claimed by a visible tab from a hidden leader (hidden tabs are throttled and frozen
 * by browsers), which yields; handed off; given up when a newer term shows up. Each term bumps the epoch
 * kept in storage and every frame carries its sender's epoch, so frames of an older term are fenced off
 * and a leader that sees a newer term steps down.
 */
export function createTerm<Item extends BusItem>(hub: Pick<Hub<Item>, 'env' | 'tabId' | 'machine' | 'counters' | 'store' | 'options' | 'post' | 'changed' | 'self' | 'visible' | 'roster' | 'link' | 'delivery' | 'watch'>): Term<Item> {
  const { env, machine, tabId } = hub;
  let election: Election | undefined;
  /** Without lifetime locks a dead tab stays in the map: it is rebuilt from the answers to each `lead`. */
  let lifetimes = false;
  /** Bumped by join and leave, so a late callback of an earlier election does nothing. */
  let gen = 0;
  let yieldTimer: unknown;
  let claimedAt = -Infinity;
  let claimTimer: unknown;

  /** Drops a frame of an older term. */
  const fence = () => {
    hub.counters.fenced++;
    return false;
  };
  const campaign = (g: number) => election?.campaign(() => lead(g, 'elected'), () => lost(g));
  // A steal can race a grant of the lock's queue (each renderer reads the stored epoch late): it counts two
  // terms up, so the two never share an epoch (the newer one wins either way, by epoch or by tab id).
  const take = (reason: string) => {
    const g = gen;
    election?.steal?.(() => lead(g, reason, 2), () => lost(g));
  };
  /** Another tab took the lock this tab held: a leader steps down; a tab that yielded queues again. */
  const lost = (g: number) => {
    if (g !== gen) return;
    env.clearTimeout(yieldTimer);
    if (machine.role === 'leader') term.stepDown('lock taken');
    else campaign(g);
  };
  /** Leadership granted: a new term, announced to every tab; then the connection opens. */
  const lead = (g: number, reason: string, step = 1) => {
    // Every start sets the store before it joins the election, and nothing unsets it.
    const store = hub.store!;
    if (g !== gen) return;
    // Granted again while still leading (a forced or stolen term overlapped the queue): one connection only.
    if (machine.role === 'leader') hub.link.end();
    env.clearTimeout(yieldTimer);
    term.epoch = Math.max(store.readEpoch(), term.epoch) + step;
    term.leaderId = tabId;
    machine.to('leader', reason);
    if (!lifetimes) hub.roster.tabs.retainOnly(tabId);
    const cursor = hub.delivery.watermark;
    // The connection first: after a failover, the gap is the time to its first request, and each frame
    // or storage write wakes every other tab, on the cores the request needs. No reply can come back
    // before this task ends, and the frame and the write are in it. The connection's state may be
    // told before the term (`status`): the followers take a newer epoch from either frame.
    hub.link.begin();
    // Every tab answers `lead` with a hello: without lifetime locks, that is how the map is rebuilt.
    hub.post({ type: 'lead', cursor, tab: hub.self(), transport: machine.transport });
    store.writeEpoch(term.epoch);
    hub.changed();
  };

  const term: Term<Item> & { epoch: number } = {
    epoch: 0,
    leaderId: null,
    join(e, withLifetimes) {
      election = e;
      lifetimes = withLifetimes;
      campaign(++gen);
    },
    leave() {
      gen++;
      env.clearTimeout(yieldTimer);
      env.clearTimeout(claimTimer);
      claimTimer = undefined;
      election?.resign();
      election?.close?.();
      election = undefined;
      term.leaderId = null;
    },
    admit(frame) {
      const leading = machine.role === 'leader';
      if (LEADER_FRAMES.has(frame.type)) {
        if (isNewerTerm(frame.epoch, frame.from, term.epoch, term.leaderId)) {
          if (leading) term.stepDown('newer term');
          term.epoch = frame.epoch;
          term.leaderId = frame.from;
        } else if (frame.epoch !== term.epoch || frame.from !== term.leaderId) {
          return fence();
        }
        hub.watch?.heard(frame.type === 'alive');
      } else if (frame.type === 'halt' && frame.epoch < term.epoch && frame.code !== 'session_expired') {
        // A connection error seen in an older term (a leader that thawed after being replaced): stale news.
        // An expired session is news whatever the term: the cookie is shared (and a tab that just started
        // may not know the current epoch yet).
        return fence();
      } else if (frame.epoch > term.epoch) {
        // A tab knows a newer term than ours: some other tab leads now.
        if (leading) term.stepDown('newer term');
        term.epoch = frame.epoch;
        term.leaderId = null;
      }
      return true;
    },
    steal() {
      if (machine.role !== 'follower' || !election?.steal) return;
      hub.counters.steals++;
      take('leader silent');
    },
    handoff() {
      if (machine.role !== 'leader') return false;
      // A message election has no queue: campaigning again at once would often win again.
      term.stepDown('handoff', lifetimes ? 0 : HANDOFF_PAUSE);
      return true;
    },
    force() {
      if (election) lead(gen, 'forced');
    },
    stepDown(reason, pause) {
      hub.link.end();
      machine.to('follower', reason);
      election?.resign();
      const g = gen;
      // In the yield's timer (never pending here: only a follower has one), so that leave() clears it too.
      if (pause) yieldTimer = env.setTimeout(() => g === gen && machine.role === 'follower' && campaign(g), pause);
      else campaign(g);
      // Ask whoever leads now for the tabs and the connection's state (its frames may have come and gone).
      hub.roster.announce(true);
      hub.changed();
    },
    claim() {
      const leader = term.leaderId === null ? undefined : hub.roster.tabs.get(term.leaderId);
      if (hub.options.preferVisibleLeader === false || machine.role !== 'follower' || !election?.steal) return;
      if (!leader || leader.visible || !hub.visible()) return;
      const wait = claimedAt + CLAIM_INTERVAL - env.now();
      if (wait > 0) {
        claimTimer ??= env.setTimeout(() => {
          claimTimer = undefined;
          term.claim();
        }, wait);
        return;
      }
      claimedAt = env.now();
      hub.post({ type: 'claim' });
    },
    frames: {
      // Leader: a visible tab asked for the connection. Close it, then let that tab steal the lock.
      claim({ from: to }) {
        if (machine.role !== 'leader' || hub.visible() || !hub.roster.tabs.get(to)?.visible) return;
        const g = gen;
        hub.link.end();
        machine.to('follower', 'yielded');
        // The lock stays held until the target steals it (then `lost` queues this tab again). If it never
        // does (it closed meanwhile), lead again rather than leave the scope without a connection.
        hub.post({ type: 'yield', to, cursor: hub.link.cursor });
        yieldTimer = env.setTimeout(() => g === gen && machine.role === 'follower' && lead(g, 'yield not taken'), YIELD_TIMEOUT);
        hub.changed();
      },
      // Addressed to this tab (the bus drops frames addressed to others). One with no `to` reaches every
      // tab: it is for none (every follower would steal the lock).
      yield: (frame) => void (frame.to === tabId && machine.role === 'follower' && take('claimed')),
    },
  };
  return term;
}
