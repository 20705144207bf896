import type { MigrationMetrics } from "../observe/metrics.js";
import type { DashboardSnapshot } from "./snapshot.js";

/**
 * Sets the metrics from a look at the state schema, for a process that runs no migration
 * itself (the dashboard): gauges are set afresh each time, so a rolled-back job's vanish;
 * counters carry on (rows backfilled follows the jobs' rows done; throttled time is
 * counted between looks).
 */
export function recordSnapshot(metrics: MigrationMetrics, snapshot: DashboardSnapshot): void {
  if (snapshot.error !== null) return;
  const at = Date.parse(snapshot.at);
  metrics.clearGauges();
  metrics.replicaLag(snapshot.replicaLagBytes, snapshot.replicas);
  const current = snapshot.current;
  if (!current) return;
  metrics.migrationPhase(current.name, current.phase);
  for (const action of ["start", "complete", "rollback"] as const) {
    metrics.migrationSteps(current.name, action, current.steps[action].done, current.steps[action].total);
  }
  for (const job of snapshot.jobs) {
    metrics.backfill({
      migration: current.name,
      table: job.table,
      rowsDone: job.rowsDone,
      rowsTotal: job.rowsTotal,
      rowsPerSecond: job.rowsPerSecond,
      etaSeconds: job.etaSeconds,
      throttledBy: job.throttledBy,
      at,
    });
    metrics.backfillState(current.name, job.table, job.state);
  }
}
