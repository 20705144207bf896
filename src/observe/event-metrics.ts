import type { MigrationRecord } from "../run/migrator.js";
import type { MigrationEvent } from "../run/step-runner.js";
import type { Action } from "../plan/step.js";
import type { VerifyReport } from "../verify/verify.js";
import type { MigrationMetrics } from "./metrics.js";
import { observedPhase, phaseOfStep, type ObservedPhase } from "./phase.js";

export interface EventMetricsOptions {
  /** The migration the events are about, when the events do not say (label `migration`). */
  migration?: string;
  /** The clock, in ms since the epoch (tests). */
  now?: () => number;
}

/** The migration an event names, if it names one. */
export function eventMigration(event: MigrationEvent): string | undefined {
  return "migration" in event && typeof event.migration === "string" ? event.migration : undefined;
}

/**
 * Turns the events of a migration this process runs (the Migrator's `onEvent`) into
 * metrics: backfill progress and throttling, the phase and its steps, and lock retries
 * with the time each failed attempt waited.
 *
 * @example
 * const metrics = createMetrics();
 * const observed = new EventMetrics(metrics, { migration: file.name });
 * const migrator = new Migrator({ databaseUrl, onEvent: observed.onEvent });
 * observed.record(await migrator.start(file));
 */
export class EventMetrics {
  private migration: string;
  private readonly now: () => number;
  private phase: ObservedPhase | null = null;
  /** When the current DDL attempt began, for the wait a retry reports. */
  private attemptStartedAt = 0;

  constructor(
    private readonly metrics: MigrationMetrics,
    options: EventMetricsOptions = {},
  ) {
    this.migration = options.migration ?? "unknown";
    this.now = options.now ?? Date.now;
  }

  readonly onEvent = (event: MigrationEvent): void => {
    const migration = eventMigration(event);
    if (migration !== undefined) this.migration = migration;
    const now = this.now();
    switch (event.type) {
      case "step":
        this.setPhase(phaseOfStep(event, this.phase));
        this.metrics.migrationSteps(this.migration, event.action, event.index, event.total);
        this.attemptStartedAt = now;
        return;
      case "step-skipped":
        this.metrics.migrationSteps(this.migration, event.action, event.index + 1, event.total);
        return;
      case "retry":
        this.metrics.lockRetry(this.migration, event.action, (now - this.attemptStartedAt) / 1000);
        this.attemptStartedAt = now + event.delayMs;
        return;
      case "backfill":
        this.setPhase("backfilling");
        this.metrics.backfill({
          migration: this.migration,
          table: event.progress.table,
          rowsDone: event.progress.rowsDone,
          rowsTotal: event.progress.rowsTotal,
          rowsPerSecond: event.progress.rowsPerSecond,
          throttledBy: event.progress.throttledBy,
          at: now,
        });
        if (event.progress.lagBytes !== null) this.metrics.replicaLag(event.progress.lagBytes, 1);
        if (event.progress.foreground) this.metrics.foreground(this.migration, event.progress.table, event.progress.foreground);
        return;
      case "notice":
        return;
    }
  };

  /** Records where an action left the migration (what `start`, `resume`, `complete` or `rollback` returned). */
  record(record: Pick<MigrationRecord, "name" | "phase" | "running" | "plan" | "startDone" | "completeDone" | "rollbackDone">): void {
    this.migration = record.name;
    this.setPhase(observedPhase(record));
    const done: Record<Action, number> = { start: record.startDone, complete: record.completeDone, rollback: record.rollbackDone };
    for (const action of ["start", "complete", "rollback"] as const) {
      if (done[action] > 0) this.metrics.migrationSteps(record.name, action, done[action], record.plan[action].length);
    }
  }

  /** Records a verification of this migration. */
  verified(report: VerifyReport, migration = this.migration): void {
    this.metrics.verified(migration, report);
  }

  private setPhase(phase: ObservedPhase): void {
    this.phase = phase;
    this.metrics.migrationPhase(this.migration, phase);
  }
}

/**
 * An `onEvent` listener that feeds `metrics`; see `EventMetrics` to also record results.
 *
 * @example
 * new Migrator({ databaseUrl, onEvent: metricsListener(createMetrics(), { migration: "02_widen" }) });
 */
export function metricsListener(metrics: MigrationMetrics, options: EventMetricsOptions = {}): (event: MigrationEvent) => void {
  return new EventMetrics(metrics, options).onEvent;
}

/**
 * One listener that calls each of `listeners` in turn; one that throws does not stop the others
 * (observing a migration must never break it).
 *
 * @example
 * new Migrator({ databaseUrl, onEvent: chainListeners(printer.onEvent, metricsListener(metrics)) });
 */
export function chainListeners<E>(...listeners: (((event: E) => void) | undefined)[]): (event: E) => void {
  const present = listeners.filter((l): l is (event: E) => void => l !== undefined);
  return (event) => {
    for (const listener of present) {
      try {
        listener(event);
      } catch {
        // A broken observer is not worth a failed migration.
      }
    }
  };
}
