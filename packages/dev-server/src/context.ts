// The state every route shares, built once by createDevServer.
import type { Clock } from './clock';
import type { FaultQueue } from './faults';
import type { PollHolds } from './holds';
import type { OdooVersion } from './odoo-version';
import type { PollLog } from './poll-log';
import type { PresenceTable } from './presence';
import type { SessionStore } from './sessions';
import type { StatsCounters } from './stats';
import type { JobRunner } from './jobs';
import type { PgBus } from './pg/pg-bus';
import type { BusStore } from './store';

export interface ServerContext {
  readonly version: OdooVersion;
  /** The first database: public sessions, the stats and senders that name no database use it. */
  readonly db: string;
  /** Every database the server serves, `db` first (one unless `databases` was given). */
  readonly databases: readonly string[];
  /**
   * Emulate Odoo with `mail` installed on 8–15: a logged-in poll also listens on the user's own channel
   * (channels.ts `personalChannel`). 16+ always add it (the bus addon does).
   */
  readonly mail: boolean;
  readonly clock: Clock;
  readonly store: BusStore;
  readonly sessions: SessionStore;
  readonly stats: StatsCounters;
  readonly holds: PollHolds;
  /** Bad replies queued by POST /tabbus/fault. */
  readonly faults: FaultQueue;
  /** Wall-clock arrivals of /longpolling/poll, read by GET /tabbus/polls. */
  readonly pollLog: PollLog;
  /**
   * With `--pg`: the shared PostgreSQL table rows are inserted into (the store then holds what the
   * listener read back), and where presence is also written, Odoo-style, to count conflicts.
   */
  readonly pg: PgBus | undefined;
  /** The background jobs (POST /tabbus/jobs) and the runner that moves them along. */
  readonly jobs: JobRunner;
  /** Users' presence, updated by their polls (`im_chat.presence` on 8, `bus.presence` on 9–15). */
  readonly presence: PresenceTable;
  /** How long a poll with nothing to answer is held (Odoo: TIMEOUT = 50 s). */
  readonly holdMs: number;
  /** Unexpected failures (bugs, I/O errors) go here; bad input never does. */
  readonly onError: (error: unknown, where: string) => void;
  /** Set once close() starts: polls then answer at once instead of holding. */
  closing: boolean;
}
