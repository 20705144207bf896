import { ident, identList } from "../../db/ident.js";
import type { CreateConstraintOperation, TableConstraint } from "../../format/schema.js";
import { tableConstraintSql } from "./create-table.js";
import { checkExpression, referencesClause } from "./column-definition.js";
import { constraintNotValid, uniqueViaConcurrentIndex } from "./constraint-steps.js";
import { duplicateColumns } from "./duplicate-columns.js";
import {
  addCheck,
  attach,
  bindingsOf,
  invalid,
  physicalReference,
  objectName,
  requireColumn,
  requireNewConstraintName,
  requireTable,
  tableRef,
  toPhysical,
  type PlanContext,
} from "./plan-context.js";

/**
 * create_constraint: like pgroll, the constrained columns are copied, so `up` can fix
 * rows that would violate the constraint while the old version keeps writing whatever
 * it writes; the constraint goes on the copies NOT VALID (or as a concurrently built
 * index) and becomes real at complete.
 */
export async function planCreateConstraint(ctx: PlanContext, op: CreateConstraintOperation): Promise<void> {
  const table = requireTable(ctx, op.table);
  const columns = op.columns.map((name, i) => requireColumn(ctx, table, name, `columns[${i}]`));
  if (table.constraints.some((c) => c.name === op.name) || table.indexes.some((i) => i.name === op.name)) {
    throw invalid(ctx, "name", `constraint "${op.name}" already exists on table "${table.name}"`);
  }
  requireNewConstraintName(ctx, table, op.name, "name", { index: op.type === "unique" || op.type === "primary_key" });
  const ref = tableRef(ctx, table);
  if (table.createdHere) {
    let sql: string;
    try {
      sql = tableConstraintSql(ctx.schema, asTableConstraint(op, columns.map((c) => c.physical)), physicalReference(ctx));
    } catch (error) {
      throw invalid(ctx, "", (error as Error).message);
    }
    ctx.stages.expand.push({ kind: "ddl", description: `add constraint ${op.name}`, statements: [`ALTER TABLE ${ref} ADD ${sql}`], table: ref });
    if (op.type === "primary_key") table.primaryKey = columns.map((c) => c.physical);
    return;
  }
  if (op.type === "primary_key" && table.primaryKey.length > 0) {
    throw invalid(ctx, "type", `table "${table.name}" already has a primary key`);
  }
  for (const name of Object.keys(op.up ?? {})) {
    if (!op.columns.includes(name)) throw invalid(ctx, `up.${name}`, `"${name}" is not one of the constraint's columns`);
  }
  for (const name of Object.keys(op.down ?? {})) {
    if (!op.columns.includes(name)) throw invalid(ctx, `down.${name}`, `"${name}" is not one of the constraint's columns`);
  }
  await duplicateColumns(
    ctx,
    table,
    columns.map((column) => ({
      column,
      nullable: op.type === "primary_key" ? false : undefined,
      up: op.up?.[column.name],
      down: op.down?.[column.name],
      origins: { up: `${ctx.path}.up.${column.name}`, down: `${ctx.path}.down.${column.name}` },
    })),
  );
  const copies = columns.map((c) => c.physical);
  switch (op.type) {
    case "unique":
    case "primary_key":
      // Under its own name from the start, as pgroll makes it; attached as a constraint at complete.
      uniqueViaConcurrentIndex(ctx, table, copies, op.name, op.name, op.type === "unique" ? "UNIQUE" : "PRIMARY KEY", {
        include: op.index_parameters?.include_columns?.map((name) => requireColumn(ctx, table, name, "index_parameters.include_columns").physical),
        nullsNotDistinct: op.nulls_not_distinct,
      });
      if (op.type === "primary_key") table.primaryKey = copies;
      break;
    case "check": {
      if (!op.check) throw invalid(ctx, "check", "a check constraint needs `check`");
      addCheck(ctx, { origin: `${ctx.path}.check`, kind: "check", sql: checkExpression(op.check), bindings: bindingsOf(table) });
      constraintNotValid(ctx, table, op.name, `CHECK (${toPhysical(table, checkExpression(op.check))})${op.no_inherit ? " NO INHERIT" : ""}`);
      break;
    }
    case "foreign_key": {
      if (!op.references) throw invalid(ctx, "references", "a foreign key needs `references`");
      let clause: string;
      try {
        clause = referencesClause(ctx.schema, { ...op.references, deferrable: op.deferrable, initially_deferred: op.initially_deferred }, physicalReference(ctx));
      } catch (error) {
        throw invalid(ctx, "references", (error as Error).message);
      }
      constraintNotValid(ctx, table, op.name, `FOREIGN KEY (${identList(copies)}) ${clause}`);
      break;
    }
  }
}

function asTableConstraint(op: CreateConstraintOperation, columns: string[]): TableConstraint {
  const deferral = { deferrable: op.deferrable, initially_deferred: op.initially_deferred };
  const index = op.index_parameters ? { index_parameters: op.index_parameters } : {};
  switch (op.type) {
    case "unique":
      return { name: op.name, type: "unique", columns, nulls_not_distinct: op.nulls_not_distinct, ...deferral, ...index };
    case "primary_key":
      return { name: op.name, type: "primary_key", columns, ...deferral, ...index };
    case "check":
      return { name: op.name, type: "check", check: op.check ?? "true", no_inherit: op.no_inherit };
    case "foreign_key":
      if (!op.references) throw new Error("a foreign key needs `references`");
      return { name: op.name, type: "foreign_key", columns, references: op.references, ...deferral };
  }
}
