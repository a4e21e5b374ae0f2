import type { Election } from './election';
import type { BusEnv, FrameChannel } from './env';

/** What candidates say to each other on the election's own channel. */
interface Vote {
  /** `apply`: I want to lead. `lead`: I lead (an answer to `apply`, or a new term). `bye`: I stop leading or applying. */
  readonly e: 'apply' | 'lead' | 'bye';
  readonly id: string;
  /** When the sender's term began (its clock): of two leaders, the newer term wins. */
  readonly term: number;
}

const isVote = (data: unknown): data is Vote => {
  // What is no object (null, a string) has no `e` either.
  const v = data as Vote | null | undefined;
  return (v?.e === 'apply' || v?.e === 'lead' || v?.e === 'bye') && typeof v.id === 'string' && typeof v.term === 'number';
};

/** How long an applicant waits for an objection. A live leader answers within milliseconds on both channels. */
export const APPLY_WINDOW = 250;
/** The spread of re-applications after the leader's `bye`, so the waiting tabs do not all apply at once. */
const REAPPLY_JITTER = 50;

/**
 * The election where Web Locks are missing, by messages on a cross-tab channel.
 *
 * A candidate says `apply` and leads if nobody objects within 250 ms (`APPLY_WINDOW`): a leader objects by
 * answering `lead`, and of two applicants the lower id wins. A tab that lost waits, with no timer, for a
 * `bye` from the tab that beat it. A leader that dies without a `bye` (a crash) is noticed by the bus's
 * leader watch in a visible tab, which then `steal`s: it leads at once with a newer term, and a leader
 * that sees a newer term (one that thawed, or a rare double win) steps down through `onLost`. The bus
 * fences the transition by epochs, so a moment with two leaders never delivers twice.
 */
export function messageElection(channel: FrameChannel, env: Pick<BusEnv, 'now' | 'setTimeout' | 'clearTimeout' | 'random'>): Election {
  const id = env.random().toString(36).slice(2) + env.now().toString(36);
  let phase: 'idle' | 'applying' | 'waiting' | 'leading' = 'idle';
  /** This tab's term while it leads; `newest` is the newest term heard, so a new term is always newer. */
  let term = 0;
  let newest = 0;
  /** The tab whose `bye` this one waits for: the leader, or the applicant that beat it. */
  let blocker: string | undefined;
  let timer: unknown;
  let elected: (() => void) | undefined;
  let lost: (() => void) | undefined;

  const say = (e: Vote['e']) => channel.post({ e, id, term } satisfies Vote);
  const wait = (on: string) => {
    env.clearTimeout(timer);
    phase = 'waiting';
    blocker = on;
  };
  const lead = () => {
    env.clearTimeout(timer);
    phase = 'leading';
    blocker = undefined;
    term = Math.max(env.now(), newest + 1);
    say('lead');
    elected?.();
  };
  const apply = () => {
    env.clearTimeout(timer);
    phase = 'applying';
    say('apply');
    timer = env.setTimeout(() => phase === 'applying' && lead(), APPLY_WINDOW);
  };

  channel.listen((data) => {
    if (!isVote(data) || data.id === id) return;
    newest = Math.max(newest, data.term);
    if (data.e === 'apply') {
      if (phase === 'leading') say('lead');
      else if (phase === 'applying') {
        if (data.id < id) wait(data.id);
        // Ours wins: say so again, in case it applied after ours went by.
        else say('apply');
      }
    } else if (data.e === 'lead') {
      if (phase === 'leading') {
        if (data.term > term || (data.term === term && data.id < id)) {
          wait(data.id);
          lost?.();
        } else say('lead');
      } else if (phase !== 'idle') wait(data.id);
    } else if (phase === 'waiting' && data.id === blocker) {
      timer = env.setTimeout(() => phase === 'waiting' && apply(), env.random() * REAPPLY_JITTER);
    }
  });

  const resign = () => {
    env.clearTimeout(timer);
    const was = phase;
    phase = 'idle';
    if (was === 'leading' || was === 'applying') say('bye');
  };
  return {
    campaign(onElected, onLost) {
      elected = onElected;
      lost = onLost;
      apply();
    },
    resign,
    steal(onElected, onLost) {
      resign();
      elected = onElected;
      lost = onLost;
      lead();
    },
    close: () => channel.close(),
  };
}
