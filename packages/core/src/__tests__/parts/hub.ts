// A hub for testing one part alone: a real role machine and counters on a virtual clock, frames posted
// into a list, and every other part a stub the test replaces where it matters.
import { vi } from 'vitest';
import type { BusEnv } from '../../env';
import type { BusEvents } from '../../events';
import type { Frame } from '../../frames';
import type { FrameBody, Hub } from '../../hub';
import { createMachine, type Role } from '../../machine';
import { createStore } from '../../shared-store';
import { createTabRegistry } from '../../tabs';
import { MemoryStorage, VirtualClock } from '../../testing';
import type { BusItem } from '../../transport';

export interface TestHub extends Hub<BusItem> {
  readonly clock: VirtualClock;
  /** Frames this tab posted, oldest first. */
  readonly posted: FrameBody[];
  /** Events emitted, oldest first. */
  readonly emitted: { event: keyof BusEvents<BusItem>; value: unknown }[];
  /** Timer callbacks that fired. */
  fired: number;
  /** Moves the role along a legal path (stopped → joining → follower → leader). */
  become(role: Role): void;
  /** A frame from another tab, as the router would hand it over. */
  frame<T extends Frame['type']>(type: T, body: Omit<Extract<Frame, { type: T }>, 'v' | 'scope' | 'type'> & Partial<Pick<Frame, 'epoch'>>): Extract<Frame, { type: T }>;
}

/** A hub whose parts are inert stubs; `overrides` replaces any field. */
export function testHub(overrides: Partial<Hub<BusItem>> = {}, envOverrides: Partial<BusEnv> = {}): TestHub {
  const clock = new VirtualClock();
  const storage = new MemoryStorage();
  let visible = true;
  const hub: TestHub = {
    clock,
    posted: [],
    emitted: [],
    fired: 0,
    env: {
      now: () => clock.now(),
      setTimeout: (fn, ms) => clock.setTimeout(() => {
        hub.fired++;
        fn();
      }, ms),
      clearTimeout: (handle) => clock.clearTimeout(handle),
      random: Math.random,
      locks: undefined,
      storage,
      page: { visible: () => visible, online: () => true, watch: () => () => undefined },
      openChannel: () => {
        throw new Error('no channel in a part test');
      },
      ...envOverrides,
    },
    options: { scope: 'test', transport: () => { throw new Error('no transport'); } },
    tabId: 'me',
    machine: createMachine(() => clock.now()),
    counters: { requests: 0, batches: 0, delivered: 0, fenced: 0, ignored: 0, steals: 0 },
    retention: 100_000,
    joined: new Set(),
    scope: 'test',
    store: createStore(storage, 'tabbus:test:', () => undefined),
    startedAt: 0,
    post: (body) => void hub.posted.push(body),
    emit: (event, value) => void hub.emitted.push({ event, value }),
    report: vi.fn(),
    halt: vi.fn(),
    changed: vi.fn(),
    visible: () => visible,
    self: () => ({ id: 'me', channels: [...hub.joined].sort(), visible }),
    roster: { tabs: createTabRegistry(), reset: vi.fn(), useLifetimes: vi.fn(), announce: vi.fn(), track: vi.fn(), release: vi.fn() },
    term: { epoch: 0, leaderId: null, join: vi.fn(), leave: vi.fn(), admit: () => true, steal: vi.fn(), handoff: () => false, stepDown: vi.fn(), claim: vi.fn(), force: vi.fn() },
    link: { cursor: 0, begin: vi.fn(), end: vi.fn(), unionChanged: vi.fn(), pace: () => 0, paceChanged: vi.fn(), network: vi.fn(), userBack: vi.fn() },
    delivery: { watermark: 0, unseen: () => true, restore: vi.fn(), deliver: vi.fn(), raiseGap: vi.fn(), stop: vi.fn() },
    watch: undefined,
    activity: undefined,
    once: undefined,
    shared: undefined,
    become(role) {
      const path: Role[] = role === 'solo' ? ['stopped', 'joining', 'solo'] : ['stopped', 'joining', 'follower', 'leader'];
      for (const step of path.slice(path.indexOf(hub.machine.role) + 1, path.indexOf(role) + 1)) hub.machine.to(step, 'test');
    },
    frame: (type, body) => ({ v: 1, scope: 'test', type, ...body, epoch: body.epoch ?? 0 }) as never,
    ...overrides,
  } as TestHub;
  Object.defineProperty(hub, 'setVisible', { value: (v: boolean) => void (visible = v) });
  return hub;
}

/** Makes the page of a test hub visible or hidden. */
export const setVisible = (hub: TestHub, visible: boolean): void => (hub as unknown as { setVisible(v: boolean): void }).setVisible(visible);
