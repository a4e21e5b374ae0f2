import { createEmitter } from './emitter';
import { TabBusError } from './errors';
import type { Hub, Part } from './hub';

/** A value every tab of the scope shares; the last write wins. */
export interface SharedValue<T> {
  /** The current value (`undefined` until someone sets it). */
  get(): T | undefined;
  /**
   * Sets it in every tab of the scope, as JSON: every tab, this one too, then reads what JSON makes of it (a
   * Date becomes its string, a Map an empty object). Throws a `config` TabBusError for a value JSON cannot
   * write (a cycle, a BigInt, a function or a symbol); nothing changes then.
   */
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
export function createShared(hub: Pick<Hub, 'env' | 'tabId' | 'store' | 'machine' | 'post' | 'report'>): SharedValues {
  // Fixed for the bus's life (the store changes with each start).
  const { env, machine } = hub;
  const records = new Map<string, SharedRecord>();
  /** Each key's listeners: the key is the event. */
  const listeners = createEmitter<Record<string, unknown>>((error, key) =>
    hub.report(new TabBusError('handler', `a listener of shared(${JSON.stringify(key)}) threw`, { cause: error })),
  );
  /** Keys this tab set while it had no channel (before it joined, or stopped): the others hear of them once it joins. */
  const unsent = new Set<string>();
  /** Whether `a` wins over `b`: the later write, or of two at once the higher tab id. */
  const beats = (a: SharedRecord, b: SharedRecord) => a.at > b.at || (a.at === b.at && a.tab > b.tab);
  /**
   * A write's time is at most a day ahead of this tab's clock: one far in the future (another page's bug)
   * would win over every later write for good. A day leaves room for a clock that was set back.
   */
  const sane = (record: SharedRecord | undefined) => record && record.at < env.now() + 86_400_000 ? record : undefined;
  const read = (key: string) => {
    const known = records.get(key);
    // Storage too: a write made while this tab was stopped (or in the back/forward cache) reached it there only.
    const stored = sane(hub.store?.readShared(key));
    return known && !(stored && beats(stored, known)) ? known : stored;
  };
  const apply = (key: string, record: SharedRecord) => {
    const current = read(key);
    if (!sane(record) || (current && beats(current, record))) return;
    records.set(key, record);
    if (record.tab === hub.tabId) hub.store?.writeShared(key, record);
    listeners.emit(key, record.value);
  };
  return {
    value: <T>(key: string): SharedValue<T> => ({
      get: () => read(key)?.value as T | undefined,
      set(given) {
        // The pages opened later get the value as JSON (from storage); every tab keeps it as they do, so a
        // Date is its string everywhere, not a Date in the tabs a frame reached and a string in the others.
        // What JSON cannot write at all (a cycle, a BigInt) fails here, at the call, rather than leaving the
        // tabs apart (and storage taken as broken for the rest of the page).
        let json: string | undefined;
        try {
          json = JSON.stringify(given);
          // A function or a symbol JSON writes as nothing: it would clear the value in every tab.
          if (json === undefined && given !== undefined) throw new TypeError(`${typeof given} is not JSON`);
        } catch (cause) {
          throw new TabBusError('config', `shared(${JSON.stringify(key)}).set(): ${cause}`, { cause });
        }
        const value = json === undefined ? undefined : JSON.parse(json);
        // After the latest write this tab knows when the clock was set back since (a write of the same
        // moment is settled by the tab ids, as in every tab).
        const known = read(key);
        const now = env.now();
        const at = known && known.at > now ? known.at + 1 : now;
        apply(key, { value, at, tab: hub.tabId });
        const role = machine.role;
        if (role === 'joining' || role === 'stopped') unsent.add(key);
        hub.post({ type: 'shared', key, value, at });
      },
      on: (listener) => listeners.on(key, listener as (value: unknown) => void),
    }),
    get size() {
      return records.size + [...listeners.events()].length;
    },
    settled() {
      const store = hub.store;
      if (!store || machine.role === 'stopped') return;
      for (const key of new Set([...unsent, ...listeners.events()])) {
        const known = records.get(key);
        const stored = sane(store.readShared(key));
        // Set while this tab was away (stopped, in the back/forward cache): its listeners hear of it now.
        if (known && stored && beats(stored, known)) apply(key, stored);
        else if (known?.tab === hub.tabId && unsent.has(key)) {
          store.writeShared(key, known);
          hub.post({ type: 'shared', key, value: known.value, at: known.at });
        }
      }
      unsent.clear();
    },
    frames: {
      shared: (frame) => void apply(frame.key, { value: frame.value, at: frame.at, tab: frame.from }),
    },
  };
}
