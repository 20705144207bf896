import { formatBytes } from "../backfill/settings.js";
import type { LatencySummary } from "./latency.js";
import type { RehearsalReport } from "./rehearsal.js";

/** The rehearsal report for people: the verdict first, then the figures behind it. */
export function formatReport(report: RehearsalReport): string {
  const latency = (name: string, l: LatencySummary) =>
    `  ${name.padEnd(7)} p50 ${l.p50Ms.toFixed(1)}ms  p99 ${l.p99Ms.toFixed(1)}ms  max ${l.maxMs.toFixed(1)}ms  (${l.queries.toLocaleString("en-US")} queries)`;
  const lines = [
    `rehearsal of ${report.migration}: ${report.ok ? "PASSED" : "FAILED"}`,
    ...report.problems.map((p) => `  problem: ${p}`),
    `source: ${report.source}; PostgreSQL ${report.postgres}, a primary and ${report.nodes.replicas} replica(s)`,
    `tables: ${report.tables.map((t) => `${t.table} (${t.rows.toLocaleString("en-US")} rows)`).join(", ") || "none"}`,
    ...(report.masked.length > 0 ? [`masked: ${report.masked.map((m) => `${m.table}.${m.column} (${m.rule})`).join(", ")}`] : []),
    "faults:",
    ...report.faults.map((f) => `  ${f.fault.padEnd(9)} ${f.injected ? `at ${f.atSeconds}s: ` : ""}${f.detail}`),
    "underway runs:",
    ...report.runs.map((r) => `  ${r.command.padEnd(9)} ${r.outcome}`),
    `failed queries: ${report.failedQueries} (and ${report.outageErrors} lost connections during injected outages)`,
    `lost writes: ${report.lostWrites} (${report.ledgerWrites.toLocaleString("en-US")} writes in the ledger, ${report.acknowledgedWrites.toLocaleString("en-US")} acknowledged to clients)`,
    "latency:",
    latency("before", report.latency.before),
    latency("during", report.latency.during),
    latency("after", report.latency.after),
    `max replica lag: ${report.maxReplicaLagBytes === null ? "n/a" : formatBytes(report.maxReplicaLagBytes)}`,
    `longest lock held by underway: ${report.longestLock ? `${report.longestLock.ms}ms ${report.longestLock.mode} on ${report.longestLock.relation}` : "none seen (sampled every 100ms)"}`,
    `duration: ${report.durationSeconds}s`,
  ];
  if (report.errors.length > 0) {
    lines.push("first errors:", ...report.errors.map((e) => `  ${e.outage ? "(outage) " : ""}${e.version} x${e.count}: ${e.message}`));
  }
  if (report.warnings.length > 0) lines.push("warnings:", ...report.warnings.map((w) => `  ${w}`));
  return lines.join("\n");
}
