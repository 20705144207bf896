/** Where a migration stands, as its record in the state schema says. */
export type Phase = "started" | "backfilling" | "ready" | "completed" | "rolled_back";

/** The phases a migration ends in; every other phase is active (between start and its end). */
export const FINISHED_PHASES: readonly Phase[] = ["completed", "rolled_back"];

/** Whether a migration in `phase` is active: started, and neither completed nor rolled back. */
export function isActivePhase(phase: Phase): boolean {
  return !FINISHED_PHASES.includes(phase);
}

/**
 * The same test as SQL, on a `phase` column (`m.phase` with an alias): the one place the
 * state schema's index, its functions and the migration store say what "active" means.
 */
export function activePhaseSql(column = "phase"): string {
  return `${column} NOT IN (${FINISHED_PHASES.map((p) => `'${p}'`).join(", ")})`;
}
