// A clock that tests can move forward. Everything time-based in the server (the 50 s hold,
// the 50 s catch-up window, the 100 s row GC, row create_date) reads this clock, so a test can
// exercise a 50 s hold by advancing the clock instead of sleeping.
//
// Timers fire in real time too: each pending timer keeps a real setTimeout for its remaining
// delay, re-armed whenever `advance` shortens that delay.

/** An opaque handle returned by `setTimer`, accepted by `clearTimer`. */
export interface TimerHandle {
  /** Clock time (ms since the epoch) at which the timer fires. */
  readonly due: number;
}

/** The server's clock: real time plus whatever tests added with `advance` (POST /tabbus/clock). */
export interface Clock {
  /** Real time plus every offset added by `advance`, in ms since the epoch. */
  now(): number;
  /** Runs `fn` once when the clock reaches now() + ms (by real time passing or by `advance`). */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer of `setTimer` (nothing happens if it already fired). */
  clearTimer(handle: TimerHandle): void;
  /** Moves the clock forward by `ms` and fires, in due order, every timer that is now due. */
  advance(ms: number): void;
  /** Total ms added by `advance` so far. */
  readonly offset: number;
  /** Cancels every pending timer (used when the server closes). */
  dispose(): void;
}

interface PendingTimer extends TimerHandle {
  readonly seq: number;
  readonly fn: () => void;
  real: ReturnType<typeof setTimeout> | undefined;
}

// setTimeout silently turns delays above 2^31 - 1 ms into 1 ms; longer timers re-arm on wake-up.
const MAX_REAL_DELAY = 2 ** 31 - 1;

export interface ClockOptions {
  /** Receives what a timer callback throws; a throwing timer must not stop the others. */
  onError?: (error: unknown) => void;
}

export function createClock(options: ClockOptions = {}): Clock {
  const onError = options.onError ?? ((error: unknown) => console.error('[tabbus dev-server] timer failed:', error));
  let offset = 0;
  let seq = 0;
  const pending = new Set<PendingTimer>();

  const now = (): number => Date.now() + offset;

  function arm(timer: PendingTimer): void {
    if (timer.real !== undefined) clearTimeout(timer.real);
    const delay = Math.min(Math.max(timer.due - now(), 0), MAX_REAL_DELAY);
    timer.real = setTimeout(() => {
      timer.real = undefined;
      // A real timeout may wake marginally early, or the delay may have been clamped: re-arm.
      if (now() < timer.due) arm(timer);
      else fireDue();
    }, delay);
    // Held polls must not keep a process alive on their own; the HTTP server does that.
    timer.real.unref?.();
  }

  function disarm(timer: PendingTimer): void {
    if (timer.real !== undefined) clearTimeout(timer.real);
    timer.real = undefined;
    pending.delete(timer);
  }

  // Fires every due timer, earliest first (ties in creation order). Loops because a callback
  // may schedule a timer that is already due.
  function fireDue(): void {
    for (;;) {
      const t = now();
      const due = [...pending].filter((timer) => timer.due <= t);
      if (due.length === 0) return;
      due.sort((a, b) => a.due - b.due || a.seq - b.seq);
      for (const timer of due) {
        // An earlier callback may have cleared this one.
        if (!pending.has(timer)) continue;
        disarm(timer);
        try {
          timer.fn();
        } catch (error) {
          onError(error);
        }
      }
    }
  }

  return {
    now,
    get offset() {
      return offset;
    },
    setTimer(fn, ms) {
      const delay = Number.isFinite(ms) ? Math.max(ms, 0) : 0;
      const timer: PendingTimer = { due: now() + delay, seq: seq++, fn, real: undefined };
      pending.add(timer);
      arm(timer);
      return timer;
    },
    clearTimer(handle) {
      disarm(handle as PendingTimer);
    },
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`clock.advance(ms): ms must be a finite number ≥ 0, got ${ms}`);
      offset += ms;
      fireDue();
      // The remaining timers are now closer in real time than their real timeouts say.
      for (const timer of pending) arm(timer);
    },
    dispose() {
      for (const timer of [...pending]) disarm(timer);
    },
  };
}
