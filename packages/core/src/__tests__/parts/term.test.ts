import { describe, expect, it, vi } from 'vitest';
import type { Election } from '../../election';
import { createTerm, CLAIM_INTERVAL, HANDOFF_PAUSE, YIELD_TIMEOUT } from '../../term';
import { ManualElection } from '../../testing';
import { setVisible, testHub, type TestHub } from './hub';

const EPOCH_KEY = 'tabbus:test:epoch';

/** A term in a follower tab, joined to a manual election (which can steal when `steal` is set). */
function follower(options: { lifetimes?: boolean; steal?: boolean } = {}) {
  const hub = testHub();
  const manual = new ManualElection();
  const base = manual.create();
  const stolen: (() => void)[] = [];
  const election: Election = options.steal === false ? base : { ...base, steal: (onElected) => void stolen.push(onElected) };
  const term = createTerm(hub);
  Object.assign(hub, { term });
  hub.become('follower');
  term.join(election, options.lifetimes ?? true);
  return { hub, term, manual, stolen };
}
const types = (hub: TestHub) => hub.posted.map((f) => f.type);

describe('the term', () => {
  it('elected: a new epoch above the stored one, the role, the connection, then a lead frame with this tab and the connection\'s state', () => {
    const { hub, term, manual } = follower();
    hub.env.storage!.setItem(EPOCH_KEY, '41');
    // The connection goes first (the failover's gap is the time to its request): nothing posted before it.
    let postedBeforeConnection = -1;
    vi.mocked(hub.link.begin).mockImplementation(() => void (postedBeforeConnection = hub.posted.length));
    manual.elect();
    expect(postedBeforeConnection).toBe(0);
    expect(term.epoch).toBe(42);
    expect(hub.env.storage!.getItem(EPOCH_KEY)).toBe('42');
    expect(hub.machine).toMatchObject({ role: 'leader', last: { from: 'follower', to: 'leader', reason: 'elected' } });
    expect(term.leaderId).toBe('me');
    expect(hub.posted).toEqual([{ type: 'lead', cursor: 0, tab: { id: 'me', channels: [], visible: true }, transport: 'idle' }]);
    expect(hub.link.begin).toHaveBeenCalledTimes(1);
  });

  it('without lifetime locks a new term rebuilds the tab map from scratch', () => {
    const { hub, manual } = follower({ lifetimes: false });
    hub.roster.tabs.upsert({ id: 'dead', channels: [], visible: true });
    manual.elect();
    expect(hub.roster.tabs.ids()).toEqual([]);
  });

  it('fences frames of an older term, follows a newer one, and tells the watch of leader frames', () => {
    const { hub, term } = follower();
    const heard = vi.fn();
    hub.watch = { heard } as never;
    expect(term.admit(hub.frame('status', { epoch: 3, from: 'x', transport: 'open' }))).toBe(true);
    expect(term).toMatchObject({ epoch: 3, leaderId: 'x' });
    expect(heard).toHaveBeenLastCalledWith(false);
    expect(term.admit(hub.frame('alive', { epoch: 3, from: 'x', cursor: 0 }))).toBe(true);
    expect(heard).toHaveBeenLastCalledWith(true);
    expect(term.admit(hub.frame('batch', { epoch: 2, from: 'y', items: [], cursor: 0, after: 0 }))).toBe(false);
    expect(term.admit(hub.frame('batch', { epoch: 3, from: 'a', items: [], cursor: 0, after: 0 }))).toBe(false);
    expect(hub.counters.fenced).toBe(2);
    // A halt of an older term is stale news, unless the session expired (the cookie is shared).
    expect(term.admit(hub.frame('halt', { epoch: 1, from: 'y', code: 'network', message: '' }))).toBe(false);
    expect(term.admit(hub.frame('halt', { epoch: 1, from: 'y', code: 'session_expired', message: '' }))).toBe(true);
    // A follower frame of a newer term: someone else leads, not known who.
    expect(term.admit(hub.frame('hello', { epoch: 5, from: 'z', tab: { id: 'z', channels: [], visible: true } }))).toBe(true);
    expect(term).toMatchObject({ epoch: 5, leaderId: null });
  });

  it('a leader that sees a newer term steps down, queues again and asks whoever leads for a welcome', () => {
    const { hub, term, manual } = follower();
    manual.elect();
    hub.posted.length = 0;
    term.admit(hub.frame('lead', { epoch: 9, from: 'other', cursor: 0, tab: { id: 'other', channels: [], visible: true } }));
    expect(hub.machine.last).toMatchObject({ from: 'leader', to: 'follower', reason: 'newer term' });
    expect(hub.link.end).toHaveBeenCalled();
    // The roster's hello with `join` (the roster is a stub here).
    expect(hub.roster.announce).toHaveBeenCalledWith(true);
    expect(manual.campaigners.filter((c) => c.active)).toHaveLength(1);
  });

  it('steal: only a follower, only where the lock can be stolen, and it counts', () => {
    const { hub, term, stolen } = follower();
    term.steal();
    expect(hub.counters.steals).toBe(1);
    stolen[0]!();
    expect(hub.machine.last).toMatchObject({ to: 'leader', reason: 'leader silent' });
    // Two terms up: a grant from the lock's queue racing this steal would take epoch 1.
    expect(term.epoch).toBe(2);
    term.steal();
    expect(hub.counters.steals).toBe(1);
    const noSteal = follower({ steal: false });
    noSteal.term.steal();
    expect(noSteal.hub.counters.steals).toBe(0);
  });

  it('handoff: the leader steps down and queues again at once with locks, after a pause without', () => {
    const locks = follower();
    locks.manual.elect();
    expect(locks.term.handoff()).toBe(true);
    expect(locks.manual.campaigners.filter((c) => c.active)).toHaveLength(1);
    const messages = follower({ lifetimes: false });
    messages.manual.elect();
    expect(messages.term.handoff()).toBe(true);
    expect(messages.manual.campaigners.filter((c) => c.active)).toHaveLength(0);
    messages.hub.clock.advance(HANDOFF_PAUSE);
    expect(messages.manual.campaigners.filter((c) => c.active)).toHaveLength(1);
    expect(messages.term.handoff()).toBe(false);
  });

  it('a visible follower claims a hidden leader, at most once per interval, and the one deferred claim is not lost', () => {
    const { hub, term } = follower();
    term.admit(hub.frame('status', { epoch: 1, from: 'L', transport: 'open' }));
    hub.roster.tabs.upsert({ id: 'L', channels: [], visible: false });
    term.claim();
    term.claim();
    expect(types(hub)).toEqual(['claim']);
    hub.clock.advance(CLAIM_INTERVAL);
    expect(types(hub)).toEqual(['claim', 'claim']);
    hub.roster.tabs.upsert({ id: 'L', channels: [], visible: true });
    hub.clock.advance(5 * CLAIM_INTERVAL);
    term.claim();
    expect(types(hub)).toEqual(['claim', 'claim']);
  });

  it('a hidden leader yields to a visible tab that claims, then leads again if that tab never takes over', () => {
    const { hub, term, manual } = follower();
    manual.elect();
    setVisible(hub, false);
    hub.roster.tabs.upsert({ id: 'v', channels: [], visible: true });
    hub.posted.length = 0;
    term.frames!.claim!(hub.frame('claim', { epoch: 1, from: 'v' }));
    expect(hub.machine.last).toMatchObject({ to: 'follower', reason: 'yielded' });
    expect(hub.posted).toEqual([{ type: 'yield', to: 'v', cursor: 0 }]);
    hub.clock.advance(YIELD_TIMEOUT);
    expect(hub.machine.last).toMatchObject({ to: 'leader', reason: 'yield not taken' });
    expect(term.epoch).toBe(2);
  });

  it('leave: no late grant of the old election does anything', () => {
    const { hub, term, manual } = follower();
    term.leave();
    hub.machine.to('stopped', 'test');
    expect(manual.elect()).toBe(false);
    expect(hub.machine.role).toBe('stopped');
    expect(term.leaderId).toBeNull();
  });
});
