import { lockElection, type Election } from './election';
import type { BusEnv, FrameChannel } from './env';
import { createLiveness, type Liveness } from './liveness';
import { messageElection } from './message-election';

/** How tabs coordinate: Web Locks (default), a message election where they are missing, or not at all. */
export type Mode = 'locks' | 'elector' | 'solo';

/** What a tab found it can use to coordinate with the others. */
export interface Coordination {
  readonly mode: Mode;
  /** Why: the channel in use, or what was missing (shown as `state().modeReason`). */
  readonly reason: string;
  /** The frames channel (not in solo mode). */
  readonly channel?: FrameChannel;
  readonly election?: Election;
  /** Lifetime locks (Web Locks mode only): the tab holds its own; others can learn when it dies. */
  readonly liveness?: Liveness;
}

/**
 * Finds the best way this tab can coordinate with the other tabs of its scope (the names start with
 * `prefix`): Web Locks for the election and for tab lifetimes, else a message election on a channel of
 * its own; with no channel at all, or locks that exist but refuse, the tab connects alone. `listen`
 * receives the frames from the moment the channel opens (a batch may come while the locks are asked).
 */
export async function coordinate(env: BusEnv, prefix: string, tabId: string, alone: boolean, listen: (data: unknown) => void): Promise<Coordination> {
  const memoryOnly = env.storage ? '' : '; no localStorage: the cursor is kept in memory';
  if (alone) return { mode: 'solo', reason: 'coordination: none' + memoryOnly };
  let channel: FrameChannel;
  try {
    channel = env.openChannel(prefix + 'frames');
  } catch {
    return { mode: 'solo', reason: 'no cross-tab channel' + memoryOnly };
  }
  channel.listen(listen);
  if (env.locks) {
    const liveness = createLiveness(env.locks, prefix + 'tab:');
    try {
      await liveness.hold(tabId);
    } catch {
      // navigator.locks exists but refuses (some sandboxed iframes). The message election would look
      // for the same refused locks: poll alone rather than never.
      channel.close();
      return { mode: 'solo', reason: 'Web Locks refused' + memoryOnly };
    }
    return { mode: 'locks', reason: `Web Locks + ${channel.kind} channel${memoryOnly}`, channel, liveness, election: lockElection(env.locks, prefix + 'leader') };
  }
  const election = env.fallbackElection?.(prefix + 'elect') ?? messageElection(env.openChannel(prefix + 'elect'), env);
  return { mode: 'elector', reason: `no Web Locks: message election over ${channel.kind} channel${memoryOnly}`, channel, election };
}
