import { describe, expect, it, vi } from 'vitest';
import { createActivity, INPUT_POST_INTERVAL } from '../../activity';
import { BACK_AFTER } from '../../transport';
import { need } from '../../features';
import { createOnce, FOLLOWER_WAIT, ONCE_MEMORY } from '../../once';
import { createShared } from '../../shared';
import { testHub } from './hub';

describe('presence input', () => {
  it('counts from the latest input here or in another tab; tells the others at most every 5 s, with no timer', () => {
    const hub = testHub();
    const activity = createActivity(hub);
    hub.clock.advance(1000);
    expect(activity.inactivity()).toBe(1000);
    activity.input();
    activity.input();
    expect(hub.posted).toEqual([{ type: 'activity', at: hub.clock.now() }]);
    hub.clock.advance(INPUT_POST_INTERVAL);
    activity.input();
    expect(hub.posted).toHaveLength(2);
    expect(hub.clock.pending).toBe(0);
    // A time ahead of this tab's clock counts as now: one far ahead would hide all inactivity for good.
    activity.frames!.activity!(hub.frame('activity', { epoch: 0, from: 'x', at: hub.clock.now() + 500 }));
    expect(activity.inactivity()).toBe(0);
  });

  it('input here or in another tab after a spell of BACK_AFTER or more without any tells the link, once per spell', () => {
    const hub = testHub();
    const activity = createActivity(hub);
    hub.clock.advance(BACK_AFTER - 1);
    activity.input();
    expect(hub.link.userBack).not.toHaveBeenCalled();
    hub.clock.advance(BACK_AFTER);
    activity.input();
    activity.input();
    expect(vi.mocked(hub.link.userBack).mock.calls).toEqual([[BACK_AFTER]]);
    // Another tab's input, told by its frame, after a long spell: the same.
    hub.clock.advance(10 * BACK_AFTER);
    activity.frames!.activity!(hub.frame('activity', { epoch: 0, from: 'x', at: hub.clock.now() - 1000 }));
    expect(vi.mocked(hub.link.userBack).mock.calls[1]).toEqual([10 * BACK_AFTER - 1000]);
    // A frame older than what this tab knew says nothing.
    activity.frames!.activity!(hub.frame('activity', { epoch: 0, from: 'x', at: 0 }));
    expect(hub.link.userBack).toHaveBeenCalledTimes(2);
  });

  it('an activity frame whose time is no number (any page of the origin may post) leaves the inactivity a number', () => {
    const hub = testHub();
    const activity = createActivity(hub);
    hub.clock.advance(5000);
    for (const junk of ['now', undefined, null, {}]) activity.frames!.activity!(hub.frame('activity', { epoch: 0, from: 'x', at: junk as unknown as number }));
    hub.clock.advance(1000);
    expect(activity.inactivity()).toBe(6000);
  });
});

describe('once', () => {
  it('a key runs once, is remembered when another tab ran it, and memory is bounded', async () => {
    const hub = testHub();
    const once = createOnce(hub);
    const fn = vi.fn();
    expect(await once.run('a', fn)).toBe(true);
    expect(await once.run('a', fn)).toBe(false);
    once.frames!.once!(hub.frame('once', { epoch: 0, from: 'x', key: 'b' }));
    expect(await once.run('b', fn)).toBe(false);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(hub.posted).toEqual([{ type: 'once', key: 'a' }]);
    for (let i = 0; i < ONCE_MEMORY + 10; i++) once.frames!.once!(hub.frame('once', { epoch: 0, from: 'x', key: `k${i}` }));
    expect(once.size).toBe(ONCE_MEMORY);
  });

  it('a follower waits FOLLOWER_WAIT for another tab to claim a key before it asks for the lock; the leader asks at once', async () => {
    // A lock manager that grants every free name at once (what the part needs of Web Locks).
    const request = vi.fn((_name: string, _options: LockOptions, grant: (lock: Lock | null) => unknown) => Promise.resolve(grant({ name: _name, mode: 'exclusive' })));
    const hub = testHub({}, { locks: { request } as unknown as LockManager });
    const once = createOnce(hub);
    hub.become('follower');
    const told = once.run('k', vi.fn());
    const alone = vi.fn();
    const mine = once.run('j', alone);
    hub.clock.advance(FOLLOWER_WAIT - 1);
    once.frames!.once!(hub.frame('once', { epoch: 0, from: 'leader', key: 'k' }));
    expect(request).not.toHaveBeenCalled();
    hub.clock.advance(1);
    expect(await told).toBe(false);
    expect(await mine).toBe(true);
    expect(alone).toHaveBeenCalledOnce();
    expect(request.mock.calls.map(([name]) => name)).toEqual(['tabbus:test:once:j']);
    hub.become('leader');
    const led = once.run('l', vi.fn());
    expect(request).toHaveBeenCalledTimes(2);
    expect(await led).toBe(true);
  });

  it('without storage only the tab with the connection runs it', async () => {
    const hub = testHub({ store: undefined });
    const once = createOnce(hub);
    hub.become('follower');
    expect(await once.run('a', () => undefined)).toBe(false);
    hub.become('leader');
    expect(await once.run('a', () => undefined)).toBe(true);
  });
});

describe('shared', () => {
  it('last writer wins by time then tab id; a key nobody listens to costs nothing', () => {
    const hub = testHub();
    const shared = createShared(hub);
    const value = shared.value<number>('k');
    const seen: (number | undefined)[] = [];
    const off = value.on((v) => seen.push(v));
    value.set(1);
    shared.frames!.shared!(hub.frame('shared', { epoch: 0, from: 'zz', key: 'k', value: 2, at: hub.clock.now() }));
    shared.frames!.shared!(hub.frame('shared', { epoch: 0, from: 'aa', key: 'k', value: 3, at: hub.clock.now() }));
    expect(value.get()).toBe(2);
    expect(seen).toEqual([1, 2]);
    off();
    expect(shared.size).toBe(1);
  });

  it('a newer value that reached this tab through storage only (it was stopped, or in the back/forward cache) wins over the one it remembers', () => {
    const hub = testHub();
    const shared = createShared(hub);
    const value = shared.value<number>('k');
    value.set(1);
    // Another tab wrote 2 later, and its frame never came here.
    hub.clock.advance(1000);
    hub.store!.writeShared('k', { value: 2, at: hub.clock.now(), tab: 'other' });
    expect(value.get()).toBe(2);
    // An older stored value does not hide a newer one this tab knows.
    hub.clock.advance(1000);
    value.set(3);
    hub.store!.writeShared('k', { value: 0, at: 0, tab: 'zz' });
    expect(value.get()).toBe(3);
  });
});

describe('a bus without a feature', () => {
  it('says which feature is missing and how to get it', () => {
    expect(() => need(undefined, 'once')).toThrow(/once\(\) needs the once feature/);
  });
});
