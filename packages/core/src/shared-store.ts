import type { KeyValueStorage } from './env';

/** The cursor as the leader last persisted it. */
export interface CursorRecord {
  /** Last notification id handed to the tabs. */
  readonly id: number;
  /** When the leader last heard from the server with this cursor (ms since epoch). */
  readonly at: number;
}

/**
 * The little state a scope keeps in localStorage: the shared cursor and the epoch counter. Storage may be
 * missing or throw (private mode, quota, blocked cookies): every access degrades to "nothing stored" and
 * reports the failure once through `onError`, so the bus keeps working on what it has in memory.
 */
export class SharedStore {
  readonly #storage: KeyValueStorage | undefined;
  readonly #prefix: string;
  readonly #onError: (error: unknown) => void;
  #failed = false;
  #claims = 0;

  constructor(storage: KeyValueStorage | undefined, prefix: string, onError: (error: unknown) => void) {
    this.#storage = storage;
    this.#prefix = prefix;
    this.#onError = onError;
  }

  readCursor(): CursorRecord | undefined {
    const value = this.#read('cursor');
    if (typeof value !== 'object' || value === null) return undefined;
    const { id, at } = value as Partial<CursorRecord>;
    return Number.isSafeInteger(id) && typeof at === 'number' ? { id: id!, at } : undefined;
  }

  writeCursor(record: CursorRecord): void {
    this.#write('cursor', record);
  }

  /** False when there is no storage or it threw: nothing written here reaches the other tabs. */
  get usable(): boolean {
    return this.#storage !== undefined && !this.#failed;
  }

  /**
   * Claims a `once` key: true when no tab ran it within `ttl` ms (and it is now marked as run). One storage
   * entry per key, so a claim costs the same however many keys there are; every 100th claim sweeps out
   * entries older than `ttl`.
   */
  claimOnce(key: string, now: number, ttl: number): boolean {
    const at = this.#read('once:' + key);
    if (typeof at === 'number' && now - at < ttl) return false;
    this.#write('once:' + key, now);
    if (++this.#claims % 100 === 0) this.#sweepOnce(now, ttl);
    return true;
  }

  #sweepOnce(now: number, ttl: number): void {
    const storage = this.#storage as (KeyValueStorage & Partial<Pick<Storage, 'key' | 'length'>>) | undefined;
    if (!storage?.key || storage.length === undefined) return;
    const prefix = this.#prefix + 'once:';
    try {
      const old: string[] = [];
      for (let i = 0; i < storage.length; i++) {
        const name = storage.key(i);
        if (name?.startsWith(prefix) && !(now - Number(storage.getItem(name)) < ttl)) old.push(name);
      }
      for (const name of old) storage.removeItem(name);
    } catch (error) {
      this.#fail(error);
    }
  }

  readShared(key: string): { value: unknown; at: number; tab: string } | undefined {
    const record = this.#read('shared:' + key) as { value?: unknown; at?: unknown; tab?: unknown } | undefined;
    return record && typeof record.at === 'number' && typeof record.tab === 'string' ? { value: record.value, at: record.at, tab: record.tab } : undefined;
  }

  writeShared(key: string, record: { value: unknown; at: number; tab: string }): void {
    this.#write('shared:' + key, record);
  }

  readEpoch(): number {
    return this.#number('epoch');
  }

  writeEpoch(epoch: number): void {
    this.#write('epoch', epoch);
  }

  /** When the scope's session check last passed (ms since epoch; 0: never, or not known). */
  readChecked(): number {
    return this.#number('checked');
  }

  writeChecked(at: number): void {
    this.#write('checked', at);
  }

  #number(key: string): number {
    const value = this.#read(key);
    return Number.isSafeInteger(value) ? (value as number) : 0;
  }

  #read(key: string): unknown {
    try {
      const raw = this.#storage?.getItem(this.#prefix + key);
      return raw == null ? undefined : JSON.parse(raw);
    } catch (error) {
      this.#fail(error);
      return undefined;
    }
  }

  #write(key: string, value: unknown): void {
    try {
      this.#storage?.setItem(this.#prefix + key, JSON.stringify(value));
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#onError(error);
  }
}
