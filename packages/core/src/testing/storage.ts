/**
 * How a {@link MemoryStorage} fails: `denied` makes every call throw a `SecurityError` (storage blocked,
 * some sandboxed frames), `quota` makes every write throw a `QuotaExceededError` (a full quota, or a
 * private mode with a quota of zero) while reads still work.
 */
export type StorageFailure = 'denied' | 'quota';

/** One change of a storage area, as a `storage` event describes it (`key: null` for `clear()`). */
export interface StorageChange {
  /** The key that changed (`null` for `clear()`). */
  readonly key: string | null;
  /** Its value before (`null`: it had none). */
  readonly oldValue: string | null;
  /** Its value after (`null`: removed). */
  readonly newValue: string | null;
}

/** The `Storage` methods the fakes implement: `localStorage` without the indexed access. */
export type StorageArea = Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'clear' | 'key' | 'length'>;

/** Options of {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Start failing this way (see {@link MemoryStorage.fail}). */
  fail?: StorageFailure;
  /** Most characters (keys + values) it holds before writes throw `QuotaExceededError`. Default: no limit. */
  quota?: number;
}

/**
 * An in-memory `localStorage`. Changes are reported to {@link MemoryStorage.onChange} listeners with the
 * writer ({@link MemoryStorage.view} names one), which is how a {@link FakeBrowser} sends `storage` events
 * to the other tabs. A write that changes nothing (same value, missing key) reports nothing, as in browsers.
 */
export class MemoryStorage implements StorageArea {
  /** The stored data (read it in assertions; writing it directly reports no change). */
  readonly map = new Map<string, string>();
  /** When set, calls throw as described by {@link StorageFailure}. */
  fail: StorageFailure | undefined;
  readonly #quota: number;
  readonly #listeners = new Set<(change: StorageChange, source: unknown) => void>();

  constructor(options: MemoryStorageOptions = {}) {
    this.fail = options.fail;
    this.#quota = options.quota ?? Infinity;
  }

  /** Shorthand: `true` is `fail = 'denied'`, `false` clears `fail`; reads `true` while any failure is set. */
  get throws(): boolean {
    return this.fail !== undefined;
  }
  /** `true`: every access fails (`fail = 'denied'`); `false`: none does. */
  set throws(value: boolean) {
    this.fail = value ? 'denied' : undefined;
  }

  /** How many keys it holds. */
  get length(): number {
    this.#check(false);
    return this.map.size;
  }

  /** The key at `index` (in insertion order), or `null`. */
  key(index: number): string | null {
    this.#check(false);
    return [...this.map.keys()][index] ?? null;
  }

  /** The value of `key`, or `null`. */
  getItem(key: string): string | null {
    this.#check(false);
    return this.map.get(String(key)) ?? null;
  }

  /** Stores `value` (as a string) under `key`; reported with no writer (every tab gets the event). */
  setItem(key: string, value: string): void {
    this.#set(key, value, undefined);
  }

  /** Removes `key`. */
  removeItem(key: string): void {
    this.#remove(key, undefined);
  }

  /** Removes every key (one change, with `key: null`). */
  clear(): void {
    this.#clear(undefined);
  }

  /** Calls `listener` after every change, with the `source` of the {@link MemoryStorage.view} that made it. */
  onChange(listener: (change: StorageChange, source: unknown) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** The same data, seen by one page: changes made through the view report `source` as their writer. */
  view(source: unknown): StorageArea {
    const area = this;
    return {
      get length() {
        return area.length;
      },
      key: (index) => this.key(index),
      getItem: (key) => this.getItem(key),
      setItem: (key, value) => this.#set(key, value, source),
      removeItem: (key) => this.#remove(key, source),
      clear: () => this.#clear(source),
    };
  }

  #check(write: boolean): void {
    if (this.fail === 'denied') throw new DOMException('The operation is insecure.', 'SecurityError');
    if (write && this.fail === 'quota') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  }

  #set(key: string, value: string, source: unknown): void {
    this.#check(true);
    key = String(key);
    value = String(value);
    const oldValue = this.map.get(key) ?? null;
    if (oldValue === value) return;
    if (this.#size() - (oldValue === null ? 0 : key.length + oldValue.length) + key.length + value.length > this.#quota) {
      throw new DOMException(`Setting the value of '${key}' exceeded the quota.`, 'QuotaExceededError');
    }
    this.map.set(key, value);
    this.#changed({ key, oldValue, newValue: value }, source);
  }

  #remove(key: string, source: unknown): void {
    this.#check(false);
    key = String(key);
    const oldValue = this.map.get(key);
    if (oldValue === undefined) return;
    this.map.delete(key);
    this.#changed({ key, oldValue, newValue: null }, source);
  }

  #clear(source: unknown): void {
    this.#check(false);
    if (this.map.size === 0) return;
    this.map.clear();
    this.#changed({ key: null, oldValue: null, newValue: null }, source);
  }

  #size(): number {
    let n = 0;
    for (const [k, v] of this.map) n += k.length + v.length;
    return n;
  }

  #changed(change: StorageChange, source: unknown): void {
    for (const listener of [...this.#listeners]) listener(change, source);
  }
}
