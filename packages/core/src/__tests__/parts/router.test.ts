import { describe, expect, it, vi } from 'vitest';
import { TabBusError } from '../../errors';
import { IllegalTransition } from '../../machine';
import { createRouter } from '../../router';
import { testHub } from './hub';

function routed() {
  const hub = testHub();
  hub.become('follower');
  const hello = vi.fn();
  const alsoHello = vi.fn();
  const welcome = vi.fn();
  const fail = vi.fn();
  const receive = createRouter(hub, [{ frames: { hello, welcome } }, undefined, { frames: { hello: alsoHello } }], fail);
  return { hub, receive, hello, alsoHello, welcome, fail };
}
const frame = (type: string, extra: object = {}) => ({ v: 1, scope: 'test', epoch: 0, from: 'other', type, ...extra });

describe('the router', () => {
  it('hands a frame to every part that handles its type, then tells the bus that state may have changed', () => {
    const { hub, receive, hello, alsoHello } = routed();
    receive(frame('hello', { tab: { id: 'other', channels: [], visible: true } }));
    expect(hello).toHaveBeenCalledTimes(1);
    expect(alsoHello).toHaveBeenCalledTimes(1);
    expect(hub.changed).toHaveBeenCalledTimes(1);
    receive(frame('activity', { at: 1 }));
    expect(hub.changed).toHaveBeenCalledTimes(1);
  });

  it("ignores what is not a frame, another scope, this tab's own frames and stopped tabs; counts the garbage", () => {
    const { hub, receive, hello } = routed();
    for (const data of [null, 'x', 42, { type: 'hello' }, frame('hello', { scope: 'elsewhere' })]) receive(data);
    receive(frame('hello', { from: 'me' }));
    expect(hello).not.toHaveBeenCalled();
    expect(hub.counters.ignored).toBe(5);
    hub.machine.to('stopped', 'test');
    receive(frame('hello'));
    expect(hello).not.toHaveBeenCalled();
  });

  it('reports another protocol version once per version', () => {
    const { hub, receive } = routed();
    receive(frame('hello', { v: 2 }));
    receive(frame('hello', { v: 2 }));
    receive(frame('hello', { v: 3 }));
    expect(hub.report).toHaveBeenCalledTimes(2);
    expect(vi.mocked(hub.report).mock.calls[0]![0]).toMatchObject({ code: 'frame' });
  });

  it('frames addressed to another tab reach no part; fenced frames nothing at all', () => {
    const { hub, receive, welcome } = routed();
    receive(frame('welcome', { to: 'someone', tabs: [], transport: 'open', cursor: 0 }));
    expect(welcome).not.toHaveBeenCalled();
    receive(frame('welcome', { to: 'me', tabs: [], transport: 'open', cursor: 0 }));
    expect(welcome).toHaveBeenCalledTimes(1);
    hub.term.admit = () => false;
    receive(frame('welcome', { to: 'me', tabs: [], transport: 'open', cursor: 0 }));
    expect(welcome).toHaveBeenCalledTimes(1);
  });

  it('a halt stops this tab with the error it carries', () => {
    const { receive, fail } = routed();
    receive(frame('halt', { code: 'session_expired', message: 'tabbus: gone' }));
    expect(fail).toHaveBeenCalledWith(expect.any(TabBusError));
    expect(fail.mock.calls[0]![0]).toMatchObject({ code: 'session_expired', message: 'tabbus: gone', fatal: true, context: { from: 'other' } });
  });

  it('a frame of our version but not of our shape is counted, not thrown; a bug of ours (an illegal transition) is thrown', () => {
    const hub = testHub();
    hub.become('follower');
    const receive = createRouter(hub, [{ frames: { hello: () => { throw new TypeError('bad shape'); }, bye: () => { throw new IllegalTransition('bug'); } } }], vi.fn());
    receive(frame('hello'));
    expect(hub.counters.ignored).toBe(1);
    expect(() => receive(frame('bye', { tab: 'x' }))).toThrow(IllegalTransition);
  });
});
