// The job table in PostgreSQL: queue_job's shape where it matters (uuid, channel, state, dates), a
// trigger that NOTIFYs `queue_job` with the job's uuid on every insert, update and delete (the runner
// listens on the bus's LISTEN connection), and the requeue of jobs a dead runner left behind.
import type pg from 'pg';
import type { Job, JobState, JobTable } from '../jobs';

/** A started or enqueued job not updated for this long belongs to a runner that died. */
export const STALE_AFTER_MS = 60_000;

export const JOBS_SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_job (
  uuid varchar PRIMARY KEY,
  name varchar NOT NULL,
  channel varchar NOT NULL,
  user_id integer NOT NULL,
  state varchar NOT NULL,
  progress integer NOT NULL DEFAULT 0,
  seq integer NOT NULL,
  steps integer NOT NULL,
  step_ms integer NOT NULL,
  fail_at integer,
  result varchar,
  date_created timestamp NOT NULL DEFAULT (now() at time zone 'utc'),
  date_updated timestamp NOT NULL DEFAULT (now() at time zone 'utc')
);
CREATE OR REPLACE FUNCTION queue_job_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('queue_job', COALESCE(NEW.uuid, OLD.uuid));
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS queue_job_notify ON queue_job;
CREATE TRIGGER queue_job_notify AFTER INSERT OR UPDATE OR DELETE ON queue_job FOR EACH ROW EXECUTE PROCEDURE queue_job_notify();`;

interface Row {
  uuid: string;
  name: string;
  channel: string;
  user_id: number;
  state: JobState;
  progress: number;
  seq: number;
  steps: number;
  step_ms: number;
  fail_at: number | null;
  result: string | null;
  created: number;
}

const COLUMNS = `uuid, name, channel, user_id, state, progress, seq, steps, step_ms, fail_at, result, EXTRACT(EPOCH FROM date_created) * 1000 AS created`;
const toJob = (r: Row): Job => ({
  uuid: r.uuid,
  name: r.name,
  channel: r.channel,
  uid: r.user_id,
  state: r.state,
  progress: r.progress,
  seq: r.seq,
  steps: r.steps,
  stepMs: r.step_ms,
  failAt: r.fail_at ?? undefined,
  result: r.result,
  createdAt: Number(r.created),
});

export class PgJobTable implements JobTable {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async insert(job: Job): Promise<void> {
    await this.#pool.query(
      `INSERT INTO queue_job (uuid, name, channel, user_id, state, progress, seq, steps, step_ms, fail_at, result) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [job.uuid, job.name, job.channel, job.uid, job.state, job.progress, job.seq, job.steps, job.stepMs, job.failAt ?? null, job.result],
    );
  }

  async update(job: Job, expected?: JobState): Promise<boolean> {
    const result = await this.#pool.query(
      `UPDATE queue_job SET state = $2, progress = $3, seq = $4, result = $5, date_updated = now() at time zone 'utc' WHERE uuid = $1${expected ? ' AND state = $6' : ''}`,
      [job.uuid, job.state, job.progress, job.seq, job.result, ...(expected ? [expected] : [])],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async notDone(): Promise<Job[]> {
    const result = await this.#pool.query<Row>(`SELECT ${COLUMNS} FROM queue_job WHERE state IN ('pending', 'enqueued', 'started') ORDER BY date_created`);
    return result.rows.map(toJob);
  }

  async requeueStale(): Promise<number> {
    const result = await this.#pool.query(
      `UPDATE queue_job SET state = 'pending', seq = seq + 1, date_updated = now() at time zone 'utc'
        WHERE state IN ('started', 'enqueued') AND date_updated < (now() at time zone 'utc') - $1 * interval '1 millisecond'`,
      [STALE_AFTER_MS],
    );
    return result.rowCount ?? 0;
  }

  async all(): Promise<Job[]> {
    const result = await this.#pool.query<Row>(`SELECT ${COLUMNS} FROM queue_job ORDER BY date_created`);
    return result.rows.map(toJob);
  }
}
