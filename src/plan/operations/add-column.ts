import { ident, qualified } from "../../db/ident.js";
import type { AddColumnOperation } from "../../format/schema.js";
import type { ColumnModel } from "../schema-model.js";
import { checkExpression, commentStatement, inlineColumnDefinition, isNullable, referencesClause } from "./column-definition.js";
import {
  addCheck,
  addUp,
  addedColumn,
  bindingsOf,
  invalid,
  physicalReference,
  objectName,
  requireNewConstraintName,
  requireTable,
  tableRef,
  truncateBytes,
  type PlanContext,
} from "./plan-context.js";
import { constraintNotValid, notNullViaCheck, uniqueViaConcurrentIndex } from "./constraint-steps.js";

/**
 * add_column on a live table. The column gets its real name at once (old versions read
 * through views that list their columns, so they never see it) and only cheap DDL runs
 * under the table lock:
 * - a constant default is metadata-only (PG 11+); a volatile one would rewrite the
 *   table, so it is set for new rows only and existing rows are backfilled through `up`;
 * - NOT NULL is a `CHECK (c IS NOT NULL) NOT VALID`, validated at complete and then
 *   turned into a real NOT NULL without a scan under the exclusive lock;
 * - UNIQUE is an index built concurrently, attached as a constraint at complete;
 * - CHECK and FOREIGN KEY are added NOT VALID and validated at complete.
 */
export async function planAddColumn(ctx: PlanContext, op: AddColumnOperation): Promise<void> {
  const table = requireTable(ctx, op.table);
  let column = op.column;
  if (table.columns.some((c) => c.name === column.name)) {
    throw invalid(ctx, "column.name", `column "${column.name}" already exists on table "${table.name}"`);
  }
  if (table.columns.some((c) => c.physical === column.name) || (ctx.added.get(table.physical) ?? []).includes(column.name)) {
    throw invalid(ctx, "column.name", `column "${column.name}" is still present on table "${table.name}" (hidden by this migration); use another name`);
  }
  if (column.pk) throw invalid(ctx, "column.pk", "add_column cannot add a primary key column; use create_constraint");
  const ref = tableRef(ctx, table);
  const col = `${ref}.${ident(column.name)}`;
  addCheck(ctx, { origin: `${ctx.path}.column.type`, kind: "type", sql: column.type, bindings: [] });
  if (column.default != null) addCheck(ctx, { origin: `${ctx.path}.column.default`, kind: "default", sql: column.default, bindings: [], target: column.type });
  if (column.check) {
    addCheck(ctx, {
      origin: `${ctx.path}.column.check.constraint`,
      kind: "check",
      sql: checkExpression(column.check.constraint),
      bindings: [...bindingsOf(table), { name: column.name, type: column.type }],
    });
  }
  const model: ColumnModel = {
    name: column.name,
    physical: column.name,
    type: column.type,
    nullable: isNullable(column),
    default: column.default ?? null,
    comment: column.comment ?? null,
    identity: Boolean(column.generated?.identity),
    generated: Boolean(column.generated?.expression),
  };

  if (table.createdHere) {
    // Nobody uses the table yet: one plain statement does it all.
    const statements = [`ALTER TABLE ${ref} ADD COLUMN ${inlineColumnDefinition(ctx.schema, column, column.name, physicalReference(ctx))}`];
    if (column.comment != null) statements.push(commentStatement(`COLUMN ${col}`, column.comment));
    ctx.stages.expand.push({ kind: "ddl", description: `add column ${table.name}.${column.name}`, statements, table: ref });
    table.columns.push(model);
    return;
  }

  if (column.generated) {
    throw invalid(ctx, "column.generated", "a generated or identity column would rewrite a live table; add it with a backfill (`up`) instead");
  }
  // A serial is an integer with a sequence for its default: on a live table the sequence is
  // made here and, as for any volatile default, existing rows are filled by the backfill.
  const serial = SERIAL_BASES[column.type.trim().toLowerCase()];
  const sequence = serial ? truncateBytes(`${table.physical}_${column.name}_seq`, 63) : null;
  if (serial) {
    column = { ...column, type: serial, default: `nextval('${qualified(ctx.schema, sequence!).replaceAll("'", "''")}'::regclass)` };
    model.type = serial;
    model.default = column.default!;
  }
  const notNull = !isNullable(column);
  const hasDefault = column.default !== undefined && column.default !== null;
  const volatileDefault = serial !== undefined || (hasDefault && (await ctx.probe.defaultRewrites(column.type, column.default!)));
  if (notNull && !hasDefault && op.up === undefined) {
    throw invalid(ctx, "up", "required: the column is NOT NULL and has no default, so existing rows need a value (set up, a default, or nullable: true)");
  }
  // As pgroll: existing rows get `up`, new rows the default; with a volatile default that
  // differs from `up` the two would not agree, so only the default itself is allowed.
  if (volatileDefault && !serial && op.up !== undefined && op.up.trim() !== column.default!.trim()) {
    throw invalid(ctx, "up", `volatile default expression for column "${column.name}"; "up" must be equal to "default" (${column.default})`);
  }

  // A constant default fills every existing row without a rewrite, so NOT NULL can be
  // declared at once; otherwise it waits for the backfill behind a NOT VALID check.
  const inlineNotNull = notNull && hasDefault && !volatileDefault && op.up === undefined;
  const statements = [
    ...(sequence ? [`CREATE SEQUENCE ${qualified(ctx.schema, sequence)} AS ${serial}`] : []),
    `ALTER TABLE ${ref} ADD COLUMN ${ident(column.name)} ${column.type}${hasDefault && !volatileDefault ? ` DEFAULT ${column.default}` : ""}${inlineNotNull ? " NOT NULL" : ""}`,
    ...(sequence ? [`ALTER SEQUENCE ${qualified(ctx.schema, sequence)} OWNED BY ${ref}.${ident(column.name)}`] : []),
  ];
  if (volatileDefault) statements.push(`ALTER TABLE ${ref} ALTER COLUMN ${ident(column.name)} SET DEFAULT ${column.default}`);
  if (column.comment != null) statements.push(commentStatement(`COLUMN ${col}`, column.comment));
  ctx.stages.expand.push({ kind: "ddl", description: `add column ${table.name}.${column.name}`, statements, table: ref });
  addedColumn(ctx, table, column.name);
  ctx.stages.rollback.push({
    kind: "ddl",
    description: `drop column ${table.name}.${column.name}`,
    statements: [`ALTER TABLE ${ref} DROP COLUMN IF EXISTS ${ident(column.name)}`],
    table: ref,
  });

  if (notNull && !inlineNotNull) notNullViaCheck(ctx, table, column.name);
  if (column.check) {
    requireNewConstraintName(ctx, table, column.check.name, "column.check.name");
    constraintNotValid(ctx, table, column.check.name, `CHECK (${checkExpression(column.check.constraint)})${column.check.no_inherit ? " NO INHERIT" : ""}`);
  }
  if (column.references) {
    let clause: string;
    try {
      clause = referencesClause(ctx.schema, { ...column.references, columns: [column.references.column] }, physicalReference(ctx));
    } catch (error) {
      throw invalid(ctx, "column.references", (error as Error).message);
    }
    const fk = column.references.name ?? truncateBytes(`${table.physical}_${column.name}_fkey`, 63);
    requireNewConstraintName(ctx, table, fk, "column.references.name");
    constraintNotValid(ctx, table, fk, `FOREIGN KEY (${ident(column.name)}) ${clause}`, { atStart: true });
  }
  if (column.unique) {
    // PostgreSQL's own name for an inline UNIQUE, so the result matches a plain CREATE TABLE.
    const name = truncateBytes(`${table.physical}_${column.name}_key`, 63);
    requireNewConstraintName(ctx, table, name, "column.unique", { index: true });
    uniqueViaConcurrentIndex(ctx, table, [column.name], name);
  }
  if (op.up !== undefined || volatileDefault) {
    addUp(ctx, table, {
      target: column.name,
      expression: op.up ?? column.default!,
      origin: op.up !== undefined ? `${ctx.path}.up` : `${ctx.path}.column.default`,
      // A serial's nextval names the sequence start creates: nothing to check beforehand.
      ...(serial && op.up === undefined ? {} : { targetType: column.type }),
      // The default itself: a write gets it from the column's default already.
      ...(op.up === undefined || op.up.trim() === column.default?.trim() ? { backfillOnly: true } : {}),
    });
    ctx.backfill.add(table.physical);
  }
  table.columns.push(model);
}

/** The integer type under each serial pseudo-type. */
const SERIAL_BASES: Record<string, string> = {
  smallserial: "smallint",
  serial2: "smallint",
  serial: "integer",
  serial4: "integer",
  bigserial: "bigint",
  serial8: "bigint",
};
