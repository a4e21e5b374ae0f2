/** Exponential backoff with jitter, so that tabs of many browsers do not retry in lockstep. */
export interface BackoffOptions {
  /** First delay in ms. Default 1000. */
  initial?: number;
  /** Growth per failed attempt. Default 1.5. */
  factor?: number;
  /** Largest delay before jitter, in ms. Default 60 000. */
  max?: number;
  /** Random extra delay as a fraction of the delay (0.3 adds up to 30 %). Default 0.3. */
  jitter?: number;
}

/** The delays between attempts after failures (see {@link createBackoff}). */
export interface Backoff {
  /** The delay to wait before the next attempt; each call counts one failure. */
  next(): number;
  /** Call after a success: the next failure starts from `initial` again. */
  reset(): void;
  /** Failures since the last reset. */
  readonly attempts: number;
}

/** A backoff of `options` (`random` for tests: a function like `Math.random`). */
export function createBackoff(options: BackoffOptions = {}, random: () => number = Math.random): Backoff {
  const { initial = 1000, factor = 1.5, max = 60_000, jitter = 0.3 } = options;
  let attempts = 0;
  return {
    next() {
      const base = Math.min(max, initial * factor ** attempts++);
      return Math.round(base * (1 + jitter * random()));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
