import type { Hub, Part } from './hub';

/** A tab tells the others about user input at most this often, in ms (presence needs minutes, not ms). */
export const INPUT_POST_INTERVAL = 5000;

/** Presence input: the latest user input in any tab of the scope. */
export interface Activity extends Part {
  /** Milliseconds since the latest input in any tab of the scope. */
  inactivity(): number;
  /** The user did something in this tab. */
  input(): void;
}

/**
 * Odoo marks a user away after minutes without input, and only the leader talks to the server, so every
 * tab tells the others when the user does something in it: at most once per interval, paced by the
 * input itself (no timer). The bus's creation counts as input.
 */
export function createActivity(hub: Pick<Hub, 'env' | 'post'>): Activity {
  const { env } = hub;
  let latest = env.now();
  let postedAt = -Infinity;
  return {
    inactivity: () => env.now() - latest,
    input() {
      latest = env.now();
      if (latest - postedAt < INPUT_POST_INTERVAL) return;
      postedAt = latest;
      hub.post({ type: 'activity', at: latest });
    },
    frames: {
      // Never later than now: a time from the future (another page's bug) would hide all inactivity for good.
      activity: (frame) => void (latest = Math.max(latest, Math.min(Number(frame.at) || 0, env.now()))),
    },
  };
}
