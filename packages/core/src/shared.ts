import { TabBusError } from './errors';
import type { Hub, Part } from './hub';

/** A value every tab of the scope shares; the last write wins. */
export interface SharedValue<T> {
  /** The current value (`undefined` until someone sets it). */
  get(): T | undefined;
  /** Sets it in every tab of the scope. */
  set(value: T): void;
  /** Called with the new value whenever any tab sets it; returns the unsubscriber. */
  on(listener: (value: T | undefined) => void): () => void;
}

/** `bus.shared()`. */
export interface SharedValues extends Part {
  /** The shared value `key`. */
  value<T>(key: string): SharedValue<T>;
  /** Keys this tab holds a value or listeners for: the application's own keys, bounded by its use. */
  readonly size: number;
}

interface SharedRecord {
  readonly value: unknown;
  readonly at: number;
  readonly tab: string;
}

/**
 * Small values every tab of the scope agrees on. A write goes to the other tabs as a frame and, from the
 * writer only, to storage for tabs that open later. Last writer wins, by time then by tab id, so every
 * tab settles on the same value whatever order the frames arrive in.
 */
export function createShared(hub: Pick<Hub, 'env' | 'tabId' | 'store' | 'post' | 'report'>): SharedValues {
  const records = new Map<string, SharedRecord>();
  const listeners = new Map<string, Set<(value: unknown) => void>>();
  /** Whether `a` wins over `b`: the later write, or of two at once the higher tab id. */
  const beats = (a: SharedRecord, b: SharedRecord) => a.at > b.at || (a.at === b.at && a.tab > b.tab);
  const read = (key: string) => {
    const known = records.get(key);
    // Storage too: a write made while this tab was stopped (or in the back/forward cache) reached it there only.
    const stored = hub.store?.readShared(key);
    return known && !(stored && beats(stored, known)) ? known : stored;
  };
  const apply = (key: string, record: SharedRecord) => {
    const current = read(key);
    if (current && beats(current, record)) return;
    records.set(key, record);
    if (record.tab === hub.tabId) hub.store?.writeShared(key, record);
    for (const listener of [...(listeners.get(key) ?? [])]) {
      try {
        listener(record.value);
      } catch (error) {
        hub.report(new TabBusError('handler', `a listener of shared(${JSON.stringify(key)}) threw`, { cause: error }));
      }
    }
  };
  return {
    value: <T>(key: string): SharedValue<T> => ({
      get: () => read(key)?.value as T | undefined,
      set(value) {
        const at = hub.env.now();
        apply(key, { value, at, tab: hub.tabId });
        hub.post({ type: 'shared', key, value, at });
      },
      on(listener) {
        let set = listeners.get(key);
        if (!set) listeners.set(key, (set = new Set()));
        const entry = (value: unknown) => listener(value as T | undefined);
        set.add(entry);
        return () => {
          set.delete(entry);
          // A key nobody listens to any more costs nothing.
          if (!set.size && listeners.get(key) === set) listeners.delete(key);
        };
      },
    }),
    get size() {
      return records.size + listeners.size;
    },
    frames: {
      shared: (frame) => apply(frame.key, { value: frame.value, at: frame.at, tab: frame.from }),
    },
  };
}
