import { describe, expect, it } from 'vitest';
import { createLiveness } from '../../liveness';
import { createRoster } from '../../roster';
import { FakeLockManager, VirtualClock } from '../../testing';
import { testHub } from './hub';

const tab = (id: string, visible = true, channels: string[] = []) => ({ id, channels, visible });

function rostered(role: 'follower' | 'leader' = 'follower') {
  const hub = testHub();
  const roster = createRoster(hub);
  Object.assign(hub, { roster });
  hub.become(role);
  roster.reset();
  return { hub, roster };
}

describe('the roster', () => {
  it('keeps this tab and every hello; the union changes only when a channel does', () => {
    const { hub, roster } = rostered();
    roster.frames!.hello!(hub.frame('hello', { epoch: 0, from: 'b', tab: tab('b', true, ['x']) }));
    roster.frames!.hello!(hub.frame('hello', { epoch: 0, from: 'b', tab: tab('b', false, ['x']) }));
    expect(roster.tabs.ids()).toEqual(['me', 'b']);
    expect(roster.tabs.union()).toEqual(['x']);
    expect(hub.link.unionChanged).toHaveBeenCalledTimes(1);
  });

  it('the leader welcomes a joining tab with the map, its connection state and its cursor', () => {
    const { hub, roster } = rostered('leader');
    hub.machine.transportTo('open');
    roster.frames!.hello!(hub.frame('hello', { epoch: 1, from: 'b', tab: tab('b'), join: true }));
    expect(hub.posted).toEqual([{ type: 'welcome', to: 'b', tabs: [tab('me'), tab('b')], transport: 'open', cursor: 0 }]);
  });

  it("answers a new term's lead with a hello; without lifetime locks, the map starts over from the answers", () => {
    const { hub, roster } = rostered();
    roster.frames!.hello!(hub.frame('hello', { epoch: 0, from: 'gone', tab: tab('gone') }));
    roster.frames!.lead!(hub.frame('lead', { epoch: 2, from: 'L', cursor: 0, tab: tab('L') }));
    expect(roster.tabs.ids()).toEqual(['me', 'L']);
    expect(hub.posted).toEqual([{ type: 'hello', tab: tab('me') }]);
  });

  it('a lead whose tab is junk (another page, another build) is taken all the same: the map starts over and this tab says hello', () => {
    for (const junk of [undefined, null, 7, {}, { id: 'L', channels: 'news' }]) {
      const { hub, roster } = rostered();
      roster.frames!.hello!(hub.frame('hello', { epoch: 0, from: 'gone', tab: tab('gone') }));
      expect(() => roster.frames!.lead!(hub.frame('lead', { epoch: 2, from: 'L', cursor: 0, tab: junk as never }))).not.toThrow();
      expect(roster.tabs.ids(), String(junk)).toEqual(['me']);
      expect(hub.posted, String(junk)).toEqual([{ type: 'hello', tab: tab('me') }]);
    }
  });

  it('a welcome skips the junk in its map and keeps the rest', () => {
    const { hub, roster } = rostered();
    const tabs = [null, 7, 'b', { id: 'x' }, { id: 'y', channels: [5] }, tab('b', true, ['news'])];
    expect(() => roster.frames!.welcome!(hub.frame('welcome', { epoch: 1, from: 'L', to: 'me', tabs: tabs as never, transport: 'open', cursor: 0 }))).not.toThrow();
    expect(roster.tabs.list()).toEqual([tab('me'), tab('b', true, ['news'])]);
    expect(hub.term.claim).toHaveBeenCalled();
  });

  it('a bye removes the tab, never this one', () => {
    const { hub, roster } = rostered();
    roster.frames!.hello!(hub.frame('hello', { epoch: 0, from: 'b', tab: tab('b') }));
    roster.frames!.bye!(hub.frame('bye', { epoch: 0, from: 'L', tab: 'me' }));
    roster.frames!.bye!(hub.frame('bye', { epoch: 0, from: 'L', tab: 'b' }));
    expect(roster.tabs.ids()).toEqual(['me']);
  });

  it('a bye about this tab (a leader that heard of its stop late, after it started again) makes it say hello again', () => {
    const { hub, roster } = rostered();
    roster.frames!.bye!(hub.frame('bye', { epoch: 0, from: 'L', tab: 'b' }));
    expect(hub.posted).toEqual([]);
    roster.frames!.bye!(hub.frame('bye', { epoch: 0, from: 'L', tab: 'me' }));
    expect(hub.posted).toEqual([{ type: 'hello', tab: tab('me') }]);
  });

  it('a tracked tab whose lifetime lock frees is dropped; the leader tells the others', async () => {
    const clock = new VirtualClock();
    const locks = new FakeLockManager({ clock });
    const theirs = createLiveness(locks.client(), 'p:');
    const held = theirs.hold('b');
    await clock.advanceAsync(1);
    await held;
    const { hub, roster } = rostered('leader');
    roster.useLifetimes(createLiveness(locks.client(), 'p:'));
    roster.frames!.hello!(hub.frame('hello', { epoch: 1, from: 'b', tab: tab('b') }));
    roster.track(['b']);
    await clock.advanceAsync(1);
    expect(roster.tabs.ids()).toEqual(['me', 'b']);
    theirs.release();
    await clock.advanceAsync(1);
    expect(roster.tabs.ids()).toEqual(['me']);
    expect(hub.posted).toContainEqual({ type: 'bye', tab: 'b' });
  });
});
