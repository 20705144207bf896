import type { SqlOperation } from "../migration/schema.js";
import type { PlanContext } from "./plan-context.js";

/**
 * sql: runs as written, at start (or at complete with `on_complete`); rollback runs
 * `down` only if `up` ran. The planner cannot see what raw SQL changes, so later
 * operations of the same migration cannot refer to what it creates; the version schema
 * is built from the catalog and does include it.
 */
export async function planSql(ctx: PlanContext, op: SqlOperation): Promise<void> {
  const up = { kind: "user_sql" as const, description: "run sql (up)", sql: op.up };
  if (op.on_complete) {
    ctx.stages.finalize.push(up);
    return;
  }
  ctx.stages.expand.push(up);
  if (op.down !== undefined && op.down.trim() !== "") {
    const down = { kind: "user_sql" as const, description: "run sql (down)", sql: op.down };
    ctx.stages.rollback.push(down);
    ctx.stages.gates.set(down, up);
  }
}
