import type { DropConstraintOperation, DropMultiColumnConstraintOperation } from "../../format/schema.js";
import { duplicateColumns } from "./duplicate-columns.js";
import { invalid, requireTable, tableRef, type PlanContext } from "./plan-context.js";
import { ident } from "../../db/ident.js";

/**
 * drop_multicolumn_constraint (and pgroll's older drop_constraint, which the loader
 * reads into the same shape): the constrained columns are copied without the
 * constraint, so the new version can write values the old one rejects; `down` maps
 * them back for the old version. The original columns, and the constraint with them,
 * go at complete.
 */
export async function planDropConstraint(
  ctx: PlanContext,
  given: DropMultiColumnConstraintOperation | DropConstraintOperation,
): Promise<void> {
  const table = requireTable(ctx, given.table);
  const constraint = table.constraints.find((c) => c.name === given.name);
  if (!constraint) throw invalid(ctx, "name", `constraint "${given.name}" does not exist on table "${table.name}"`);
  const columns = constraint.columns.map((physical) => {
    const column = table.columns.find((c) => c.physical === physical);
    if (!column) throw invalid(ctx, "name", `constraint "${given.name}" covers column "${physical}", which this migration already removed`);
    return column;
  });
  const op = given.kind === "drop_multicolumn_constraint" ? given : singleColumn(ctx, given, columns.map((c) => c.name));
  if (table.createdHere) {
    ctx.stages.expand.push({
      kind: "ddl",
      description: `drop constraint ${op.name}`,
      statements: [`ALTER TABLE ${tableRef(ctx, table)} DROP CONSTRAINT ${ident(op.name)}`],
    });
    table.constraints = table.constraints.filter((c) => c !== constraint);
    return;
  }
  if (constraint.type === "p") {
    throw invalid(ctx, "name", `"${op.name}" is the primary key of "${table.name}"; dropping it needs a shadow-table rebuild, which underway does not do yet`);
  }
  for (const name of [...Object.keys(op.up ?? {}), ...Object.keys(op.down ?? {})]) {
    if (!columns.some((c) => c.name === name)) {
      throw invalid(ctx, `up.${name}`, `"${name}" is not a column of constraint "${op.name}"`);
    }
  }
  await duplicateColumns(
    ctx,
    table,
    columns.map((column) => ({ column, up: op.up?.[column.name], down: op.down?.[column.name] })),
    { omitConstraint: op.name },
  );
}


/** pgroll's older drop_constraint names one expression for the constraint's single column. */
function singleColumn(ctx: PlanContext, op: DropConstraintOperation, columns: string[]): DropMultiColumnConstraintOperation {
  if (columns.length !== 1) {
    throw invalid(ctx, "name", `constraint "${op.name}" covers ${columns.length} columns; use drop_multicolumn_constraint with up and down per column`);
  }
  const column = columns[0]!;
  return {
    kind: "drop_multicolumn_constraint",
    table: op.table,
    name: op.name,
    up: op.up === undefined ? {} : { [column]: op.up },
    down: { [column]: op.down },
  };
}
