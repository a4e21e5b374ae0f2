// The test kit itself (`@tabbus/core/testing`): the fakes must behave like the browser where tabbus and
// its users rely on them, or the tests written with them prove nothing.
import { describe, expect, it, vi } from 'vitest';
import { createBus } from '../index';
import { TabBusError } from '../errors';
import { FakeBrowser, FakeServer, FakeTransport, ManualElection, MemoryStorage, VirtualClock, type FakeStorageEvent } from '../testing';
import { createBus as createBusFromPackage } from '@tabbus/core';
import * as kit from '@tabbus/core/testing';

/** A browser on a virtual clock, and a way to let everything pending (tasks, timers, promises) run. */
function virtualBrowser() {
  const clock = new VirtualClock();
  const browser = new FakeBrowser({ clock });
  return { clock, browser, flush: () => clock.runAllAsync() };
}

/** A lock callback that holds the lock until `release()` is called. */
function holder(log: string[], label: string) {
  let release!: (value: string) => void;
  const callback = (lock: Lock | null) => {
    log.push(`${label}:${lock ? 'granted' : 'null'}`);
    return new Promise<string>((resolve) => (release = resolve));
  };
  return { callback, release: (value = label) => release(value) };
}

const isAbortError = (e: unknown) => e instanceof DOMException && e.name === 'AbortError';

describe('FakeLockManager', () => {
  it('grants an exclusive lock to one request at a time, in request order, each callback in a later task', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b, c] = [browser.tab(), browser.tab(), browser.tab()];
    const log: string[] = [];
    const ha = holder(log, 'a');
    const hb = holder(log, 'b');
    const hc = holder(log, 'c');
    const pa = a.locks.request('x', ha.callback);
    const pb = b.locks.request('x', hb.callback);
    const pc = c.locks.request('x', hc.callback);
    expect(log).toEqual([]); // never synchronously
    await flush();
    expect(log).toEqual(['a:granted']);
    expect(browser.locks.query()).toEqual({
      held: [{ name: 'x', mode: 'exclusive', clientId: 'tab-1' }],
      pending: [
        { name: 'x', mode: 'exclusive', clientId: 'tab-2' },
        { name: 'x', mode: 'exclusive', clientId: 'tab-3' },
      ],
    });
    ha.release('done-a');
    await expect(pa).resolves.toBe('done-a');
    await flush();
    expect(log).toEqual(['a:granted', 'b:granted']);
    hb.release();
    await flush();
    expect(log).toEqual(['a:granted', 'b:granted', 'c:granted']);
    hc.release();
    await expect(Promise.all([pb, pc])).resolves.toEqual(['b', 'c']);
    expect(browser.locks.query()).toEqual({ held: [], pending: [] });
  });

  it('grants shared locks together, and not past an exclusive one', async () => {
    const { browser, flush } = virtualBrowser();
    const tab = browser.tab();
    const log: string[] = [];
    const s1 = holder(log, 's1');
    const s2 = holder(log, 's2');
    const ex = holder(log, 'ex');
    const s3 = holder(log, 's3');
    void tab.locks.request('x', { mode: 'shared' }, s1.callback);
    void tab.locks.request('x', { mode: 'shared' }, s2.callback);
    void tab.locks.request('x', ex.callback);
    void tab.locks.request('x', { mode: 'shared' }, s3.callback);
    await flush();
    expect(log).toEqual(['s1:granted', 's2:granted']);
    s1.release();
    s2.release();
    await flush();
    expect(log).toEqual(['s1:granted', 's2:granted', 'ex:granted']);
    ex.release();
    await flush();
    expect(log.at(-1)).toBe('s3:granted');
  });

  it('ifAvailable gets null while the lock is held or others wait for it', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b] = [browser.tab(), browser.tab()];
    const log: string[] = [];
    const ha = holder(log, 'a');
    void a.locks.request('x', ha.callback);
    const probe = b.locks.request('x', { ifAvailable: true }, (lock) => (lock ? 'got it' : 'busy'));
    await flush();
    await expect(probe).resolves.toBe('busy');
    ha.release();
    await flush();
    const free = b.locks.request('x', { ifAvailable: true }, (lock) => (lock ? 'got it' : 'busy'));
    await flush();
    await expect(free).resolves.toBe('got it');
  });

  it('steal: grants at once, ahead of the queue; the previous holder\'s request rejects with AbortError, its callback is left alone', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b, c] = [browser.tab(), browser.tab(), browser.tab()];
    const log: string[] = [];
    const ha = holder(log, 'a');
    const pa = a.locks.request('x', ha.callback);
    const pa_settled = vi.fn();
    pa.then(pa_settled, pa_settled);
    await flush();
    const hc = holder(log, 'c');
    void c.locks.request('x', hc.callback); // waiting behind a
    const hb = holder(log, 'b');
    const pb = b.locks.request('x', { steal: true }, hb.callback);
    expect(browser.locks.holders('x')).toEqual(['tab-2']); // granted at once
    await flush();
    expect(log).toEqual(['a:granted', 'b:granted']);
    expect(pa_settled).toHaveBeenCalledOnce();
    await expect(pa).rejects.toSatisfy(isAbortError);
    // a's callback promise still runs its course; settling it changes nothing any more.
    ha.release('late');
    await flush();
    expect(browser.locks.holders('x')).toEqual(['tab-2']);
    expect(log).toEqual(['a:granted', 'b:granted']);
    hb.release();
    await expect(pb).resolves.toBe('b');
    await flush();
    expect(log).toEqual(['a:granted', 'b:granted', 'c:granted']);
  });

  it('a steal from a frozen holder reaches it when it thaws', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b] = [browser.tab(), browser.tab()];
    const pa = a.locks.request('x', () => new Promise(() => undefined));
    const rejected = vi.fn();
    pa.catch(rejected);
    await flush();
    a.freeze();
    void b.locks.request('x', { steal: true }, () => new Promise(() => undefined));
    await flush();
    expect(browser.locks.holders('x')).toEqual(['tab-2']);
    expect(rejected).not.toHaveBeenCalled();
    a.thaw();
    await flush();
    expect(rejected).toHaveBeenCalledWith(expect.objectContaining({ name: 'AbortError' }));
  });

  it('signal: aborting a waiting request removes it and rejects with AbortError; after the grant it does nothing', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b] = [browser.tab(), browser.tab()];
    const log: string[] = [];
    const ha = holder(log, 'a');
    const abortA = new AbortController();
    const pa = a.locks.request('x', { signal: abortA.signal }, ha.callback);
    const abortB = new AbortController();
    const pb = b.locks.request('x', { signal: abortB.signal }, () => log.push('b:granted'));
    await flush();
    abortB.abort();
    await expect(pb).rejects.toSatisfy(isAbortError);
    expect(browser.locks.query().pending).toEqual([]);
    abortA.abort(); // already granted: no effect
    await flush();
    expect(browser.locks.holders('x')).toEqual(['tab-1']);
    ha.release('kept');
    await expect(pa).resolves.toBe('kept');
    expect(log).toEqual(['a:granted']);
    const already = new AbortController();
    already.abort();
    await expect(a.locks.request('x', { signal: already.signal }, () => 1)).rejects.toSatisfy(isAbortError);
  });

  it('rejects what the spec forbids with NotSupportedError', async () => {
    const tab = new FakeBrowser().tab();
    const cb = () => undefined;
    const notSupported = expect.objectContaining({ name: 'NotSupportedError' });
    await expect(tab.locks.request('-x', cb)).rejects.toEqual(notSupported);
    await expect(tab.locks.request('x', { steal: true, ifAvailable: true }, cb)).rejects.toEqual(notSupported);
    await expect(tab.locks.request('x', { steal: true, mode: 'shared' }, cb)).rejects.toEqual(notSupported);
    await expect(tab.locks.request('x', { steal: true, signal: new AbortController().signal }, cb)).rejects.toEqual(notSupported);
    await expect(tab.locks.request('x', { ifAvailable: true, signal: new AbortController().signal }, cb)).rejects.toEqual(notSupported);
  });

  it('a callback that throws rejects the request and frees the lock', async () => {
    const { browser, flush } = virtualBrowser();
    const tab = browser.tab();
    const failing = tab.locks.request('x', () => {
      throw new Error('boom');
    });
    const rejected = expect(failing).rejects.toThrow('boom');
    await flush();
    await rejected;
    expect(browser.locks.holders('x')).toEqual([]);
  });

  it('a crashed tab loses its locks at once and its waiting requests vanish; its promises never settle', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b, c] = [browser.tab(), browser.tab(), browser.tab()];
    const settled = vi.fn();
    a.locks.request('x', () => new Promise(() => undefined)).then(settled, settled);
    await flush();
    b.locks.request('x', () => 'b').then(settled, settled);
    const granted = vi.fn(() => new Promise(() => undefined));
    void c.locks.request('x', granted);
    browser.crash(b); // waiting: gone from the queue
    browser.crash(a); // holding: the lock frees
    expect(browser.locks.query().pending).toEqual([]);
    expect(browser.locks.holders('x')).toEqual(['tab-3']);
    await flush();
    expect(granted).toHaveBeenCalledOnce();
    expect(settled).not.toHaveBeenCalled();
    // A dead tab's new requests never settle either.
    a.locks.request('y', () => 1).then(settled, settled);
    await flush();
    expect(settled).not.toHaveBeenCalled();
  });
});

describe('FakeChannelHub', () => {
  it('delivers a clone to every other open channel of the name, in a later task, never back to the sender', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b, c] = [browser.tab(), browser.tab(), browser.tab()];
    const got: string[] = [];
    const ca = a.openChannel('n');
    const cb = b.openChannel('n');
    const cb2 = b.openChannel('n');
    const other = c.openChannel('other');
    ca.listen(() => got.push('a'));
    cb.listen(() => got.push('b'));
    cb2.listen(() => got.push('b2'));
    other.listen(() => got.push('other'));
    const data = { nested: { n: 1 } };
    let received: unknown;
    cb.listen((d) => (received = d));
    ca.post(data);
    expect(got).toEqual([]);
    await flush();
    expect(got).toEqual(['b', 'b2']);
    expect(received).toEqual(data);
    expect(received).not.toBe(data);
    expect(browser.posted).toEqual([{ name: 'n', data, from: 'tab-1' }]);
    expect(() => ca.post({ fn: () => 1 })).toThrow(expect.objectContaining({ name: 'DataCloneError' }));
  });

  it('a closed channel, or one of a crashed tab, neither sends nor receives, even what was in flight', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b, c] = [browser.tab(), browser.tab(), browser.tab()];
    const got: string[] = [];
    const ca = a.openChannel('n');
    const cb = b.openChannel('n');
    const cc = c.openChannel('n');
    cb.listen(() => got.push('b'));
    cc.listen(() => got.push('c'));
    ca.post(1);
    cb.close();
    browser.crash(c);
    await flush();
    expect(got).toEqual([]);
    expect([ca.open, cb.open, cc.open]).toEqual([true, false, false]);
    cc.post(2);
    expect(browser.posted).toHaveLength(1);
    expect(browser.channels.openCount('n')).toBe(1);
  });

  it('inject delivers at once to every live tab; a frozen tab gets it when it thaws', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b] = [browser.tab(), browser.tab()];
    const got: string[] = [];
    a.openChannel('n').listen((d) => got.push(`a:${String(d)}`));
    b.openChannel('n').listen((d) => got.push(`b:${String(d)}`));
    b.freeze();
    browser.inject('n', 'x');
    expect(got).toEqual(['a:x']);
    b.thaw();
    await flush();
    expect(got).toEqual(['a:x', 'b:x']);
  });
});

describe('storage', () => {
  it('sends storage events to the other live tabs, not to the writer, and only for real changes', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b, c, dead] = [browser.tab(), browser.tab(), browser.tab(), browser.tab()];
    const events: Record<string, FakeStorageEvent[]> = { a: [], b: [], c: [], dead: [] };
    a.onStorage((e) => events.a!.push(e));
    b.onStorage((e) => events.b!.push(e));
    c.onStorage((e) => events.c!.push(e));
    dead.onStorage((e) => events.dead!.push(e));
    browser.crash(dead);
    a.storage.setItem('k', 'v1');
    a.storage.setItem('k', 'v1'); // unchanged: no event
    a.storage.removeItem('missing'); // nothing removed: no event
    await flush();
    expect(events.a).toEqual([]);
    expect(events.dead).toEqual([]);
    for (const [name, tab] of [['b', b], ['c', c]] as const) {
      expect(events[name]).toEqual([{ type: 'storage', key: 'k', oldValue: null, newValue: 'v1', url: 'https://tabbus.test/', storageArea: tab.storage }]);
    }
    b.storage.removeItem('k');
    await flush();
    expect(events.a!.map((e) => [e.key, e.oldValue, e.newValue])).toEqual([['k', 'v1', null]]);
    expect(events.b).toHaveLength(1);
    // A change made by the test itself reaches every tab.
    browser.storage.setItem('t', '1');
    await flush();
    expect([events.a!.length, events.b!.length, events.c!.length]).toEqual([2, 2, 3]);
    expect(a.storage.getItem('t')).toBe('1');
  });

  it('throws like a blocked or full localStorage', () => {
    const storage = new MemoryStorage({ fail: 'quota' });
    storage.map.set('k', 'v');
    expect(storage.getItem('k')).toBe('v');
    expect(() => storage.setItem('k', 'w')).toThrow(expect.objectContaining({ name: 'QuotaExceededError' }));
    storage.fail = 'denied';
    expect(() => storage.getItem('k')).toThrow(expect.objectContaining({ name: 'SecurityError' }));
    expect(() => storage.removeItem('k')).toThrow(expect.objectContaining({ name: 'SecurityError' }));
    storage.throws = false;
    storage.setItem('k', 'w');
    expect(storage.getItem('k')).toBe('w');
    storage.throws = true;
    expect(storage.fail).toBe('denied');
    const small = new MemoryStorage({ quota: 10 });
    small.setItem('ab', '12345678');
    expect(() => small.setItem('c', 'd')).toThrow(expect.objectContaining({ name: 'QuotaExceededError' }));
    small.setItem('ab', '1234567'); // replacing frees the old value's room
    expect(small.length).toBe(1);
    expect(small.key(0)).toBe('ab');
  });

  it("a failing browser storage fails in every tab's view", () => {
    const browser = new FakeBrowser({ storage: new MemoryStorage({ fail: 'denied' }) });
    expect(() => browser.tab().storage.getItem('k')).toThrow(expect.objectContaining({ name: 'SecurityError' }));
  });
});

describe('VirtualClock', () => {
  it('runs due timers in due order, ties in the order they were set, with now() at their due time', () => {
    const clock = new VirtualClock({ start: 1000 });
    const log: string[] = [];
    const at = (label: string) => () => log.push(`${label}@${clock.now()}`);
    clock.setTimeout(at('b'), 20);
    clock.setTimeout(at('a'), 10);
    clock.setTimeout(at('c'), 20);
    const cancelled = clock.setTimeout(at('x'), 5);
    clock.setTimeout(() => {
      log.push(`d@${clock.now()}`);
      clock.setTimeout(at('e'), 5); // set while advancing, due within the window: runs too
      clock.setTimeout(at('late'), 100);
    }, 12);
    clock.clearTimeout(cancelled);
    clock.advance(20);
    expect(log).toEqual(['a@1010', 'd@1012', 'e@1017', 'b@1020', 'c@1020']);
    expect(clock.now()).toBe(1020);
    expect(clock.pending).toBe(1);
    clock.runAll();
    expect(log.at(-1)).toBe('late@1112');
    expect(clock.runNext()).toBe(false);
  });

  it('runAll gives up on a timer that re-arms itself; advance handles it', () => {
    const clock = new VirtualClock({ loopLimit: 50 });
    let ticks = 0;
    const tick = () => {
      ticks++;
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    expect(() => clock.runAll()).toThrow(/re-arms itself/);
    ticks = 0;
    clock.advance(100);
    expect(ticks).toBe(10);
  });

  it('the async runners let promises settle between timers', async () => {
    const clock = new VirtualClock();
    const log: string[] = [];
    clock.setTimeout(() => void Promise.resolve().then(() => log.push('microtask of 1')), 1);
    clock.setTimeout(() => log.push('timer 2'), 1);
    await clock.advanceAsync(1);
    expect(log).toEqual(['microtask of 1', 'timer 2']);
  });

  it("a tab's timers stop when it dies and wait while it is frozen", async () => {
    const { clock, browser } = virtualBrowser();
    const [a, b] = [browser.tab(), browser.tab()];
    const log: string[] = [];
    a.setTimeout(() => log.push('a'), 10);
    b.setTimeout(() => log.push('b'), 10);
    const cancelled = b.setTimeout(() => log.push('cancelled'), 10);
    b.clearTimeout(cancelled);
    browser.crash(a);
    b.freeze();
    await clock.advanceAsync(50);
    expect(log).toEqual([]);
    b.thaw();
    await clock.runAllAsync();
    expect(log).toEqual(['b']);
  });
});

describe('FakePage', () => {
  it('fires visibility only on change, pagehide/pageshow in browser order, and online/offline in live tabs', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b] = [browser.tab(), browser.tab({ visible: false })];
    const log: string[] = [];
    const watch = (name: string, tab = a) =>
      tab.page.watch({
        visibility: () => log.push(`${name}:visibility:${tab.visible}`),
        hide: (persisted) => log.push(`${name}:hide:${persisted}`),
        show: (persisted) => log.push(`${name}:show:${persisted}`),
        network: (online) => log.push(`${name}:network:${online}`),
        input: () => log.push(`${name}:input`),
      });
    const unwatch = watch('a');
    watch('b', b);
    a.setVisible(true);
    expect(log).toEqual([]);
    a.setVisible(false);
    a.setVisible(true);
    expect(log.splice(0)).toEqual(['a:visibility:false', 'a:visibility:true']);
    a.pageHide(true);
    expect(a.frozen).toBe(true);
    const fired = vi.fn();
    a.setTimeout(fired, 0);
    await flush();
    expect(fired).not.toHaveBeenCalled(); // in the back/forward cache
    a.pageShow(true);
    await flush();
    expect(fired).toHaveBeenCalledOnce();
    expect(log.splice(0)).toEqual(['a:hide:true', 'a:visibility:false', 'a:visibility:true', 'a:show:true']);
    browser.setOnline(false);
    browser.setOnline(false);
    expect([a.page.online(), browser.online]).toEqual([false, false]);
    browser.crash(b);
    browser.setOnline(true);
    expect(log.splice(0)).toEqual(['a:network:false', 'b:network:false', 'a:network:true']);
    unwatch();
    expect(a.page.watchers).toBe(0);
    b.setVisible(true);
    expect(log).toEqual([]);
  });

  it('close() lets the page say goodbye, then frees what it held', async () => {
    const { browser, flush } = virtualBrowser();
    const [a, b] = [browser.tab(), browser.tab()];
    const got: unknown[] = [];
    b.openChannel('n').listen((d) => got.push(d));
    const ca = a.openChannel('n');
    a.page.watch({ visibility: () => undefined, hide: () => ca.post('bye'), show: () => undefined, network: () => undefined, input: () => undefined });
    void a.locks.request('x', () => new Promise(() => undefined));
    await flush();
    browser.close(a);
    expect(a.dead).toBe(true);
    expect(browser.locks.holders('x')).toEqual([]);
    await flush();
    expect(got).toEqual(['bye']);
  });
});

describe('FakeTransport, FakeServer and ManualElection', () => {
  it('a FakeTransport counts what the bus asked and refuses pushes when not open', () => {
    const transport = new FakeTransport<{ id: number }>('mine');
    expect(() => transport.push([{ id: 1 }])).toThrow(/never opened/);
    const received: number[] = [];
    const states: string[] = [];
    const errors: string[] = [];
    let requests = 0;
    transport.open({
      cursor: () => 0,
      channels: () => ['a'],
      inactivity: () => undefined,
      receive: (items) => received.push(...items.map((i) => i.id)),
      reset: () => undefined,
      pace: () => 0,
      status: (s) => states.push(s),
      request: () => requests++,
      fail: (e) => errors.push(e.code),
    });
    transport.push([{ id: 1 }]);
    transport.request();
    transport.status('backoff');
    transport.fail(new TabBusError('network', 'down'));
    transport.refresh();
    transport.close();
    expect({ received, states, errors, requests }).toEqual({ received: [1], states: ['open', 'backoff'], errors: ['network'], requests: 1 });
    expect([transport.name, transport.opens, transport.refreshes, transport.closes, transport.isOpen]).toEqual(['mine', 1, 1, 1, false]);
    expect(transport.unions).toEqual([['a'], ['a']]);
    expect(() => transport.push([{ id: 2 }])).toThrow(/closed/);
  });

  it('two tabs on a virtual clock: one connection, and a pushed notification reaches both', async () => {
    const { clock, browser } = virtualBrowser();
    const server = new FakeServer<{ id: number; text: string }>();
    const seen: Record<string, string[]> = { a: [], b: [] };
    const buses = (['a', 'b'] as const).map((name) => {
      const bus = createBus({ scope: 'test', transport: server.transport, env: browser.tab().env() });
      bus.on('notification', (items) => seen[name]!.push(...items.map((i) => i.text)));
      return bus;
    });
    // start() waits for a lock grant, a task on the virtual clock: move the clock while it waits.
    const started = Promise.all(buses.map((bus) => bus.start()));
    await clock.advanceAsync(100);
    await started;
    expect(server.connections()).toHaveLength(1);
    expect(buses.map((bus) => bus.state().role).sort()).toEqual(['follower', 'leader']);
    expect(server.push([{ id: 1, text: 'hello' }])).toBe(1);
    await clock.advanceAsync(0);
    expect(seen).toEqual({ a: ['hello'], b: ['hello'] });
    for (const bus of buses) await bus.stop();
    expect(server.connections()).toHaveLength(0);
    expect(() => server.push([{ id: 2, text: 'nobody' }])).toThrow(/no open connection/);
  });

  it('ManualElection elects the oldest active campaigner, and can depose it', () => {
    const election = new ManualElection();
    const log: string[] = [];
    const [e1, e2] = [election.create(), election.create()];
    e1.campaign(() => log.push('1 elected'), () => log.push('1 lost'));
    e2.campaign(() => log.push('2 elected'));
    expect(election.elect()).toBe(true);
    expect(election.depose()).toBe(true);
    expect(election.elect()).toBe(true);
    e2.resign();
    expect(election.elect()).toBe(false);
    expect(log).toEqual(['1 elected', '1 lost', '2 elected']);
  });
});

describe('the README example, through the package names', () => {
  interface Note {
    id: number;
    text: string;
  }

  it('a notification reaches every tab once', async () => {
    const browser = new kit.FakeBrowser();
    const server = new kit.FakeServer<Note>();
    const seen = { a: [] as string[], b: [] as string[] };
    const buses = (['a', 'b'] as const).map((name) => {
      const bus = createBusFromPackage<Note>({ scope: 'https://api.test|user-7', transport: server.transport, env: browser.tab().env() });
      bus.on('notification', (notes) => seen[name].push(...notes.map((n) => n.text)));
      return bus;
    });
    await Promise.all(buses.map((bus) => bus.start()));
    await vi.waitFor(() => expect(server.connections()).toHaveLength(1));

    server.push([{ id: 1, text: 'hello' }]);

    await vi.waitFor(() => expect(seen).toEqual({ a: ['hello'], b: ['hello'] }));
    await Promise.all(buses.map((bus) => bus.stop()));
  });
});
