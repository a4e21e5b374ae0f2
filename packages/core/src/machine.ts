import type { TransportState } from './transport';

/**
 * What this tab does for its scope:
 * - `stopped`: not started, or stopped;
 * - `joining`: started, resolving the scope and finding out how the tabs can coordinate;
 * - `follower`: another tab owns the connection (or none does yet: the election is under way);
 * - `leader`: this tab owns the connection and fans notifications out;
 * - `solo`: this tab connects for itself (`coordination: 'none'`, or no way to reach the other tabs).
 */
export type Role = 'stopped' | 'joining' | 'follower' | 'leader' | 'solo';

/**
 * One change of role, and why it happened (shown as `state().transition`). The reasons: `start`, `stop`,
 * `pagehide` (leaving for the back/forward cache or unloading), `no scope` (it could not be resolved),
 * `joined` (the election), the mode's reason (solo), `elected`, `leader silent` (stolen from a leader
 * that stopped answering), `claimed` (taken from a hidden leader that yielded), `yielded` (to a visible
 * tab), `yield not taken` (that tab never took over), `lock taken` (another tab stole the lock),
 * `newer term`, `handoff`, `forced` (a test hook), or the code of the fatal error that stopped the bus.
 */
export interface Transition {
  /** The role before. */
  readonly from: Role;
  /** The role after. */
  readonly to: Role;
  /** Why (see above). */
  readonly reason: string;
  /** When it happened (ms since epoch). */
  readonly at: number;
}

/**
 * Every role change the bus may make; anything else is a bug in the bus, and `Machine.to` throws on it.
 * `leader → leader` is a new term while still leading (a forced or stolen grant overlapped the queue).
 */
export const ROLE_MOVES: Readonly<Record<Role, readonly Role[]>> = {
  stopped: ['joining'],
  joining: ['follower', 'solo', 'stopped'],
  follower: ['leader', 'stopped'],
  leader: ['leader', 'follower', 'stopped'],
  solo: ['stopped'],
};

/**
 * The moves of this tab's own connection state that never happen: a pause or a backoff follows a
 * request, so neither comes straight from `idle` (no transport) or `offline` (dropped for the network).
 * Every other move is one a transport makes. A follower's copy of the leader's state is relayed as it
 * comes (frames can be missed), so it is not checked.
 */
export const TRANSPORT_NEVER: readonly `${TransportState}>${TransportState}`[] = ['idle>paused', 'idle>backoff', 'offline>paused', 'offline>backoff'];

/** A move the tables above do not allow: a bug in tabbus, never the application's fault. */
export class IllegalTransition extends Error {
  override readonly name = 'IllegalTransition';
}

/** The role and the transport state of one tab, and the latest role change. */
export interface Machine {
  readonly role: Role;
  readonly transport: TransportState;
  /** The latest role change, or null before the first start. */
  readonly last: Transition | null;
  /** Moves to `role` for `reason`; throws IllegalTransition when ROLE_MOVES does not allow it. */
  to(role: Role, reason: string): void;
  /**
   * Sets this tab's connection state; `relayed`: a copy of the leader's (or the bus resetting it), taken
   * as it comes. Returns whether it changed; throws IllegalTransition on a move in TRANSPORT_NEVER.
   */
  transportTo(state: TransportState, relayed?: boolean): boolean;
}

/**
 * The one place where the role and the transport state change. Parts ask for a move with its reason;
 * the machine checks it against the tables and records it, and the bus reports it in `state()`.
 */
export function createMachine(now: () => number): Machine {
  const machine = {
    role: 'stopped' as Role,
    transport: 'idle' as TransportState,
    last: null as Transition | null,
    to(role: Role, reason: string) {
      const from = machine.role;
      if (!ROLE_MOVES[from].includes(role)) throw new IllegalTransition(`tabbus: role ${from} → ${role} (${reason}) is not a transition`);
      machine.role = role;
      machine.last = { from, to: role, reason, at: now() };
    },
    transportTo(state: TransportState, relayed?: boolean) {
      const from = machine.transport;
      if (from === state) return false;
      if (!relayed && TRANSPORT_NEVER.includes(`${from}>${state}`)) throw new IllegalTransition(`tabbus: transport ${from} → ${state} is not a transition`);
      machine.transport = state;
      return true;
    },
  };
  return machine;
}
