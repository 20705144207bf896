import { ident } from "../../db/ident.js";
import type { CreateIndexOperation } from "../../format/schema.js";
import { invalid, requireColumn, requireTable, tableRef, toPhysical, type PlanContext } from "./plan-context.js";

const METHODS = new Set(["btree", "hash", "gist", "spgist", "gin", "brin"]);
const SORT = new Set(["ASC", "DESC"]);
const NULLS = new Set(["FIRST", "LAST"]);

/**
 * create_index: always CONCURRENTLY (a plain CREATE INDEX blocks writes for the whole
 * build), after the backfill so the build sees final values once.
 */
export async function planCreateIndex(ctx: PlanContext, op: CreateIndexOperation): Promise<void> {
  const table = requireTable(ctx, op.table);
  if (ctx.after.tables.size > 0 && [...ctx.after.tables.values()].some((t) => t.indexes.some((i) => i.name === op.name))) {
    throw invalid(ctx, "name", `index "${op.name}" already exists`);
  }
  const method = op.method?.toLowerCase();
  if (method !== undefined && !METHODS.has(method)) throw invalid(ctx, "method", `unknown index method "${op.method}"`);
  const elements = op.columns.map((entry, i) => {
    const column = requireColumn(ctx, table, entry.column, `columns[${i}]`);
    let sql = ident(column.physical);
    if (entry.collate) sql += ` COLLATE ${ident(entry.collate)}`;
    if (entry.opclass) {
      sql += ` ${ident(entry.opclass.name)}`;
      if (entry.opclass.params?.length) sql += ` (${entry.opclass.params.join(", ")})`;
    }
    if (entry.sort) {
      const sort = entry.sort.toUpperCase();
      if (!SORT.has(sort)) throw invalid(ctx, `columns[${i}].sort`, `expected ASC or DESC, got "${entry.sort}"`);
      sql += ` ${sort}`;
    }
    if (entry.nulls) {
      const nulls = entry.nulls.toUpperCase().replace(/^NULLS\s+/, "");
      if (!NULLS.has(nulls)) throw invalid(ctx, `columns[${i}].nulls`, `expected FIRST or LAST, got "${entry.nulls}"`);
      sql += ` NULLS ${nulls}`;
    }
    return sql;
  });
  const ref = tableRef(ctx, table);
  let statement = `CREATE ${op.unique ? "UNIQUE " : ""}INDEX CONCURRENTLY IF NOT EXISTS ${ident(op.name)} ON ${ref}`;
  if (method) statement += ` USING ${method}`;
  statement += ` (${elements.join(", ")})`;
  if (op.storage_parameters) statement += ` WITH (${op.storage_parameters})`;
  if (op.predicate) statement += ` WHERE ${toPhysical(table, op.predicate)}`;
  const step = {
    kind: "concurrent_index" as const,
    description: `create index ${op.name} on ${table.name} concurrently`,
    schema: ctx.schema,
    table: table.physical,
    index: op.name,
    statement,
  };
  if (table.createdHere) ctx.stages.expand.push(step);
  else ctx.stages.afterBackfill.push(step);
  ctx.stages.rollback.push({ kind: "drop_index", description: `drop index ${op.name}`, schema: ctx.schema, index: op.name });
  table.indexes.push({
    name: op.name,
    columns: op.columns.map((c) => table.columns.find((col) => col.name === c.column)!.physical),
    unique: Boolean(op.unique),
    primary: false,
    definition: statement,
    constraint: null,
  });
}
