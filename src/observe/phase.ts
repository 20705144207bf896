import type { Action } from "../plan/step.js";
import type { Phase } from "../run/migrator.js";

/**
 * Where a migration is, as metrics, logs and the dashboard tell it: the stored phase,
 * except while `complete` or `rollback` runs, which the stored phase alone does not show
 * (a migration being contracted is still `ready` until its last step).
 */
export type ObservedPhase = "started" | "backfilling" | "ready" | "completing" | "completed" | "rolling_back" | "rolled_back";

export const OBSERVED_PHASES: readonly ObservedPhase[] = [
  "started",
  "backfilling",
  "ready",
  "completing",
  "completed",
  "rolling_back",
  "rolled_back",
];

/**
 * The observed phase of a stored migration.
 *
 * @example
 * observedPhase({ phase: "ready", running: "complete" }); // "completing"
 */
export function observedPhase(record: { phase: Phase; running: Action | null }): ObservedPhase {
  if (record.running === "complete") return "completing";
  if (record.running === "rollback") return "rolling_back";
  return record.phase;
}

/** The phase a running step of `action` puts the migration in. */
export function phaseOfAction(action: Action): ObservedPhase {
  return action === "start" ? "started" : action === "complete" ? "completing" : "rolling_back";
}

/**
 * The phase a step event puts the migration in. The start phase is `backfilling` from its
 * backfill step (events that name the step's kind say so) until the migration is ready.
 */
export function phaseOfStep(event: { action: Action; kind?: unknown }, current: ObservedPhase | null): ObservedPhase {
  if (event.action === "start" && (event.kind === "backfill" || current === "backfilling")) return "backfilling";
  return phaseOfAction(event.action);
}
