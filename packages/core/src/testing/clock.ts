/**
 * Time for the fakes: the real clock by default, or a {@link VirtualClock} that only moves when the test
 * says so. A {@link FakeBrowser} runs everything the browser would do "later" (timers, channel messages,
 * lock grants, storage events) through its clock.
 */
export interface Clock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
  /** Runs `fn` after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a pending timer; unknown or spent handles are ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The host's own time: `Date.now()` and the global timers, looked up at each call, so the fakes follow
 * `vi.useFakeTimers()` (or any other fake-timer library) when a test installs one.
 */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

// Captured when this module loads, before a test can fake the globals: the async runners yield to the
// host's event loop with these, whatever fake timers are installed later.
const hostSetImmediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;
const hostSetTimeout = globalThis.setTimeout.bind(globalThis);
/** Resolves after every pending microtask (and the promise chains they start) has run. */
const yieldToHost = (): Promise<void> =>
  new Promise((resolve) => (hostSetImmediate ? hostSetImmediate(resolve) : hostSetTimeout(resolve, 0)));

/** Options of {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** The time it starts at, in ms since the epoch. Default: 2024-01-01T00:00:00Z. */
  start?: number;
  /** How many timers `runAll()` runs before it gives up (a timer that re-arms itself runs forever). Default 10 000. */
  loopLimit?: number;
}

/**
 * A clock that stands still until the test moves it. Timers run in the order they fall due (ties: in the
 * order they were set), and `now()` reads the due time of the timer that is running.
 *
 * The synchronous runners (`advance`, `runAll`, `runNext`) run timer after timer without letting promises
 * settle in between; the `…Async` ones let every pending microtask run before and after each timer, which is
 * what code built on promises (a bus starting, a lock granted) needs.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const browser = new FakeBrowser({ clock });
 * // …create buses on browser tabs…
 * await clock.advanceAsync(1_000); // one virtual second, with every message and timer it holds
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  readonly #loopLimit: number;
  #nextId = 1;
  /** Kept sorted by due time, then id. */
  #timers: Timer[] = [];

  constructor(options: VirtualClockOptions = {}) {
    this.#now = options.start ?? Date.UTC(2024, 0, 1);
    this.#loopLimit = options.loopLimit ?? 10_000;
  }

  /** The virtual time, in ms since the epoch. */
  now(): number {
    return this.#now;
  }

  /** Schedules `fn` at `now() + ms` (negative or missing delays count as 0); returns a numeric handle. */
  setTimeout(fn: () => void, ms: number): number {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: Timer = { id: this.#nextId++, at: this.#now + delay, fn };
    let i = this.#timers.length;
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--;
    this.#timers.splice(i, 0, timer);
    return timer.id;
  }

  /** Cancels a pending timer. */
  clearTimeout(handle: unknown): void {
    const i = this.#timers.findIndex((t) => t.id === handle);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.length;
  }

  /** When the next timer falls due, or `undefined` when none is waiting. */
  nextAt(): number | undefined {
    return this.#timers[0]?.at;
  }

  /**
   * Moves time forward by `ms`, running every timer that falls due on the way (those set meanwhile too),
   * in order. Time ends at exactly `now() + ms`. A timer that throws stops the advance, and the error
   * reaches the caller; time then stays at that timer's due time.
   */
  advance(ms: number): void {
    const end = this.#now + Math.max(0, ms);
    while (this.#timers[0] && this.#timers[0].at <= end) this.#fire();
    this.#now = end;
  }

  /** Runs the next timer, moving time to its due time. Returns `false` when no timer was waiting. */
  runNext(): boolean {
    if (!this.#timers[0]) return false;
    this.#fire();
    return true;
  }

  /**
   * Runs timers until none is left, moving time along. Throws once `loopLimit` timers ran: something
   * re-arms itself forever (a poll loop, a heartbeat); use `advance` for those.
   */
  runAll(): void {
    for (let n = 0; this.#timers[0]; n++) {
      if (n >= this.#loopLimit) throw new Error(`VirtualClock.runAll: still busy after ${this.#loopLimit} timers; a timer re-arms itself (use advance(ms))`);
      this.#fire();
    }
  }

  /** Like {@link VirtualClock.advance}, letting promises settle before, between and after the timers. */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.#now + Math.max(0, ms);
    await yieldToHost();
    while (this.#timers[0] && this.#timers[0].at <= end) {
      this.#fire();
      await yieldToHost();
    }
    this.#now = end;
  }

  /** Like {@link VirtualClock.runAll}, letting promises settle before, between and after the timers. */
  async runAllAsync(): Promise<void> {
    await yieldToHost();
    for (let n = 0; this.#timers[0]; n++) {
      if (n >= this.#loopLimit) throw new Error(`VirtualClock.runAllAsync: still busy after ${this.#loopLimit} timers; a timer re-arms itself (use advanceAsync(ms))`);
      this.#fire();
      await yieldToHost();
    }
  }

  #fire(): void {
    const timer = this.#timers.shift()!;
    if (timer.at > this.#now) this.#now = timer.at;
    timer.fn();
  }
}

/**
 * Waits `ms` milliseconds of real time (default 10): enough, with the real clock, for the messages and
 * lock grants in flight to land. Prefer polling for the expected state (`vi.waitFor`) where you can.
 */
export const settle = (ms = 10): Promise<void> => new Promise((resolve) => hostSetTimeout(resolve, ms));
