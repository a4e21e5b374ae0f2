import type { Hub, Part } from './hub';
import { BACK_AFTER } from './transport';

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
 * input itself (no timer); the first input after a quiet spell goes at once. The bus's creation counts as
 * input. Input after a long spell tells the link, so the leader's transport can say so now rather than at
 * its next presence update.
 */
export function createActivity(hub: Pick<Hub, 'env' | 'post' | 'link'>): Activity {
  const { env } = hub;
  let latest = env.now();
  let postedAt = -Infinity;
  /** Input at `at` (this tab's, or another's when later than what this tab knew): the user is back if it ends a long spell. */
  const saw = (at: number) => {
    const idleFor = at - latest;
    latest = at;
    if (idleFor >= BACK_AFTER) hub.link.userBack(idleFor);
  };
  return {
    inactivity: () => env.now() - latest,
    input() {
      saw(env.now());
      if (latest - postedAt < INPUT_POST_INTERVAL) return;
      postedAt = latest;
      hub.post({ type: 'activity', at: latest });
    },
    frames: {
      // Never later than now: a time from the future (another page's bug) would hide all inactivity for good.
      activity: (frame) => {
        const at = Math.min(Number(frame.at) || 0, env.now());
        if (at > latest) saw(at);
      },
    },
  };
}
