import { createRequire } from "node:module";
import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { JobState } from "../backfill/job-store.js";
import type { ForegroundReading } from "../backfill/foreground.js";
import type { ThrottleReason } from "../backfill/throttle-monitor.js";
import type { VerifyReport } from "../verify/verify.js";
import type { Action } from "../plan/step.js";
import { OBSERVED_PHASES, type ObservedPhase } from "./phase.js";

const require = createRequire(import.meta.url);

export const THROTTLE_REASONS: readonly ThrottleReason[] = ["replica-lag", "max-rate", "lock-wait", "throttle-query", "foreground"];
const JOB_STATES: readonly JobState[] = ["running", "paused", "throttled", "interrupted", "done", "failed", "cancelled"];

/** One reading of a backfill job's progress, from a progress event or from the state schema. */
export interface BackfillSample {
  migration: string;
  table: string;
  rowsDone: number;
  rowsTotal: number;
  rowsPerSecond: number;
  /** Null: unknown (not running). Computed from the rate when left out. */
  etaSeconds?: number | null;
  throttledBy: ThrottleReason | null;
  /** When it was read, in ms since the epoch: throttled time is counted between readings. */
  at: number;
}

export interface MetricsOptions {
  /** Also export the process's CPU, memory and event-loop metrics (prefixed `underway_`). */
  processMetrics?: boolean;
}

/**
 * underway's Prometheus metrics, in a registry of their own (so a library user's global
 * registry is left alone and several can live in one process). Everything is named
 * `underway_*`; `docs/observe.md` lists each metric and where it comes from.
 *
 * Fed by `metricsListener` (events of a migration this process runs) or, in the
 * dashboard, by the state poller (any process's migration, read from the state schema).
 *
 * @example
 * const metrics = createMetrics();
 * const migrator = new Migrator({ databaseUrl, onEvent: metricsListener(metrics) });
 * // ... serve `await metrics.text()` as `metrics.contentType` on /metrics
 */
export class MigrationMetrics {
  readonly registry: Registry;
  readonly rowsBackfilled: Counter<"migration" | "table">;
  readonly rowsEstimated: Gauge<"migration" | "table">;
  readonly rowsRemaining: Gauge<"migration" | "table">;
  readonly rowsPerSecond: Gauge<"migration" | "table">;
  readonly etaSeconds: Gauge<"migration" | "table">;
  readonly throttledSeconds: Counter<"migration" | "table" | "reason">;
  readonly throttled: Gauge<"migration" | "table" | "reason">;
  readonly jobState: Gauge<"migration" | "table" | "state">;
  readonly foregroundTps: Gauge<"migration" | "table">;
  readonly foregroundImpact: Gauge<"migration" | "table">;
  readonly backfillDuty: Gauge<"migration" | "table">;
  readonly replicaLagBytes: Gauge;
  readonly replicas: Gauge;
  readonly phase: Gauge<"migration" | "phase">;
  readonly stepsDone: Gauge<"migration" | "action">;
  readonly steps: Gauge<"migration" | "action">;
  readonly lockRetries: Counter<"migration" | "action">;
  readonly lockWaitSeconds: Histogram<"action">;
  readonly verifyMismatchedRows: Gauge<"migration" | "table">;
  readonly verifyRowsChecked: Gauge<"migration" | "table">;
  readonly verifyRuns: Counter<"migration" | "result">;
  private readonly lastReading = new Map<string, { rowsDone: number; at: number; throttledBy: ThrottleReason | null }>();

  constructor(options: MetricsOptions = {}) {
    // prom-client (CommonJS) is required by the first metrics made, not by `import "underway"`.
    const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = require("prom-client") as typeof import("prom-client");
    this.registry = new Registry();
    const registers = [this.registry];
    const jobLabels = ["migration", "table"] as const;
    this.rowsBackfilled = new Counter({
      name: "underway_backfill_rows_total",
      help: "Rows the backfill job has rewritten (all workers of all processes), by table",
      labelNames: jobLabels,
      registers,
    });
    this.rowsEstimated = new Gauge({
      name: "underway_backfill_rows_estimated",
      help: "Rows the backfill job expects to rewrite (planner estimate when it began, or rows done if larger)",
      labelNames: jobLabels,
      registers,
    });
    this.rowsRemaining = new Gauge({
      name: "underway_backfill_rows_remaining",
      help: "Rows the backfill job still has to rewrite (from the estimate)",
      labelNames: jobLabels,
      registers,
    });
    this.rowsPerSecond = new Gauge({
      name: "underway_backfill_rows_per_second",
      help: "Backfill rate, smoothed over the last few seconds",
      labelNames: jobLabels,
      registers,
    });
    this.etaSeconds = new Gauge({
      name: "underway_backfill_eta_seconds",
      help: "Seconds until the backfill job is done at its current rate (absent when it is not running)",
      labelNames: jobLabels,
      registers,
    });
    this.throttledSeconds = new Counter({
      name: "underway_backfill_throttled_seconds_total",
      help: "Seconds the backfill job held back, by the signal that held it",
      labelNames: [...jobLabels, "reason"],
      registers,
    });
    this.throttled = new Gauge({
      name: "underway_backfill_throttled",
      help: "1 for the signal holding the backfill job back right now, 0 for the others",
      labelNames: [...jobLabels, "reason"],
      registers,
    });
    this.jobState = new Gauge({
      name: "underway_backfill_job_state",
      help: "1 for the backfill job's current state (running, paused, throttled, interrupted, done, failed, cancelled)",
      labelNames: [...jobLabels, "state"],
      registers,
    });
    this.foregroundTps = new Gauge({
      name: "underway_foreground_write_tps",
      help: "The application's write transactions per second, as the backfill's foreground guard counts them (the server's, less the backfill's own)",
      labelNames: jobLabels,
      registers,
    });
    this.foregroundImpact = new Gauge({
      name: "underway_foreground_impact_ratio",
      help: "The application's write rate while a batch runs over its rate while none does (absent until measured)",
      labelNames: jobLabels,
      registers,
    });
    this.backfillDuty = new Gauge({
      name: "underway_backfill_duty_ratio",
      help: "The share of time the foreground guard lets the backfill's batches run (1: no limit)",
      labelNames: jobLabels,
      registers,
    });
    this.replicaLagBytes = new Gauge({
      name: "underway_replica_lag_bytes",
      help: "Largest replica replay lag behind the primary, in bytes (0 when no replica streams)",
      registers,
    });
    this.replicas = new Gauge({
      name: "underway_replicas",
      help: "Streaming replicas the primary reports in pg_stat_replication",
      registers,
    });
    this.phase = new Gauge({
      name: "underway_migration_phase",
      help: "1 for the migration's current phase (started, backfilling, ready, completing, completed, rolling_back, rolled_back), 0 for the others",
      labelNames: ["migration", "phase"],
      registers,
    });
    this.stepsDone = new Gauge({
      name: "underway_migration_steps_done",
      help: "Steps of the action (start, complete, rollback) finished so far",
      labelNames: ["migration", "action"],
      registers,
    });
    this.steps = new Gauge({
      name: "underway_migration_steps",
      help: "Steps the action (start, complete, rollback) has in all",
      labelNames: ["migration", "action"],
      registers,
    });
    this.lockRetries = new Counter({
      name: "underway_ddl_lock_retries_total",
      help: "DDL attempts that gave up on lock_timeout (or a deadlock) and were retried",
      labelNames: ["migration", "action"],
      registers,
    });
    this.lockWaitSeconds = new Histogram({
      name: "underway_ddl_lock_wait_seconds",
      help: "How long each DDL attempt that was retried waited for its locks before giving up",
      labelNames: ["action"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.verifyMismatchedRows = new Gauge({
      name: "underway_verify_mismatched_rows",
      help: "Rows whose old and new representations disagreed in the last verification, by table",
      labelNames: jobLabels,
      registers,
    });
    this.verifyRowsChecked = new Gauge({
      name: "underway_verify_rows_checked",
      help: "Rows the last verification checked, by table",
      labelNames: jobLabels,
      registers,
    });
    this.verifyRuns = new Counter({
      name: "underway_verify_runs_total",
      help: "Verifications run, by result (ok or mismatch)",
      labelNames: ["migration", "result"],
      registers,
    });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: "underway_" });
  }

  /** The exposition format's content type, for the `/metrics` response. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Records a reading of a backfill job. The rows counter follows the job's rows done
   * (it never goes down: a job started afresh only adds its new rows), and the time since
   * the previous reading counts as throttled by whatever held the job then.
   */
  /** What the backfill's foreground guard sees (progress events of a job this process runs). */
  foreground(migration: string, table: string, reading: ForegroundReading): void {
    const labels = { migration, table };
    this.foregroundTps.set(labels, reading.tps);
    if (reading.impact === null) this.foregroundImpact.remove(labels);
    else this.foregroundImpact.set(labels, reading.impact);
    this.backfillDuty.set(labels, reading.duty);
  }

  backfill(sample: BackfillSample): void {
    const labels = { migration: sample.migration, table: sample.table };
    const key = `${sample.migration}\u0000${sample.table}`;
    const last = this.lastReading.get(key);
    const gained = sample.rowsDone - (last?.rowsDone ?? 0);
    this.rowsBackfilled.inc(labels, Math.max(0, gained));
    if (last?.throttledBy && sample.at > last.at) {
      this.throttledSeconds.inc({ ...labels, reason: last.throttledBy }, (sample.at - last.at) / 1000);
    }
    this.lastReading.set(key, { rowsDone: sample.rowsDone, at: sample.at, throttledBy: sample.throttledBy });

    const total = Math.max(sample.rowsTotal, sample.rowsDone);
    const remaining = Math.max(0, total - sample.rowsDone);
    this.rowsEstimated.set(labels, total);
    this.rowsRemaining.set(labels, remaining);
    this.rowsPerSecond.set(labels, sample.rowsPerSecond);
    const eta =
      sample.etaSeconds !== undefined ? sample.etaSeconds : remaining === 0 ? 0 : sample.rowsPerSecond > 0 ? remaining / sample.rowsPerSecond : null;
    if (eta === null) this.etaSeconds.remove(labels);
    else this.etaSeconds.set(labels, eta);
    for (const reason of THROTTLE_REASONS) {
      this.throttled.set({ ...labels, reason }, reason === sample.throttledBy ? 1 : 0);
      // Every reason shows, at zero until it first holds the job, so rate() sees it start.
      this.throttledSeconds.inc({ ...labels, reason }, 0);
    }
  }

  /** The job's state as `jobs` tells it (from the state schema). */
  backfillState(migration: string, table: string, state: JobState): void {
    for (const s of JOB_STATES) this.jobState.set({ migration, table, state: s }, s === state ? 1 : 0);
  }

  /** Replica replay lag; null when no replica streams (or their positions are hidden). */
  replicaLag(bytes: number | null, replicas: number): void {
    this.replicaLagBytes.set(bytes ?? 0);
    this.replicas.set(replicas);
  }

  migrationPhase(migration: string, phase: ObservedPhase): void {
    for (const p of OBSERVED_PHASES) this.phase.set({ migration, phase: p }, p === phase ? 1 : 0);
  }

  migrationSteps(migration: string, action: Action, done: number, total: number): void {
    this.stepsDone.set({ migration, action }, done);
    this.steps.set({ migration, action }, total);
  }

  /** A DDL attempt that waited `waitedSeconds` for its locks, gave up and is retried. */
  lockRetry(migration: string, action: Action, waitedSeconds: number): void {
    this.lockRetries.inc({ migration, action });
    this.lockWaitSeconds.observe({ action }, Math.max(0, waitedSeconds));
  }

  /** The outcome of a verification (`underway verify`, or the one `complete` runs first). */
  verified(migration: string, report: VerifyReport): void {
    for (const table of report.tables) {
      this.verifyMismatchedRows.set({ migration, table: table.table }, table.mismatches);
      this.verifyRowsChecked.set({ migration, table: table.table }, table.rowsChecked);
    }
    this.verifyRuns.inc({ migration, result: report.ok ? "ok" : "mismatch" });
  }

  /**
   * Forgets the gauges of jobs and migrations, keeping the counters: for a reader that
   * sets them all again from a fresh look at the state schema, so a job that went away
   * (rolled back) stops showing.
   */
  clearGauges(): void {
    for (const gauge of [this.rowsEstimated, this.rowsRemaining, this.rowsPerSecond, this.etaSeconds, this.throttled, this.jobState, this.phase, this.stepsDone, this.steps]) {
      gauge.reset();
    }
  }
}

/**
 * A fresh set of underway's metrics in a registry of their own.
 *
 * @example
 * const metrics = createMetrics({ processMetrics: true });
 */
export function createMetrics(options: MetricsOptions = {}): MigrationMetrics {
  return new MigrationMetrics(options);
}
