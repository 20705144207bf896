/**
 * How the database commands show what they did: one line of text on stdout, or with
 * `--json` one JSON document, and the text and JSON shapes of the records, jobs and guard
 * that several commands print.
 */
import { displayIdent } from "../db/ident.js";
import type { JobSummary } from "../backfill/job-store.js";
import { formatSeconds } from "../observe/progress-printer.js";
import { describeHolder, type GuardState } from "../run/migration-guard.js";
import type { MigrationRecord } from "../run/migrator.js";
import type { VerifyReport } from "../verify/verify.js";

/** The result on stdout: `json` with `--json`, else `text`. */
export function print(options: { json?: boolean | undefined }, json: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
}

/** The search_path a client of the new version sets: its version schema, then the schema for what is not in it. */
export function searchPathOf(versionSchema: string, schema: string): string {
  return `${displayIdent(versionSchema)}, ${displayIdent(schema)}`;
}

/** The record as `status --json` shows it. */
export function recordJson(record: MigrationRecord) {
  return {
    name: record.name,
    schema: record.schema,
    parent: record.parent,
    phase: record.phase,
    running: record.running,
    versionSchema: record.versionSchema,
    steps: {
      start: { done: record.startDone, total: record.plan.start.length },
      complete: { done: record.completeDone, total: record.plan.complete.length },
      rollback: { done: record.rollbackDone, total: record.plan.rollback.length },
    },
    lastError: record.lastError,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    completedAt: record.completedAt,
  };
}

/** The backfill jobs, a line each, as `jobs` and `status` print them. */
export function jobsText(jobs: JobSummary[]): string {
  if (jobs.length === 0) return "no backfill jobs";
  return jobs
    .map((j) => {
      const pct = j.rowsTotal > 0 ? ((100 * j.rowsDone) / j.rowsTotal).toFixed(1) : "100.0";
      const moving = j.state === "running" || j.state === "throttled";
      const eta = j.etaSeconds !== null ? `, ETA ${formatSeconds(j.etaSeconds)}` : moving ? ", ETA unknown" : "";
      const rate = j.rowsPerSecond > 0 ? `, ${Math.round(j.rowsPerSecond).toLocaleString("en-US")} rows/s` : "";
      const g = j.foreground;
      const guard = j.throttledBy === "foreground" && g ? `: app ${Math.round(g.tps).toLocaleString("en-US")} writes/s, batches ${Math.round(g.duty * 100)}% of the time` : "";
      const why = j.throttledBy ? ` (${j.throttledBy}${guard})` : "";
      const error = j.lastError ? `: ${j.lastError}` : "";
      return `${j.table.padEnd(30)} ${j.state}${why} ${j.rowsDone.toLocaleString("en-US")}/${j.rowsTotal.toLocaleString("en-US")} (${pct}%)${rate}${eta}${error}`;
    })
    .join("\n");
}

/** A job as `status --json` and `jobs --json` show it. */
export function jobJson(j: JobSummary) {
  return {
    table: j.table,
    state: j.state,
    rowsDone: j.rowsDone,
    rowsTotal: j.rowsTotal,
    rowsPerSecond: Math.round(j.rowsPerSecond),
    etaSeconds: j.etaSeconds,
    throttledBy: j.throttledBy,
    ranges: j.ranges,
    rangesDone: j.rangesDone,
    owners: j.owners,
    settings: j.settings,
    lastError: j.lastError,
    foreground: j.foreground,
  };
}

/** The migration guard, as `status` and `unlock` print it. */
export function guardText(guard: GuardState): string {
  if (!guard.held && guard.kind === null) return "guard: free";
  const who = guard.holder
    ? describeHolder(guard.holder)
    : guard.backend
      ? `server pid ${guard.backend.pid} (${guard.backend.application || "no application name"}, ${guard.backend.state ?? "?"}, since ${guard.backend.since})`
      : "unknown";
  const lease = guard.kind === "lease" && guard.holder?.expiresAt ? `, lease until ${guard.holder.expiresAt}` : "";
  return `guard: ${guard.kind === "lease" ? "lease" : "session lock"} held by ${who}${lease}${guard.gone ? ` (its holder is gone: "underway unlock" clears it)` : ""}`;
}

/** One verification in a line: rows checked, mismatches, what could not be verified. */
export function verifySummary(report: VerifyReport): string {
  const rows = report.tables.reduce((n, t) => n + t.rowsChecked, 0);
  const bad = report.tables.reduce((n, t) => n + t.mismatches, 0);
  const skipped = report.tables.reduce((n, t) => n + t.unverifiable.length, 0);
  return `${rows.toLocaleString("en-US")} rows: ${bad} mismatching${skipped ? `, ${skipped} relation(s) not verifiable` : ""}`;
}
