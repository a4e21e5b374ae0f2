import type { BusEnv } from './env';
import { isSessionExpired, type TabBusError } from './errors';

/** During a run of transport errors, the session is checked again only if the last check is older than this. */
const RECHECK_AFTER_ERROR = 10_000;
/** A check that has not settled after this long no longer blocks the next one (a hung request). */
const CHECK_STALE_AFTER = 60_000;

/** The leader's session check, while it runs (see {@link watchSession}). */
export interface SessionWatch {
  /** The server answered: the next error starts a new run. */
  replied(): void;
  /**
   * The transport failed: the cause may be the session. The first error after a reply is checked at once;
   * later ones of the same run (a server that is down) at most every 10 s.
   */
  afterError(): void;
  /** Checks no more. */
  stop(): void;
}

/**
 * The leader's check that the user is still logged in. Some wires cannot tell: Odoo's long-poll route is
 * public and silently serves a fresh public session to an expired cookie, so the user's channels just go
 * quiet. The leader therefore asks an authenticated route (through `check`) every `interval` ms, and after
 * transport errors. The first check comes an interval after `since`, the scope's last passed check (0: none
 * known, so at once; at once too when `interval` is 0): after a failover the previous leader's check still
 * holds, and asking again would cost a request just as the new leader's first one is on its way. Only a
 * `session_expired` rejection counts, also from a check that answers after `stop()`: other failures are the
 * transport's business and are reported by it.
 */
export function watchSession(
  env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout'>,
  check: () => Promise<void>,
  interval: number,
  onExpired: (error: TabBusError) => void,
  since: number,
): SessionWatch {
  let timer: unknown;
  let checkedAt = -Infinity;
  let running = true;
  let inFlight = false;
  /** No error since the last reply: the next error is the first of a run, and is checked at once. */
  let healthy = true;
  const run = (): void => {
    env.clearTimeout(timer);
    if (interval > 0) timer = env.setTimeout(run, interval);
    const now = env.now();
    if (inFlight && now - checkedAt < CHECK_STALE_AFTER) return;
    inFlight = true;
    checkedAt = now;
    check().then(
      () => (inFlight = false),
      (error: unknown) => {
        inFlight = false;
        // Even after stop(): a check that answers after its term ended (a hand-off) still found the session
        // gone, and the next leader would go on from the last pass. `onExpired` decides whether it still counts.
        if (isSessionExpired(error)) onExpired(error);
      },
    );
  };
  // Never longer than one interval: a `since` in the future (the clock was set back) must not stop the checks.
  const wait = Math.min(since + interval - env.now(), interval);
  if (interval > 0 && wait > 0) timer = env.setTimeout(run, wait);
  else run();
  return {
    replied: () => void (healthy = true),
    afterError() {
      if (!running) return;
      const first = healthy;
      healthy = false;
      if (first || env.now() - checkedAt >= RECHECK_AFTER_ERROR) run();
    },
    stop() {
      running = false;
      env.clearTimeout(timer);
    },
  };
}
