// Odoo's bus on PostgreSQL: the `bus_bus` table, `NOTIFY imbus` after commit, and one dedicated
// `LISTEN imbus` connection per server process that wakes the process's waiting polls and sockets.
//
// Every process keeps the rows of the last 100 s in its memory store (the BusStore), which answers
// polls exactly as the memory server does; PostgreSQL is what the processes share. A NOTIFY makes the
// listener read the rows above the newest it knows and hand them to the store, which wakes whoever
// waits on their channels. The listener survives the database the way the queue_job runner does: it
// waits with a timeout and sends a keep-alive query when idle, and after an error it waits a delay,
// reconnects, listens again and reads everything it missed, so no waiting request misses a row.
import pg from 'pg';
import type { BusRow, BusStore, NewRow } from '../store';
import { JOBS_SCHEMA, PgJobTable } from './pg-jobs';

/** Odoo 15+ splits a NOTIFY payload above this many bytes (PostgreSQL's limit is 8000). */
export const NOTIFY_MAX_BYTES = 8000;
/** The listener's wait: with no NOTIFY for this long it checks the connection and reads anyway. */
export const SELECT_TIMEOUT_MS = 60_000;
/** After a database error, how long the listener waits before it reconnects (the runner's 5 s). */
export const ERROR_RECOVERY_DELAY_MS = 5_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS bus_bus (
  id serial PRIMARY KEY,
  channel varchar NOT NULL,
  message varchar NOT NULL,
  create_date timestamp NOT NULL DEFAULT (now() at time zone 'utc')
);
CREATE TABLE IF NOT EXISTS bus_presence (
  id serial PRIMARY KEY,
  user_id integer NOT NULL UNIQUE,
  last_poll timestamp,
  last_presence timestamp,
  status varchar
);`;

export interface PgBusOptions {
  readonly connectionString: string;
  /** The process's memory store: rows read from the table go there. */
  readonly store: BusStore;
  /** The server clock's now, for the age of rows read at start (the catch-up window counts from it). */
  readonly now: () => number;
  /** Rows older than this are deleted (Odoo: 100 s). */
  readonly gcAgeMs: number;
  readonly recoveryDelayMs?: number;
  readonly selectTimeoutMs?: number;
  readonly onError: (error: unknown, where: string) => void;
  /** Expected trouble the bus recovers from by itself (the database went away); default console.warn. */
  readonly onWarning?: (message: string) => void;
}

/** What the PostgreSQL side did, for /tabbus/stats. */
export interface PgCounters {
  /** NOTIFY messages this process received. */
  notifies: number;
  /** Times the listener connected again after losing the database. */
  reconnects: number;
  /** Presence updates that failed to serialize (swallowed, as Odoo 14+ does). */
  presenceConflicts: number;
  /** Presence updates committed. */
  presenceUpdates: number;
}

/** NOTIFY payloads for these channels: JSON lists, split so none exceeds NOTIFY_MAX_BYTES. */
export function notifyPayloads(channels: readonly string[]): string[] {
  const payloads: string[] = [];
  let batch: string[] = [];
  for (const channel of channels) {
    const next = [...batch, channel];
    if (batch.length > 0 && Buffer.byteLength(JSON.stringify(next)) > NOTIFY_MAX_BYTES) {
      payloads.push(JSON.stringify(batch));
      batch = [channel];
    } else {
      batch = next;
    }
  }
  if (batch.length > 0) payloads.push(JSON.stringify(batch));
  return payloads;
}

export class PgBus {
  readonly #options: PgBusOptions;
  readonly #pool: pg.Pool;
  readonly counters: PgCounters = { notifies: 0, reconnects: 0, presenceConflicts: 0, presenceUpdates: 0 };
  #listener: pg.Client | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** A read of new rows is running; another NOTIFY meanwhile asks for one more after it. */
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #stopped = false;

  constructor(options: PgBusOptions) {
    this.#options = options;
    // A bounded wait for a connection: with the database down, a request fails in seconds instead of hanging.
    this.#pool = new pg.Pool({ connectionString: options.connectionString, max: 20, connectionTimeoutMillis: 3000 });
    // An idle pooled connection that dies (a database restart) must not crash the process.
    this.#pool.on('error', (error) => (options.onWarning ?? console.warn)(`[tabbus dev-server] postgresql pool: ${error.message}`));
  }

  /** Called with the job's uuid on every change of the job table (its trigger's NOTIFY queue_job). */
  onJobChange: ((uuid: string) => void) | undefined;

  /** Creates the tables if needed, reads the rows still in the catch-up window, and starts listening. */
  async start(): Promise<void> {
    await this.#pool.query(SCHEMA);
    await this.#pool.query(JOBS_SCHEMA);
    await this.#listen();
  }

  /** The job table on the same database. */
  jobTable(): PgJobTable {
    return new PgJobTable(this.#pool);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#retryTimer);
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.#pool.end().catch(() => undefined);
  }

  /**
   * A pooled connection, with an error listener while it is checked out: a connection the database drops
   * between two queries emits 'error' on the client, which would otherwise be an uncaught exception.
   * The query in progress (or the next one) rejects, which is where the caller handles it.
   */
  async #connect(): Promise<pg.PoolClient> {
    const client = await this.#pool.connect();
    const ignore = (): void => undefined;
    client.on('error', ignore);
    const release = client.release.bind(client);
    client.release = (destroy?: boolean | Error) => {
      client.off('error', ignore);
      release(destroy);
    };
    return client;
  }

  /** The inserts of this process, one after another (see `insert`). */
  #inserting: Promise<unknown> = Promise.resolve();

  /**
   * Inserts the rows in one transaction and, once committed, notifies every process. Returns the ids.
   * The inserts of one process are serialized: two at once could commit a lower id after a higher one,
   * and a listener that reads above the highest id it has would skip the lower one for good (Odoo
   * 16/17's commit-order hazard; the jobs e2e test hit it with two jobs announced at once).
   */
  insert(rows: readonly NewRow[]): Promise<number[]> {
    const run = this.#inserting.then(() => this.#insertNow(rows));
    this.#inserting = run.catch(() => undefined);
    return run;
  }

  async #insertNow(rows: readonly NewRow[]): Promise<number[]> {
    const client = await this.#connect();
    let ids: number[];
    try {
      await client.query('BEGIN');
      const values = rows.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
      const result = await client.query<{ id: number }>(`INSERT INTO bus_bus (channel, message) VALUES ${values} RETURNING id`, rows.flatMap((r) => [r.channel, r.message]));
      await client.query('COMMIT');
      ids = result.rows.map((r) => r.id).sort((a, b) => a - b);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      throw error;
    }
    try {
      // After the commit, as Odoo's postcommit hook does: a listener woken earlier would not see the rows.
      for (const payload of notifyPayloads([...new Set(rows.map((r) => r.channel))])) await client.query('SELECT pg_notify($1, $2)', ['imbus', payload]);
      client.release();
    } catch (error) {
      // The rows are committed (the database went away right after, or the NOTIFY itself was refused):
      // the publish succeeded, and saying otherwise would make the caller publish again or count them
      // lost. Listeners that missed the NOTIFY read them at their next one, idle check or reconnect.
      client.release(true);
      (this.#options.onWarning ?? console.warn)(`[tabbus dev-server] postgresql notify after commit: ${error instanceof Error ? error.message : String(error)}`);
    }
    return ids;
  }

  /** Deletes rows older than the GC age (Odoo's `_gc_messages`). */
  async gc(): Promise<number> {
    const result = await this.#pool.query(`DELETE FROM bus_bus WHERE create_date < (now() at time zone 'utc') - $1 * interval '1 millisecond'`, [this.#options.gcAgeMs]);
    return result.rowCount ?? 0;
  }

  /**
   * Odoo's presence update for one poll: in its own REPEATABLE READ transaction, read the user's row,
   * then create or update it. Two polls of one user at once conflict; the loser's serialization failure
   * is swallowed and counted, as Odoo 14+ does.
   */
  async updatePresence(uid: number, inactivityMs: number): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.#connect();
    } catch (error) {
      (this.#options.onWarning ?? console.warn)(`[tabbus dev-server] presence update: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      const found = await client.query('SELECT id FROM bus_presence WHERE user_id = $1', [uid]);
      const presence = `(now() at time zone 'utc') - $2 * interval '1 millisecond'`;
      if (found.rowCount === 0) {
        await client.query(`INSERT INTO bus_presence (user_id, last_poll, last_presence, status) VALUES ($1, now() at time zone 'utc', ${presence}, 'online') ON CONFLICT (user_id) DO NOTHING`, [uid, inactivityMs]);
      } else {
        await client.query(`UPDATE bus_presence SET last_poll = now() at time zone 'utc', last_presence = ${presence} WHERE user_id = $1`, [uid, inactivityMs]);
      }
      await client.query('COMMIT');
      this.counters.presenceUpdates++;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if ((error as { code?: string }).code === '40001') this.counters.presenceConflicts++;
      else (this.#options.onWarning ?? console.warn)(`[tabbus dev-server] presence update: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      client.release();
    }
  }

  /** Connects the listener, LISTENs, then reads what it missed. On failure, tries again after the delay. */
  async #listen(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ connectionString: this.#options.connectionString });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the LISTEN connection ended')));
    client.on('notification', (message) => {
      if (message.channel === 'queue_job') return this.onJobChange?.(message.payload ?? '');
      if (message.channel !== 'imbus') return;
      this.counters.notifies++;
      this.#arm();
      void this.#read();
    });
    try {
      await client.connect();
      await client.query('LISTEN imbus');
      await client.query('LISTEN queue_job');
    } catch (error) {
      this.#lost(client, error);
      return;
    }
    this.#listener = client;
    this.#arm();
    // After a reconnect, job changes may have been missed too: the runner looks again.
    this.onJobChange?.('');
    await this.#read();
  }

  /** The listener's wait with a timeout: idle for SELECT_TIMEOUT, it checks the connection and reads. */
  #arm(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      const client = this.#listener;
      if (!client) return;
      client.query('SELECT 1').then(
        () => this.#read(),
        (error: unknown) => this.#lost(client, error),
      );
      this.#arm();
    }, this.#options.selectTimeoutMs ?? SELECT_TIMEOUT_MS);
    this.#idleTimer.unref?.();
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.#stopped || (this.#listener !== client && this.#listener !== undefined)) return;
    if (this.#retryTimer) return;
    this.#listener = undefined;
    clearTimeout(this.#idleTimer);
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    const warn = this.#options.onWarning ?? ((message: string) => console.warn(`[tabbus dev-server] ${message}`));
    warn(`postgresql listener lost (${error instanceof Error ? error.message : String(error)}); reconnecting in ${this.#options.recoveryDelayMs ?? ERROR_RECOVERY_DELAY_MS} ms`);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.counters.reconnects++;
      void this.#listen();
    }, this.#options.recoveryDelayMs ?? ERROR_RECOVERY_DELAY_MS);
  }

  /** Reads the rows above the newest the store holds and hands them over (which wakes their waiters). */
  #read(): Promise<void> {
    if (this.#reading) {
      this.#readAgain = true;
      return this.#reading;
    }
    this.#reading = (async () => {
      do {
        this.#readAgain = false;
        const store = this.#options.store;
        const result = await this.#pool.query<{ id: number; channel: string; message: string; age: number }>(
          `SELECT id, channel, message, EXTRACT(EPOCH FROM ((now() at time zone 'utc') - create_date)) * 1000 AS age
             FROM bus_bus WHERE id > $1 AND create_date >= (now() at time zone 'utc') - $2 * interval '1 millisecond' ORDER BY id`,
          [store.lastId, this.#options.gcAgeMs],
        );
        const now = this.#options.now();
        const rows: BusRow[] = result.rows.map((r) => ({ id: r.id, channel: r.channel, message: r.message, createDate: now - Math.max(0, Number(r.age)) }));
        store.absorb(rows);
      } while (this.#readAgain && !this.#stopped);
    })()
      .catch((error: unknown) => {
        // The pool reconnects by itself; the listener's next NOTIFY, keep-alive or reconnect reads again.
        if (!this.#stopped) (this.#options.onWarning ?? console.warn)(`[tabbus dev-server] postgresql read: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }
}
