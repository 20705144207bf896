import type { DropIndexOperation } from "../../format/schema.js";
import { invalid, type PlanContext } from "./plan-context.js";

/** drop_index: kept while the old version runs, dropped CONCURRENTLY at complete. */
export async function planDropIndex(ctx: PlanContext, op: DropIndexOperation): Promise<void> {
  const owner = [...ctx.after.tables.values()].find((t) => t.indexes.some((i) => i.name === op.name));
  if (!owner) throw invalid(ctx, "name", `index "${op.name}" does not exist in schema "${ctx.schema}"`);
  const index = owner.indexes.find((i) => i.name === op.name)!;
  if (index.constraint !== null) {
    throw invalid(ctx, "name", `index "${op.name}" backs constraint "${index.constraint}"; drop the constraint instead`);
  }
  owner.indexes = owner.indexes.filter((i) => i !== index);
  ctx.stages.finalize.push({ kind: "drop_index", description: `drop index ${op.name}`, schema: ctx.schema, index: op.name });
}
