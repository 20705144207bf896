import type { Client } from "../db/connection.js";
import { connect, isConnectionLoss, isLockConflict, isReadOnlyRefusal } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import { UnderwayError } from "../errors.js";
import { sleepUnlessStopped } from "../util/interrupt.js";
import { JobStore, type RangeRow } from "./job-store.js";
import { userUpdateTriggersSql, type BackfillWrite } from "./direct-write.js";
import type { ForegroundGuard } from "./foreground.js";
import { ctidBatchSql, keyBatchSql, type Key, type Paging } from "./paging.js";
import type { BackfillSettings } from "./settings.js";
import type { ThrottleMonitor, ThrottleReason } from "./throttle-monitor.js";

/** What a worker needs from the job that runs it. */
export interface WorkerContext {
  databaseUrl: string;
  stateSchema: string;
  schema: string;
  table: string;
  jobId: number;
  paging: Paging;
  /**
   * How batches fill the new columns: the statement itself (skipping the trigger) or the
   * trigger. A worker whose direct batch fails, or finds a row trigger of the table's own
   * created meanwhile, redoes the batch through the trigger and keeps to it.
   */
  write: BackfillWrite;
  /** underway's own triggers on the table, which the check for the table's own leaves out. */
  ourTriggers: string[];
  /** Paces the batches so the application keeps its throughput (shared by the process's workers). */
  guard?: ForegroundGuard;
  /** Called when the worker leaves the direct form for the trigger, with why. */
  onTriggerPath?: (reason: string) => void;
  /** Unique per worker: host, pid and a random part. */
  owner: string;
  leaseSeconds: number;
  monitor: ThrottleMonitor;
  /** The job's settings as last read; the worker refreshes them. */
  settings: { current: BackfillSettings };
  /** Workers of this process running now, to share `maxRate`. */
  activeWorkers: () => number;
  /** Called after each committed batch. */
  onBatch: (rows: number) => void;
  /** Called when the worker holds for a throttle signal, or stops holding (null). */
  onThrottle: (reason: ThrottleReason | null) => void;
  onPid: (pid: number) => void;
  /** Set by the job to stop the worker (e.g. another worker failed). */
  stop: { requested: boolean };
  /** Stops the worker at its next batch boundary, its range released for whoever resumes. */
  signal?: AbortSignal | undefined;
}

export type WorkerOutcome = "done" | "cancelled" | "interrupted";

/**
 * One backfill worker: leases a range, rewrites it batch by batch, each batch in a
 * transaction that also moves the range's cursor and renews the lease (so a crash loses
 * at most the batch in flight, and a worker whose lease was taken over stops at once),
 * then takes the next free range, including one whose owner's lease ran out.
 */
export async function runWorker(ctx: WorkerContext): Promise<WorkerOutcome> {
  let client: Client | undefined;
  let store: JobStore | undefined;
  let lostSince: number | null = null;
  let range: RangeRow | null = null;
  let batchSize = ctx.settings.current.batchMin > 1000 ? ctx.settings.current.batchMin : 1000;
  let pagesPerBatch = 8;
  let lastState = 0;
  let throttled: ThrottleReason | null = null;
  let liveWorkers = ctx.activeWorkers();
  let write = ctx.write;
  const toTrigger = (reason: string) => {
    write = { kind: "trigger", reason };
    ctx.onTriggerPath?.(reason);
  };
  const setThrottle = (reason: ThrottleReason | null) => {
    if (reason !== throttled) {
      throttled = reason;
      ctx.onThrottle(reason);
    }
  };

  const open = async () => {
    client = await connect(ctx.databaseUrl, { applicationName: "underway backfill" });
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    ctx.onPid(rows[0]!.pid);
    store = new JobStore(client, ctx.stateSchema);
  };

  try {
    for (;;) {
      if (ctx.stop.requested) return "cancelled";
      // Between batches: the last one committed with its cursor, so nothing is lost.
      if (ctx.signal?.aborted) return "interrupted";
      try {
        if (!client) await open();
        lostSince = null;
        const s = store!;
        // The job row carries pause/cancel and live settings; read it about twice a second.
        if (Date.now() - lastState > 500) {
          lastState = Date.now();
          const job = await s.state(ctx.jobId);
          if (!job || job.state === "cancelled" || job.state === "failed") {
            await s.release(ctx.jobId, ctx.owner);
            return "cancelled";
          }
          ctx.settings.current = job.settings;
          // maxRate is for the whole job: share it among the live workers of every process.
          if (job.settings.maxRate !== null) liveWorkers = Math.max(1, (await s.remaining(ctx.jobId)).heldLive);
          if (job.state === "paused") {
            await s.renew(ctx.jobId, ctx.owner, ctx.leaseSeconds);
            setThrottle(null);
            await sleepUnlessStopped(250, ctx.signal);
            lastState = 0;
            continue;
          }
        }
        if (!range) {
          await s.releaseDeadOwners(ctx.jobId);
          range = await s.lease(ctx.jobId, ctx.owner, ctx.leaseSeconds);
          if (!range) {
            const { open: left } = await s.remaining(ctx.jobId);
            if (left === 0) return "done";
            // Others hold what is left; wait to take over if one of them dies.
            await sleepUnlessStopped(1000, ctx.signal);
            continue;
          }
        }
        const holding = ctx.monitor.current().holding;
        if (holding) {
          setThrottle(holding);
          await s.renew(ctx.jobId, ctx.owner, ctx.leaseSeconds);
          await sleepUnlessStopped(250, ctx.signal);
          continue;
        }
        const settings = ctx.settings.current;
        const share = settings.maxRate === null ? null : settings.maxRate / Math.max(1, liveWorkers);
        const limit = share === null ? batchSize : Math.max(1, Math.min(batchSize, Math.ceil(share / 4)));
        const started = Date.now();
        ctx.guard?.batchStarted(started);
        let result: BatchResult;
        try {
          result = ctx.paging.kind === "key" ? await keyBatch(client!, s, ctx, write, range, limit) : await ctidBatch(client!, s, ctx, write, range, pagesPerBatch);
        } finally {
          ctx.guard?.batchEnded();
        }
        if (result === "lost") {
          range = null;
          continue;
        }
        if (typeof result === "object" && "redo" in result) {
          // Rolled back: the same batch again, through the trigger.
          toTrigger(result.redo);
          continue;
        }
        ctx.onBatch(result.rows);
        const elapsed = Date.now() - started;
        if (result.finished) range = null;
        else range = { ...range, cursor: result.cursor, rowsDone: range.rowsDone + result.rows };
        // Batch size servo: grow at most x1.5 toward the target time, halve on overshoot.
        if (ctx.paging.kind === "key") {
          if (elapsed > settings.batchTargetMs * 1.5) batchSize = Math.max(settings.batchMin, Math.floor(batchSize / 2));
          else if (elapsed < settings.batchTargetMs) {
            batchSize = Math.min(settings.batchMax, Math.ceil(batchSize * Math.min(1.5, settings.batchTargetMs / Math.max(elapsed, 1))));
          }
        } else if (elapsed > settings.batchTargetMs * 1.5) pagesPerBatch = Math.max(1, Math.floor(pagesPerBatch / 2));
        else if (elapsed < settings.batchTargetMs) pagesPerBatch = Math.min(4096, Math.ceil(pagesPerBatch * 1.5));
        // The longer of the two waits: the rate limit's, and the foreground guard's.
        const rateWait = share === null ? 0 : (result.rows / share) * 1000 - elapsed;
        const guardWait = ctx.guard?.pauseAfter(elapsed, ctx.activeWorkers()) ?? 0;
        if (rateWait > 0 || guardWait > 0) {
          setThrottle(rateWait >= guardWait ? "max-rate" : "foreground");
          await sleepUnlessStopped(Math.max(rateWait, guardWait), ctx.signal);
          continue;
        }
        setThrottle(null);
      } catch (error) {
        if (isLockConflict(error)) {
          batchSize = Math.max(ctx.settings.current.batchMin, Math.floor(batchSize / 2));
          await sleepUnlessStopped(200, ctx.signal);
          continue;
        }
        // A read-only refusal: the address leads, for a moment, to a node that is not a primary
        // (yet): a failover in progress, as is a lost connection; the job only ever ran on a primary.
        if (isConnectionLoss(error) || isReadOnlyRefusal(error)) {
          // Reconnect (a restart or failover behind the same address); the cursor is safe in the database.
          await client?.end().catch(() => undefined);
          client = undefined;
          range = null;
          lostSince ??= Date.now();
          if (Date.now() - lostSince > 120_000) {
            throw new UnderwayError("CONNECTION", `backfill of ${ctx.table}: lost the database for over 2 minutes`, { cause: error });
          }
          await sleepUnlessStopped(1000, ctx.signal);
          continue;
        }
        throw error;
      }
    }
  } finally {
    setThrottle(null);
    if (store) await store.release(ctx.jobId, ctx.owner).catch(() => undefined);
    await client?.end().catch(() => undefined);
  }
}

/** A batch's outcome; `redo`: it was rolled back, to be done again through the trigger (why). */
type BatchResult = "lost" | { redo: string } | { rows: number; cursor: Key | null; finished: boolean };

/**
 * One batch in one transaction. Its settings are the transaction's own (set_config(...,
 * true)), so they hold behind a transaction pooler and never reach another client:
 * `underway.backfill` tells the dual-write trigger to compute every new column of the row
 * from the old ones; `underway.version` does the same for triggers of plans stored by
 * earlier releases; in the direct form, the table's skip setting lets the statement,
 * which computes the new columns itself, pass the trigger. JIT is off: a batch is too
 * short to repay compiling its expressions.
 */
async function inBatch(client: Client, schema: string, write: BackfillWrite, fn: () => Promise<BatchResult>): Promise<BatchResult> {
  await client.query("BEGIN");
  try {
    await client.query(
      `SELECT set_config('underway.backfill', 'on', true), set_config('underway.version', $1, true), set_config('lock_timeout', '2s', true),
              set_config('jit', 'off', true)${write.kind === "direct" ? ", set_config($2, 'on', true)" : ""}`,
      write.kind === "direct" ? [schema, write.setting] : [schema],
    );
    const result = await fn();
    await client.query(result === "lost" || "redo" in (result as object) ? "ROLLBACK" : "COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/**
 * The batch's UPDATE. In the direct form, an error that is not a lock or a lost connection
 * (an `up` that fails for a row, or a value the statement cannot assign where the trigger
 * can) sends the batch back to be done through the trigger, which names the row if it
 * fails too.
 */
async function rewrite(client: Client, write: BackfillWrite, sql: string, values: unknown[]): Promise<number | { redo: string }> {
  try {
    return (await client.query(sql, values)).rowCount ?? 0;
  } catch (error) {
    if (write.kind === "trigger" || isLockConflict(error) || isConnectionLoss(error)) throw error;
    return { redo: `a direct batch failed (${error instanceof Error ? error.message : String(error)})` };
  }
}

/**
 * Moves the range's cursor and renews its lease, only if this worker still owns it and the
 * stored cursor is still the one this batch started from. The second condition matters
 * after a failover the worker's connection survived (behind PgBouncer the client's
 * connection stays while the pooler's server connection changes): the last batches the
 * old primary committed may never have reached the new one, which then holds an older
 * cursor than the worker's; the batch is lost, and the range is leased again from the
 * cursor the database has, rather than skipping the rows those batches rewrote. In the
 * direct form it also reads, under the batch's lock on the table, whether a row trigger of
 * the table's own now fires on UPDATE (created since the job began): the batch is then
 * redone through the trigger, which fires it as the trigger path always has.
 */
async function advance(
  store: JobStore,
  ctx: WorkerContext,
  write: BackfillWrite,
  range: RangeRow,
  rows: number,
  cursor: Key | null,
  finished: boolean,
): Promise<"ok" | "lost" | { redo: string }> {
  const move = { owner: ctx.owner, rows, cursor, finished, leaseSeconds: ctx.leaseSeconds };
  if (write.kind === "trigger") return (await store.advance(range, move)).moved ? "ok" : "lost";
  const userTriggers = { sql: (placeholder: string) => userUpdateTriggersSql(placeholder, ctx.ourTriggers), value: qualified(ctx.schema, ctx.table) };
  const { moved, answer } = await store.advance(range, move, userTriggers);
  if (answer) return { redo: `${ctx.table} now has a row trigger of its own on UPDATE` };
  return moved ? "ok" : "lost";
}

async function keyBatch(client: Client, store: JobStore, ctx: WorkerContext, write: BackfillWrite, range: RangeRow, limit: number): Promise<BatchResult> {
  if (ctx.paging.kind !== "key") throw new Error("keyBatch needs key paging");
  const columns = ctx.paging.columns;
  const after = range.cursor ?? range.lower;
  const sql = keyBatchSql(ctx.schema, ctx.table, columns, ctx.paging.touch, after !== null, write.kind === "direct" ? write.set : undefined);
  return inBatch(client, ctx.schema, write, async () => {
    const { rows } = await client.query<{ selected: number; last: string[] | null }>(sql.bound, [...range.upper, ...(after ?? []), limit]);
    const { selected, last } = rows[0]!;
    const finished = selected < limit || last === null;
    let touched = 0;
    if (last !== null) {
      const result = await rewrite(client, write, sql.update, [...last, ...(after ?? [])]);
      if (typeof result === "object") return result;
      touched = result;
    }
    const cursor = last ?? after;
    const moved = await advance(store, ctx, write, range, touched, cursor, finished);
    return moved === "ok" ? { rows: touched, cursor, finished } : moved;
  });
}

async function ctidBatch(client: Client, store: JobStore, ctx: WorkerContext, write: BackfillWrite, range: RangeRow, pages: number): Promise<BatchResult> {
  if (ctx.paging.kind !== "ctid") throw new Error("ctidBatch needs ctid paging");
  const from = Number((range.cursor ?? range.lower ?? ["0"])[0]);
  const end = Number(range.upper[0]);
  const to = Math.min(end, from + pages);
  const since = ctx.paging.since;
  const sql = ctidBatchSql(ctx.schema, ctx.table, ctx.paging.touch, since, write.kind === "direct" ? write.set : undefined);
  return inBatch(client, ctx.schema, write, async () => {
    const result = await rewrite(client, write, sql, since === undefined ? [`(${from},0)`, `(${to},0)`] : [`(${from},0)`, `(${to},0)`, since]);
    if (typeof result === "object") return result;
    const finished = to >= end;
    const moved = await advance(store, ctx, write, range, result, [String(to)], finished);
    return moved === "ok" ? { rows: result, cursor: [String(to)], finished } : moved;
  });
}
