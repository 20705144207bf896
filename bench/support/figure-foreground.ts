/**
 * Figures 2 and 3: pgbench's TPS with no migration, with the dual-write trigger, and
 * during a default-throttled backfill, all on pgbench_accounts itself.
 */
import { performance } from "node:perf_hooks";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { bigintMigration, type BenchContext } from "./bench-context.js";
import { backfillProgressLog } from "./backfill-progress.js";
import { watchCpu } from "./cpu-usage.js";
import { pgbenchRun, type PgbenchResult } from "./pgbench.js";
import { figure, foreignNote, type BenchReport, type Figure } from "./report.js";
import { ServerCpuProfile, formatProfile } from "./server-cpu-profile.js";
import { checkpoint } from "./tables.js";

/** The issue's: TPS kept, p99 latency at most doubled (ratio before / during), no second under half. */
const TARGETS = { duringBackfill: 0.85, latency: 0.5, worstSecond: 0.5, trigger: 0.9 };

/**
 * Figures 2 and 3 on pgbench_accounts itself, under pgbench's own load: TPS with no
 * migration, TPS with the dual-write trigger installed (`start` with the backfill
 * deferred), then TPS while `resume` runs the backfill with default settings.
 */
export async function measureForeground(ctx: BenchContext, details: BenchReport["details"]): Promise<Figure[]> {
  const { db, admin, run, log } = ctx;
  const foreign: Record<string, number | null> = {};
  const bench = async (label: string): Promise<PgbenchResult> => {
    log(`pgbench ${label}: -c ${run.clients} -j ${run.threads} -M prepared -T ${run.seconds}`);
    const watch = watchCpu(ctx.postmasterPid);
    const result = await pgbenchRun(ctx.pgbench, ctx.target, run);
    const window = watch();
    foreign[label] = window.foreign;
    if (window.ownSeconds !== null && result.transactions > 0) {
      details[`CPU ms per pgbench transaction ${label} (server + pgbench${label.includes("backfill") ? " + backfill" : ""})`] =
        (window.ownSeconds * 1000) / result.transactions;
    }
    log(`  ${result.tps.toFixed(1)} tps, ${result.latencyMs.toFixed(2)} ms average latency, ${result.failed} failed`);
    return result;
  };

  const warmup = Math.min(10, run.seconds);
  log(`pgbench warm-up: ${warmup} s (not counted)`);
  await pgbenchRun(ctx.pgbench, ctx.target, { ...run, seconds: warmup });

  await checkpoint(admin);
  const without = await bench("without a migration");

  const file = await bigintMigration(ctx.dir, "02_pgbench_bigint", "pgbench_accounts");
  const progress = backfillProgressLog(log);
  const migrator = new Migrator({ databaseUrl: ctx.url, onEvent: progress.onEvent });
  const duringProfile = new ServerCpuProfile(admin);
  log("start with the backfill deferred: dual-write trigger installed, no backfill");
  await migrator.start(file, { backfill: false });
  await checkpoint(admin);
  const withTrigger = await bench("with the dual-write trigger");

  await checkpoint(admin);
  const maxRate = ctx.maxRate;
  log(`resume: the backfill runs with default settings (throttled)${maxRate === null ? "" : ` and maxRate ${maxRate}`}`);
  let backfillEnded: number | undefined;
  let backfillError: unknown;
  const backfill = migrator.resume(maxRate === null ? {} : { settings: { maxRate } }).then(
    () => {
      backfillEnded = performance.now();
    },
    (error: unknown) => {
      backfillEnded = performance.now();
      backfillError = error;
    },
  );
  const rowsDone = async (): Promise<number> => {
    const { rows } = await db.query<{ n: string }>(
      `SELECT coalesce(sum(r.rows_done), 0)::text AS n FROM underway.backfill_ranges r
         JOIN underway.backfill_jobs j ON j.id = r.job_id WHERE j.migration = $1`,
      [file.name],
    );
    return Number(rows[0]!.n);
  };
  // Measure from the first committed batch, not from the job's setup.
  const waitUntil = performance.now() + 120_000;
  while ((await rowsDone()) === 0) {
    if (backfillEnded !== undefined) throw backfillError ?? new Error("the backfill ended before its first batch");
    if (performance.now() > waitUntil) throw new Error("the backfill wrote no batch within 120 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const rowsBefore = await rowsDone();
  progress.reset();
  await duringProfile.start();
  const windowStart = performance.now();
  const during = await bench("during the backfill");
  const windowEnd = performance.now();
  details["CPU by process during the backfill window"] = formatProfile(await duringProfile.stop(), 4);
  const rowsAfter = await rowsDone();
  const throttledShare = progress.throttledShare();
  const coveredSeconds = ((backfillEnded ?? windowEnd) - windowStart) / 1000;
  if (backfillEnded === undefined) {
    log("cancelling the rest of the backfill (its figure is taken)");
    await new Migrator({ databaseUrl: ctx.url }).cancel().catch(() => undefined);
  }
  await backfill;
  if (backfillError !== undefined && !(backfillError instanceof UnderwayError && backfillError.code === "BACKFILL_ABORTED")) throw backfillError;
  // No rollback: the server is thrown away, and pgbench_accounts, left with dead tuples by
  // the backfill, is likely being autovacuumed now, which the DDL would have to wait for.

  const windowSeconds = (windowEnd - windowStart) / 1000;
  const seconds = during.perSecond.slice(1);
  const worst = seconds.length === 0 ? Number.NaN : Math.min(...seconds);
  const belowHalf = seconds.filter((tps) => tps < withTrigger.tps / 2).length;
  const reading = progress.lastForeground();
  const guard = reading
    ? `${reading.tps.toFixed(0)} application write tx/s, impact ${reading.impact === null ? "not measured" : reading.impact.toFixed(2)}, batches allowed ${(reading.duty * 100).toFixed(0)}% of the time`
    : "nothing (no progress report)";
  details["pgbench p99 latency ms without / with trigger / during backfill"] = `${without.p99Ms?.toFixed(2)} / ${withTrigger.p99Ms?.toFixed(2)} / ${during.p99Ms?.toFixed(2)}`;
  details["pgbench tps without migration"] = without.tps;
  details["pgbench tps with trigger"] = withTrigger.tps;
  details["pgbench tps during backfill"] = during.tps;
  details["pgbench latency ms without / with trigger / during backfill"] = `${without.latencyMs.toFixed(2)} / ${withTrigger.latencyMs.toFixed(2)} / ${during.latencyMs.toFixed(2)}`;
  details["throttled backfill rows/s during pgbench"] = (rowsAfter - rowsBefore) / windowSeconds;
  details["throttled backfill: share of progress reports held by a signal"] = throttledShare;
  details["backfill running for the whole pgbench window"] = coveredSeconds >= windowSeconds;

  const coverage =
    coveredSeconds >= windowSeconds
      ? `the backfill ran through the whole ${windowSeconds.toFixed(0)} s window, writing ${Math.round((rowsAfter - rowsBefore) / windowSeconds).toLocaleString("en-US")} rows/s`
      : `WARNING: the backfill finished ${coveredSeconds.toFixed(0)} s into the ${windowSeconds.toFixed(0)} s window; use more --rows or fewer --seconds`;
  return [
    figure({
      id: "2",
      title: `pgbench TPS during a default-throttled backfill${maxRate === null ? "" : ` (maxRate ${maxRate})`} vs before it`,
      unit: "tps",
      value: during.tps,
      baseline: withTrigger.tps,
      target: TARGETS.duringBackfill,
      notes: [
        "baseline: the same trigger installed, no backfill running (the trigger's own cost is figure 3)",
        coverage,
        `${(throttledShare * 100).toFixed(0)}% of the backfill's progress reports in the window were held by a throttle signal`,
        ...foreignNote({ before: foreign["with the dual-write trigger"] ?? null, during: foreign["during the backfill"] ?? null }),
      ],
    }),
    figure({
      id: "2c",
      title: "pgbench p99 latency before the backfill vs during it",
      unit: "ms",
      value: withTrigger.p99Ms ?? Number.NaN,
      baseline: during.p99Ms ?? Number.NaN,
      target: TARGETS.latency,
      notes: ["a ratio of 0.5 is a p99 twice as long during the backfill; from pgbench's log of every transaction"],
    }),
    figure({
      id: "2d",
      title: "pgbench's worst second during the backfill vs its TPS before",
      unit: "tps",
      value: worst,
      baseline: withTrigger.tps,
      target: TARGETS.worstSecond,
      notes: [
        `${belowHalf} of ${during.perSecond.length} seconds below half the TPS before (pgbench -P 1; the first second, still connecting, left out)`,
        `the guard saw ${guard}`,
      ],
    }),
    figure({
      id: "2b",
      title: "pgbench TPS during the backfill vs with no migration",
      unit: "tps",
      value: during.tps,
      baseline: without.tps,
      target: null,
      notes: ["what an application sees overall: figures 2 and 3 together"],
    }),
    figure({
      id: "3",
      title: "pgbench TPS with the dual-write trigger vs without",
      unit: "tps",
      value: withTrigger.tps,
      baseline: without.tps,
      target: TARGETS.trigger,
      notes: [
        "start with the backfill deferred installs the trigger; measured right after the run without it",
        ...foreignNote({ without: foreign["without a migration"] ?? null, with: foreign["with the dual-write trigger"] ?? null }),
      ],
    }),
  ];
}
