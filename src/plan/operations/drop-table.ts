import type { DropTableOperation } from "../../format/schema.js";
import { requireTable, tableRef, type PlanContext } from "./plan-context.js";

/** drop_table: hidden from the new version at start, dropped at complete. */
export async function planDropTable(ctx: PlanContext, op: DropTableOperation): Promise<void> {
  const table = requireTable(ctx, op.name, "name");
  ctx.after.tables.delete(op.name);
  if (!table.createdHere) {
    ctx.hiddenTables.add(table.physical);
    return;
  }
  // A table this migration created and drops again: nobody saw it, it goes at once.
  ctx.stages.expand.push({ kind: "ddl", description: `drop table ${table.name}`, statements: [`DROP TABLE ${tableRef(ctx, table)}`], table: tableRef(ctx, table) });
}
