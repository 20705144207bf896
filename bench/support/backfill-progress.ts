/**
 * Follows a backfill through the migrator's progress events: logs them at most every 5 s
 * and counts how often a throttle signal was holding the job.
 */
import { performance } from "node:perf_hooks";
import type { ForegroundReading } from "../../src/backfill/foreground.js";
import type { MigrationEvent } from "../../src/run/step-runner.js";

export interface BackfillProgressLog {
  onEvent: (event: MigrationEvent) => void;
  /** Share of progress reports since the last `reset` that named a throttle signal. */
  throttledShare: () => number;
  reset: () => void;
  /** What the foreground guard saw in the last report. */
  lastForeground: () => ForegroundReading | undefined;
}

export function backfillProgressLog(log: (message: string) => void): BackfillProgressLog {
  let loggedAt = 0;
  let reports = 0;
  let throttled = 0;
  let foreground: ForegroundReading | undefined;
  return {
    onEvent: (event) => {
      if (event.type !== "backfill") return;
      reports++;
      foreground = event.progress.foreground ?? foreground;
      if (event.progress.throttledBy !== null) throttled++;
      if (performance.now() - loggedAt >= 5000) {
        loggedAt = performance.now();
        const p = event.progress;
        const rate = Math.round(p.rowsPerSecond).toLocaleString("en-US");
        const guard = p.foreground?.pacing ? `, guard: app ${p.foreground.tps.toFixed(0)} tx/s, impact ${p.foreground.impact?.toFixed(2) ?? "?"}, duty ${(p.foreground.duty * 100).toFixed(0)}%` : "";
        log(`  backfill ${p.rowsDone.toLocaleString("en-US")}/${p.rowsTotal.toLocaleString("en-US")} rows, ${rate} rows/s${p.throttledBy ? `, held by ${p.throttledBy}` : ""}${guard}`);
      }
    },
    throttledShare: () => (reports === 0 ? 0 : throttled / reports),
    lastForeground: () => foreground,
    reset: () => {
      reports = 0;
      throttled = 0;
    },
  };
}
