import { createDelivery } from './delivery';
import { createEmitter, type Emitter } from './emitter';
import { browserEnv, type FrameChannel } from './env';
import { plainData, TabBusError } from './errors';
import type { BusEvents } from './events';
import { buildFeatures, type BusFeatures } from './features';
import { FRAME_VERSION } from './frames';
import type { Hub } from './hub';
import { duties, watchLeader } from './leader-watch';
import { createLink } from './link';
import { createMachine } from './machine';
import { coordinate, type Mode } from './mode';
import type { BusOptions } from './options';
import { watchPage, type PageWatch } from './page';
import { createRoster } from './roster';
import { createRouter } from './router';
import { createStore } from './shared-store';
import { snapshot, type BusState, type LastError } from './state';
import { newTabId } from './tabs';
import { createTerm } from './term';
import type { BusItem } from './transport';

/** What the facade's methods reach: the parts through the hub, and the lifecycle its closure keeps. */
export interface Core<Item extends BusItem> {
  readonly hub: Hub<Item>;
  readonly events: Emitter<BusEvents<Item>>;
  state(): BusState;
  start(): Promise<void>;
  stop(): Promise<void>;
  halt(error: TabBusError): void;
  /** Joins `name` (checked); true when it is new. */
  join(name: string): boolean;
  /** This tab's own entry changed (channels, visibility): tell the others. */
  announce(): void;
}

/**
 * Builds the hub and its parts, and the lifecycle of one tab's bus: start, stop, fatal errors, state.
 * `restart` is the bus's own `start()`, for the auto-start and a page back from the bfcache: a wrapper an
 * application (or createOdooBus) put on the instance must run then too.
 */
export function createCore<Item extends BusItem>(options: BusOptions<Item>, features: BusFeatures, restart: () => Promise<void>): Core<Item> {
  const env = { ...browserEnv(), ...options.env };
  const events = createEmitter<BusEvents<Item>>();
  const tabId = newTabId();
  let mode: Mode = 'solo';
  let modeReason = 'not started';
  let channel: FrameChannel | undefined;
  /** Bumped by every start and stop, so a slow start that was overtaken by `stop()` gives up. */
  let generation = 0;
  let starting: Promise<void> | undefined;
  /** When this tab last stopped: a restart after longer than the retention has missed notifications. */
  let stoppedAt = 0;
  let lastError: LastError | null = null;
  /** Set by the first `start()` or `stop()`: an auto-start still pending then does nothing. */
  let touched = false;

  const report = (error: TabBusError): void => {
    lastError = { code: error.code, message: error.message, at: env.now() };
    if (events.listens('error')) events.emit('error', error);
    else console.warn(error);
  };
  const state = () => snapshot(hub, mode, modeReason, lastError);
  /** Something `state()` shows may have changed: who watches whom, the pace, then the `state` event. */
  const changed = (): void => {
    const [watching, follow] = duties(hub, mode === 'locks');
    hub.watch?.set(watching);
    hub.roster.track(follow);
    hub.link.paceChanged();
    if (events.listens('state')) events.emit('state', state());
  };
  const hub = {
    env, options, tabId,
    machine: createMachine(env.now),
    counters: { requests: 0, batches: 0, delivered: 0, fenced: 0, ignored: 0, steals: 0 },
    retention: options.retention ?? 100_000,
    joined: new Set<string>(),
    // Set by each start, as are `store` and `watch` (undefined until then; the watch only where a frozen
    // leader can be replaced).
    scope: '', startedAt: 0,
    post: (body) => void channel?.post({ v: FRAME_VERSION, scope: hub.scope, epoch: hub.term.epoch, from: tabId, ...body }),
    emit: events.emit,
    report, halt: (error) => void halt(error), changed,
    visible: () => env.page?.visible() ?? true,
    self: () => ({ id: tabId, channels: [...hub.joined].sort(), visible: hub.visible() }),
  } as Omit<Hub<Item>, 'roster' | 'term' | 'link' | 'delivery' | 'activity' | 'once' | 'shared' | 'store' | 'watch'> as Hub<Item>;
  const parts = {
    roster: createRoster(hub),
    term: createTerm(hub),
    link: createLink(hub),
    delivery: createDelivery(hub),
    ...buildFeatures(features, hub),
  };
  Object.assign(hub, parts);
  const { machine } = hub;
  /** The tab joined its scope or stopped: calls the parts put off while it joined go on. */
  const settle = (): void => {
    for (const part of Object.values(parts)) part?.settled?.();
  };

  const shutdown = (sayBye: boolean, reason: string): void => {
    generation++;
    stoppedAt = env.now();
    // The connection and the leader lock go first: the next tab in line is granted the lock by the
    // browser while this one still says goodbye, and a failover's gap is the time to its first request.
    hub.link.end();
    hub.term.leave();
    if (sayBye) hub.post({ type: 'bye', tab: tabId });
    hub.roster.release();
    channel?.close();
    channel = undefined;
    hub.watch?.set(false);
    hub.watch = undefined;
    hub.delivery.stop();
    machine.to('stopped', reason);
    hub.roster.tabs.clear();
    settle();
    changed();
  };
  /** Reports a fatal error here and stops this tab. */
  const fail = (error: TabBusError): void => {
    report(error);
    if (error.code === 'session_expired' || error.code === 'outdated') events.emit(error.code, error);
    if (machine.role !== 'stopped') shutdown(false, error.code);
  };
  /** A fatal error in this tab: every tab of the scope hears of it (with its context, as plain data) and stops. */
  const halt = (error: TabBusError): void => {
    hub.post({ type: 'halt', code: error.code, message: error.message, context: plainData(error.context) });
    fail(error);
  };
  const announce = (): void => {
    if (machine.role === 'stopped' || !hub.scope) return;
    hub.roster.announce();
    changed();
  };
  /** Takes each frame from the channel to the parts. */
  const receive = createRouter(hub, Object.values(parts), fail);

  const boot = async (run: number): Promise<void> => {
    let scope: string;
    try {
      scope = typeof options.scope === 'string' ? options.scope : await options.scope();
    } catch (cause) {
      const error = cause instanceof TabBusError ? cause : new TabBusError('config', 'could not resolve the scope', { cause, fatal: true });
      if (run === generation) {
        report(error);
        shutdown(false, 'no scope');
      }
      throw error;
    }
    if (run !== generation) return;
    hub.scope = scope;
    hub.startedAt = env.now();
    const prefix = `tabbus:${scope}:`;
    const broken = (cause: unknown) => report(new TabBusError('storage', 'localStorage failed; the cursor is kept in memory only', { cause }));
    hub.store = createStore(env.storage, prefix, broken);
    hub.delivery.restore(hub.store.readCursor(), stoppedAt);
    hub.roster.reset();
    const found = await coordinate(env, prefix, tabId, options.coordination === 'none', receive);
    if (run !== generation) {
      // stop() came while the tabs coordinated: free all that was opened, the election's own channel too.
      found.liveness?.release();
      found.election?.close?.();
      return found.channel?.close();
    }
    mode = found.mode;
    modeReason = found.reason;
    channel = found.channel;
    if (!found.election) {
      machine.to('solo', found.reason);
      hub.term.leaderId = tabId;
      hub.link.begin();
      settle();
      return changed();
    }
    if (found.liveness) hub.roster.useLifetimes(found.liveness);
    const timeout = options.leaderTimeout ?? 3000;
    // A frozen leader is found by the watcher and replaced by a steal, in every election that can.
    if (found.election.steal && timeout > 0) hub.watch = watchLeader(env, timeout, () => hub.post({ type: 'probe' }), () => hub.term.steal());
    machine.to('follower', 'joined');
    hub.roster.announce(true);
    hub.term.join(found.election, !!found.liveness);
    settle();
    changed();
  };
  const page: PageWatch = watchPage(env.page, {
    running: () => machine.role !== 'stopped',
    visibility: () => {
      announce();
      hub.term.claim();
    },
    input: () => void hub.activity?.input(),
    network: hub.link.network,
    leave: () => {
      // The leader lock alone first, so the goodbye queued behind its release does not delay the next tab.
      hub.term.leave();
      queueMicrotask(() => shutdown(true, 'pagehide'));
    },
    back: () => void restart().catch(() => undefined),
  });
  const start = (): Promise<void> => {
    touched = true;
    if (machine.role !== 'stopped') return starting ?? Promise.resolve();
    machine.to('joining', 'start');
    page.start();
    const booting = boot(++generation).finally(() => {
      if (starting === booting) starting = undefined;
    });
    return (starting = booting);
  };
  const join = (name: string): boolean => {
    if (typeof name !== 'string' || !name) throw new TabBusError('config', `a channel must be a non-empty string, got ${JSON.stringify(name)}`);
    return hub.joined.size < hub.joined.add(name).size;
  };
  // A string is an Iterable<string> too: one channel, not one per letter.
  for (const name of typeof options.channels === 'string' ? [options.channels] : (options.channels ?? [])) join(name);
  if (options.autoStart) queueMicrotask(() => touched || void restart().catch(() => undefined));
  return {
    hub, events, state, start, halt, join, announce,
    stop() {
      touched = true;
      page.stop();
      if (machine.role !== 'stopped') shutdown(true, 'stop');
      return Promise.resolve();
    },
  };
}
