import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { connect, type Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import { InterruptedError, UnderwayError, describeError } from "../errors.js";
import { stopReason, throwIfStopped } from "../util/interrupt.js";
import type { Backfill, BackfillContext, BackfillResult } from "./backfill.js";
import { runWorker, type WorkerOutcome } from "./backfill-worker.js";
import { chooseBackfillWrite, ourTriggers, type BackfillWrite } from "./direct-write.js";
import { ForegroundGuard } from "./foreground.js";
import { JobStore, type JobRow } from "./job-store.js";
import { choosePaging, estimateRows, nextTransactionId, splitKeyRanges, tablePages, type KeyRange } from "./paging.js";
import { defaultBackfillSettings, type BackfillSettings } from "./settings.js";
import { ThrottleMonitor, type ThrottleReason } from "./throttle-monitor.js";

/** The window the reported rate is measured over. */
const RATE_WINDOW_MS = 5000;

export interface BackfillJobOptions {
  /** Workers in this process. */
  workers?: number;
  /** Settings for a new job, or changes to an existing one's. */
  settings?: Partial<BackfillSettings>;
  /**
   * Whether `settings` change an existing job's too (default true). False when the caller
   * has stored them already: `resume` does, in the transaction that sets the jobs running.
   */
  retune?: boolean;
  /** How long a worker's claim on a range lasts without renewal. */
  leaseSeconds?: number;
  /**
   * Only work on an existing job's free ranges; never create one (`resume --join`, a
   * second process or host helping a running job).
   */
  join?: boolean;
}

/**
 * The backfill as a job: its state (ranges, cursors, settings) lives in the state
 * schema, so it survives the process, and other processes can pause, resume, cancel or
 * retune it, or join it with more workers. The database is the only coordinator.
 */
export class BackfillJob implements Backfill {
  constructor(private readonly options: BackfillJobOptions = {}) {}

  async run(ctx: BackfillContext): Promise<BackfillResult> {
    const started = Date.now();
    const control = await connect(ctx.databaseUrl, { applicationName: "underway backfill control" });
    const store = new JobStore(control, ctx.stateSchema);
    const workers = Math.max(1, this.options.workers ?? 1);
    let monitor: ThrottleMonitor | undefined;
    try {
      let job = await store.find(ctx.schema, ctx.migration, ctx.table);
      if (!job) {
        if (this.options.join) {
          throw new UnderwayError("INVALID_STATE", `no backfill job for ${ctx.table} to join yet`);
        }
        job = await this.createJob(store, control, ctx, workers);
      } else if (this.options.retune !== false && this.options.settings && Object.keys(this.options.settings).length > 0) {
        await store.updateSettings(ctx.schema, ctx.migration, this.options.settings);
        job = (await store.find(ctx.schema, ctx.migration, ctx.table))!;
      }
      if (job.state === "done") return { rows: await store.rowsDone(job.id), batches: 0, seconds: 0 };
      if (job.state === "cancelled" || job.state === "failed") {
        throw new UnderwayError(
          "BACKFILL_ABORTED",
          `backfill of ${ctx.table} is ${job.state}${job.lastError ? ` (${job.lastError})` : ""}; run "underway resume" to continue it or "underway rollback"`,
        );
      }
      if (this.options.join) {
        const { open, heldLive } = await store.remaining(job.id);
        if (open > 0 && heldLive >= open) {
          const owners = (await store.summaries(ctx.schema, ctx.migration)).find((s) => s.table === ctx.table)?.owners ?? [];
          throw new UnderwayError(
            "MIGRATION_LOCKED",
            `every open range of the backfill of ${ctx.table} is held by a live worker (${owners.join(", ")}); nothing to take over until a lease expires`,
          );
        }
      }

      throwIfStopped(ctx.signal, () => `before the backfill of ${ctx.table}`);
      const settings = { current: job.settings };
      const pids = new Set<number>();
      const guard = new ForegroundGuard(() => settings.current.foregroundTarget);
      monitor = new ThrottleMonitor(control, ctx.stateSchema, qualified(ctx.schema, ctx.table), () => settings.current, () => [...pids], guard);
      await monitor.poll();
      monitor.start();

      // Chosen once for the job's workers in this process; a worker that meets a reason to
      // keep the trigger (a failing direct batch, a new trigger) moves to it alone.
      const write = await chooseBackfillWrite(control, ctx.dualWrite);
      let writeNow: BackfillWrite = write;
      const throttles = new Map<number, ThrottleReason | null>();
      let active = workers;
      let batches = 0;
      const stop = { requested: false };
      const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
      const runs: Promise<WorkerOutcome>[] = [];
      for (let i = 0; i < workers; i++) {
        runs.push(
          runWorker({
            databaseUrl: ctx.databaseUrl,
            stateSchema: ctx.stateSchema,
            schema: ctx.schema,
            table: ctx.table,
            jobId: job.id,
            paging: job.paging,
            write,
            guard,
            ourTriggers: ctx.dualWrite ? ourTriggers(ctx.dualWrite) : [],
            onTriggerPath: (reason) => {
              writeNow = { kind: "trigger", reason };
            },
            owner: `${owner}/${i}`,
            leaseSeconds: this.options.leaseSeconds ?? 15,
            monitor,
            settings,
            activeWorkers: () => active,
            onBatch: () => {
              batches++;
            },
            onThrottle: (reason) => throttles.set(i, reason),
            onPid: (pid) => pids.add(pid),
            stop,
            signal: ctx.signal,
          }).then(
            (outcome) => {
              active--;
              return outcome;
            },
            (error: unknown) => {
              active--;
              stop.requested = true;
              throw error;
            },
          ),
        );
      }

      // Progress: rows done from the ranges (all workers of all processes), a smoothed rate.
      const jobId = job.id;
      const rowsTotal = job.rowsTotal;
      // The rate over the last few seconds: it falls to 0 within that window once rows stop
      // moving (a hold, a throttle at zero), so the ETA says unknown rather than hours.
      const samples = [{ at: Date.now(), rows: await store.rowsDone(jobId) }];
      let rate = 0;
      // `finished`: every range is done, so the rows done are the table's rows, not an estimate.
      const report = async (finished = false) => {
        const rows = await store.rowsDone(jobId);
        const total = finished ? rows : Math.max(rowsTotal, rows);
        const paused = (await store.state(jobId))?.state === "paused";
        const now = Date.now();
        if (paused) samples.splice(0, samples.length);
        samples.push({ at: now, rows });
        while (samples.length > 2 && now - samples[1]!.at >= RATE_WINDOW_MS) samples.shift();
        const first = samples[0]!;
        rate = now > first.at ? ((rows - first.rows) * 1000) / (now - first.at) : 0;
        const reasons = [...throttles.values()].filter((r): r is ThrottleReason => r !== null);
        const throttledBy = reasons.length > 0 && reasons.length >= active ? reasons[0]! : null;
        await store.report(jobId, rate, throttledBy, guard.reading());
        const reading = monitor!.current();
        if (reading.throttleQueryError && reading.throttleQueryFailed) {
          const pausedNow = await store.pauseForThrottleQuery(
            jobId,
            reading.throttleQueryFailed,
            `the throttle query fails: ${reading.throttleQueryError}; fix it with "underway throttle --throttle-query ..." (or "none") and run "underway resume"`,
          );
          if (pausedNow) ctx.onProgress?.({ table: ctx.table, rowsDone: rows, rowsTotal: Math.max(rowsTotal, rows), rowsPerSecond: 0, throttledBy: "throttle-query", lagBytes: reading.lagBytes, warning: `backfill paused: the throttle query fails: ${reading.throttleQueryError}` });
        }
        ctx.onProgress?.({
          table: ctx.table,
          rowsDone: rows,
          rowsTotal: total,
          rowsPerSecond: paused ? 0 : rate,
          state: paused ? "paused" : "running",
          throttledBy: paused ? null : throttledBy,
          lagBytes: reading.lagBytes,
          warning: reading.warning,
          write: writeNow.kind === "direct" ? { kind: "direct" } : { kind: "trigger", reason: writeNow.reason },
          foreground: guard.reading(),
        });
      };
      const ticker = setInterval(() => void report().catch(() => undefined), 1000);
      let outcomes: WorkerOutcome[];
      try {
        outcomes = await Promise.all(runs);
      } catch (error) {
        await Promise.allSettled(runs);
        const message = describeError(error);
        await store.finish(jobId, "failed", message).catch(() => undefined);
        throw error instanceof UnderwayError
          ? error
          : new UnderwayError("BACKFILL_ABORTED", `backfill of ${ctx.table} failed: ${message}`, { cause: error });
      } finally {
        clearInterval(ticker);
      }
      await report(outcomes.every((o) => o === "done")).catch(() => undefined);
      if (outcomes.includes("interrupted") && !outcomes.includes("cancelled")) {
        const rows = await store.rowsDone(jobId);
        throw new InterruptedError(
          stopReason(ctx.signal!),
          `during the backfill of ${ctx.table} (${rows.toLocaleString("en-US")} of about ${Math.max(rowsTotal, rows).toLocaleString("en-US")} rows done, every batch's cursor kept)`,
          "",
        );
      }
      if (outcomes.includes("cancelled")) {
        const state = (await store.state(jobId))?.state;
        throw new UnderwayError(
          "BACKFILL_ABORTED",
          `backfill of ${ctx.table} was ${state === "failed" ? "failed by another worker" : "cancelled"}; the migration stays started: run "underway resume" to continue it or "underway rollback"`,
        );
      }
      await store.finish(jobId, "done");
      return { rows: await store.rowsDone(jobId), batches, seconds: (Date.now() - started) / 1000 };
    } finally {
      await monitor?.stop();
      await control.end().catch(() => undefined);
    }
  }

  private async createJob(store: JobStore, client: Client, ctx: BackfillContext, workers: number): Promise<JobRow> {
    const chosen = await choosePaging(client, ctx.schema, ctx.table);
    const paging = chosen.kind === "ctid" ? { ...chosen, since: await nextTransactionId(client) } : chosen;
    const rowsTotal = await estimateRows(client, ctx.schema, ctx.table);
    let ranges: KeyRange[];
    // More ranges than workers, so a joining process or a finished worker finds work.
    const parts = Math.max(workers * 2, 8);
    if (paging.kind === "key") {
      ranges = await splitKeyRanges(client, ctx.schema, ctx.table, paging.columns, parts, rowsTotal);
    } else {
      const pages = await tablePages(client, ctx.schema, ctx.table);
      const step = Math.max(1, Math.ceil(pages / (rowsTotal < 10_000 ? 1 : parts)));
      ranges = [];
      for (let from = 0; from < pages; from += step) {
        ranges.push({ lower: from === 0 ? null : [String(from)], upper: [String(Math.min(pages, from + step))] });
      }
    }
    return store.create(
      { schema: ctx.schema, migration: ctx.migration, table: ctx.table, paging, rowsTotal, settings: { ...defaultBackfillSettings, ...this.options.settings } },
      ranges,
    );
  }
}
