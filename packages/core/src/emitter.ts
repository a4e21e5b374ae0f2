import EventEmitter from 'eventemitter3';

/**
 * Typed events over eventemitter3; `Events` maps each event name to its listener's argument. `on` returns the function that removes the listener.
 * A listener that throws does not break the bus: the exception goes to `onListenerError`.
 */
export class Emitter<Events extends object> {
  readonly #ee = new EventEmitter();
  readonly #onListenerError: (error: unknown) => void;

  constructor(onListenerError: (error: unknown) => void) {
    this.#onListenerError = onListenerError;
  }

  on<K extends keyof Events & string>(event: K, listener: (value: Events[K]) => void): () => void {
    const guarded = (value: Events[K]) => {
      try {
        listener(value);
      } catch (error) {
        this.#onListenerError(error);
      }
    };
    this.#ee.on(event, guarded);
    return () => void this.#ee.off(event, guarded);
  }

  emit<K extends keyof Events & string>(event: K, value: Events[K]): void {
    this.#ee.emit(event, value);
  }

  count<K extends keyof Events & string>(event: K): number {
    return this.#ee.listenerCount(event);
  }
}
