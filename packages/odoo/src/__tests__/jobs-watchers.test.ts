// Jobs watched from several places of one page: each watcher holds the channel, and a listener that throws
// costs the other listeners nothing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBus, type TabBus } from '@tabbus/core';
import { FakeBrowser, FakeTransport } from '@tabbus/core/testing';
import { JOB_UPDATE_TYPE, watchJobs, type JobUpdate } from '../jobs';
import type { OdooNotification } from '../notifications';

/** The part of a TabBus that watchJobs uses, with listeners isolated like the bus's emitter. */
function stubBus() {
  const joined = new Set<string>();
  const listeners = new Set<(items: OdooNotification[]) => void>();
  const bus = {
    addChannel: (name: string) => void joined.add(name),
    deleteChannel: (name: string) => void joined.delete(name),
    channels: () => [...joined],
    on: (_event: 'notification', listener: (items: OdooNotification[]) => void) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
  // Like the bus's emitter: a throwing listener is reported (here: dropped), the other listeners still run.
  const deliver = (items: OdooNotification[]) => {
    for (const l of [...listeners]) {
      try {
        l(items);
      } catch {
        // reported by the bus as an uncaught error
      }
    }
  };
  return { bus: bus as unknown as TabBus<OdooNotification>, deliver };
}

afterEach(() => void vi.restoreAllMocks());

let nextId = 1;
const item = (u: Partial<JobUpdate> & { uuid: string; seq: number }): OdooNotification => ({
  id: nextId++,
  type: JOB_UPDATE_TYPE,
  payload: { name: 'job', channel: 'root', state: 'started', progress: 0, result: null, ...u },
});

describe('watchJobs: several watchers, listeners that throw', () => {
  it('a listener that throws on one update does not lose the other updates of the same batch', () => {
    const { bus, deliver } = stubBus();
    // Where a fix rethrows the listener's error from a timer (as the bus's emitter does), keep it out of the run.
    vi.spyOn(globalThis, 'setTimeout').mockImplementation((() => 0) as never);
    const jobs = watchJobs(bus, { uid: 7 });
    const seen: string[] = [];
    jobs.on((u) => {
      if (u.uuid === 'a') throw new Error('render bug for job a');
    });
    jobs.on((u) => seen.push(`${u.uuid}#${u.seq}`));
    // One poll reply carries updates of two jobs.
    deliver([item({ uuid: 'a', seq: 1 }), item({ uuid: 'b', seq: 1, state: 'done', progress: 100 })]);
    // The second listener should see both updates, and b's latest state should be known.
    expect(seen).toEqual(['a#1', 'b#1']);
    expect(jobs.get('b')?.state).toBe('done');
  });

  it('two watchers of the same user: stopping one does not make the other leave the channel', async () => {
    const browser = new FakeBrowser();
    const bus = createBus<OdooNotification>({ scope: 'http://odoo.test|db|7', transport: () => new FakeTransport(), env: browser.tab().env() });
    await bus.start();
    const panel = watchJobs(bus, { uid: 7 });
    const toaster = watchJobs(bus, { uid: 7 });
    panel.stop();
    // toaster was never stopped: it still needs tabbus.jobs.7 (the leader listens to the channel union).
    expect(bus.channels()).toContain('tabbus.jobs.7');
    toaster.stop();
    expect(bus.channels()).not.toContain('tabbus.jobs.7');
    await bus.stop();
  });

  it('a watcher leaves no channel the page had joined itself, and a second stop() changes nothing', async () => {
    const browser = new FakeBrowser();
    const bus = createBus<OdooNotification>({ scope: 'http://odoo.test|db|7', transport: () => new FakeTransport(), env: browser.tab().env() });
    await bus.start();
    bus.addChannel('tabbus.jobs.7');
    const panel = watchJobs(bus, { uid: 7 });
    const other = watchJobs(bus, { channel: 'jobs.other' });
    panel.stop();
    panel.stop();
    expect(bus.channels()).toEqual(expect.arrayContaining(['tabbus.jobs.7', 'jobs.other']));
    other.stop();
    expect(bus.channels()).not.toContain('jobs.other');
    await bus.stop();
  });
});
