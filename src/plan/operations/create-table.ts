import { ident, identList, qualified } from "../../db/ident.js";
import type { CreateTableOperation, IndexParameters, TableConstraint } from "../../format/schema.js";
import type { ColumnModel, TableModel } from "../schema-model.js";
import { checkExpression, commentStatement, inlineColumnDefinition, isNullable, referencesClause, type ReferenceResolver } from "./column-definition.js";
import { addCheck, invalid, physicalReference, truncateBytes, type PlanContext } from "./plan-context.js";

/**
 * create_table: the table is created at start under its real name (no client of the
 * old version can see it, so no temporary name is needed) and dropped by rollback.
 */
export async function planCreateTable(ctx: PlanContext, op: CreateTableOperation): Promise<void> {
  if (ctx.after.tables.has(op.name)) throw invalid(ctx, "name", `table "${op.name}" already exists`);
  // A table of the same name that this migration drops is still there until complete (the
  // old version uses it): the new one is made under another name and renamed at complete.
  const takenByDropped = ctx.hiddenTables.has(op.name) || [...ctx.after.tables.values()].some((t) => t.physical === op.name);
  let physical = op.name;
  for (let n = 0; takenByDropped && (ctx.hiddenTables.has(physical) || [...ctx.after.tables.values()].some((t) => t.physical === physical)); n++) {
    physical = truncateBytes(`_uw_t_${op.name}`, 60) + (n === 0 ? "" : `_${n}`);
  }
  const table = qualified(ctx.schema, physical);
  const definitions: string[] = [];
  try {
    for (const column of op.columns) definitions.push(inlineColumnDefinition(ctx.schema, column, column.name, physicalReference(ctx)));
    const pk = op.columns.filter((c) => c.pk).map((c) => c.name);
    if (pk.length > 0) definitions.push(`PRIMARY KEY (${identList(pk)})`);
    for (const constraint of op.constraints ?? []) definitions.push(tableConstraintSql(ctx.schema, constraint, physicalReference(ctx)));
  } catch (error) {
    throw invalid(ctx, "columns", (error as Error).message);
  }
  for (const [i, column] of op.columns.entries()) {
    addCheck(ctx, { origin: `${ctx.path}.columns[${i}].type`, kind: "type", sql: column.type, bindings: [] });
    if (column.default != null && !/serial/i.test(column.type)) {
      addCheck(ctx, { origin: `${ctx.path}.columns[${i}].default`, kind: "default", sql: column.default, bindings: [], target: column.type });
    }
  }
  const statements = [`CREATE TABLE ${table} (${definitions.join(", ")})`];
  if (op.comment !== undefined && op.comment !== null) statements.push(commentStatement(`TABLE ${table}`, op.comment));
  for (const column of op.columns) {
    if (column.comment !== undefined && column.comment !== null) {
      statements.push(commentStatement(`COLUMN ${table}.${ident(column.name)}`, column.comment));
    }
  }
  ctx.stages.expand.push({ kind: "ddl", description: `create table ${op.name}`, statements });
  ctx.stages.rollback.push({
    kind: "ddl",
    description: `drop table ${op.name}`,
    statements: [`DROP TABLE IF EXISTS ${table}`],
  });

  const model: TableModel = {
    name: op.name,
    physical,
    columns: op.columns.map(
      (c): ColumnModel => ({
        name: c.name,
        physical: c.name,
        type: c.type,
        nullable: isNullable(c) && !c.pk,
        default: c.default ?? null,
        comment: c.comment ?? null,
        identity: Boolean(c.generated?.identity),
        generated: Boolean(c.generated?.expression),
      }),
    ),
    primaryKey: op.columns.filter((c) => c.pk).map((c) => c.name),
    indexes: [],
    constraints: [],
    comment: op.comment ?? null,
    createdHere: true,
  };
  for (const constraint of op.constraints ?? []) {
    if (constraint.type === "primary_key") model.primaryKey = constraint.columns ?? [];
  }
  ctx.after.tables.set(op.name, model);
}

/** A table-level constraint of create_table (pgroll's `constraints` list). */
export function tableConstraintSql(schema: string, c: TableConstraint, resolve?: ReferenceResolver): string {
  const name = `CONSTRAINT ${ident(c.name)} `;
  const deferral = c.type === "check" ? "" : `${c.deferrable ? " DEFERRABLE" : ""}${c.initially_deferred ? " INITIALLY DEFERRED" : ""}`;
  const indexParameters = (p: IndexParameters | undefined) => {
    if (!p) return "";
    let sql = "";
    if (p.include_columns?.length) sql += ` INCLUDE (${identList(p.include_columns)})`;
    if (p.storage_parameters) sql += ` WITH (${p.storage_parameters})`;
    if (p.tablespace) sql += ` USING INDEX TABLESPACE ${ident(p.tablespace)}`;
    return sql;
  };
  switch (c.type) {
    case "primary_key":
      return `${name}PRIMARY KEY (${identList(c.columns ?? [])})${indexParameters(c.index_parameters)}${deferral}`;
    case "unique":
      return `${name}UNIQUE${c.nulls_not_distinct ? " NULLS NOT DISTINCT" : ""} (${identList(c.columns ?? [])})${indexParameters(
        c.index_parameters,
      )}${deferral}`;
    case "check":
      return `${name}CHECK (${checkExpression(c.check)})${c.no_inherit ? " NO INHERIT" : ""}`;
    case "foreign_key":
      return `${name}FOREIGN KEY (${identList(c.columns)}) ${referencesClause(
        schema,
        { ...c.references, deferrable: c.deferrable, initially_deferred: c.initially_deferred },
        resolve,
      )}`;
    case "exclude": {
      const method = c.exclude.index_method ? ` USING ${ident(c.exclude.index_method)}` : "";
      const where = c.exclude.predicate ? ` WHERE (${c.exclude.predicate})` : "";
      return `${name}EXCLUDE${method} (${c.exclude.elements})${indexParameters(c.index_parameters)}${where}${deferral}`;
    }
  }
}
