/**
 * Typed events; `Events` maps each event name to its listener's argument. `on` returns the function that
 * removes the listener. A listener that throws does not break the bus: the exception goes to
 * `onListenerError`, by default thrown again from a timer: a listener's bug belongs to the application and
 * surfaces like a DOM listener's would. (Small on purpose: an event library would cost more bytes than this
 * whole file.)
 */
export interface Emitter<Events extends object> {
  on<K extends keyof Events & string>(event: K, listener: (value: Events[K]) => void): () => void;
  emit<K extends keyof Events & string>(event: K, value: Events[K]): void;
  /** Whether `event` has listeners now. */
  listens<K extends keyof Events & string>(event: K): boolean;
  /** Listeners of every event together (a leak check: it must not grow with traffic). */
  readonly total: number;
  /** The events that have listeners now. */
  events(): IterableIterator<keyof Events & string>;
}

export function createEmitter<Events extends object>(
  onListenerError: (error: unknown, event: keyof Events & string) => void = (error) =>
    setTimeout(() => {
      throw error;
    }),
): Emitter<Events> {
  const listeners = new Map<keyof Events & string, Set<(value: never) => void>>();
  return {
    on(event, listener) {
      // A wrapper per call, so the same function added twice is called twice and removed once per `off`.
      const entry = (value: never) => listener(value);
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(entry);
      return () => {
        set.delete(entry);
        // An event nobody listens to any more costs nothing (the shared values' keys are events too).
        if (!set.size && listeners.get(event) === set) listeners.delete(event);
      };
    },
    emit(event, value) {
      // A copy: listeners added or removed while emitting take effect from the next event.
      for (const listener of [...(listeners.get(event) ?? [])]) {
        try {
          (listener as (value: unknown) => void)(value);
        } catch (error) {
          onListenerError(error, event);
        }
      }
    },
    // An event keeps its entry only while it has listeners (see `on`).
    listens: (event) => listeners.has(event),
    get total() {
      let n = 0;
      for (const set of listeners.values()) n += set.size;
      return n;
    },
    events: () => listeners.keys(),
  };
}
