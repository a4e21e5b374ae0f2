// Counters a test or benchmark reads through GET /tabbus/stats or `server.stats()`: how many
// requests each route got, how many polls were answered, how many polls each session holds
// open at once (the number tabbus exists to bring down to one per browser), and how many
// presence rows those polls wrote (one per poll on 9–15: more tabs polling, more writes).

/** `GET /tabbus/stats`. Counters run since the server started or since the last reset. */
export interface DevServerStats {
  /** Odoo version emulated. */
  odoo: number;
  /** The database name. */
  db: string;
  /** The server clock (ms since the epoch, including every `advance`). */
  now: number;
  /** The largest notification id handed out so far (0 if none). */
  lastId: number;
  /** Rows currently in the bus_bus store (GC removes rows older than gcAgeMs). */
  rows: number;
  /** Requests by route path; static files count as `static`, everything else unknown as `other`. */
  requests: Record<string, number>;
  /** Polls answered with a result (immediately, on wake-up or after the hold); aborted polls excluded. */
  polls: number;
  /** Polls held open right now. */
  openPolls: number;
  /** Polls held open right now, by the first 8 characters of their session id. */
  openPollsBySession: Record<string, number>;
  /** The most polls a single session held open at once. */
  peakOpenPollsPerSession: number;
  /** Bus rows inserted. */
  notifications: number;
  /** Requests answered with a fault queued by POST /tabbus/fault. */
  faults: number;
  /** Presence rows written (created or updated) by polls, 8/9's disconnection sweep included. */
  presenceWrites: number;
  /** `presenceWrites` by the uid of the row written (JSON keys are strings: `{"2": 3}`). */
  presenceWritesByUser: Record<number, number>;
  /** WebSocket connections open right now (16+; always 0 on 8–15). */
  openSockets: number;
  /** Open WebSocket connections, by the first 8 characters of their session id. */
  openSocketsBySession: Record<string, number>;
  /** The most WebSocket connections a single session had open at once. */
  peakOpenSocketsPerSession: number;
  /** WebSocket data frames received from clients (rate-limited and ignored frames included). */
  framesIn: number;
  /** WebSocket data frames sent to clients (one per notification batch). */
  framesOut: number;
  /**
   * Only in the answer of GET /tabbus/stats: the caller's own session (the first 8 characters of the
   * `session_id` cookie it sent, when the server knows it), its key in `openPollsBySession` and
   * `openSocketsBySession`; `null` without a known cookie. A page can so show the connections the server
   * holds for its own browser.
   */
  session?: string | null;
  /**
   * With `--pg`: NOTIFYs received, listener reconnects, and Odoo-style presence updates committed and
   * failed to serialize (concurrent polls of one user). `null` on the memory store.
   */
  postgresql: {
    /** NOTIFY imbus messages received by this process's listener. */
    notifies: number;
    /** Times the listener lost the database and connected again. */
    reconnects: number;
    /** Presence rows written (one transaction per poll, as Odoo does). */
    presenceUpdates: number;
    /** Presence transactions that failed to serialize against a concurrent poll of the same user. */
    presenceConflicts: number;
  } | null;
}

export type CounterSnapshot = Pick<
  DevServerStats,
  | 'requests'
  | 'polls'
  | 'openPolls'
  | 'openPollsBySession'
  | 'peakOpenPollsPerSession'
  | 'notifications'
  | 'faults'
  | 'presenceWrites'
  | 'presenceWritesByUser'
  | 'openSockets'
  | 'openSocketsBySession'
  | 'peakOpenSocketsPerSession'
  | 'framesIn'
  | 'framesOut'
>;

/** How a session id appears in the stats: short enough to read, long enough to tell apart. */
export const sessionLabel = (sessionId: string): string => sessionId.slice(0, 8);

export class StatsCounters {
  #requests = new Map<string, number>();
  #polls = 0;
  #notifications = 0;
  #faults = 0;
  #peakPerSession = 0;
  #presenceWrites = new Map<number, number>();
  // Live state, not a counter, so it survives resets. Keyed by full session id.
  readonly #openBySession = new Map<string, number>();
  #open = 0;
  readonly #socketsBySession = new Map<string, number>();
  #openSockets = 0;
  #peakSocketsPerSession = 0;
  #framesIn = 0;
  #framesOut = 0;

  socketOpened(sessionId: string): void {
    const count = (this.#socketsBySession.get(sessionId) ?? 0) + 1;
    this.#socketsBySession.set(sessionId, count);
    this.#openSockets++;
    this.#peakSocketsPerSession = Math.max(this.#peakSocketsPerSession, count);
  }

  socketClosed(sessionId: string): void {
    const count = (this.#socketsBySession.get(sessionId) ?? 0) - 1;
    if (count > 0) this.#socketsBySession.set(sessionId, count);
    else this.#socketsBySession.delete(sessionId);
    this.#openSockets--;
  }

  countFrameIn(): void {
    this.#framesIn++;
  }

  countFrameOut(): void {
    this.#framesOut++;
  }

  countRequest(route: string): void {
    this.#requests.set(route, (this.#requests.get(route) ?? 0) + 1);
  }

  countPollAnswered(): void {
    this.#polls++;
  }

  countNotifications(n: number): void {
    this.#notifications += n;
  }

  countFault(): void {
    this.#faults++;
  }

  countPresenceWrite(uid: number): void {
    this.#presenceWrites.set(uid, (this.#presenceWrites.get(uid) ?? 0) + 1);
  }

  holdStarted(sessionId: string): void {
    const count = (this.#openBySession.get(sessionId) ?? 0) + 1;
    this.#openBySession.set(sessionId, count);
    this.#open++;
    this.#peakPerSession = Math.max(this.#peakPerSession, count);
  }

  holdEnded(sessionId: string): void {
    const count = (this.#openBySession.get(sessionId) ?? 0) - 1;
    if (count > 0) this.#openBySession.set(sessionId, count);
    else this.#openBySession.delete(sessionId);
    this.#open--;
  }

  /** Zeroes the counters; the per-session peak restarts from what is open right now. */
  reset(): void {
    this.#requests = new Map();
    this.#polls = 0;
    this.#notifications = 0;
    this.#faults = 0;
    this.#presenceWrites = new Map();
    this.#peakPerSession = Math.max(0, ...this.#openBySession.values());
    this.#peakSocketsPerSession = Math.max(0, ...this.#socketsBySession.values());
    this.#framesIn = 0;
    this.#framesOut = 0;
  }

  snapshot(): CounterSnapshot {
    return {
      requests: Object.fromEntries(this.#requests),
      polls: this.#polls,
      openPolls: this.#open,
      openPollsBySession: Object.fromEntries([...this.#openBySession].map(([id, n]) => [sessionLabel(id), n])),
      peakOpenPollsPerSession: this.#peakPerSession,
      notifications: this.#notifications,
      faults: this.#faults,
      presenceWrites: [...this.#presenceWrites.values()].reduce((sum, n) => sum + n, 0),
      presenceWritesByUser: Object.fromEntries(this.#presenceWrites),
      openSockets: this.#openSockets,
      openSocketsBySession: Object.fromEntries([...this.#socketsBySession].map(([id, n]) => [sessionLabel(id), n])),
      peakOpenSocketsPerSession: this.#peakSocketsPerSession,
      framesIn: this.#framesIn,
      framesOut: this.#framesOut,
    };
  }
}
