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

  /** Keys `once` has run, with when (ms since epoch). */
  readOnce(): Record<string, number> {
    const value = this.#read('once');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, number>) : {};
  }

  writeOnce(done: Record<string, number>): void {
    this.#write('once', done);
  }

  readShared(key: string): { value: unknown; at: number; tab: string } | undefined {
    const record = this.#read('shared:' + key) as { value?: unknown; at?: unknown; tab?: unknown } | undefined;
    return record && typeof record.at === 'number' && typeof record.tab === 'string' ? { value: record.value, at: record.at, tab: record.tab } : undefined;
  }

  writeShared(key: string, record: { value: unknown; at: number; tab: string }): void {
    this.#write('shared:' + key, record);
  }

  readEpoch(): number {
    const value = this.#read('epoch');
    return Number.isSafeInteger(value) ? (value as number) : 0;
  }

  writeEpoch(epoch: number): void {
    this.#write('epoch', epoch);
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
