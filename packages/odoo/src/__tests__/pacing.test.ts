// LongpollingTransport pacing: after each reply it asks the sink for the pace; above 0 it reports `paused`
// and waits that long before the next poll, so a burst costs one request. refresh() ends the pause at once;
// close() during it sends nothing more. With a scripted fetch and hand-fired timers, against the dev server,
// and through createOdooBus in fake tabs (hidden tabs pace the shared poll, a tab turning visible ends it).
import { describe, expect, it } from 'vitest';
import { FakeBrowser } from '@tabbus/core/testing';
import { createOdooBus, type OdooBus, type OdooBusOptions } from '../create-odoo-bus';
import { LongpollingTransport, type LongpollingOptions } from '../longpolling';
import type { OdooNotification } from '../notifications';
import {
  busUnavailableError,
  eventually,
  FakeFetch,
  login,
  ManualTimers,
  onCleanup,
  pollRequests,
  RecordingSink,
  rpcError,
  rpcResult,
  sleep,
  startServer,
  track,
  untilOpenPolls,
} from './helpers';

const SERVER = 'http://odoo.test';
/** The poll timeout used with manual timers: it tells poll timers apart from the others. */
const POLL_TIMEOUT = 60_000;
const PACE = 30_000;
const BACKOFF = 100;

interface Harness {
  transport: LongpollingTransport;
  sink: RecordingSink;
  fetch: FakeFetch;
  timers: ManualTimers;
}

function setup(fetch: FakeFetch, options: { pace?: number; transport?: Partial<LongpollingOptions>; realTimers?: boolean } = {}): Harness {
  const timers = new ManualTimers();
  const sink = new RecordingSink({ channels: ['chat'] });
  sink.paceValue = options.pace ?? PACE;
  const transport = track(
    new LongpollingTransport({
      serverUrl: SERVER,
      version: 15,
      fetch: fetch.fetch,
      pollTimeout: POLL_TIMEOUT,
      backoff: { initial: BACKOFF, factor: 2, max: 1000, jitter: 0 },
      ...(options.realTimers ? {} : { setTimeout: timers.setTimeout, clearTimeout: timers.clearTimeout }),
      ...options.transport,
    }),
  );
  transport.open(sink);
  return { transport, sink, fetch, timers };
}

const note = (id: number) => ({ id, message: { type: 't', payload: id } });
/** Lets pending promise callbacks run (the fake fetch answers asynchronously). */
const flush = () => sleep(5);
const pendingDelays = (h: Harness) => [...h.timers.pending.values()].map((t) => t.ms).sort((a, b) => a - b);

describe('LongpollingTransport: the pause between polls', () => {
  it('after a reply with pace > 0 it reports paused and sends nothing until the pace elapses, then polls from the new cursor', async () => {
    const h = setup(new FakeFetch(rpcResult([note(1), note(2)])));
    await eventually(() => h.sink.batches.length).toBe(1);
    await flush();
    expect(h.fetch.calls).toHaveLength(1);
    expect(h.sink.states).toEqual(['open', 'paused']);
    expect(h.sink.requests).toBe(1);
    // The pause is the one timer left: the finished poll's timeout was cleared.
    expect(pendingDelays(h)).toEqual([PACE]);

    h.timers.fire(PACE);
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(h.fetch.calls[1]!.body.params['last']).toBe(2);
    expect(h.sink.states).toEqual(['open', 'paused', 'open']);
    expect(h.sink.requests).toBe(2);
    expect(pendingDelays(h)).toEqual([POLL_TIMEOUT]);
    expect(h.sink.errors).toEqual([]);
  });

  it('an empty reply (the server let the poll go after its hold) is paced too', async () => {
    const h = setup(new FakeFetch(rpcResult([])));
    await eventually(() => h.sink.lastState).toBe('paused');
    await flush();
    expect(h.fetch.calls).toHaveLength(1);
    expect(h.sink.batches).toEqual([[]]);
    expect(pendingDelays(h)).toEqual([PACE]);
  });

  it('reads the pace after each reply: 0 polls at once and never reports paused, a new value is the next pause', async () => {
    let h: Harness | undefined;
    const fetch = new FakeFetch(rpcResult([note(1)]), () => {
      h!.sink.paceValue = 5000; // every tab went hidden while this poll was held
      return rpcResult([note(2)]);
    });
    h = setup(fetch, { pace: 0 });
    await eventually(() => h.sink.batches.length).toBe(2);
    await flush();
    expect(h.fetch.calls).toHaveLength(2);
    expect(h.sink.states).toEqual(['open', 'open', 'paused']);
    expect(pendingDelays(h)).toEqual([5000]);
    h.sink.paceValue = 7000;
    fetch.queue(rpcResult([note(3)]));
    h.timers.fire(5000);
    await eventually(() => h.sink.batches.length).toBe(3);
    await flush();
    expect(pendingDelays(h)).toEqual([7000]);
  });

  it('refresh() during the pause polls at once, with the current channels, and cancels the pause', async () => {
    const h = setup(new FakeFetch(rpcResult([note(1)])));
    await eventually(() => h.sink.lastState).toBe('paused');
    h.sink.channelList = ['chat', 'jobs'];
    h.sink.paceValue = 0; // a tab became visible
    h.transport.refresh();
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(h.fetch.calls[1]!.body.params).toMatchObject({ channels: ['chat', 'jobs'], last: 1 });
    expect(h.fetch.calls[1]!.signal!.aborted).toBe(false);
    expect(h.sink.states).toEqual(['open', 'paused', 'open']);
    expect(pendingDelays(h)).toEqual([POLL_TIMEOUT]);
    await flush();
    expect(h.fetch.calls).toHaveLength(2);
    expect(h.sink.errors).toEqual([]);
  });

  it('close() during the pause cancels it and sends nothing more', async () => {
    const h = setup(new FakeFetch(rpcResult([note(1)])));
    await eventually(() => h.sink.lastState).toBe('paused');
    h.transport.close();
    expect(h.timers.pending.size).toBe(0);
    expect(h.sink.states).toEqual(['open', 'paused', 'closed']);
    h.transport.refresh(); // a late refresh from the bus changes nothing
    await flush();
    expect(h.fetch.calls).toHaveLength(1);
    expect(h.sink.states).toEqual(['open', 'paused', 'closed']);
    expect(h.sink.errors).toEqual([]);
  });

  it('close() during the pause with real timers: no request when the pause would have ended', async () => {
    const h = setup(new FakeFetch(rpcResult([note(1)])), { pace: 30, realTimers: true });
    await eventually(() => h.sink.lastState).toBe('paused');
    h.transport.close();
    await sleep(80);
    expect(h.fetch.calls).toHaveLength(1);
  });

  it('with real timers the pause ends by itself, no sooner than the pace', async () => {
    let pausedAt = 0;
    let polledAt = 0;
    const h = setup(
      new FakeFetch(rpcResult([note(1)]), () => {
        polledAt = performance.now();
        return new Promise<Response>(() => undefined);
      }),
      { pace: 30, realTimers: true },
    );
    const status = h.sink.status.bind(h.sink);
    h.sink.status = (state) => {
      if (state === 'paused') pausedAt = performance.now();
      status(state);
    };
    await eventually(() => h.fetch.calls.length).toBe(2);
    expect(pausedAt).toBeGreaterThan(0);
    expect(polledAt - pausedAt).toBeGreaterThanOrEqual(28);
  });

  it('close() from inside sink.receive() with pace > 0: no pause, no timer, nothing after closed', async () => {
    // The reply lands 20 ms after the request, so receive is wrapped before it does.
    const h = setup(new FakeFetch(() => sleep(20).then(() => rpcResult([note(1)]))));
    await eventually(() => h.fetch.calls.length).toBe(1);
    const receive = h.sink.receive.bind(h.sink);
    h.sink.receive = (items) => {
      receive(items);
      h.transport.close();
    };
    await eventually(() => h.sink.batches.length).toBe(1);
    await flush();
    expect(h.sink.states).toEqual(['open', 'closed']);
    expect(h.timers.pending.size).toBe(0);
  });

  it('errors back off by the backoff delay, not the pace; the pause follows the next success', async () => {
    const h = setup(new FakeFetch(rpcError(busUnavailableError), rpcResult([note(1)])));
    await eventually(() => h.sink.errors.length).toBe(1);
    expect(h.sink.lastState).toBe('backoff');
    expect(pendingDelays(h)).toEqual([BACKOFF]);
    h.timers.fire(BACKOFF);
    await eventually(() => h.sink.lastState).toBe('paused');
    expect(h.fetch.calls).toHaveLength(2);
    expect(h.sink.items.map((n) => n.id)).toEqual([1]);
    // Only the pause is pending: the retry poll's timeout and its "held" timer were cleared.
    expect(pendingDelays(h)).toEqual([PACE]);
  });
});

describe('LongpollingTransport pacing against the dev server', () => {
  it('a burst published during the pause arrives in one reply, for one request, once the pause ends', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'] });
    sink.paceValue = 300;
    const transport = track(new LongpollingTransport({ serverUrl: server.url, version: 15, fetch: session.fetch }));
    transport.open(sink);
    await untilOpenPolls(server, 1);
    const first = server.publish('chat', { type: 'chat/message', payload: 0 });
    await eventually(() => sink.items.map((n) => n.id)).toEqual([first]);
    await eventually(() => sink.lastState).toBe('paused');
    expect(server.stats().openPolls).toBe(0);
    const requests = pollRequests(server);
    const burst = [1, 2, 3, 4, 5].map((n) => server.publish('chat', { type: 'chat/message', payload: n }));
    await sleep(100);
    expect(sink.batches).toHaveLength(1);
    expect(pollRequests(server)).toBe(requests);
    await eventually(() => sink.batches.length, 2000).toBe(2);
    expect(sink.batches[1]!.map((n) => n.id)).toEqual(burst);
    expect(pollRequests(server)).toBe(requests + 1);
    expect(session.polls.map((p) => p.last)).toEqual([0, first]);
    expect(sink.errors).toEqual([]);
  });

  it('refresh() during the pause fetches what was published at once', async () => {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const sink = new RecordingSink({ channels: ['chat'] });
    sink.paceValue = 60_000;
    const transport = track(new LongpollingTransport({ serverUrl: server.url, version: 15, fetch: session.fetch }));
    transport.open(sink);
    await untilOpenPolls(server, 1);
    server.publish('chat', { type: 'chat/message', payload: 0 });
    await eventually(() => sink.lastState).toBe('paused');
    const waiting = server.publish('chat', { type: 'chat/message', payload: 1 });
    sink.paceValue = 0;
    transport.refresh();
    await eventually(() => sink.items.map((n) => n.id)).toContain(waiting);
    await untilOpenPolls(server, 1); // live again: the next poll is held
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('createOdooBus: hidden tabs pace the shared poll', () => {
  interface Tab {
    bus: OdooBus;
    tab: ReturnType<FakeBrowser['tab']>;
    received: number[];
  }

  async function twoHiddenTabs(options: Partial<OdooBusOptions>) {
    const server = await startServer({ odoo: 15 });
    const session = await login(server);
    const browser = new FakeBrowser();
    const tabs: Tab[] = [0, 1].map(() => {
      const tab = browser.tab({ visible: false });
      const bus = createOdooBus({ serverUrl: server.url, uid: 2, db: server.db, fetch: session.fetch, channels: ['chat'], env: tab.env(), ...options });
      onCleanup(() => bus.stop());
      const received: number[] = [];
      bus.on('notification', (items: readonly OdooNotification[]) => received.push(...items.map((n) => n.id)));
      return { bus, tab, received };
    });
    await eventually(() => tabs.filter((t) => t.bus.state().role === 'leader').length).toBe(1);
    await untilOpenPolls(server, 1);
    const leader = tabs.find((t) => t.bus.state().role === 'leader')!;
    const follower = tabs.find((t) => t !== leader)!;
    await eventually(() => follower.bus.state().tabs).toBe(2);
    // A first notification ends the held poll; the next waits out the pace.
    const first = server.publish('chat', { type: 'chat/message', payload: 0 });
    await eventually(() => tabs.map((t) => t.received)).toEqual([[first], [first]]);
    await eventually(() => tabs.map((t) => t.bus.state().transport)).toEqual(['paused', 'paused']);
    for (const t of tabs) expect(t.bus.state().pace).toBe(options.hiddenPace);
    return { server, leader, follower, tabs };
  }

  it('while every tab is hidden the leader pauses hiddenPace between polls; a tab turning visible ends the pause at once', async () => {
    const { server, leader, follower, tabs } = await twoHiddenTabs({ hiddenPace: 60_000, preferVisibleLeader: false });
    expect(server.stats().openPolls).toBe(0);
    const waiting = server.publish('chat', { type: 'chat/message', payload: 1 });
    await sleep(100);
    expect(follower.received).not.toContain(waiting);
    follower.tab.setVisible(true);
    await eventually(() => tabs.map((t) => t.received.includes(waiting))).toEqual([true, true]);
    expect(leader.bus.state()).toMatchObject({ role: 'leader', pace: 0 });
    await untilOpenPolls(server, 1);
    await eventually(() => leader.bus.state().transport).toBe('open');
  });

  it('with preferVisibleLeader (default) the visible tab takes the connection over and catches up from the cursor', async () => {
    const { server, follower, tabs } = await twoHiddenTabs({ hiddenPace: 60_000 });
    const waiting = server.publish('chat', { type: 'chat/message', payload: 1 });
    follower.tab.setVisible(true);
    await eventually(() => follower.bus.state().role).toBe('leader');
    await eventually(() => tabs.map((t) => t.received.includes(waiting))).toEqual([true, true]);
    await untilOpenPolls(server, 1);
    expect(server.stats().peakOpenPollsPerSession).toBe(1);
  });
});
