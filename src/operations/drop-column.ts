import type { DropColumnOperation } from "../migration/schema.js";
import { addDown, invalid, requireColumn, requireTable, type PlanContext } from "./plan-context.js";

/**
 * drop_column: hidden from the new version at start, dropped at complete. While both
 * versions run, `down` fills the column for rows the new version writes.
 */
export async function planDropColumn(ctx: PlanContext, op: DropColumnOperation): Promise<void> {
  const table = requireTable(ctx, op.table);
  const column = requireColumn(ctx, table, op.column);
  if (table.primaryKey.includes(column.physical)) {
    throw invalid(ctx, "column", `column "${column.name}" is part of the primary key of "${table.name}"`);
  }
  table.columns = table.columns.filter((c) => c !== column);
  if (op.down !== undefined && !table.createdHere) {
    addDown(ctx, table, { target: column.physical, expression: op.down });
  }
}
