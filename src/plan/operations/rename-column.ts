import type { RenameColumnOperation } from "../../format/schema.js";
import { invalid, requireColumn, requireTable, type PlanContext } from "./plan-context.js";

/** rename_column: only the new version's view uses the new name until complete renames the column. */
export async function planRenameColumn(ctx: PlanContext, op: RenameColumnOperation): Promise<void> {
  const table = requireTable(ctx, op.table);
  const column = requireColumn(ctx, table, op.from, "from");
  if (table.columns.some((c) => c.name === op.to)) {
    throw invalid(ctx, "to", `column "${op.to}" already exists on table "${table.name}"`);
  }
  column.name = op.to;
}
