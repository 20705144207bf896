import type { RenameTableOperation } from "../../format/schema.js";
import { invalid, requireTable, type PlanContext } from "./plan-context.js";

/** rename_table: the new version's view has the new name; complete renames the table. */
export async function planRenameTable(ctx: PlanContext, op: RenameTableOperation): Promise<void> {
  const table = requireTable(ctx, op.from, "from");
  if (ctx.after.tables.has(op.to)) throw invalid(ctx, "to", `table "${op.to}" already exists`);
  ctx.after.tables.delete(op.from);
  table.name = op.to;
  ctx.after.tables.set(op.to, table);
}
