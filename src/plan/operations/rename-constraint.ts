import { ident } from "../../db/ident.js";
import type { RenameConstraintOperation } from "../../format/schema.js";
import { attach, invalid, requireTable, tableRef, type PlanContext } from "./plan-context.js";

/** rename_constraint: constraints are not part of a version's view, so the rename waits for complete. */
export async function planRenameConstraint(ctx: PlanContext, op: RenameConstraintOperation): Promise<void> {
  const table = requireTable(ctx, op.table);
  const constraint = table.constraints.find((c) => c.name === op.from);
  if (!constraint) throw invalid(ctx, "from", `constraint "${op.from}" does not exist on table "${table.name}"`);
  if (table.constraints.some((c) => c.name === op.to)) {
    throw invalid(ctx, "to", `constraint "${op.to}" already exists on table "${table.name}"`);
  }
  attach(ctx, table, `ALTER TABLE ${tableRef(ctx, table)} RENAME CONSTRAINT ${ident(op.from)} TO ${ident(op.to)}`);
  constraint.name = op.to;
}
