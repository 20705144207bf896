/**
 * Follows a backfill through the migrator's progress events: logs them at most every 5 s
 * and counts how often a throttle signal was holding the job.
 */
import { performance } from "node:perf_hooks";
import type { MigrationEvent } from "../../src/engine/step-runner.js";

export interface BackfillProgressLog {
  onEvent: (event: MigrationEvent) => void;
  /** Share of progress reports since the last `reset` that named a throttle signal. */
  throttledShare: () => number;
  reset: () => void;
}

export function backfillProgressLog(log: (message: string) => void): BackfillProgressLog {
  let loggedAt = 0;
  let reports = 0;
  let throttled = 0;
  return {
    onEvent: (event) => {
      if (event.type !== "backfill") return;
      reports++;
      if (event.progress.throttledBy !== null) throttled++;
      if (performance.now() - loggedAt >= 5000) {
        loggedAt = performance.now();
        const p = event.progress;
        const rate = Math.round(p.rowsPerSecond).toLocaleString("en-US");
        log(`  backfill ${p.rowsDone.toLocaleString("en-US")}/${p.rowsTotal.toLocaleString("en-US")} rows, ${rate} rows/s${p.throttledBy ? `, held by ${p.throttledBy}` : ""}`);
      }
    },
    throttledShare: () => (reports === 0 ? 0 : throttled / reports),
    reset: () => {
      reports = 0;
      throttled = 0;
    },
  };
}
