// Held polls: a poll that found nothing waits here until a row lands on one of its channels,
// its hold time runs out on the clock, its client goes away, or the server shuts down. The
// waiter only resolves; the poll route then queries the store again, like Odoo's dispatcher
// does after its Event fires.
import type { Clock } from './clock';
import type { BusStore } from './store';
import type { StatsCounters } from './stats';

export interface HoldRequest {
  /** Stored channel strings to wake on. */
  readonly channels: readonly string[];
  /** Counted in `openPollsBySession`. */
  readonly sessionId: string;
  readonly timeoutMs: number;
  /** Aborted when the client goes away: the hold ends at once and stops counting as open. */
  readonly signal: AbortSignal;
}

export class PollHolds {
  readonly #store: BusStore;
  readonly #clock: Clock;
  readonly #stats: StatsCounters;
  readonly #active = new Set<() => void>();

  constructor(deps: { store: BusStore; clock: Clock; stats: StatsCounters }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#stats = deps.stats;
  }

  /** Polls held right now. */
  get size(): number {
    return this.#active.size;
  }

  /** Resolves when the hold ends, whatever the reason; never rejects. */
  wait(request: HoldRequest): Promise<void> {
    return new Promise((resolve) => {
      if (request.signal.aborted) {
        resolve();
        return;
      }
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        stopListening();
        this.#clock.clearTimer(timer);
        request.signal.removeEventListener('abort', end);
        this.#active.delete(end);
        this.#stats.holdEnded(request.sessionId);
        resolve();
      };
      const stopListening = this.#store.listen(request.channels, end);
      const timer = this.#clock.setTimer(end, request.timeoutMs);
      request.signal.addEventListener('abort', end, { once: true });
      this.#active.add(end);
      this.#stats.holdStarted(request.sessionId);
    });
  }

  /** Ends every hold (server shutdown: Odoo 15 wakes all waiters, which answer what they have). */
  releaseAll(): void {
    for (const end of [...this.#active]) end();
  }
}
