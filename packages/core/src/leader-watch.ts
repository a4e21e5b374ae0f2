import type { BusEnv } from './env';
import type { Hub } from './hub';
import type { BusItem } from './transport';

/** The check that the leader still answers, in the watcher (see {@link watchLeader}). */
export interface LeaderWatch {
  /** Whether this tab watches now. */
  readonly active: boolean;
  /** The leader showed it is alive (any frame of its term); `answer`: the frame answers a probe. */
  heard(answer?: boolean): void;
  /** Watches while `active` (this tab is the watcher), stops otherwise. */
  set(active: boolean): void;
}

/**
 * The check that the leader still answers, run by the watcher (one visible follower). Web Locks free a
 * lock when its holder closes or crashes, but not when its event loop freezes (a frozen or long-blocked
 * tab keeps its locks forever, and every tab waits behind it). So the watcher probes a quiet leader and
 * gives it up (`onSilent`) once it has been silent for `timeout` with a probe unanswered for at least a
 * third of it. Any frame of the leader's term is a sign of life, so a busy leader is never probed.
 *
 * How soon it probes depends on what it last heard. After ordinary traffic, a third of the timeout of
 * silence is unusual: it probes then, and a frozen leader is given up `timeout` after its last frame.
 * After the answer to a probe (an idle scope), it waits a whole timeout before the next probe: a frozen
 * idle leader is given up within 4/3 × timeout, and an idle scope costs one timer callback per timeout
 * (the answer clears the deadline before it fires). Inactive, it costs nothing. `timeout` is above 0: with a
 * `leaderTimeout` of 0 the bus makes no watch.
 */
export function watchLeader(env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>, timeout: number, probe: () => void, onSilent: () => void): LeaderWatch {
  let heardAt = 0;
  /** The last sign was the answer to a probe: nothing else is going on (only its truth counts: `heard()` passes what it is told). */
  let idle: boolean | undefined = false;
  /** When the unanswered probe went out; undefined while none is. */
  let probedAt: number | undefined;
  let timer: unknown;
  /** How long a silence is before a probe. */
  const wait = () => (idle ? timeout : Math.ceil(timeout / 3));
  const at = (time: number) => {
    env.clearTimeout(timer);
    timer = env.setTimeout(tick, Math.max(0, Math.ceil(time - env.now())));
  };
  const tick = (): void => {
    if (!watch.active) return;
    const now = env.now();
    if (probedAt === undefined) {
      if (now - heardAt < wait()) return at(heardAt + wait());
      probedAt = now;
      probe();
      // Answered at once (the probe's own task ran the answer): `heard` scheduled the next probe.
      if (probedAt === undefined || !watch.active) return;
    }
    const giveUpAt = Math.max(heardAt + timeout, probedAt + Math.ceil(timeout / 3));
    if (now < giveUpAt) return at(giveUpAt);
    watch.set(false);
    onSilent();
  };
  const watch = {
    active: false,
    heard(answer?: boolean) {
      heardAt = env.now();
      idle = answer;
      if (probedAt === undefined) return;
      // The deadline is moot: wait for the next probe instead.
      probedAt = undefined;
      if (watch.active) at(heardAt + wait());
    },
    set(active: boolean) {
      if (active === watch.active) return;
      watch.active = active;
      env.clearTimeout(timer);
      probedAt = undefined;
      if (!active) return;
      // Becoming the watcher is no sign of life, but it is not silence either: start a fresh period.
      heardAt = env.now();
      idle = false;
      at(heardAt + wait());
    },
  };
  return watch;
}

/**
 * What this tab has to watch, given its role and the tab map: whether it runs the leader watch, and the tabs
 * whose lifetime locks it follows (the leader every other tab; a visible follower the watcher).
 */
export type Duties = readonly [watching: boolean, follow: readonly string[]];

/**
 * Who watches the leader. Where tabs hold lifetime locks, one visible follower does: the lowest id in the
 * map, the leader aside. Every other follower sleeps, and a visible one follows the watcher's lifetime
 * lock, so that if the watcher dies (even while the leader is frozen and cannot say so) it is dropped
 * from the map and the next one takes over. Without lifetime locks nobody could tell that the watcher
 * died: every visible follower watches.
 */
export function duties<Item extends BusItem>(hub: Pick<Hub<Item>, 'machine' | 'roster' | 'term' | 'tabId' | 'visible' | 'watch'>, lifetimes: boolean): Duties {
  const { machine: { role }, roster: { tabs }, tabId } = hub;
  if (role === 'leader') return [false, tabs.ids().filter((id) => id !== tabId)];
  const watcher = role === 'follower' && hub.watch && hub.visible() ? (lifetimes ? tabs.watcher(hub.term.leaderId) : tabId) : undefined;
  return [watcher === tabId, watcher && watcher !== tabId ? [watcher] : []];
}
