import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClock } from '../clock';
import { BusStore } from '../store';
import { pythonJsonDumps } from '../pyjson';
import { encodeChannel, pollChannels } from '../channels';

const clock = createClock();
afterEach(() => {
  clock.dispose();
  vi.useRealTimers();
});
const newStore = () => new BusStore({ clock, catchUpMs: 50_000, gcAgeMs: 100_000 });

describe('bus store', () => {
  it('hands out one global, increasing id across all channels, starting at 1', () => {
    const store = newStore();
    expect(store.insert([{ channel: '"a"', message: '1' }])).toEqual([1]);
    expect(store.insert([{ channel: '"b"', message: '2' }, { channel: '"a"', message: '3' }])).toEqual([2, 3]);
    expect(store.lastId).toBe(3);
    expect(store.select(['"a"'], 1).map((row) => row.id)).toEqual([3]);
    expect(store.select(['"a"', '"b"'], 0).map((row) => row.id)).toEqual([1, 2, 3]);
  });

  it('last == 0 returns only rows younger than 50 s; last > 0 returns ids above it whatever their age', () => {
    const store = newStore();
    store.insert([{ channel: '"a"', message: '"old"' }]);
    clock.advance(50_001);
    store.insert([{ channel: '"a"', message: '"new"' }]);
    expect(store.select(['"a"'], 0).map((row) => row.message)).toEqual(['"new"']);
    expect(store.select(['"a"'], -1).map((row) => row.message)).toEqual(['"old"', '"new"']);
  });

  it('GC deletes rows strictly older than 100 s and keeps ids growing', () => {
    // The clock is real time plus what tests add: real time stands still here, or a millisecond passing
    // between the insert and the first gc() (a busy machine) would make the row 100,001 ms old.
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = newStore();
    store.insert([{ channel: '"a"', message: '1' }]);
    clock.advance(100_000);
    expect(store.gc()).toBe(0);
    clock.advance(1);
    expect(store.gc()).toBe(1);
    expect(store.size).toBe(0);
    expect(store.insert([{ channel: '"a"', message: '2' }])).toEqual([2]);
  });

  it('wakes a listener once per batch, after the whole batch is stored, and only for its channels', () => {
    const store = newStore();
    const seen: number[][] = [];
    const stop = store.listen(['"a"', '"b"'], () => seen.push(store.select(['"a"', '"b"'], 0).map((row) => row.id)));
    store.insert([{ channel: '"c"', message: '0' }]);
    store.insert([{ channel: '"a"', message: '1' }, { channel: '"b"', message: '2' }]);
    expect(seen).toEqual([[2, 3]]);
    stop();
    store.insert([{ channel: '"a"', message: '3' }]);
    expect(seen).toHaveLength(1);
  });
});

describe('channel spelling', () => {
  it('writes JSON like Python json.dumps(separators=(",", ":")), non-ASCII escaped', () => {
    expect(pythonJsonDumps({ a: [1, 'x'], b: 'é😀' })).toBe('{"a":[1,"x"],"b":"\\u00e9\\ud83d\\ude00"}');
  });

  it('wraps channels with the database on 15 and adds broadcast; 8–14 store the bare string', () => {
    expect(encodeChannel(15, 'db1', 'chat')).toBe('["db1","chat"]');
    expect(pollChannels(15, 'db1', ['chat', 'chat'])).toEqual(['["db1","chat"]', '["db1","broadcast"]']);
    expect(encodeChannel(14, 'db1', 'chat')).toBe('"chat"');
    expect(pollChannels(8, 'db1', ['chat'])).toEqual(['"chat"']);
  });
});
