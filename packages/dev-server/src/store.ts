// The in-memory stand-in for Odoo's bus_bus table and its LISTEN/NOTIFY dispatcher.
//
// Rows keep channel and message as the JSON strings Odoo stores; polls match channels by exact
// string. Ids come from one counter across all channels, like the table's serial id. A batch
// insert is one "transaction": waiters are woken once, after every row of the batch exists,
// the way Odoo's NOTIFY runs after commit.
//
// A server may serve several databases (Odoo without a dbfilter): each row belongs to one and a
// poll reads only its own database's rows, as each database has its own bus_bus table. Waking is by
// channel alone, as Odoo's one dispatcher per process does: on 8–14 a client channel carries no
// database, so a row on "chat" in one database wakes the "chat" polls of the other, which then read
// nothing new and answer []. The ids come from one counter for every database (Odoo: one sequence
// per database), the worst case for a client that reads another database with its old cursor.
import type { Clock } from './clock';

export interface BusRow {
  readonly id: number;
  /** JSON as stored in bus_bus.channel, e.g. `["tabbus","broadcast"]` (15) or `"chat"` (8–14). */
  readonly channel: string;
  /** JSON as stored in bus_bus.message. */
  readonly message: string;
  /** Clock time of the insert, in ms. */
  readonly createDate: number;
  /** The database whose bus_bus holds the row; absent: the server's first database. */
  readonly db?: string;
}

export interface NewRow {
  readonly channel: string;
  readonly message: string;
  /** The database to insert into; absent: the server's first database. */
  readonly db?: string;
}

export interface BusStoreOptions {
  readonly clock: Clock;
  /** `last == 0` returns rows younger than this (Odoo's TIMEOUT, 50 s). */
  readonly catchUpMs: number;
  /** Rows older than this are deleted (Odoo: 2 × TIMEOUT = 100 s). */
  readonly gcAgeMs: number;
  /** The server's first database: rows and selects that name none belong to it (default `tabbus`). */
  readonly db?: string;
}

type Wake = () => void;

export class BusStore {
  readonly #clock: Clock;
  readonly #catchUpMs: number;
  readonly #gcAgeMs: number;
  readonly #db: string;
  // Sorted by id: ids only grow, and a row committed late goes in at its id's place.
  #rows: BusRow[] = [];
  #lastId = 0;
  // channel → callbacks of the polls waiting on it (Odoo registers one Event per channel).
  readonly #waiters = new Map<string, Set<Wake>>();
  // Rows of transactions not committed yet: their ids are taken, nobody reads them.
  readonly #uncommitted = new Map<number, BusRow>();

  constructor(options: BusStoreOptions) {
    this.#clock = options.clock;
    this.#catchUpMs = options.catchUpMs;
    this.#gcAgeMs = options.gcAgeMs;
    this.#db = options.db ?? 'tabbus';
  }

  /** The largest id ever handed out (0 before the first insert), even if GC removed that row. */
  get lastId(): number {
    return this.#lastId;
  }

  /** Rows currently stored. */
  get size(): number {
    return this.#rows.length;
  }

  /** Inserts the rows as one transaction and returns their ids, then wakes the waiting polls. */
  insert(rows: readonly NewRow[]): number[] {
    // Odoo 8 collected garbage while sending; doing it here keeps memory bounded without a timer.
    this.gc();
    const createDate = this.#clock.now();
    const ids: number[] = [];
    for (const row of rows) {
      const id = ++this.#lastId;
      this.#rows.push({ id, channel: row.channel, message: row.message, createDate, db: row.db ?? this.#db });
      ids.push(id);
    }
    this.#notify(new Set(rows.map((row) => row.channel)));
    return ids;
  }

  /**
   * Inserts the rows in a transaction that stays open: their ids are taken now (a later insert gets higher
   * ids), but no poll or socket reads them until {@link commit}. This is how Odoo ends up committing a
   * lower id after a higher one, when two transactions run side by side.
   */
  insertUncommitted(rows: readonly NewRow[]): number[] {
    const createDate = this.#clock.now();
    return rows.map((row) => {
      const id = ++this.#lastId;
      this.#uncommitted.set(id, { id, channel: row.channel, message: row.message, createDate, db: row.db ?? this.#db });
      return id;
    });
  }

  /**
   * Commits rows of {@link insertUncommitted} (`ids`, or all of them), as one transaction: each goes in
   * at its id's place and the polls waiting on their channels wake once. Returns the ids committed, in
   * order; ids that are not uncommitted rows are ignored.
   */
  commit(ids: readonly number[] = [...this.#uncommitted.keys()]): number[] {
    const rows = ids.flatMap((id) => this.#uncommitted.get(id) ?? []).sort((a, b) => a.id - b.id);
    for (const row of rows) {
      this.#uncommitted.delete(row.id);
      this.#rows.splice(this.#firstIndexAfter(row.id), 0, row);
    }
    if (rows.length > 0) this.#notify(new Set(rows.map((row) => row.channel)));
    return rows.map((row) => row.id);
  }

  /** Ids of rows inserted and not committed yet, ascending. */
  get uncommittedIds(): number[] {
    return [...this.#uncommitted.keys()].sort((a, b) => a - b);
  }

  /**
   * Rows another writer inserted (the PostgreSQL table, read after a NOTIFY), with their own ids: those
   * above the newest id held are appended in id order, then their waiters are woken once.
   */
  absorb(rows: readonly BusRow[]): void {
    const fresh = rows.filter((row) => row.id > this.#lastId).sort((a, b) => a.id - b.id);
    if (fresh.length === 0) return;
    this.gc();
    for (const row of fresh) {
      if (row.id <= this.#lastId) continue;
      this.#rows.push(row.db === undefined ? { ...row, db: this.#db } : row);
      this.#lastId = row.id;
    }
    this.#notify(new Set(fresh.map((row) => row.channel)));
  }

  /**
   * Odoo's catch-up rule: `last == 0` → rows on `channels` created in the last 50 s; otherwise
   * rows with `id > last`. Id ascending. Only the rows of database `db` (default: the first one).
   */
  select(channels: readonly string[], last: number, db: string = this.#db): BusRow[] {
    const wanted = new Set(channels);
    if (last === 0) {
      const since = this.#clock.now() - this.#catchUpMs;
      return this.#rows.filter((row) => row.createDate > since && wanted.has(row.channel) && row.db === db);
    }
    const result: BusRow[] = [];
    for (let i = this.#firstIndexAfter(last); i < this.#rows.length; i++) {
      const row = this.#rows[i]!;
      if (wanted.has(row.channel) && row.db === db) result.push(row);
    }
    return result;
  }

  /** Deletes rows older than the GC age (strictly: `create_date < now − age`). Returns the count. */
  gc(): number {
    const cutoff = this.#clock.now() - this.#gcAgeMs;
    const before = this.#rows.length;
    this.#rows = this.#rows.filter((row) => row.createDate >= cutoff);
    return before - this.#rows.length;
  }

  /** Calls `wake` (at most once per insert batch) when a row lands on one of `channels`. */
  listen(channels: readonly string[], wake: Wake): () => void {
    for (const channel of channels) {
      let set = this.#waiters.get(channel);
      if (!set) this.#waiters.set(channel, (set = new Set()));
      set.add(wake);
    }
    return () => {
      for (const channel of channels) {
        const set = this.#waiters.get(channel);
        set?.delete(wake);
        if (set?.size === 0) this.#waiters.delete(channel);
      }
    };
  }

  #notify(channels: ReadonlySet<string>): void {
    const toWake = new Set<Wake>();
    for (const channel of channels) for (const wake of this.#waiters.get(channel) ?? []) toWake.add(wake);
    for (const wake of toWake) wake();
  }

  // Binary search: index of the first row with id > last.
  #firstIndexAfter(last: number): number {
    let lo = 0;
    let hi = this.#rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#rows[mid]!.id > last) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
