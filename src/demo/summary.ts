/**
 * The demo's result: a plain, JSON-able object (what `underway demo --json` prints) and
 * its text for people.
 */
import type { LatencySummary as LatencyStats, SlowestQuery } from "../harness/latency.js";
import type { QueryError, VersionCounts } from "./workload.js";

export interface StepTiming {
  action: string;
  description: string;
  seconds: number;
}

export interface DemoSummary {
  /** The summary for people, printed on stdout. */
  text: string;
  /** No failed query, no lost write, no unexpected row, and the final schema is right. */
  ok: boolean;
  /** Statements of the workload that returned an error (0 expected). */
  failedQueries: number;
  /** Rows missing, or whose balance is not the initial one plus every acknowledged write (0 expected). */
  lostWrites: number;
  /** Rows nobody saw inserted (0 expected). */
  unexpectedRows: number;
  /** Acknowledged updates and inserts. */
  writes: number;
  updates: number;
  inserts: number;
  reads: number;
  database: { kind: "embedded" | "external"; server: string; role: string; superuser: boolean };
  table: { name: string; initialRows: number; finalRows: number; expectedRows: number; columns: string };
  change: string;
  clients: { perVersion: number; ratePerClient: number; old: VersionCounts; new: VersionCounts };
  latencyMs: { before: LatencyStats; during: LatencyStats; after: LatencyStats; slowest: SlowestQuery | null };
  balanceSum: { expected: number; actual: number };
  /**
   * `rows`: rows in the table when start began (what the backfill had to rewrite);
   * `reportedRows`: rows the backfill says it rewrote; `rowsPerSecond` is over `rows`.
   */
  backfill: { rows: number; reportedRows: number; seconds: number; rowsPerSecond: number };
  lockRetries: number;
  steps: StepTiming[];
  /** Problems with the final schema (empty when it is right). */
  schemaProblems: string[];
  /** The first distinct errors the workload saw, with counts. */
  errors: QueryError[];
  durationsSeconds: {
    setup: number;
    load: number;
    before: number;
    /** From start to the end of complete. */
    migration: number;
    start: number;
    rollout: number;
    complete: number;
    after: number;
    verify: number;
    cleanup: number;
    total: number;
  };
}

/** The text of a summary whose other fields are filled in. */
export function summaryText(s: Omit<DemoSummary, "text">): string {
  const n = (value: number) => value.toLocaleString("en-US");
  const sec = (value: number) => `${value.toFixed(1)} s`;
  const lat = (l: LatencyStats) => (l.queries === 0 ? "no queries" : `${l.p50Ms.toFixed(1)} / ${l.p99Ms.toFixed(1)} ms`);
  const d = s.durationsSeconds;
  const lines: [string, string][] = [
    ["database", `${s.database.kind} ${s.database.server}, role ${s.database.role}${s.database.superuser ? " (a superuser)" : " (not a superuser)"}`],
    ["table", `${s.table.name}, ${n(s.table.initialRows)} rows`],
    ["change", s.change],
    [
      "clients",
      `${s.clients.perVersion} old-version + ${s.clients.perVersion} new-version, ${s.clients.ratePerClient > 0 ? `${n(s.clients.ratePerClient)} statements/s each` : "unthrottled"}`,
    ],
    ["failed queries", n(s.failedQueries)],
    [
      "lost writes",
      `${n(s.lostWrites)} (${n(s.table.finalRows)} rows audited against the ledger; balance sum ${n(s.balanceSum.actual)}, expected ${n(s.balanceSum.expected)})`,
    ],
    [
      "writes made",
      `${n(s.writes)} (${n(s.updates)} updates, ${n(s.inserts)} inserts; old version ${n(s.clients.old.updates + s.clients.old.inserts)}, new version ${n(s.clients.new.updates + s.clients.new.inserts)}), and ${n(s.reads)} reads`,
    ],
    ["latency p50 / p99", `before ${lat(s.latencyMs.before)}; during ${lat(s.latencyMs.during)}; after ${lat(s.latencyMs.after)}`],
  ];
  if (s.latencyMs.slowest) {
    lines.push(["slowest query", `${s.latencyMs.slowest.ms.toFixed(1)} ms, ${s.latencyMs.slowest.phase} the migration (${s.latencyMs.slowest.during})`]);
  }
  lines.push(
    [
      "backfill",
      `${n(s.backfill.rows)} rows in ${sec(s.backfill.seconds)} (${n(Math.round(s.backfill.rowsPerSecond))} rows/s)` +
        (s.backfill.reportedRows === s.backfill.rows ? "" : `; the backfill reports ${n(s.backfill.reportedRows)} rows rewritten`),
    ],
    ["lock retries", n(s.lockRetries)],
    [
      "durations",
      `setup ${sec(d.setup)}, load ${sec(d.load)}, before ${sec(d.before)}, migration ${sec(d.migration)} ` +
        `(start ${sec(d.start)}, rollout ${sec(d.rollout)}, complete ${sec(d.complete)}), after ${sec(d.after)}, ` +
        `verify ${sec(d.verify)}, cleanup ${sec(d.cleanup)}; total ${sec(d.total)}`,
    ],
  );
  for (const error of s.errors.slice(0, 5)) lines.push(["error", `${error.version} version, ${n(error.count)}x: ${error.message}`]);
  for (const problem of s.schemaProblems) lines.push(["schema problem", problem]);
  const verdict = s.ok
    ? `PASS: no failed query, no lost write; ${s.table.name} is now (${s.table.columns})`
    : `FAIL: ${[
        s.failedQueries > 0 ? `${n(s.failedQueries)} failed queries` : "",
        s.lostWrites > 0 ? `${n(s.lostWrites)} lost writes` : "",
        s.unexpectedRows > 0 ? `${n(s.unexpectedRows)} unexpected rows` : "",
        s.schemaProblems.length > 0 ? "the final schema is wrong" : "",
      ]
        .filter(Boolean)
        .join(", ")}`;
  lines.push(["result", verdict]);
  const width = Math.max(...lines.map(([label]) => label.length)) + 2;
  return ["underway demo: a breaking change applied live, under load", ...lines.map(([label, text]) => `  ${label.padEnd(width)}${text}`)].join("\n");
}
