import { UnderwayError } from "../errors.js";
import type { MigrationPlan } from "../plan/step.js";

/**
 * The format of the plan a migration record stores. The plan is written once, when start
 * plans the migration, and read by every later command, which may be a newer release: a
 * change to the stored shape of `MigrationPlan` (a step kind renamed, a field that changes
 * meaning) raises this and adds an entry to `PLAN_UPGRADES` that turns a plan of the
 * previous format into the new one. A field only added, that readers treat as optional,
 * needs neither.
 *
 * Format 1 is the shape of every plan stored before records said their format.
 */
export const PLAN_FORMAT_VERSION = 1;

/** `PLAN_UPGRADES[n]` turns a plan of format `n` into one of format `n + 1`. */
const PLAN_UPGRADES: Record<number, (plan: Record<string, unknown>) => Record<string, unknown>> = {};

/**
 * The stored plan of migration `name` in this release's format: an older format is
 * upgraded step by step (the stored row is left as it is, so the release that wrote it can
 * still read it), a newer one is refused, since running a plan this release cannot read
 * could run the wrong steps.
 */
export function readStoredPlan(stored: unknown, format: number, name: string): MigrationPlan {
  if (!Number.isInteger(format) || format < 1) {
    throw new UnderwayError("INVALID_STATE", `migration "${name}" has a plan of unknown format ${String(format)} in the state schema; it was not written by underway`);
  }
  if (format > PLAN_FORMAT_VERSION) {
    throw new UnderwayError(
      "INVALID_STATE",
      `migration "${name}" was planned by a newer underway (plan format ${format}, this release reads up to ${PLAN_FORMAT_VERSION}); finish it with that release, or upgrade underway`,
    );
  }
  let plan = stored as Record<string, unknown>;
  for (let at = format; at < PLAN_FORMAT_VERSION; at++) {
    const upgrade = PLAN_UPGRADES[at];
    if (!upgrade) throw new Error(`no upgrade of plan format ${at} to ${at + 1}`);
    plan = upgrade(plan);
  }
  return plan as unknown as MigrationPlan;
}
