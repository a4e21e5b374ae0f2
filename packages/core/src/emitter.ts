/**
 * Typed events; `Events` maps each event name to its listener's argument. `on` returns the function that
 * removes the listener. A listener that throws does not break the bus: the exception goes to
 * `onListenerError`, by default thrown again from a timer: a listener's bug belongs to the application and
 * surfaces like a DOM listener's would. (Small on purpose: an event library would cost more bytes than this
 * whole file.)
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(value: never) => void>>();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void = (error) => setTimeout(() => {
    throw error;
  })) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof Events & string>(event: K, listener: (value: Events[K]) => void): () => void {
    // A wrapper per call, so the same function added twice is called twice and removed once per `off`.
    const entry = (value: Events[K]) => listener(value);
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(entry);
    return () => void set.delete(entry);
  }

  emit<K extends keyof Events & string>(event: K, value: Events[K]): void {
    // A copy: listeners added or removed while emitting take effect from the next event.
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as (value: Events[K]) => void)(value);
      } catch (error) {
        this.#onListenerError(error);
      }
    }
  }

  count<K extends keyof Events & string>(event: K): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Listeners of every event together (a leak check: it must not grow with traffic). */
  get total(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }
}
