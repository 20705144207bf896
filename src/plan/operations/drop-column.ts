import type { DropColumnOperation } from "../../format/schema.js";
import { ident } from "../../db/ident.js";
import { addDown, invalid, requireColumn, requireTable, tableRef, type PlanContext } from "./plan-context.js";

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
  if (table.createdHere) {
    // Nobody uses a table this migration creates yet: the column goes at once.
    const ref = tableRef(ctx, table);
    ctx.stages.expand.push({ kind: "ddl", description: `drop column ${table.name}.${column.name}`, statements: [`ALTER TABLE ${ref} DROP COLUMN ${ident(column.physical)}`], table: ref });
    return;
  }
  if (op.down !== undefined) addDown(ctx, table, { target: column.physical, expression: op.down, targetType: column.type });
}
