import { describe, expect, it } from 'vitest';
import { createDelivery, RESYNC_INTERVAL } from '../../delivery';
import type { BusItem } from '../../transport';
import { testHub, type TestHub } from './hub';

function delivering() {
  const hub = testHub();
  const delivery = createDelivery(hub);
  hub.become('follower');
  return { hub, delivery };
}
const delivered = (hub: TestHub) => hub.emitted.filter((e) => e.event === 'notification').flatMap((e) => (e.value as BusItem[]).map((i) => i.id));
const batch = (hub: TestHub, after: number, ids: number[]) => hub.frame('batch', { epoch: 1, from: 'L', after, cursor: ids.at(-1) ?? after, items: ids.map((id) => ({ id })) });

describe('delivery', () => {
  it('each id once and in order, whatever the batches repeat', () => {
    const { hub, delivery } = delivering();
    delivery.frames!.batch!(batch(hub, 0, [1, 2]));
    delivery.frames!.batch!(batch(hub, 0, [1, 2, 3]));
    delivery.deliver([{ id: 3 }, { id: 4 }]);
    expect(delivered(hub)).toEqual([1, 2, 3, 4]);
    expect(hub.counters).toMatchObject({ batches: 3, delivered: 4 });
  });

  it('a batch with junk among its items (another page of the origin, another build) is dropped whole: it takes no id, so the real batch still delivers them', () => {
    for (const junk of [null, 7, {}, { id: '3' }, { id: Infinity }, { id: 1e300 }, { id: 2.5 }]) {
      const { hub, delivery } = delivering();
      delivery.frames!.batch!(batch(hub, 0, [1]));
      const frame = batch(hub, 1, [2, 3]);
      try {
        delivery.frames!.batch!({ ...frame, items: [...frame.items, junk as never] });
      } catch {
        // The router counts a frame that throws and drops it: what matters is what it left behind.
      }
      expect(delivery.watermark, JSON.stringify(junk)).toBe(1);
      delivery.frames!.batch!(batch(hub, 1, [2, 3, 4]));
      expect(delivered(hub), JSON.stringify(junk)).toEqual([1, 2, 3, 4]);
    }
  });

  it('a batch after a missing one is dropped; a replay is asked every second until it arrives', () => {
    const { hub, delivery } = delivering();
    delivery.frames!.batch!(batch(hub, 0, [1, 2]));
    delivery.frames!.batch!(batch(hub, 5, [6]));
    expect(delivered(hub)).toEqual([1, 2]);
    expect(hub.posted).toEqual([{ type: 'resync', cursor: 2 }]);
    hub.clock.advance(RESYNC_INTERVAL);
    expect(hub.posted).toHaveLength(2);
    delivery.frames!.batch!(batch(hub, 2, [3, 4, 5, 6]));
    hub.clock.advance(5 * RESYNC_INTERVAL);
    expect(hub.posted).toHaveLength(2);
    expect(delivered(hub)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('a cursor made up far ahead (a welcome, an alive or a batch of another page) is asked for only until a batch of the leader says where its cursor is', () => {
    for (const forged of ['welcome', 'alive', 'batch'] as const) {
      const { hub, delivery } = delivering();
      delivery.frames!.batch!(batch(hub, 0, [1, 2]));
      if (forged === 'batch') delivery.frames!.batch!(batch(hub, 1e15, [1e15 + 1]));
      else (delivery.frames![forged] as (frame: unknown) => void)(hub.frame(forged, { epoch: 1, from: 'L', cursor: 1e15, to: 'me', tabs: [], transport: 'open' } as never));
      expect(hub.posted, forged).toEqual([{ type: 'resync', cursor: 2 }]);
      // The leader's answer: what it has above 2 (nothing), at its real cursor.
      delivery.frames!.batch!(batch(hub, 2, []));
      hub.clock.advance(10 * RESYNC_INTERVAL);
      expect(hub.posted, forged).toHaveLength(1);
    }
  });

  it('a server reset while a replay is asked for: the follower stops asking once it has the new stream', () => {
    const { hub, delivery } = delivering();
    delivery.frames!.batch!(batch(hub, 0, [1, 2]));
    delivery.frames!.batch!(batch(hub, 99, [100]));
    expect(hub.posted).toEqual([{ type: 'resync', cursor: 2 }]);
    // The server's ids start over (a database restore): every tab forgets its ids; the new stream begins at 1.
    delivery.frames!.gap!(hub.frame('gap', { epoch: 1, from: 'L', cursor: 2, age: 0, reason: 'reset' }));
    delivery.frames!.batch!(batch(hub, 0, [1, 2, 3]));
    const asked = hub.posted.length;
    hub.clock.advance(10 * RESYNC_INTERVAL);
    // Nothing is missing from the new stream: no more replay requests, and no timer left.
    expect(hub.posted).toHaveLength(asked);
    expect(delivered(hub)).toEqual([1, 2, 1, 2, 3]);
  });

  it('a welcome or an alive with a cursor ahead shows batches were lost', () => {
    const { hub, delivery } = delivering();
    delivery.deliver([{ id: 3 }]);
    delivery.frames!.alive!(hub.frame('alive', { epoch: 1, from: 'L', cursor: 8 }));
    expect(hub.posted).toEqual([{ type: 'resync', cursor: 3 }]);
    delivery.stop();
    hub.clock.advance(10 * RESYNC_INTERVAL);
    expect(hub.posted).toHaveLength(1);
  });

  it('a fresh tab starts at the cursor of its welcome (a stored cursor may be behind it); a welcome after its first batch, or junk, changes nothing', () => {
    const { hub, delivery } = delivering();
    delivery.restore({ id: 5, at: hub.clock.now() }, 0);
    const welcome = (cursor: number) => hub.frame('welcome', { epoch: 1, from: 'L', to: hub.tabId, tabs: [], transport: 'open', cursor, checked: 0 });
    delivery.frames!.welcome!(welcome(8));
    expect(delivery.watermark).toBe(8);
    expect(hub.posted).toEqual([]);
    delivery.frames!.batch!(batch(hub, 8, [9]));
    expect(delivered(hub)).toEqual([9]);
    // Later welcomes (a step-down asks for one) say only whether batches were missed.
    delivery.frames!.welcome!(welcome(12));
    expect(delivery.watermark).toBe(9);
    expect(hub.posted).toEqual([{ type: 'resync', cursor: 9 }]);
    for (const junk of [Infinity, Number.NaN, 2.5, '9' as unknown as number]) {
      const other = delivering();
      other.delivery.restore(undefined, 0);
      other.delivery.frames!.welcome!(welcome(junk));
      expect(other.delivery.watermark, String(junk)).toBe(0);
    }
  });

  it('a fresh tab takes its first batch as the start of its stream, not as a gap', () => {
    const { hub, delivery } = delivering();
    delivery.frames!.batch!(batch(hub, 40, [41]));
    expect(delivered(hub)).toEqual([41]);
    expect(hub.posted).toEqual([]);
  });

  it('a reset forgets every id; a retention gap reaches only tabs older than the retention', () => {
    const { hub, delivery } = delivering();
    hub.startedAt = hub.clock.now();
    delivery.deliver([{ id: 9 }]);
    delivery.frames!.gap!(hub.frame('gap', { epoch: 1, from: 'L', cursor: 9, age: 200_000, reason: 'retention' }));
    expect(hub.emitted.filter((e) => e.event === 'gap')).toEqual([]);
    hub.startedAt = hub.clock.now() - hub.retention;
    delivery.frames!.gap!(hub.frame('gap', { epoch: 1, from: 'L', cursor: 9, age: 200_000, reason: 'retention' }));
    delivery.frames!.gap!(hub.frame('gap', { epoch: 1, from: 'L', cursor: 9, age: 0, reason: 'reset' }));
    delivery.deliver([{ id: 1 }]);
    expect(hub.emitted.filter((e) => e.event === 'gap').map((e) => (e.value as { reason: string }).reason)).toEqual(['retention', 'reset']);
    expect(delivered(hub)).toEqual([9, 1]);
  });

  it('restarting keeps the watermark unless the tab was away longer than the retention', () => {
    const { hub, delivery } = delivering();
    delivery.deliver([{ id: 9 }]);
    delivery.restore({ id: 20, at: hub.clock.now() }, hub.clock.now());
    expect(delivery.watermark).toBe(9);
    delivery.restore(undefined, hub.clock.now()); // nothing stored (no storage)
    expect(delivery.watermark).toBe(9);
    hub.clock.advance(hub.retention + 1);
    delivery.restore({ id: 20, at: hub.clock.now() }, hub.clock.now() - hub.retention - 1);
    expect(delivery.watermark).toBe(20);
    expect(hub.emitted.at(-1)).toMatchObject({ event: 'gap', value: { cursor: 9, reason: 'retention' } });
  });

  it('items of channels this tab did not join are skipped but counted in the watermark', () => {
    const hub = testHub({ options: { scope: 'test', transport: () => undefined as never, channelOf: (item: BusItem & { c?: string }) => item.c } });
    hub.joined.add('mine');
    const delivery = createDelivery(hub);
    delivery.deliver([{ id: 1, c: 'other' }, { id: 2, c: 'mine' }, { id: 3 }] as BusItem[]);
    expect(delivered(hub)).toEqual([2, 3]);
    expect(delivery.watermark).toBe(3);
  });
});
