// The presence table (`im_chat_presence` on 8, `bus_presence` on 9–15): one row per user who
// polled while logged in, updated by every such poll the way the emulated version does it, and
// read by /longpolling/im_status and GET /tabbus/presence. Every time is on the server's clock,
// so a test moves users to away or offline with `clock.advance` instead of waiting.
//
// Each row written counts in the stats (presenceWrites): those writes are what made Odoo's
// presence tables a hot spot for serialization failures when many tabs polled (§9).
import type { Clock } from './clock';
import type { PresenceRow, PresenceRules, PresenceStatus } from './presence-rules';

/** One row of GET /tabbus/presence; times in clock ms. */
export interface PresenceEntry {
  /** The user. */
  uid: number;
  /** What Odoo would report for the user now, by its rules for the emulated version. */
  status: PresenceStatus;
  /** When the user's latest poll (or socket message) arrived. */
  lastPoll: number;
  /** When the user was last active, as the clients reported it. */
  lastPresence: number;
}

export interface PresenceTableDeps {
  readonly rules: PresenceRules;
  readonly clock: Clock;
  /** Called once per row written (created or updated), with the row's user. */
  readonly onWrite: (uid: number) => void;
}

export class PresenceTable {
  readonly #rules: PresenceRules;
  readonly #clock: Clock;
  readonly #onWrite: (uid: number) => void;
  readonly #rows = new Map<number, PresenceRow>();

  constructor(deps: PresenceTableDeps) {
    this.#rules = deps.rules;
    this.#clock = deps.clock;
    this.#onWrite = deps.onWrite;
  }

  /**
   * Odoo's presence update for one poll of the logged-in user `uid`, with the poll's options.
   * Throws an OdooError where Odoo's update raises (a `bus_inactivity` that is not a number);
   * the poll then answers that error, as Odoo's does.
   */
  recordPoll(uid: number, options: Record<string, unknown>): void {
    const now = this.#clock.now();
    const update = this.#rules.update(options, this.#rows.get(uid), now);
    if (update === 'not-called') return;
    if (update !== 'no-write') this.#write(uid, update);
    if (this.#rules.sweepDue(now)) this.#sweep(now);
  }

  /** A socket of user `uid` closed: late 17 and 18+ write the stored status offline; earlier versions do nothing. */
  socketClosed(uid: number): void {
    const row = this.#rows.get(uid);
    if (row && this.#rules.socketClosed) this.#write(uid, this.#rules.socketClosed(row));
  }

  /** The user's im_status now: `offline` for a user who never polled while logged in. */
  status(uid: number): PresenceStatus {
    return this.#rules.status(this.#rows.get(uid), this.#clock.now());
  }

  /** Every row, by uid. */
  entries(): PresenceEntry[] {
    const now = this.#clock.now();
    return [...this.#rows]
      .sort(([a], [b]) => a - b)
      .map(([uid, row]) => ({ uid, status: this.#rules.status(row, now), lastPoll: row.lastPoll, lastPresence: row.lastPresence }));
  }

  #write(uid: number, row: PresenceRow): void {
    this.#rows.set(uid, row);
    this.#onWrite(uid);
  }

  // 8/9's check_users_disconnection(): every row not offline yet whose last_poll is older than
  // DISCONNECTION_TIMER is written offline. Nothing else ever marks an 8/9 user offline.
  #sweep(now: number): void {
    for (const [uid, row] of this.#rows) {
      if (row.status !== 'offline' && row.lastPoll < now - this.#rules.disconnectionTimerMs) {
        this.#write(uid, { ...row, status: 'offline' });
      }
    }
  }
}
