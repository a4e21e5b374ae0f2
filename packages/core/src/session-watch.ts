import type { BusEnv } from './env';
import { TabBusError } from './errors';

/** During a run of transport errors, the session is checked again only if the last check is older than this. */
const RECHECK_AFTER_ERROR = 10_000;
/** A check that has not settled after this long no longer blocks the next one (a hung request). */
const CHECK_STALE_AFTER = 60_000;

/**
 * The leader's check that the user is still logged in. Some wires cannot tell: Odoo's long-poll route is
 * public and silently serves a fresh public session to an expired cookie, so the user's channels just go
 * quiet. The leader therefore asks an authenticated route (through `check`) when its term starts, after
 * transport errors, and every `interval` ms. Only a `session_expired` rejection counts: other failures are
 * the transport's business and are reported by it.
 */
export class SessionWatch {
  readonly #env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>;
  readonly #check: () => Promise<void>;
  readonly #interval: number;
  readonly #onExpired: (error: TabBusError) => void;
  #timer: unknown;
  #checkedAt = -Infinity;
  #running = false;
  #inFlight = false;
  /** No error since the last reply: the next error is the first of a run, and is checked at once. */
  #healthy = true;

  constructor(
    env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>,
    check: () => Promise<void>,
    interval: number,
    onExpired: (error: TabBusError) => void,
  ) {
    this.#env = env;
    this.#check = check;
    this.#interval = interval;
    this.#onExpired = onExpired;
  }

  /** Checks now, then every interval, until `stop()`. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#run();
  }

  /** The server answered: the next error starts a new run. */
  replied(): void {
    this.#healthy = true;
  }

  /**
   * The transport failed: the cause may be the session. The first error after a reply is checked at once;
   * later ones of the same run (a server that is down) at most every 10 s.
   */
  afterError(): void {
    if (!this.#running) return;
    const first = this.#healthy;
    this.#healthy = false;
    if (first || this.#env.now() - this.#checkedAt >= RECHECK_AFTER_ERROR) this.#run();
  }

  stop(): void {
    this.#running = false;
    this.#env.clearTimeout(this.#timer);
  }

  #run(): void {
    this.#env.clearTimeout(this.#timer);
    if (this.#interval > 0) this.#timer = this.#env.setTimeout(() => this.#run(), this.#interval);
    const now = this.#env.now();
    if (this.#inFlight && now - this.#checkedAt < CHECK_STALE_AFTER) return;
    this.#inFlight = true;
    this.#checkedAt = now;
    this.#check().then(
      () => (this.#inFlight = false),
      (error: unknown) => {
        this.#inFlight = false;
        if (this.#running && error instanceof TabBusError && error.code === 'session_expired') this.#onExpired(error);
      },
    );
  }
}
