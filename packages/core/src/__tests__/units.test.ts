import { describe, expect, it } from 'vitest';
import { createBackoff } from '../backoff';
import { createWatermark as Delivery, LATE_MEMORY } from '../watermark';
import { checkFrame, FRAME_VERSION, isNewerTerm } from '../frames';
import { createStore } from '../shared-store';
import { createTabRegistry } from '../tabs';
import { MemoryStorage } from '../testing';

describe('Delivery', () => {
  it('delivers each positive id once, in order, across overlapping batches', () => {
    const d = Delivery(0);
    const all = new Set<string>();
    const got = [
      ...d.take([{ id: 1 }, { id: 2 }, { id: 3 }], all),
      ...d.take([{ id: 2 }, { id: 3 }, { id: 4 }], all),
      ...d.take([{ id: 1 }], all),
    ].map((i) => i.id);
    expect(got).toEqual([1, 2, 3, 4]);
    expect(d.watermark).toBe(4);
  });

  it('lets pseudo-notifications (id ≤ 0) through every time without moving the watermark', () => {
    const d = Delivery(10);
    expect(d.take([{ id: -1 }, { id: -1 }, { id: 5 }], new Set()).map((i) => i.id)).toEqual([-1, -1]);
    expect(d.watermark).toBe(10);
  });

  it('takes once an id the server sends after higher ones (a late commit on Odoo 17+), and never one it had', () => {
    const d = Delivery(100);
    const all = new Set<string>();
    const ids = (batch: number[]) => d.take(batch.map((id) => ({ id })), all).map((i) => i.id);
    expect(ids([101, 102, 104, 105])).toEqual([101, 102, 104, 105]);
    expect(d.unseen(103)).toBe(true);
    expect(ids([103])).toEqual([103]);
    expect(d.watermark).toBe(105);
    expect(d.unseen(103)).toBe(false);
    // A replay of the same ids delivers nothing; ids at or below where the tab started never come through.
    expect(ids([101, 102, 103, 104, 105, 106])).toEqual([106]);
    expect(ids([99, 100])).toEqual([]);
  });

  it('a fresh tab starts its stream with its first batch: lower ids of a later replay are not its own', () => {
    const d = Delivery();
    const all = new Set<string>();
    expect(d.take([{ id: 50 }, { id: 51 }], all).map((i) => i.id)).toEqual([50, 51]);
    expect(d.take([{ id: 40 }, { id: 49 }, { id: 50 }, { id: 52 }], all).map((i) => i.id)).toEqual([52]);
  });

  it(`remembers the latest ${LATE_MEMORY} ids: an older one it forgot is taken as delivered`, () => {
    const d = Delivery(0, true);
    const all = new Set<string>();
    const batch = Array.from({ length: LATE_MEMORY + 10 }, (_, i) => ({ id: 2 * (i + 1) }));
    expect(d.take(batch, all)).toHaveLength(LATE_MEMORY + 10);
    // Odd ids were never sent: one above the forgotten range is late and taken, one within it is not.
    expect(d.take([{ id: 2 * LATE_MEMORY + 11 }, { id: 5 }], all).map((i) => i.id)).toEqual([2 * LATE_MEMORY + 11]);
    expect(d.take(batch, all)).toEqual([]);
  });

  it('filters by channel but still advances over filtered items', () => {
    const d = Delivery(0);
    const channelOf = (i: { id: number; ch?: string }) => i.ch;
    const joined = new Set(['a']);
    expect(d.take([{ id: 1, ch: 'b' }, { id: 2, ch: 'a' }, { id: 3 }], joined, channelOf).map((i) => i.id)).toEqual([2, 3]);
    expect(d.watermark).toBe(3);
  });
});

describe('TabRegistry', () => {
  it('keeps the sorted union and reports only real changes', () => {
    const r = createTabRegistry();
    expect(r.upsert({ id: 't1', channels: ['b', 'a'], visible: true })).toBe(true);
    expect(r.upsert({ id: 't2', channels: ['a'], visible: false })).toBe(false);
    expect(r.union()).toEqual(['a', 'b']);
    expect(r.visibleCount).toBe(1);
    expect(r.remove('t2')).toBe(false);
    expect(r.remove('t1')).toBe(true);
    expect(r.union()).toEqual([]);
    expect(r.remove('nobody')).toBe(false);
  });
});

describe('createBackoff', () => {
  it('grows by the factor up to the cap, adds bounded jitter, and resets', () => {
    const noJitter = createBackoff({ initial: 1000, factor: 1.5, max: 60_000, jitter: 0.3 }, () => 0);
    const delays = Array.from({ length: 12 }, () => noJitter.next());
    expect(delays.slice(0, 4)).toEqual([1000, 1500, 2250, 3375]);
    expect(Math.max(...delays)).toBe(60_000);
    noJitter.reset();
    expect(noJitter.next()).toBe(1000);
    const fullJitter = createBackoff({ initial: 1000, jitter: 0.3 }, () => 0.999);
    const first = fullJitter.next();
    expect(first).toBeGreaterThan(1000);
    expect(first).toBeLessThanOrEqual(1300);
  });
});

describe('frames', () => {
  it('accepts only well-formed frames of this version and scope', () => {
    const base = { v: FRAME_VERSION, scope: 's', epoch: 1, from: 't', type: 'bye', tab: 'x' };
    expect(checkFrame(base, 's')).toBe(base);
    expect(checkFrame({ ...base, v: 2 }, 's')).toBe('version');
    expect(checkFrame(base, 'other')).toBe('other-scope');
    expect(checkFrame(null, 's')).toBe('not-a-frame');
    expect(checkFrame({ ...base, epoch: '1' }, 's')).toBe('not-a-frame');
  });

  it('orders terms by epoch, then by leader id', () => {
    expect(isNewerTerm(2, 'a', 1, 'z')).toBe(true);
    expect(isNewerTerm(1, 'z', 2, 'a')).toBe(false);
    expect(isNewerTerm(2, 'b', 2, 'a')).toBe(true);
    expect(isNewerTerm(2, 'a', 2, 'b')).toBe(false);
    expect(isNewerTerm(2, 'a', 2, null)).toBe(true);
  });
});

describe('SharedStore', () => {
  it('round-trips the cursor and epoch, and ignores garbage', () => {
    const storage = new MemoryStorage();
    const store = createStore(storage, 'p:', () => { throw new Error('unexpected'); });
    expect(store.readCursor()).toBeUndefined();
    store.writeCursor({ id: 42, at: 1000 });
    store.writeEpoch(3);
    expect(store.readCursor()).toEqual({ id: 42, at: 1000 });
    expect(store.readEpoch()).toBe(3);
    storage.setItem('p:cursor', '{not json');
    storage.setItem('p:epoch', '"x"');
    const errors: unknown[] = [];
    const again = createStore(storage, 'p:', (e) => errors.push(e));
    expect(again.readCursor()).toBeUndefined();
    expect(again.readEpoch()).toBe(0);
    expect(errors).toHaveLength(1);
  });
});
