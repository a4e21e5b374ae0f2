import { describe, expect, it } from 'vitest';
import { createMachine, IllegalTransition, ROLE_MOVES, TRANSPORT_NEVER, type Role } from '../../machine';
import type { TransportState } from '../../transport';

const ROLES = Object.keys(ROLE_MOVES) as Role[];
const STATES: TransportState[] = ['idle', 'connecting', 'open', 'paused', 'backoff', 'offline', 'closed'];

/** A machine in `role`, reached along legal moves. */
function machineIn(role: Role, now = () => 42) {
  const machine = createMachine(now);
  const paths: Record<Role, Role[]> = { stopped: [], joining: ['joining'], follower: ['joining', 'follower'], leader: ['joining', 'follower', 'leader'], solo: ['joining', 'solo'] };
  for (const step of paths[role]) machine.to(step, 'path');
  return machine;
}

describe('the role machine', () => {
  it('starts stopped, with no transition and an idle transport', () => {
    const machine = createMachine(() => 0);
    expect(machine).toMatchObject({ role: 'stopped', transport: 'idle', last: null });
  });

  it.each(ROLES.flatMap((from) => ROLES.map((to) => [from, to] as const)))('%s → %s is allowed exactly when the table lists it', (from, to) => {
    const machine = machineIn(from, () => 7);
    const allowed = ROLE_MOVES[from].includes(to);
    if (allowed) {
      machine.to(to, 'because');
      expect(machine.role).toBe(to);
      expect(machine.last).toEqual({ from, to, reason: 'because', at: 7 });
    } else {
      const before = machine.last;
      expect(() => machine.to(to, 'because')).toThrow(IllegalTransition);
      expect(machine.role).toBe(from);
      expect(machine.last).toBe(before);
    }
  });

  it('a follower never turns solo, and a solo tab never joins an election without stopping first', () => {
    expect(() => machineIn('follower').to('solo', 'x')).toThrow(/follower → solo/);
    expect(() => machineIn('solo').to('follower', 'x')).toThrow(/solo → follower/);
    expect(() => machineIn('stopped').to('leader', 'x')).toThrow(/stopped → leader/);
  });
});

describe('the transport state', () => {
  it.each(STATES.flatMap((from) => STATES.filter((to) => to !== from).map((to) => [from, to] as const)))('%s → %s is refused exactly when TRANSPORT_NEVER lists it; relayed copies are taken as they come', (from, to) => {
    const machine = createMachine(() => 0);
    machine.transportTo(from, true);
    if (!TRANSPORT_NEVER.includes(`${from}>${to}`)) expect(machine.transportTo(to)).toBe(true);
    else expect(() => machine.transportTo(to)).toThrow(IllegalTransition);
    const relayed = createMachine(() => 0);
    relayed.transportTo(from, true);
    expect(relayed.transportTo(to, true)).toBe(true);
    expect(relayed.transport).toBe(to);
  });

  it('a pause or a backoff never follows idle: they come after a request', () => {
    const machine = createMachine(() => 0);
    expect(() => machine.transportTo('paused')).toThrow(IllegalTransition);
    expect(() => machine.transportTo('backoff')).toThrow(IllegalTransition);
  });

  it('setting the same state again is no change', () => {
    const machine = createMachine(() => 0);
    expect(machine.transportTo('idle')).toBe(false);
    expect(machine.transportTo('open')).toBe(true);
    expect(machine.transportTo('open')).toBe(false);
  });
});
