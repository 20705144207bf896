import type { SqlOperation } from "../../format/schema.js";
import type { PlanContext } from "./plan-context.js";

/**
 * sql: runs as written, at start (or at complete with `on_complete`); rollback runs
 * `down` only if `up` ran, and without a `down` drops the objects `up` created. The planner cannot see what raw SQL changes, so later
 * operations of the same migration cannot refer to what it creates; the version schema
 * is built from the catalog and does include it.
 */
export async function planSql(ctx: PlanContext, op: SqlOperation): Promise<void> {
  const up = { kind: "user_sql" as const, description: "run sql (up)", sql: op.up, schema: ctx.schema };
  if (op.on_complete) {
    ctx.stages.finalize.push(up);
    return;
  }
  ctx.stages.expand.push(up);
  // Without `down`, rollback still removes what `up` created (recorded as it ran).
  const down =
    op.down !== undefined && op.down.trim() !== ""
      ? { kind: "user_sql" as const, description: "run sql (down)", sql: op.down, schema: ctx.schema }
      : { kind: "undo_sql" as const, description: "drop what the sql operation created", schema: ctx.schema };
  ctx.stages.rollback.push(down);
  ctx.stages.gates.set(down, up);
}
