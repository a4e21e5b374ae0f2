import { describe, expect, it, vi } from 'vitest';
import { duties, watchLeader, type LeaderWatch } from '../../leader-watch';
import { setVisible, testHub } from './hub';

const T = 3000;

/** A watch on a virtual clock; while `leader.answers`, the leader answers each probe 1 ms later. */
function watching(answers: boolean) {
  const hub = testHub();
  const silent = vi.fn();
  const leader = { answers, probes: 0 };
  const watch: LeaderWatch = watchLeader(hub.env, T, () => {
    leader.probes++;
    if (leader.answers) hub.clock.setTimeout(() => leader.answers && watch.heard(true), 1);
  }, silent);
  return { hub, watch, silent, leader, probes: () => leader.probes };
}

describe('LeaderWatch', () => {
  it('an idle scope costs one timer callback per leaderTimeout: 20 a minute for 3 s', () => {
    const { hub, watch, silent, probes } = watching(true);
    watch.set(true);
    hub.clock.advance(60_000); // the first minute starts with a quicker probe (nothing heard yet)
    const fired = hub.fired;
    const probed = probes();
    hub.clock.advance(10 * 60_000);
    // Only the watch's timers count: the answer arrives over the channel (here: the test clock, uncounted).
    const watchCallbacks = hub.fired - fired;
    expect(watchCallbacks / 10).toBeLessThanOrEqual(20);
    expect(watchCallbacks / 10).toBeGreaterThanOrEqual(19);
    expect(probes() - probed).toBe(watchCallbacks);
    expect(silent).not.toHaveBeenCalled();
  });

  it('a busy leader is never probed, and its freeze is given up leaderTimeout after its last frame', () => {
    const { hub, watch, silent, probes } = watching(false);
    watch.set(true);
    let frozenAt = 0;
    for (let t = 0; t < 20_000; t += 200) {
      watch.heard();
      frozenAt = hub.clock.now();
      hub.clock.advance(200);
    }
    expect(probes()).toBe(0);
    while (!silent.mock.calls.length) hub.clock.advance(1);
    expect(hub.clock.now() - frozenAt).toBe(T);
    expect(probes()).toBe(1);
    expect(watch.active).toBe(false);
  });

  it('an idle leader that freezes is given up within 4/3 × leaderTimeout, wherever in the cycle the freeze falls', () => {
    for (const offset of [0, 1, 2, 500, 1500, 2999, 3001]) {
      const { hub, watch, silent, leader } = watching(true);
      watch.set(true);
      hub.clock.advance(30_000 + offset);
      leader.answers = false;
      const frozenAt = hub.clock.now();
      while (!silent.mock.calls.length) hub.clock.advance(1);
      expect(hub.clock.now() - frozenAt).toBeLessThanOrEqual(Math.ceil((4 * T) / 3));
      expect(watch.active).toBe(false);
    }
  });

  it('a probe answered just before the deadline keeps the leader', () => {
    const hub = testHub();
    const silent = vi.fn();
    const watch: LeaderWatch = watchLeader(hub.env, T, () => hub.clock.setTimeout(() => watch.heard(true), T / 3 - 10), silent);
    watch.set(true);
    hub.clock.advance(10 * T);
    expect(silent).not.toHaveBeenCalled();
  });

  // (leaderTimeout 0: the bus makes no watch at all; resilience.test.ts has that.)
  it('inactive, it has no timer', () => {
    const { hub, watch } = watching(true);
    watch.set(true);
    watch.set(false);
    expect(hub.clock.pending).toBe(0);
  });
});

describe('duties', () => {
  /** A hub with the tabs a (leader), b, c, d; `hidden` lists the hidden ones. */
  function scope(me: string, role: 'leader' | 'follower', hidden: string[] = []) {
    const hub = testHub({ tabId: me });
    hub.become(role);
    for (const id of ['a', 'b', 'c', 'd']) hub.roster.tabs.upsert({ id, channels: [], visible: !hidden.includes(id) });
    hub.term.leaderId = 'a';
    hub.watch = watchLeader(hub.env, T, () => undefined, () => undefined);
    setVisible(hub, !hidden.includes(me));
    return hub;
  }

  it('the leader follows the lifetime of every other tab and watches nobody', () => {
    expect(duties(scope('a', 'leader'), true)).toEqual([false, ['b', 'c', 'd']]);
  });

  it('the lowest visible follower watches; the other visible followers follow its lifetime; hidden ones do nothing', () => {
    expect(duties(scope('b', 'follower', ['d']), true)).toEqual([true, []]);
    expect(duties(scope('c', 'follower', ['d']), true)).toEqual([false, ['b']]);
    expect(duties(scope('d', 'follower', ['d']), true)).toEqual([false, []]);
  });

  it('a hidden lowest id passes the watch to the next visible one', () => {
    expect(duties(scope('c', 'follower', ['b']), true)).toEqual([true, []]);
    expect(duties(scope('d', 'follower', ['b']), true)).toEqual([false, ['c']]);
  });

  it('without lifetime locks every visible follower watches', () => {
    expect(duties(scope('c', 'follower'), false)).toEqual([true, []]);
    expect(duties(scope('d', 'follower', ['d']), false)).toEqual([false, []]);
  });

  it('a tab that cannot steal (no watch) never watches', () => {
    const hub = scope('b', 'follower');
    hub.watch = undefined;
    expect(duties(hub, true)).toEqual([false, []]);
  });
});
