import type { KeyValueStorage } from './env';

/** The cursor as the leader last persisted it. */
export interface CursorRecord {
  /** Last notification id handed to the tabs. */
  readonly id: number;
  /** When the leader last heard from the server with this cursor (ms since epoch). */
  readonly at: number;
}

/**
 * The little state a scope keeps in localStorage: the shared cursor, the epoch counter, the time of the last
 * passed session check, `once` claims and shared values. Storage may be missing or throw (private mode,
 * quota, blocked cookies): every access degrades to "nothing stored" and reports the failure once through
 * `onError`, so the bus keeps working on what it has in memory.
 */
export interface SharedStore {
  readCursor(): CursorRecord | undefined;
  writeCursor(record: CursorRecord): void;
  /** False when there is no storage or it threw: nothing written here reaches the other tabs. */
  readonly usable: boolean;
  /**
   * Claims a `once` key: true when no tab ran it within `ttl` ms (and it is now marked as run). One storage
   * entry per key, so a claim costs the same however many keys there are; every 100th claim sweeps out
   * entries older than `ttl`.
   */
  claimOnce(key: string, now: number, ttl: number): boolean;
  readShared(key: string): { value: unknown; at: number; tab: string } | undefined;
  writeShared(key: string, record: { value: unknown; at: number; tab: string }): void;
  readEpoch(): number;
  writeEpoch(epoch: number): void;
  /** When the scope's session check last passed (ms since epoch; 0: never, or not known). */
  readChecked(): number;
  writeChecked(at: number): void;
}

/** The store of the scope whose keys start with `prefix`. */
export function createStore(storage: KeyValueStorage | undefined, prefix: string, onError: (error: unknown) => void): SharedStore {
  let failed = false;
  let claims = 0;
  const fail = (error: unknown): void => {
    if (failed) return;
    failed = true;
    onError(error);
  };
  const read = (key: string): unknown => {
    try {
      const raw = storage?.getItem(prefix + key);
      return raw == null ? undefined : JSON.parse(raw);
    } catch (error) {
      fail(error);
      return undefined;
    }
  };
  const write = (key: string, value: unknown): void => {
    try {
      storage?.setItem(prefix + key, JSON.stringify(value));
    } catch (error) {
      fail(error);
    }
  };
  const number = (key: string): number => {
    const value = read(key);
    return Number.isSafeInteger(value) ? (value as number) : 0;
  };
  const sweepOnce = (now: number, ttl: number): void => {
    const all = storage as (KeyValueStorage & Partial<Pick<Storage, 'key' | 'length'>>) | undefined;
    if (!all?.key || all.length === undefined) return;
    const start = prefix + 'once:';
    try {
      const old: string[] = [];
      for (let i = 0; i < all.length; i++) {
        const name = all.key(i);
        if (name?.startsWith(start) && !(now - Number(all.getItem(name)) < ttl)) old.push(name);
      }
      for (const name of old) all.removeItem(name);
    } catch (error) {
      fail(error);
    }
  };
  return {
    readCursor() {
      // Whatever else is stored there (null, a number) has no id and no at. (A record with more fields is
      // handed out as it is: its readers take `id` and `at` only.)
      const record = read('cursor') as Partial<CursorRecord> | null | undefined;
      return Number.isSafeInteger(record?.id) && typeof record!.at === 'number' ? (record as CursorRecord) : undefined;
    },
    writeCursor: (record) => write('cursor', record),
    get usable() {
      return storage !== undefined && !failed;
    },
    claimOnce(key, now, ttl) {
      const at = read('once:' + key);
      if (typeof at === 'number' && now - at < ttl) return false;
      write('once:' + key, now);
      // A page's first claim sweeps too: pages that each claim fewer than 100 keys would never sweep.
      if (claims++ % 100 === 0) sweepOnce(now, ttl);
      return true;
    },
    readShared(key) {
      const record = read('shared:' + key) as { value?: unknown; at?: unknown; tab?: unknown } | undefined;
      return record && typeof record.at === 'number' && typeof record.tab === 'string' ? { value: record.value, at: record.at, tab: record.tab } : undefined;
    },
    writeShared: (key, record) => write('shared:' + key, record),
    readEpoch: () => number('epoch'),
    writeEpoch: (epoch) => write('epoch', epoch),
    readChecked: () => number('checked'),
    writeChecked: (at) => write('checked', at),
  };
}
