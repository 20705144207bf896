import { formatBytes } from "../backfill/settings.js";
import type { LatencySummary } from "../harness/latency.js";
import type { FaultRecord, RehearsalReport } from "./rehearsal.js";

/** What the application saw of a fault, and where the backfill stood after it. */
function faultFigures(f: FaultRecord): string {
  const parts: string[] = [];
  if (f.noWritesSeconds !== undefined) parts.push(f.noWritesSeconds === null ? "the application's writes did not come back within 30s" : `the application could not write for ${f.noWritesSeconds.toFixed(1)}s`);
  if (f.backfillRowsDone !== undefined) parts.push(`backfill at ${f.backfillRowsDone.toLocaleString("en-US")} rows after it`);
  return parts.length > 0 ? ` (${parts.join("; ")})` : "";
}

/** The rehearsal report for people: the verdict first, then the figures behind it. */
export function formatReport(report: RehearsalReport): string {
  const latency = (name: string, l: LatencySummary) =>
    `  ${name.padEnd(7)} p50 ${l.p50Ms.toFixed(1)}ms  p99 ${l.p99Ms.toFixed(1)}ms  max ${l.maxMs.toFixed(1)}ms  (${l.queries.toLocaleString("en-US")} queries)`;
  const width = Math.max(9, ...report.faults.map((f) => f.fault.length)) + 1;
  const lines = [
    `rehearsal of ${report.migration}: ${report.ok ? "PASSED" : "FAILED"}`,
    ...report.problems.map((p) => `  problem: ${p}`),
    `source: ${report.source}; PostgreSQL ${report.postgres}, ${report.topology.description}`,
    `tables: ${report.tables.map((t) => `${t.table} (${t.rows.toLocaleString("en-US")} rows)`).join(", ") || "none"}`,
    ...(report.masked.length > 0 ? [`masked: ${report.masked.map((m) => `${m.table}.${m.column} (${m.rule})`).join(", ")}`] : []),
    "faults:",
    ...report.faults.map((f) => `  ${f.fault.padEnd(width)}${f.injected ? `at ${f.atSeconds}s: ` : ""}${f.detail}${faultFigures(f)}`),
    ...(report.leaderChanges.length > 0
      ? [
          "leader changes:",
          ...report.leaderChanges.map(
            (c) =>
              `  ${c.fault.padEnd(width)}${c.oldLeader === c.newLeader ? `${c.oldLeader} kept the lead` : `${c.oldLeader} -> ${c.newLeader}`} after ${c.leaderChangeSeconds.toFixed(1)}s, writes through the cluster's address back after ${c.writesBackSeconds.toFixed(1)}s` +
              (c.maxPrimaries !== undefined ? `, at most ${c.maxPrimaries} node(s) taking writes at once` : "") +
              (c.rejoinedSeconds !== undefined ? `; ${c.oldLeader} rejoined as a replica in ${c.rejoinedSeconds.toFixed(1)}s${c.reinitialized ? " (reinitialized from the leader)" : ""}` : "") +
              (c.rejoinFailed !== undefined ? `; ${c.oldLeader} did not rejoin: ${c.rejoinFailed}` : ""),
          ),
        ]
      : []),
    `backfill: ${report.backfill.rowsDone.toLocaleString("en-US")} rows done (${report.backfill.rows.toLocaleString("en-US")} in its tables as it began); ${
      report.backfill.resumedFromCursors === null
        ? "no fault hit it"
        : report.backfill.resumedFromCursors
          ? "after each fault it went on from the cursors the primary kept"
          : "a fault left it with no saved cursor and it began again"
    }`,
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
