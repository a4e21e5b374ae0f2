import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBus, type TabBus } from '../index';
import type { TabBusError } from '../errors';
import { FRAME_VERSION } from '../frames';
import { FakeBrowser, FakeTransport, ManualElection, settle, type FakeTab } from '../testing';

interface Note {
  id: number;
  channel?: string;
  text?: string;
}

const SCOPE = 'http://odoo.test|db|2';
const FRAMES = `tabbus:${SCOPE}:frames`;

interface Harness {
  tab: FakeTab;
  bus: TabBus<Note>;
  transports: FakeTransport<Note>[];
  received: number[];
  errors: TabBusError[];
}

let open: Harness[] = [];
afterEach(async () => {
  for (const h of open) await h.bus.stop();
  open = [];
});

function spawn(browser: FakeBrowser, options: { channels?: string[]; channelOf?: (n: Note) => string | undefined; tab?: FakeTab; coordination?: 'none'; env?: object } = {}): Harness {
  const tab = options.tab ?? browser.tab();
  const transports: FakeTransport<Note>[] = [];
  const bus = createBus<Note>({
    scope: SCOPE,
    transport: () => {
      const t = new FakeTransport<Note>();
      transports.push(t);
      return t;
    },
    channels: options.channels ?? [],
    ...(options.channelOf ? { channelOf: options.channelOf } : {}),
    ...(options.coordination ? { coordination: options.coordination } : {}),
    unionDelay: 1,
    env: tab.env(options.env as never),
  });
  const h: Harness = { tab, bus, transports, received: [], errors: [] };
  bus.on('notification', (items) => h.received.push(...items.map((i) => i.id)));
  bus.on('error', (e) => h.errors.push(e));
  open.push(h);
  return h;
}

const leaders = (hs: Harness[]) => hs.filter((h) => h.bus.state().role === 'leader');
const liveTransport = (h: Harness) => h.transports.find((t) => !t.closed);
const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i }));

async function startAll(hs: Harness[]): Promise<void> {
  await Promise.all(hs.map((h) => h.bus.start()));
  await vi.waitFor(() => {
    expect(leaders(hs)).toHaveLength(1);
    for (const h of hs) expect(h.bus.state().tabs).toBe(hs.length);
  });
}

describe('one connection per scope', () => {
  it('a lone tab leads, opens one transport and delivers what it receives', async () => {
    const browser = new FakeBrowser();
    const a = spawn(browser);
    await startAll([a]);
    expect(a.bus.state()).toMatchObject({ role: 'leader', epoch: 1, mode: 'locks', transport: 'open' });
    expect(a.transports).toHaveLength(1);
    liveTransport(a)!.push(ids(1, 3));
    expect(a.received).toEqual([1, 2, 3]);
    expect(a.bus.state().cursor).toBe(3);
  });

  it('five tabs elect exactly one leader; only it opens a transport; every tab gets every id once', async () => {
    const browser = new FakeBrowser();
    const hs = Array.from({ length: 5 }, () => spawn(browser));
    await startAll(hs);
    const [leader] = leaders(hs);
    expect(hs.reduce((n, h) => n + h.transports.length, 0)).toBe(1);
    for (const h of hs) expect(h.bus.state().leaderId).toBe(leader!.bus.tabId);
    liveTransport(leader!)!.push(ids(1, 5));
    liveTransport(leader!)!.push([{ id: 4 }, { id: 5 }, { id: 6 }]); // a replayed overlap
    await vi.waitFor(() => {
      for (const h of hs) expect(h.received).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });

  it('followers learn the transport state from the leader', async () => {
    const browser = new FakeBrowser();
    const hs = [spawn(browser), spawn(browser)];
    await startAll(hs);
    const [leader] = leaders(hs);
    liveTransport(leader!)!.sink!.status('backoff');
    await vi.waitFor(() => {
      for (const h of hs) expect(h.bus.state().transport).toBe('backoff');
    });
  });
});

describe('failover', () => {
  it('a crashed leader is replaced; the new term resumes from the persisted cursor without loss or duplicates', async () => {
    const browser = new FakeBrowser();
    const hs = Array.from({ length: 3 }, () => spawn(browser));
    await startAll(hs);
    const [old] = leaders(hs);
    liveTransport(old!)!.push(ids(1, 10));
    await vi.waitFor(() => hs.forEach((h) => expect(h.received).toHaveLength(10)));
    browser.crash(old!.tab);
    const rest = hs.filter((h) => h !== old);
    await vi.waitFor(() => expect(leaders(rest)).toHaveLength(1));
    const [next] = leaders(rest);
    expect(next!.bus.state().epoch).toBe(2);
    const transport = liveTransport(next!)!;
    expect(transport.sink!.cursor()).toBe(10);
    transport.push(ids(8, 12)); // the server may replay from before the cursor
    await vi.waitFor(() => rest.forEach((h) => expect(h.received).toEqual(ids(1, 12).map((i) => i.id))));
    // The dead tab's lifetime lock freed, so the new leader dropped it from the map.
    await vi.waitFor(() => rest.forEach((h) => expect(h.bus.state().tabs).toBe(2)));
  });

  it('a leader that stops hands over and says goodbye', async () => {
    const browser = new FakeBrowser();
    const hs = [spawn(browser), spawn(browser)];
    await startAll(hs);
    const [old] = leaders(hs);
    await old!.bus.stop();
    expect(old!.bus.state().role).toBe('stopped');
    expect(liveTransport(old!)).toBeUndefined();
    const other = hs.find((h) => h !== old)!;
    await vi.waitFor(() => expect(other.bus.state()).toMatchObject({ role: 'leader', tabs: 1 }));
  });

  it('a closing leader frees the leader lock before it says goodbye (the next tab is granted it sooner)', async () => {
    const browser = new FakeBrowser();
    const leaderLock = `tabbus:${SCOPE}:leader`;
    // What the leader lock's holders were when each frame left the closing tab.
    const sent: { type: string; holders: string[] }[] = [];
    const closing = browser.tab();
    const spy = (name: string) => {
      const channel = closing.openChannel(name);
      const post = channel.post.bind(channel);
      channel.post = (frame: unknown) => {
        sent.push({ type: (frame as { type: string }).type, holders: browser.locks.holders(leaderLock) });
        post(frame);
      };
      return channel;
    };
    const a = spawn(browser, { tab: closing, env: { openChannel: spy } });
    await startAll([a]);
    const b = spawn(browser);
    await startAll([a, b]);
    expect(a.bus.state().role).toBe('leader');
    closing.close();
    await vi.waitFor(() => expect(sent.map((frame) => frame.type)).toContain('bye'));
    const bye = sent.find((frame) => frame.type === 'bye');
    expect(bye!.holders).not.toContain(closing.id);
    await vi.waitFor(() => expect(b.bus.state().role).toBe('leader'));
  });
});

describe('channels', () => {
  it('the leader listens to the sorted union and restarts its request when a follower joins or leaves', async () => {
    const browser = new FakeBrowser();
    const a = spawn(browser, { channels: ['b-chan'] });
    await startAll([a]);
    const b = spawn(browser, { channels: ['a-chan'] });
    await b.bus.start();
    const transport = liveTransport(a)!;
    await vi.waitFor(() => expect(transport.sink!.channels()).toEqual(['a-chan', 'b-chan']));
    expect(transport.refreshes).toBeGreaterThanOrEqual(1);
    b.bus.addChannel('c-chan');
    await vi.waitFor(() => expect(transport.unions.at(-1)).toEqual(['a-chan', 'b-chan', 'c-chan']));
    browser.crash(b.tab);
    await vi.waitFor(() => expect(transport.unions.at(-1)).toEqual(['b-chan']));
  });

  it('debounces a burst of joins into one restart', async () => {
    const browser = new FakeBrowser();
    const a = spawn(browser);
    await startAll([a]);
    const transport = liveTransport(a)!;
    for (const c of ['x', 'y', 'z']) a.bus.addChannel(c);
    await settle(20);
    expect(transport.refreshes).toBe(1);
    expect(transport.unions.at(-1)).toEqual(['x', 'y', 'z']);
  });

  it('delivers channel-tagged items only to tabs that joined the channel', async () => {
    const browser = new FakeBrowser();
    const channelOf = (n: Note) => n.channel;
    const a = spawn(browser, { channels: ['general'], channelOf });
    const b = spawn(browser, { channels: ['general', 'sales'], channelOf });
    await startAll([a, b]);
    const [leader] = leaders([a, b]);
    liveTransport(leader!)!.push([{ id: 1, channel: 'general' }, { id: 2, channel: 'sales' }, { id: 3 }]);
    await vi.waitFor(() => {
      expect(a.received).toEqual([1, 3]);
      expect(b.received).toEqual([1, 2, 3]);
    });
  });

  it('rejects a channel that is not a non-empty string', () => {
    const bus = spawn(new FakeBrowser()).bus;
    expect(() => bus.addChannel('')).toThrow(/non-empty string/);
    expect(() => bus.addChannel(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'config' }));
  });

  it('`channels` given as one string (it is an Iterable<string> too) is one channel, not one per letter', () => {
    const env = new FakeBrowser().tab().env();
    const bus = createBus({ scope: SCOPE, env, transport: () => new FakeTransport(), channels: 'my_channel' });
    expect(bus.channels()).toEqual(['my_channel']);
  });
});

describe('fencing', () => {
  it('drops batches from an older term', async () => {
    const browser = new FakeBrowser();
    const hs = [spawn(browser), spawn(browser)];
    await startAll(hs);
    browser.inject(FRAMES, { v: FRAME_VERSION, scope: SCOPE, epoch: 0, from: 'zombie', type: 'batch', items: [{ id: 99 }], cursor: 99 });
    await settle();
    for (const h of hs) {
      expect(h.received).toEqual([]);
      expect(h.bus.state().counters.fenced).toBe(1);
    }
  });

  it('a leader that sees a newer term steps down and closes its transport', async () => {
    const browser = new FakeBrowser();
    const hs = [spawn(browser), spawn(browser)];
    await startAll(hs);
    const [leader] = leaders(hs);
    browser.inject(FRAMES, { v: FRAME_VERSION, scope: SCOPE, epoch: 7, from: 'usurper', type: 'lead', cursor: 0, tab: { id: 'usurper', channels: [], visible: true } });
    await vi.waitFor(() => expect(leader!.bus.state()).toMatchObject({ role: 'follower', epoch: 7, leaderId: 'usurper' }));
    expect(leader!.transports.every((t) => t.closed)).toBe(true);
    // The usurper's batches are now accepted by everyone.
    browser.inject(FRAMES, { v: FRAME_VERSION, scope: SCOPE, epoch: 7, from: 'usurper', type: 'batch', items: [{ id: 1 }], cursor: 1 });
    await vi.waitFor(() => hs.forEach((h) => expect(h.received).toEqual([1])));
  });

  it('ignores frames of another protocol version or scope, and reports an unknown version once', async () => {
    const browser = new FakeBrowser();
    const a = spawn(browser);
    await startAll([a]);
    const alien = { v: 99, scope: SCOPE, epoch: 50, from: 'x', type: 'batch', items: [{ id: 5 }], cursor: 5 };
    browser.inject(FRAMES, alien);
    browser.inject(FRAMES, alien);
    browser.inject(FRAMES, { ...alien, v: FRAME_VERSION, scope: 'other' });
    browser.inject(FRAMES, 'garbage');
    await settle();
    expect(a.received).toEqual([]);
    expect(a.errors.map((e) => e.code)).toEqual(['frame']);
    expect(a.bus.state()).toMatchObject({ role: 'leader', epoch: 1 });
  });
});

describe('degraded environments', () => {
  it('keeps working when localStorage throws, and says so once', async () => {
    const browser = new FakeBrowser();
    browser.storage.throws = true;
    const hs = [spawn(browser), spawn(browser)];
    await startAll(hs);
    const [leader] = leaders(hs);
    liveTransport(leader!)!.push(ids(1, 3));
    liveTransport(leader!)!.push(ids(4, 5));
    await vi.waitFor(() => hs.forEach((h) => expect(h.received).toEqual([1, 2, 3, 4, 5])));
    expect(leader!.errors.map((e) => e.code)).toEqual(['storage']);
  });

  it('falls back to the message election without Web Locks', async () => {
    const browser = new FakeBrowser();
    const election = new ManualElection();
    const env = { locks: undefined, fallbackElection: () => election.create() };
    const hs = [spawn(browser, { env }), spawn(browser, { env })];
    await Promise.all(hs.map((h) => h.bus.start()));
    expect(hs[0]!.bus.state()).toMatchObject({ mode: 'elector', role: 'follower' });
    expect(hs[0]!.bus.state().modeReason).toMatch(/no Web Locks/);
    election.elect();
    await vi.waitFor(() => expect(leaders(hs)).toHaveLength(1));
    await vi.waitFor(() => hs.forEach((h) => expect(h.bus.state().tabs).toBe(2)));
  });

  it('tabs that started before the first election still learn every tab', async () => {
    const browser = new FakeBrowser();
    const election = new ManualElection();
    const env = { locks: undefined, fallbackElection: () => election.create() };
    const hs = [spawn(browser, { env, channels: ['a'] }), spawn(browser, { env, channels: ['b'] })];
    for (const h of hs) {
      await h.bus.start();
      await settle();
    }
    election.elect();
    const late = spawn(browser, { env, channels: ['c'] });
    await late.bus.start();
    await vi.waitFor(() => {
      for (const h of [...hs, late]) expect(h.bus.state()).toMatchObject({ tabs: 3, union: ['a', 'b', 'c'] });
    });
  });

  it("coordination 'none' makes every tab connect for itself", async () => {
    const browser = new FakeBrowser();
    const hs = [spawn(browser, { coordination: 'none' }), spawn(browser, { coordination: 'none' })];
    await Promise.all(hs.map((h) => h.bus.start()));
    for (const h of hs) {
      expect(h.bus.state()).toMatchObject({ role: 'solo', mode: 'solo' });
      expect(h.transports).toHaveLength(1);
    }
  });

  it('a tab without any cross-tab channel runs solo', async () => {
    const browser = new FakeBrowser();
    const a = spawn(browser, { env: { openChannel: () => { throw new Error('no channel'); } } });
    await a.bus.start();
    expect(a.bus.state()).toMatchObject({ role: 'solo', modeReason: 'no cross-tab channel' });
  });
});

describe('fatal errors and lifecycle', () => {
  it('a fatal transport error stops every tab of the scope with one error each', async () => {
    const browser = new FakeBrowser();
    const hs = Array.from({ length: 3 }, () => spawn(browser));
    await startAll(hs);
    const [leader] = leaders(hs);
    const { TabBusError } = await import('../errors');
    liveTransport(leader!)!.sink!.fail(new TabBusError('session_expired', 'Session expired', { fatal: true }));
    await vi.waitFor(() => {
      for (const h of hs) {
        expect(h.bus.state().role).toBe('stopped');
        expect(h.errors.map((e) => [e.code, e.fatal])).toEqual([['session_expired', true]]);
      }
    });
  });

  it('a scope that cannot be resolved rejects start()', async () => {
    const browser = new FakeBrowser();
    const bus = createBus<Note>({ scope: () => Promise.reject(new Error('offline')), transport: () => new FakeTransport(), env: browser.tab().env() });
    const errors: string[] = [];
    bus.on('error', (e) => errors.push(e.code));
    await expect(bus.start()).rejects.toMatchObject({ code: 'config' });
    expect(errors).toEqual(['config']);
    expect(bus.state().role).toBe('stopped');
  });

  it('stop() during a slow start leaves nothing running, and start() works again', async () => {
    const browser = new FakeBrowser();
    let resolveScope!: (s: string) => void;
    const transports: FakeTransport<Note>[] = [];
    const bus = createBus<Note>({
      scope: () => new Promise<string>((r) => (resolveScope = r)),
      transport: () => {
        const t = new FakeTransport<Note>();
        transports.push(t);
        return t;
      },
      env: browser.tab().env(),
    });
    const starting = bus.start();
    await bus.stop();
    resolveScope(SCOPE);
    await starting;
    await settle();
    expect(bus.state().role).toBe('stopped');
    expect(transports).toHaveLength(0);
    const restarting = bus.start();
    resolveScope(SCOPE);
    await restarting;
    await vi.waitFor(() => expect(bus.state().role).toBe('leader'));
    await bus.stop();
  });


  it('stop() while the tabs coordinate closes every channel it opened, the message election too', async () => {
    const browser = new FakeBrowser();
    // No Web Locks: the real message election opens a channel of its own beside the frames channel.
    const bus = createBus<Note>({ scope: SCOPE, transport: () => new FakeTransport<Note>(), env: browser.tab().env({ locks: undefined }) });
    const starting = bus.start();
    await bus.stop();
    await starting;
    await settle();
    expect(bus.state().role).toBe('stopped');
    expect(browser.channels.openCount()).toBe(0);
  });
  it('announces visibility changes to the other tabs', async () => {
    const browser = new FakeBrowser();
    const hs = [spawn(browser), spawn(browser)];
    await startAll(hs);
    hs[1]!.tab.setVisible(false);
    await vi.waitFor(() => expect(hs[0]!.bus.state().visibleTabs).toBe(1));
  });

  it('a listener that throws does not stop delivery to the others', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const browser = new FakeBrowser();
      const a = spawn(browser);
      const started = a.bus.start();
      await vi.runAllTimersAsync();
      await started;
      a.bus.on('notification', () => {
        throw new Error('app bug');
      });
      const seen: number[] = [];
      a.bus.on('notification', (items) => seen.push(...items.map((i) => i.id)));
      liveTransport(a)!.push(ids(1, 2));
      expect(seen).toEqual([1, 2]);
      expect(() => vi.runOnlyPendingTimers()).toThrow('app bug');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('exactly once across terms', () => {
  it('a follower that got a batch from the old term does not deliver its replay from the new term', async () => {
    const browser = new FakeBrowser();
    const a = spawn(browser);
    await startAll([a]);
    const f = (epoch: number, from: string, items: Note[]) => ({ v: FRAME_VERSION, scope: SCOPE, epoch, from, type: 'batch', items, cursor: items.at(-1)!.id });
    browser.inject(FRAMES, { v: FRAME_VERSION, scope: SCOPE, epoch: 5, from: 'old', type: 'lead', cursor: 0, tab: { id: 'old', channels: [], visible: true } });
    browser.inject(FRAMES, f(5, 'old', ids(1, 5)));
    browser.inject(FRAMES, { v: FRAME_VERSION, scope: SCOPE, epoch: 6, from: 'new', type: 'lead', cursor: 3, tab: { id: 'new', channels: [], visible: true } });
    browser.inject(FRAMES, f(6, 'new', ids(3, 7)));
    browser.inject(FRAMES, f(5, 'old', ids(6, 9))); // the deposed leader's late batch: fenced
    await settle();
    expect(a.received).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('transport state across terms', () => {
  it("followers see the new leader's connection state after a failover", async () => {
    const browser = new FakeBrowser();
    const hs = Array.from({ length: 3 }, () => spawn(browser));
    await startAll(hs);
    const [old] = leaders(hs);
    browser.crash(old!.tab);
    const rest = hs.filter((h) => h !== old);
    await vi.waitFor(() => {
      expect(leaders(rest)).toHaveLength(1);
      for (const h of rest) expect(h.bus.state().transport).toBe('open');
    });
  });
});

describe('auto-start', () => {
  it('starts in a microtask unless stop() came first', async () => {
    const browser = new FakeBrowser();
    const make = () => createBus<Note>({ scope: SCOPE, transport: () => new FakeTransport(), autoStart: true, env: browser.tab().env() });
    const started = make();
    const roles: string[] = [];
    started.on('state', (s) => roles.push(s.role));
    const cancelled = make();
    await cancelled.stop();
    await vi.waitFor(() => expect(started.state().role).toBe('leader'));
    expect(roles).toContain('leader');
    await settle();
    expect(cancelled.state().role).toBe('stopped');
    await started.stop();
  });

  it('goes through start() as the instance has it: a wrapper put on the bus (as createOdooBus does) runs for the auto-start', async () => {
    const browser = new FakeBrowser();
    const bus = createBus<Note>({ scope: SCOPE, transport: () => new FakeTransport(), autoStart: true, env: browser.tab().env() });
    const start = bus.start.bind(bus);
    let wrapped = 0;
    bus.start = () => {
      wrapped++;
      return start();
    };
    await vi.waitFor(() => expect(bus.state().role).toBe('leader'));
    expect(wrapped).toBe(1);
    await bus.stop();
  });

  it('polls alone when navigator.locks refuses (the message election would ask the same refused locks)', async () => {
    const browser = new FakeBrowser();
    const election = new ManualElection();
    const refusing = { request: () => Promise.reject(new DOMException('denied', 'SecurityError')) } as unknown as LockManager;
    const h = spawn(browser, { env: { locks: refusing, fallbackElection: () => election.create() } });
    await h.bus.start();
    expect(h.bus.state()).toMatchObject({ role: 'solo', mode: 'solo', modeReason: expect.stringMatching(/Web Locks refused/) });
    expect(election.campaigners).toHaveLength(0);
  });
});
