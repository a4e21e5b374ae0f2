import { describe, expect, it, vi } from 'vitest';
import { TabBusError } from '../../errors';
import { CURSOR_TOUCH_INTERVAL, CURSOR_WRITE_DELAY, KEPT_ITEMS, createLink } from '../../link';
import { FakeTransport } from '../../testing';
import type { BusItem } from '../../transport';
import { testHub, type TestHub } from './hub';

const CURSOR_KEY = 'tabbus:test:cursor';

/** A link in a leader tab whose transports are fakes; `watermark`: what the tab delivered (every id up to it). */
function leading(watermark = 0, role: 'leader' | 'solo' = 'leader') {
  const transports: FakeTransport<BusItem>[] = [];
  const hub = testHub({
    options: {
      scope: 'test',
      transport: () => {
        const t = new FakeTransport<BusItem>();
        transports.push(t);
        return t;
      },
    },
    delivery: { watermark, unseen: vi.fn((id: number) => id <= 0 || id > watermark), restore: vi.fn(), deliver: vi.fn(), raiseGap: vi.fn(), stop: vi.fn() },
  });
  const link = createLink(hub);
  Object.assign(hub, { link });
  hub.become(role);
  return { hub, link, transports, live: () => transports.at(-1)! };
}
/** Other tabs in the map: the leader then stores its cursor a moment after the fan-out (alone, at once). */
const withOthers = (hub: TestHub) => {
  for (const id of ['me', 'other']) hub.roster.tabs.upsert({ id, channels: [], visible: true });
  return hub;
};
const stored = (hub: TestHub) => JSON.parse(hub.env.storage!.getItem(CURSOR_KEY) ?? 'null') as { id: number; at: number } | null;

describe('the link', () => {
  it('an id below the cursor that this tab never delivered (Odoo 17+ sends a late commit after higher ids) goes out and is delivered', () => {
    const { hub, link, live } = leading(100);
    link.begin();
    live().push([{ id: 101 }, { id: 102 }, { id: 104 }, { id: 105 }]);
    vi.mocked(hub.delivery.unseen).mockImplementation((id) => id === 103);
    live().push([{ id: 103 }, { id: 104 }]);
    expect(hub.posted.at(-1)).toEqual({ type: 'batch', items: [{ id: 103 }], cursor: 105, after: 105 });
    expect(hub.delivery.deliver).toHaveBeenLastCalledWith([{ id: 103 }]);
    expect(link.cursor).toBe(105);
  });

  it('a resync frame whose cursor is no count (any page of the origin may post) is ignored: the leader goes on delivering', () => {
    for (const junk of [undefined, 'abc', Number.NaN, -1, 2.5, Infinity]) {
      const { hub, link, live } = leading(5);
      link.begin();
      link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'stray', cursor: junk as number }));
      live().push([{ id: 6 }, { id: 7 }]);
      expect(hub.delivery.deliver, String(junk)).toHaveBeenCalledWith([{ id: 6 }, { id: 7 }]);
      expect(link.cursor, String(junk)).toBe(7);
    }
  });

  it('an alive frame whose `heard` is no number hides no retention gap at the next term', () => {
    const { hub, link } = leading(5);
    hub.env.storage!.setItem(CURSOR_KEY, JSON.stringify({ id: 5, at: hub.clock.now() }));
    hub.clock.advance(hub.retention + 1000);
    link.frames!.alive!(hub.frame('alive', { epoch: 1, from: 'stray', cursor: 5, heard: 'soon' as unknown as number }));
    link.begin();
    expect(hub.delivery.raiseGap).toHaveBeenCalledWith({ cursor: 5, age: hub.retention + 1000, reason: 'retention' });
  });

  it('a `heard` from the future (another page of the origin, another build) hides no retention gap at the next term', () => {
    for (const type of ['alive', 'batch'] as const) {
      const { hub, link } = leading(5);
      hub.env.storage!.setItem(CURSOR_KEY, JSON.stringify({ id: 5, at: hub.clock.now() }));
      const heard = hub.clock.now() + 1e12;
      if (type === 'alive') link.frames!.alive!(hub.frame('alive', { epoch: 1, from: 'stray', cursor: 5, heard }));
      else link.frames!.batch!(hub.frame('batch', { epoch: 1, from: 'stray', cursor: 5, after: 5, items: [], heard }));
      hub.clock.advance(hub.retention + 1000);
      link.begin();
      expect(hub.delivery.raiseGap, type).toHaveBeenCalledWith({ cursor: 5, age: hub.retention + 1000, reason: 'retention' });
    }
  });

  it('the user back after a long spell: the transport of this term hears of it; a tab without one does nothing', () => {
    const { link, live } = leading();
    link.userBack(120_000);
    link.begin();
    const back = vi.fn();
    Object.assign(live(), { userBack: back });
    link.userBack(120_000);
    expect(back.mock.calls).toEqual([[120_000]]);
    link.end();
    link.userBack(120_000);
    expect(back).toHaveBeenCalledTimes(1);
  });

  it('a term starts from what this tab delivered, opens one transport and relays its state', () => {
    const { hub, link, transports } = leading(7);
    link.begin();
    expect(transports).toHaveLength(1);
    expect(transports[0]!.sink!.cursor()).toBe(7);
    expect(hub.machine.transport).toBe('open');
    expect(hub.posted).toEqual([{ type: 'status', transport: 'open' }]);
  });

  it('a reply: the batch goes out and is delivered here; ids at or below the cursor are dropped', () => {
    const { hub, link, live } = leading(5);
    link.begin();
    live().push([{ id: 4 }, { id: 6 }, { id: 7 }]);
    expect(hub.posted.at(-1)).toEqual({ type: 'batch', items: [{ id: 6 }, { id: 7 }], cursor: 7, after: 5 });
    expect(hub.delivery.deliver).toHaveBeenCalledWith([{ id: 6 }, { id: 7 }]);
    expect(link.cursor).toBe(7);
  });

  it('with other tabs, the cursor is stored CURSOR_WRITE_DELAY after the reply that moved it, once for a burst (every write wakes every renderer of the origin)', () => {
    const { hub, link, live } = leading(5);
    withOthers(hub);
    const setItem = vi.spyOn(hub.env.storage!, 'setItem');
    const cursorWrites = () => setItem.mock.calls.filter(([key]) => key === CURSOR_KEY).length;
    link.begin();
    live().push([{ id: 6 }]);
    // Not in the task that fans the batch out: the other tabs' storage news would compete with it.
    expect(stored(hub)).toBeNull();
    hub.clock.advance(CURSOR_WRITE_DELAY / 2);
    live().push([{ id: 7 }, { id: 8 }]);
    const last = hub.clock.now();
    hub.clock.advance(CURSOR_WRITE_DELAY / 2 - 1);
    expect(stored(hub)).toBeNull();
    hub.clock.advance(1);
    expect(stored(hub)).toEqual({ id: 8, at: last });
    expect(cursorWrites()).toBe(1);
    hub.clock.advance(CURSOR_WRITE_DELAY * 10);
    expect(cursorWrites()).toBe(1);
  });

  it('a tab alone stores the cursor with each reply: no other tab competes with the write, and a crash within the delay would cost the next page that reply again', () => {
    const { hub, link, live } = leading(5);
    hub.roster.tabs.upsert({ id: 'me', channels: [], visible: true });
    const setItem = vi.spyOn(hub.env.storage!, 'setItem');
    link.begin();
    live().push([{ id: 6 }]);
    expect(stored(hub)).toEqual({ id: 6, at: hub.clock.now() });
    live().push([{ id: 7 }]);
    expect(stored(hub)!.id).toBe(7);
    hub.clock.advance(CURSOR_WRITE_DELAY * 10);
    // No second write of the same cursor when the delay would have run out.
    expect(setItem.mock.calls.filter(([key]) => key === CURSOR_KEY)).toHaveLength(2);
  });

  it('a tab that gives the connection up stores the cursor at once (a reload starts from it); a thawed leader whose term is over does not', () => {
    const { hub, link, live } = leading(5);
    withOthers(hub);
    link.begin();
    live().push([{ id: 6 }]);
    link.end();
    expect(stored(hub)).toEqual({ id: 6, at: hub.clock.now() });
    hub.clock.advance(CURSOR_WRITE_DELAY);
    expect(stored(hub)).toEqual({ id: 6, at: hub.clock.now() - CURSOR_WRITE_DELAY });

    // Frozen with a write on its way, and replaced meanwhile: the newer term's leader stores the cursor, not this one.
    const other = leading(5);
    withOthers(other.hub);
    other.link.begin();
    other.live().push([{ id: 6 }]);
    other.hub.env.storage!.setItem('tabbus:test:epoch', '9');
    other.hub.clock.advance(CURSOR_WRITE_DELAY);
    expect(stored(other.hub)).toBeNull();
  });

  it('a server whose ids started over: the cursor is stored at once, so that a tab starting now sees it', () => {
    const { hub, link, live } = leading(5);
    link.begin();
    live().push([{ id: 6 }]);
    hub.clock.advance(CURSOR_WRITE_DELAY);
    live().sink!.reset();
    expect(stored(hub)).toEqual({ id: 0, at: hub.clock.now() });
    live().push([{ id: 1 }]);
    hub.clock.advance(CURSOR_WRITE_DELAY);
    expect(stored(hub)!.id).toBe(1);
  });

  it('an empty reply touches the stored cursor every 10 s, unless a watcher probes (its answers carry the news)', () => {
    const { hub, link, live } = leading(3);
    const t0 = hub.clock.now();
    link.begin();
    live().push([]);
    hub.clock.advance(CURSOR_WRITE_DELAY);
    expect(stored(hub)).toEqual({ id: 3, at: t0 });
    hub.clock.advance(CURSOR_TOUCH_INTERVAL - CURSOR_WRITE_DELAY);
    live().push([]);
    hub.clock.advance(CURSOR_WRITE_DELAY);
    expect(stored(hub)).toEqual({ id: 3, at: t0 + CURSOR_TOUCH_INTERVAL });
    hub.posted.length = 0;
    link.frames!.probe!(hub.frame('probe', { epoch: 1, from: 'w' }));
    expect(hub.posted).toEqual([{ type: 'alive', cursor: 3, heard: t0 + CURSOR_TOUCH_INTERVAL, checked: 0 }]);
    hub.clock.advance(CURSOR_TOUCH_INTERVAL);
    live().push([]);
    hub.clock.advance(CURSOR_WRITE_DELAY);
    expect(stored(hub)!.at).toBe(t0 + CURSOR_TOUCH_INTERVAL);
  });

  it('a newer epoch in storage (this tab was frozen and replaced): the reply is dropped and the tab steps down', () => {
    const { hub, link, live } = leading(5);
    link.begin();
    hub.env.storage!.setItem('tabbus:test:epoch', '9');
    live().push([{ id: 6 }]);
    expect(hub.term.stepDown).toHaveBeenCalled();
    expect(hub.delivery.deliver).not.toHaveBeenCalled();
    expect(stored(hub)).toBeNull();
  });

  it('a replay request lowers the cursor and restarts the request; a follower ignores it', () => {
    const { hub, link, live } = leading(9);
    link.begin();
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 4 }));
    expect(link.cursor).toBe(4);
    expect(live().refreshes).toBe(1);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 6 }));
    expect(link.cursor).toBe(4);
  });

  it('a replay of what the leader handed out this term is served from what it kept (in the order they came): no request to the server', () => {
    const { hub, link, live } = leading(9);
    link.begin();
    live().push([{ id: 10 }, { id: 12 }]);
    live().push([{ id: 11 }, { id: 13 }]); // 11 committed late
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 10 }));
    expect(hub.posted.at(-1)).toEqual({ type: 'batch', items: [{ id: 12 }, { id: 11 }, { id: 13 }], cursor: 13, after: 10, heard: hub.clock.now() });
    expect(link.cursor).toBe(13);
    expect(live().refreshes).toBe(0);
    // From before this term: only the server has it.
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 8 }));
    expect(link.cursor).toBe(8);
    expect(live().refreshes).toBe(1);
  });

  it('a replay served from what was kept brings every id committed late, also below the cursor it is asked from (the tab asking may have left before it came)', () => {
    const { hub, link, live } = leading(4);
    link.begin();
    vi.mocked(hub.delivery.unseen).mockImplementation((id) => id <= 0 || id === 2 || id === 3 || id > 6);
    live().push([{ id: 2 }]); // committed late, before this term began
    live().push([{ id: 6 }]);
    live().push([{ id: 3 }, { id: -1 }, { id: 7 }]); // 3 committed late; -1 a pseudo-notification (Odoo 10/11), delivered once
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 4 }));
    expect(hub.posted.at(-1)).toMatchObject({ type: 'batch', items: [{ id: 2 }, { id: 6 }, { id: 3 }, { id: 7 }], after: 4 });
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 6 }));
    expect(hub.posted.at(-1)).toMatchObject({ type: 'batch', items: [{ id: 2 }, { id: 3 }, { id: 7 }], after: 6 });
  });

  it('a replay asked from the cursor itself (a tab back from the bfcache) brings what came late, and never goes to the server', () => {
    const { hub, link, live } = leading(4);
    link.begin();
    live().push([{ id: 6 }]);
    vi.mocked(hub.delivery.unseen).mockImplementation((id) => id === 5 || id > 6);
    live().push([{ id: 5 }]); // committed late
    const before = hub.posted.length;
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 6 }));
    expect(hub.posted.slice(before)).toEqual([{ type: 'batch', items: [{ id: 5 }], after: 6, cursor: 6, heard: hub.clock.now() }]);
    link.unionChanged(); // nothing is kept until the new union's request goes out
    const posted = hub.posted.length;
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 6 }));
    expect(hub.posted).toHaveLength(posted);
    expect(live().refreshes).toBe(0);
    expect(link.cursor).toBe(6);
  });

  it('the leader keeps the latest KEPT_ITEMS notifications: a replay from before them goes to the server', () => {
    const { hub, link, live } = leading(0);
    link.begin();
    for (let id = 1; id <= KEPT_ITEMS + 5; id++) live().push([{ id }]);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 5 }));
    expect(hub.posted.at(-1)).toMatchObject({ type: 'batch', after: 5, items: Array.from({ length: KEPT_ITEMS }, (_, i) => ({ id: i + 6 })) });
    expect(live().refreshes).toBe(0);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 4 }));
    expect(link.cursor).toBe(4);
    expect(live().refreshes).toBe(1);
  });

  it('after a channel is added, or the server ids start again, what was kept no longer serves replays', () => {
    const { hub, link, live } = leading(0);
    link.begin();
    live().push([{ id: 1 }, { id: 2 }, { id: 3 }]);
    // The new channel's notifications above 1 were never asked for: the server must replay them.
    link.unionChanged();
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 1 }));
    expect(live().refreshes).toBe(1);
    expect(link.cursor).toBe(1);
    const old = { text: 'old' };
    live().push([{ id: 2, ...old }, { id: 3, ...old }, { id: 4, ...old }]);
    // The server's ids started again: what was kept are the old ids, and only the new ones are served.
    live().reset();
    const fresh = { text: 'new' };
    live().push([{ id: 1, ...fresh }, { id: 2, ...fresh }]);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 0 }));
    expect(hub.posted.at(-1)).toEqual({ type: 'batch', items: [{ id: 1, text: 'new' }, { id: 2, text: 'new' }], cursor: 2, after: 0, heard: hub.clock.now() });
    expect(live().refreshes).toBe(1);
  });

  it('without structuredClone (old browsers) nothing is kept: replays go to the server', () => {
    vi.stubGlobal('structuredClone', undefined);
    try {
      const { hub, link, live } = leading(0);
      link.begin();
      live().push([{ id: 1 }, { id: 2 }]);
      link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 1 }));
      expect(link.cursor).toBe(1);
      expect(live().refreshes).toBe(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('offline and back: what came before is no longer kept, so a replay from before goes to the server', () => {
    const { hub, link, live } = leading(0);
    link.begin();
    live().push([{ id: 1 }, { id: 2 }]);
    link.network(false);
    link.network(true);
    live().push([{ id: 3 }]);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 1 }));
    expect(link.cursor).toBe(1);
    expect(live().refreshes).toBe(1);
    live().push([{ id: 2 }, { id: 3 }, { id: 4 }]);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 2 }));
    expect(hub.posted.at(-1)).toEqual({ type: 'batch', items: [{ id: 3 }, { id: 4 }], cursor: 4, after: 2, heard: hub.clock.now() });
  });

  it('items of the request before a union change are not kept for the union after it', () => {
    const { hub, link, live } = leading(0);
    link.begin();
    link.unionChanged();
    // The old union's request answers before the new one goes out (unionDelay).
    live().push([{ id: 1 }, { id: 2 }]);
    hub.clock.advance(20);
    expect(live().refreshes).toBe(1);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 1 }));
    expect(live().refreshes).toBe(2);
  });

  it('while a union change waits for its request, replays go to the server: what comes meanwhile lacks the new channel', () => {
    const { hub, link, live } = leading(0);
    link.begin();
    live().push([{ id: 1 }]);
    link.unionChanged();
    // The old union's request answers before the new one goes out: the new channel's notifications (say 2) are not in it.
    live().push([{ id: 3 }]);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 1 }));
    expect(live().refreshes).toBe(1);
    expect(link.cursor).toBe(1);
    expect(hub.posted.filter((f) => f.type === 'batch')).toHaveLength(2);
  });

  it('a replay served from what was kept is no news from the server: the next leader still tells of the gap', () => {
    const { hub, link, live } = leading(0);
    link.begin();
    live().push([{ id: 1 }, { id: 2 }]);
    hub.clock.advance(hub.retention - 1000);
    link.frames!.resync!(hub.frame('resync', { epoch: 1, from: 'f', cursor: 1 }));
    const served = hub.posted.at(-1)!;
    expect(served).toMatchObject({ type: 'batch', items: [{ id: 2 }], after: 1 });
    // A follower hears it, then leads after the previous leader, the server silent since 2 arrived.
    const next = leading(2);
    next.hub.env.storage!.setItem(CURSOR_KEY, JSON.stringify({ id: 2, at: next.hub.clock.now() }));
    next.hub.clock.advance(hub.retention - 1000);
    next.link.frames!.batch!(next.hub.frame('batch', { ...served, epoch: 1, from: 'old' } as never));
    next.hub.clock.advance(2000);
    next.link.begin();
    expect(next.hub.delivery.raiseGap).toHaveBeenCalledWith({ cursor: 2, age: hub.retention + 1000, reason: 'retention' });
  });

  it('a new leader tells of a gap when the stored cursor is older than the retention, counting what followers heard', () => {
    const { hub, link } = leading(5);
    hub.env.storage!.setItem(CURSOR_KEY, JSON.stringify({ id: 5, at: hub.clock.now() }));
    hub.clock.advance(hub.retention + 1000);
    // An `alive` heard a moment ago says the previous leader was talking to the server: no gap.
    link.frames!.alive!(hub.frame('alive', { epoch: 1, from: 'old', cursor: 5, heard: hub.clock.now() - 500 }));
    link.begin();
    expect(hub.delivery.raiseGap).not.toHaveBeenCalled();
    const quiet = leading(5);
    quiet.hub.env.storage!.setItem(CURSOR_KEY, JSON.stringify({ id: 5, at: quiet.hub.clock.now() }));
    quiet.hub.clock.advance(quiet.hub.retention + 1000);
    quiet.link.begin();
    expect(quiet.hub.delivery.raiseGap).toHaveBeenCalledWith({ cursor: 5, age: quiet.hub.retention + 1000, reason: 'retention' });
  });

  it('offline drops the transport and says so; online reopens it at once', () => {
    const { hub, link, transports } = leading();
    link.begin();
    link.network(false);
    expect(transports[0]!.closed).toBe(true);
    expect(hub.machine.transport).toBe('offline');
    expect(hub.posted.at(-1)).toEqual({ type: 'status', transport: 'offline' });
    link.network(true);
    expect(transports).toHaveLength(2);
    expect(hub.machine.transport).toBe('open');
  });

  it('the union changes restart the request once per burst', () => {
    const { hub, link, live } = leading();
    link.begin();
    link.unionChanged();
    link.unionChanged();
    hub.clock.advance(20);
    expect(live().refreshes).toBe(1);
  });

  it('a fatal transport error halts the scope; another is reported', () => {
    const { hub, link, live } = leading();
    link.begin();
    live().fail(new TabBusError('network', 'down'));
    expect(hub.report).toHaveBeenCalledTimes(1);
    live().fail(new TabBusError('session_expired', 'gone', { fatal: true }));
    expect(hub.halt).toHaveBeenCalledTimes(1);
  });

  it('a follower takes the session check\'s pass from alive frames, any no-number as none, and leads on from it', async () => {
    const INTERVAL = 60_000;
    for (const junk of ['soon', {}, Number.NaN, undefined, -5]) {
      for (const withPass of [false, true]) {
        const calls: number[] = [];
        const hub = testHub({
          options: { scope: 'test', transport: () => new FakeTransport<BusItem>(), sessionCheckInterval: INTERVAL, checkSession: async () => void calls.push(hub.clock.now()) },
        });
        const link = createLink(hub);
        Object.assign(hub, { link });
        hub.become('follower');
        const t0 = hub.clock.now();
        const alive = (checked: unknown) => link.frames!.alive!(hub.frame('alive', { epoch: 1, from: 'l', cursor: 0, heard: t0, checked: checked as number }));
        // What a stray page might post, around a real pass told a second ago: the junk hides nothing.
        alive(junk);
        if (withPass) alive(t0 - 1000);
        alive(junk);
        hub.become('leader');
        link.begin();
        await hub.clock.advanceAsync(0);
        const first = withPass ? t0 + INTERVAL - 1000 : t0;
        const label = `${String(junk)}${withPass ? ' around a pass' : ''}`;
        expect(calls, label).toEqual(withPass ? [] : [t0]);
        await hub.clock.advanceAsync(first + INTERVAL - hub.clock.now());
        expect(calls, label).toEqual([first, first + INTERVAL]);
        link.end();
      }
    }
  });

  it('a follower keeps the copy of the leader connection state: connecting at a lead that says none (older builds), then as told', () => {
    const hub = testHub();
    const link = createLink(hub);
    link.frames!.lead!(hub.frame('lead', { epoch: 1, from: 'L', cursor: 0, tab: { id: 'L', channels: [], visible: true } }));
    expect(hub.machine.transport).toBe('connecting');
    link.frames!.status!(hub.frame('status', { epoch: 1, from: 'L', transport: 'backoff' }));
    expect(hub.machine.transport).toBe('backoff');
    // A lead that says its connection's state (its `status` frame may have come first): that state.
    link.frames!.status!(hub.frame('status', { epoch: 2, from: 'M', transport: 'open' }));
    link.frames!.lead!(hub.frame('lead', { epoch: 2, from: 'M', cursor: 0, tab: { id: 'M', channels: [], visible: true }, transport: 'open' }));
    expect(hub.machine.transport).toBe('open');
  });
});
