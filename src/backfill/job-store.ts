import type { Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import { localProcess } from "../util/local-process.js";
import type { Key, Paging } from "./paging.js";
import { defaultBackfillSettings, type BackfillSettings } from "./settings.js";
import type { ForegroundReading } from "./foreground.js";
import type { ThrottleReason } from "./throttle-monitor.js";

export type StoredJobState = "running" | "paused" | "done" | "failed" | "cancelled";
/** What `status` and `jobs` report: the stored state, or what it means right now. */
export type JobState = "running" | "paused" | "throttled" | "interrupted" | "done" | "failed" | "cancelled";

export interface JobRow {
  id: number;
  schema: string;
  migration: string;
  table: string;
  state: StoredJobState;
  paging: Paging;
  rowsTotal: number;
  settings: BackfillSettings;
  throttledBy: ThrottleReason | null;
  rowsPerSecond: number;
  lastError: string | null;
  foreground: ForegroundReading | null;
}

export interface RangeRow {
  jobId: number;
  rangeNo: number;
  lower: Key | null;
  upper: Key;
  cursor: Key | null;
  rowsDone: number;
  done: boolean;
  owner: string | null;
}

/** A job as operators see it (`status --json` → `jobs`). */
export interface JobSummary {
  table: string;
  state: JobState;
  rowsDone: number;
  rowsTotal: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
  throttledBy: ThrottleReason | null;
  ranges: number;
  rangesDone: number;
  owners: string[];
  settings: BackfillSettings;
  lastError: string | null;
  /** What the foreground guard saw at the last report, while the job runs: the application's write rate, the batches' impact, the share of time they may run. */
  foreground: ForegroundReading | null;
}

/** Reads and writes backfill jobs and their ranges in the state schema. */
export class JobStore {
  private readonly jobs: string;
  private readonly ranges: string;

  constructor(
    private readonly client: Client,
    stateSchema: string,
  ) {
    this.jobs = qualified(stateSchema, "backfill_jobs");
    this.ranges = qualified(stateSchema, "backfill_ranges");
  }

  async find(schema: string, migration: string, table: string): Promise<JobRow | null> {
    const { rows } = await this.client.query(`SELECT * FROM ${this.jobs} WHERE schema = $1 AND migration = $2 AND table_name = $3`, [
      schema,
      migration,
      table,
    ]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  /** Creates the job and its ranges at once; a concurrent creator's job wins and is returned. */
  async create(
    job: { schema: string; migration: string; table: string; paging: Paging; rowsTotal: number; settings: BackfillSettings },
    ranges: { lower: Key | null; upper: Key }[],
  ): Promise<JobRow> {
    await this.client.query("BEGIN");
    try {
      const { rows } = await this.client.query(
        `INSERT INTO ${this.jobs} (schema, migration, table_name, state, paging, rows_total, settings)
         VALUES ($1, $2, $3, 'running', $4, $5, $6) ON CONFLICT (schema, migration, table_name) DO NOTHING RETURNING *`,
        [job.schema, job.migration, job.table, JSON.stringify(job.paging), job.rowsTotal, JSON.stringify(job.settings)],
      );
      if (rows[0]) {
        const id = rows[0].id as number;
        for (const [i, range] of ranges.entries()) {
          // A job with nothing to do still gets one finished range, so "all ranges done" means done.
          await this.client.query(
            `INSERT INTO ${this.ranges} (job_id, range_no, lower, upper, done) VALUES ($1, $2, $3, $4, $5)`,
            [id, i, range.lower === null ? null : JSON.stringify(range.lower), JSON.stringify(range.upper), false],
          );
        }
        if (ranges.length === 0) {
          await this.client.query(`INSERT INTO ${this.ranges} (job_id, range_no, upper, done) VALUES ($1, 0, '[]', true)`, [id]);
        }
      }
      await this.client.query("COMMIT");
    } catch (error) {
      await this.client.query("ROLLBACK").catch(() => undefined);
      throw error;
    }
    return (await this.find(job.schema, job.migration, job.table))!;
  }

  /**
   * Frees the ranges of workers that ran on this host in a process that is gone (killed,
   * crashed): their leases need not run out before another worker takes the ranges over.
   * Owners are `host:pid:random/worker`.
   */
  async releaseDeadOwners(jobId: number): Promise<number> {
    const { rows } = await this.client.query<{ owner: string }>(
      `SELECT DISTINCT owner FROM ${this.ranges} WHERE job_id = $1 AND NOT done AND owner IS NOT NULL AND lease_expires_at >= now()`,
      [jobId],
    );
    const dead = rows.map((r) => r.owner).filter((owner) => ownerIsGone(owner));
    if (dead.length === 0) return 0;
    const result = await this.client.query(
      `UPDATE ${this.ranges} SET owner = NULL, lease_expires_at = NULL WHERE job_id = $1 AND owner = ANY($2::text[]) AND NOT done`,
      [jobId, dead],
    );
    return result.rowCount ?? 0;
  }

  /** Takes a range nobody holds (or whose holder's lease ran out), or renews one this owner holds. */
  async lease(jobId: number, owner: string, ttlSeconds: number): Promise<RangeRow | null> {
    const { rows } = await this.client.query(
      `UPDATE ${this.ranges} r SET owner = $2, lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
        WHERE (r.job_id, r.range_no) = (
          SELECT job_id, range_no FROM ${this.ranges}
           WHERE job_id = $1 AND NOT done AND (owner IS NULL OR owner = $2 OR lease_expires_at < now())
           ORDER BY (owner = $2) DESC NULLS LAST, range_no
           LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [jobId, owner, ttlSeconds],
    );
    return rows[0] ? toRange(rows[0]) : null;
  }

  /**
   * Moves a range's cursor and renews its lease, in the batch's transaction, only if `owner`
   * still holds the range and its stored cursor is still `range.cursor` (why: `advance` in
   * backfill-worker.ts). `alsoAsk` is a boolean SQL expression the same statement answers,
   * its one value bound to the placeholder it is given.
   */
  async advance(
    range: RangeRow,
    move: { owner: string; rows: number; cursor: Key | null; finished: boolean; leaseSeconds: number },
    alsoAsk?: { sql: (placeholder: string) => string; value: unknown },
  ): Promise<{ moved: boolean; answer: boolean }> {
    const moved = `UPDATE ${this.ranges}
        SET cursor = $4, rows_done = rows_done + $5, done = $6, updated_at = now(),
            lease_expires_at = now() + make_interval(secs => $7)
      WHERE job_id = $1 AND range_no = $2 AND owner = $3 AND NOT done AND cursor IS NOT DISTINCT FROM $8::jsonb`;
    const values = [
      range.jobId,
      range.rangeNo,
      move.owner,
      move.cursor === null ? null : JSON.stringify(move.cursor),
      move.rows,
      move.finished,
      move.leaseSeconds,
      range.cursor === null ? null : JSON.stringify(range.cursor),
    ];
    if (!alsoAsk) return { moved: (await this.client.query(moved, values)).rowCount === 1, answer: false };
    const { rows } = await this.client.query<{ moved: number; answer: boolean }>(
      `WITH moved AS (${moved} RETURNING 1)
       SELECT (SELECT count(*) FROM moved)::int AS moved, ${alsoAsk.sql("$9")} AS answer`,
      [...values, alsoAsk.value],
    );
    return { moved: rows[0]!.moved === 1, answer: rows[0]!.answer };
  }

  async renew(jobId: number, owner: string, ttlSeconds: number): Promise<void> {
    await this.client.query(
      `UPDATE ${this.ranges} SET lease_expires_at = now() + make_interval(secs => $3) WHERE job_id = $1 AND owner = $2 AND NOT done`,
      [jobId, owner, ttlSeconds],
    );
  }

  async release(jobId: number, owner: string): Promise<void> {
    await this.client.query(`UPDATE ${this.ranges} SET owner = NULL, lease_expires_at = NULL WHERE job_id = $1 AND owner = $2`, [
      jobId,
      owner,
    ]);
  }

  /** Ranges not done, and how many of those a live owner holds. */
  async remaining(jobId: number): Promise<{ open: number; heldLive: number }> {
    const { rows } = await this.client.query<{ open: number; held: number }>(
      `SELECT count(*) FILTER (WHERE NOT done)::int AS open,
              count(*) FILTER (WHERE NOT done AND owner IS NOT NULL AND lease_expires_at >= now())::int AS held
         FROM ${this.ranges} WHERE job_id = $1`,
      [jobId],
    );
    return { open: rows[0]!.open, heldLive: rows[0]!.held };
  }

  async state(jobId: number): Promise<{ state: StoredJobState; settings: BackfillSettings } | null> {
    const { rows } = await this.client.query(`SELECT state, settings FROM ${this.jobs} WHERE id = $1`, [jobId]);
    return rows[0] ? { state: rows[0].state, settings: { ...defaultBackfillSettings, ...rows[0].settings } } : null;
  }

  async rowsDone(jobId: number): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(`SELECT coalesce(sum(rows_done), 0)::text AS n FROM ${this.ranges} WHERE job_id = $1`, [jobId]);
    return Number(rows[0]!.n);
  }

  async report(jobId: number, rowsPerSecond: number, throttledBy: ThrottleReason | null, foreground: ForegroundReading | null = null): Promise<void> {
    await this.client.query(`UPDATE ${this.jobs} SET rows_per_second = $2, throttled_by = $3, foreground = $4, updated_at = now() WHERE id = $1`, [
      jobId,
      rowsPerSecond,
      throttledBy,
      foreground === null ? null : JSON.stringify(foreground),
    ]);
  }

  async finish(jobId: number, state: "done" | "failed", error: string | null = null): Promise<void> {
    await this.client.query(
      `UPDATE ${this.jobs} SET state = $2, last_error = $3, throttled_by = NULL, updated_at = now(),
              finished_at = CASE WHEN $2 = 'done' THEN now() END
        WHERE id = $1 AND state NOT IN ('cancelled')`,
      [jobId, state, error],
    );
  }

  /**
   * Pauses a running job because its throttle query fails, unless the query was changed
   * meanwhile (the check is against the stored settings, which the operator changes).
   */
  async pauseForThrottleQuery(jobId: number, query: string, error: string): Promise<boolean> {
    const result = await this.client.query(
      `UPDATE ${this.jobs} SET state = 'paused', last_error = $2, updated_at = now()
        WHERE id = $1 AND state = 'running' AND settings ->> 'throttleQuery' = $3`,
      [jobId, error, query],
    );
    return (result.rowCount ?? 0) > 0;
  }

  /** Moves the migration's jobs from one of `from` to `to`; returns the tables changed. */
  async transition(schema: string, migration: string, from: StoredJobState[], to: StoredJobState): Promise<string[]> {
    const { rows } = await this.client.query<{ table_name: string }>(
      `UPDATE ${this.jobs} SET state = $4, last_error = CASE WHEN $4 = 'running' THEN NULL ELSE last_error END, updated_at = now()
        WHERE schema = $1 AND migration = $2 AND state = ANY($3::text[]) RETURNING table_name`,
      [schema, migration, from, to],
    );
    return rows.map((r) => r.table_name);
  }

  async updateSettings(schema: string, migration: string, patch: Partial<BackfillSettings>): Promise<string[]> {
    const { rows } = await this.client.query<{ table_name: string }>(
      `UPDATE ${this.jobs} SET settings = settings || $3::jsonb, updated_at = now()
        WHERE schema = $1 AND migration = $2 AND state <> 'done' RETURNING table_name`,
      [schema, migration, JSON.stringify(patch)],
    );
    return rows.map((r) => r.table_name);
  }

  async remove(schema: string, migration: string): Promise<void> {
    await this.client.query(`DELETE FROM ${this.jobs} WHERE schema = $1 AND migration = $2`, [schema, migration]);
  }

  async summaries(schema: string, migration: string): Promise<JobSummary[]> {
    const { rows } = await this.client.query(
      `SELECT j.*, coalesce(sum(r.rows_done), 0)::text AS rows_done, count(r.*)::int AS ranges,
              count(*) FILTER (WHERE r.done)::int AS ranges_done,
              count(*) FILTER (WHERE r.owner IS NOT NULL AND r.lease_expires_at >= now())::int AS live,
              coalesce(array_agg(DISTINCT r.owner) FILTER (WHERE r.owner IS NOT NULL AND r.lease_expires_at >= now()), '{}') AS owners,
              (j.updated_at > now() - interval '5 seconds') AS fresh
         FROM ${this.jobs} j LEFT JOIN ${this.ranges} r ON r.job_id = j.id
        WHERE j.schema = $1 AND j.migration = $2
        GROUP BY j.id ORDER BY j.id`,
      [schema, migration],
    );
    return rows.map((row) => {
      const job = toJob(row);
      const rowsDone = Number(row.rows_done);
      // A worker of a process on this host that is gone holds its ranges only until its lease runs out.
      const owners = (row.owners as string[]).filter((owner) => !ownerIsGone(owner));
      const live = owners.length === 0 ? 0 : (row.live as number);
      let state: JobState = job.state;
      if (job.state === "running" && (row.ranges_done as number) < (row.ranges as number)) {
        if (live === 0) state = "interrupted";
        else if (job.throttledBy && row.fresh) state = "throttled";
      }
      const remaining = Math.max(0, job.rowsTotal - rowsDone);
      const active = state === "running" || state === "throttled";
      return {
        table: job.table,
        state,
        rowsDone,
        rowsTotal: state === "done" ? rowsDone : Math.max(job.rowsTotal, rowsDone),
        rowsPerSecond: active ? job.rowsPerSecond : 0,
        etaSeconds: state === "done" ? 0 : active && job.rowsPerSecond > 0 ? Math.round(remaining / job.rowsPerSecond) : null,
        throttledBy: state === "throttled" ? job.throttledBy : null,
        ranges: row.ranges as number,
        rangesDone: row.ranges_done as number,
        owners,
        settings: job.settings,
        lastError: job.lastError,
        foreground: active ? job.foreground : null,
      };
    });
  }
}

function toJob(row: Record<string, unknown>): JobRow {
  return {
    id: Number(row.id),
    schema: row.schema as string,
    migration: row.migration as string,
    table: row.table_name as string,
    state: row.state as StoredJobState,
    paging: row.paging as Paging,
    rowsTotal: Number(row.rows_total),
    settings: { ...defaultBackfillSettings, ...(row.settings as Partial<BackfillSettings>) },
    throttledBy: (row.throttled_by as ThrottleReason | null) ?? null,
    rowsPerSecond: Number(row.rows_per_second),
    lastError: (row.last_error as string | null) ?? null,
    foreground: (row.foreground as ForegroundReading | null | undefined) ?? null,
  };
}

function toRange(row: Record<string, unknown>): RangeRow {
  return {
    jobId: Number(row.job_id),
    rangeNo: row.range_no as number,
    lower: (row.lower as Key | null) ?? null,
    upper: row.upper as Key,
    cursor: (row.cursor as Key | null) ?? null,
    rowsDone: Number(row.rows_done),
    done: row.done as boolean,
    owner: (row.owner as string | null) ?? null,
  };
}

/** Whether a worker owner (`host:pid:random/worker`) ran on this host in a process that no longer exists. */
export function ownerIsGone(owner: string): boolean {
  const parsed = parseOwner(owner);
  return parsed !== null && localProcess(parsed.host, parsed.pid) === "gone";
}

/** A worker's owner, `host:pid:tag` or `host:pid:tag/worker`, as its host and pid. */
export function parseOwner(owner: string): { host: string; pid: number } | null {
  const match = /^(.*):(\d+):[0-9a-f]+(?:\/\d+)?$/.exec(owner);
  return match ? { host: match[1]!, pid: Number(match[2]) } : null;
}
