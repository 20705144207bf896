import { ident } from "../../db/ident.js";
import type { AlterColumnOperation } from "../../format/schema.js";
import { checkExpression, referencesClause } from "./column-definition.js";
import { constraintNotValid, uniqueViaConcurrentIndex } from "./constraint-steps.js";
import { duplicateColumns } from "./duplicate-columns.js";
import {
  addCheck,
  attach,
  attachToColumn,
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
import { commentStatement } from "./column-definition.js";

/**
 * alter_column (a rename in the same entry arrives as a separate rename_column). Only
 * what needs it pays for a copy of the column:
 * - default and comment changes are made in the new version's view and applied
 *   to the table at complete (pgroll copies the column for a default or a comment);
 * - dropping NOT NULL without a `down` is a metadata change made in place;
 * - a type change, SET NOT NULL, UNIQUE, CHECK, FOREIGN KEY, dropping NOT NULL with
 *   a `down`, or an `up`/`down` that is more than the column itself, goes through
 *   `duplicateColumns`.
 */
export async function planAlterColumn(ctx: PlanContext, given: AlterColumnOperation): Promise<void> {
  // The SQL text NULL as a default removes it, as a null does (pgroll reads them alike).
  const op: AlterColumnOperation = typeof given.default === "string" && /^\s*null\s*$/i.test(given.default) ? { ...given, default: null } : given;
  const table = requireTable(ctx, op.table);
  const column = requireColumn(ctx, table, op.column);
  const ref = tableRef(ctx, table);
  // What the change needs from the file, checked once the table and column are known to exist.
  const needsBoth = [
    op.type !== undefined ? "the type changes" : undefined,
    op.check !== undefined ? "a check constraint is added" : undefined,
    op.references !== undefined ? "a foreign key is added" : undefined,
  ].filter((x): x is string => x !== undefined);
  if (needsBoth.length > 0) {
    if (op.up === undefined) throw invalid(ctx, "up", `required because ${needsBoth[0]}: SQL converting old values to new`);
    if (op.down === undefined) throw invalid(ctx, "down", `required because ${needsBoth[0]}: SQL converting new values back to old`);
  }
  if (op.nullable === false && op.up === undefined) {
    throw invalid(ctx, "up", "required when setting NOT NULL: SQL giving a value for rows where the column is NULL");
  }
  if (table.createdHere) {
    planInPlaceOnNewTable(ctx, op);
    return;
  }

  if (op.type !== undefined) addCheck(ctx, { origin: `${ctx.path}.type`, kind: "type", sql: op.type, bindings: [] });
  if (op.default != null) addCheck(ctx, { origin: `${ctx.path}.default`, kind: "default", sql: op.default, bindings: [], target: op.type ?? column.type });
  if (op.check) {
    addCheck(ctx, {
      origin: `${ctx.path}.check.constraint`,
      kind: "check",
      sql: checkExpression(op.check.constraint),
      bindings: bindingsOf(table).map((b) => (b.name === column.name ? { name: b.name, type: op.type ?? b.type } : b)),
    });
  }
  const typeChanges = op.type !== undefined && normalizeType(op.type) !== normalizeType(column.type);
  const setsNotNull = op.nullable === false && column.nullable;
  const dropsNotNull = op.nullable === true && !column.nullable;
  // An up/down that is more than the column itself rewrites data, which needs the copy.
  const rewrites = !isIdentity(op.up, column.name) || !isIdentity(op.down, column.name);
  const needsCopy =
    rewrites ||
    typeChanges ||
    setsNotNull ||
    op.unique !== undefined ||
    op.check !== undefined ||
    op.references !== undefined ||
    (dropsNotNull && op.down !== undefined);
  if (op.nullable === false && !column.nullable && !table.createdHere) {
    throw invalid(ctx, "nullable", `column "${column.name}" of table "${table.name}" is already NOT NULL`);
  }
  if (op.nullable === true && column.nullable && !table.createdHere) {
    throw invalid(ctx, "nullable", `column "${column.name}" of table "${table.name}" is already nullable`);
  }
  // A key column is copied like any other: the copy gets a unique index built concurrently,
  // NOT NULL through a validated check, and becomes the primary key at complete (ADD
  // PRIMARY KEY USING INDEX, no scan under the lock); other tables' foreign keys to it are
  // carried over there. A change the copy cannot hold (a type that is no longer unique) fails
  // the index build at start, before anything is swapped.

  if (needsCopy) {
    const spec = {
      column,
      type: op.type,
      nullable: op.nullable,
      default: op.default,
      comment: op.comment,
      up: op.up,
      down: op.down,
    };
    // New names are checked against the table as it is, before its copies are planned.
    if (op.unique) requireNewConstraintName(ctx, table, op.unique.name, "unique.name", { index: true });
    if (op.check) requireNewConstraintName(ctx, table, op.check.name, "check.name");
    const fkName = op.references ? (op.references.name ?? `${table.physical}_${column.name}_fkey`) : undefined;
    if (fkName !== undefined) requireNewConstraintName(ctx, table, fkName, "references.name");
    await duplicateColumns(ctx, table, [spec]);
    const copy = column.physical;
    if (op.unique) {
      uniqueViaConcurrentIndex(ctx, table, [copy], op.unique.name);
    }
    if (op.check) {
      const definition = `CHECK (${toPhysical(table, checkExpression(op.check.constraint))})${op.check.no_inherit ? " NO INHERIT" : ""}`;
      constraintNotValid(ctx, table, op.check.name, definition);
      // In the model, so a later operation that copies the column again copies the check too.
      table.constraints.push({ name: op.check.name, type: "c", columns: [copy], definition, validated: false });
    }
    if (op.references) {
      let clause: string;
      try {
        clause = referencesClause(ctx.schema, { ...op.references, columns: [op.references.column] }, physicalReference(ctx));
      } catch (error) {
        throw invalid(ctx, "references", (error as Error).message);
      }
      const name = fkName!;
      constraintNotValid(ctx, table, name, `FOREIGN KEY (${ident(copy)}) ${clause}`);
      table.constraints.push({ name, type: "f", columns: [copy], definition: `FOREIGN KEY (${ident(copy)}) ${clause}`, validated: false });
    }
    return;
  }

  // No copy: the view carries what the new version sees until complete applies it.
  if (op.default !== undefined) {
    column.viewDefault = op.default;
    attachToColumn(
      ctx,
      table,
      op.default === null
        ? `ALTER TABLE ${ref} ALTER COLUMN ${ident(column.physical)} DROP DEFAULT`
        : `ALTER TABLE ${ref} ALTER COLUMN ${ident(column.physical)} SET DEFAULT ${op.default}`,
    );
    column.default = op.default;
  }
  if (op.comment !== undefined) {
    column.viewComment = op.comment;
    attachToColumn(ctx, table, commentStatement(`COLUMN ${ref}.${ident(column.physical)}`, op.comment));
    column.comment = op.comment;
  }
  if (dropsNotNull) {
    const step = {
      kind: "ddl" as const,
      description: `drop NOT NULL on ${table.name}.${column.name}`,
      statements: [`ALTER TABLE ${ref} ALTER COLUMN ${ident(column.physical)} DROP NOT NULL`],
      table: ref,
    };
    ctx.stages.expand.push(step);
    // Putting NOT NULL back cannot be instant. Three steps (three transactions), so the
    // validating scan holds only SHARE UPDATE EXCLUSIVE and SET NOT NULL, proven by the
    // valid check, needs the exclusive lock only for a moment. Rollback runs its steps
    // newest first, hence the reverse order here.
    const check = objectName(table.physical, column.physical, "not_null");
    const restore = [
      [`ALTER TABLE ${ref} ALTER COLUMN ${ident(column.physical)} SET NOT NULL`, `ALTER TABLE ${ref} DROP CONSTRAINT ${ident(check)}`],
      [`ALTER TABLE ${ref} VALIDATE CONSTRAINT ${ident(check)}`],
      [`ALTER TABLE ${ref} ADD CONSTRAINT ${ident(check)} CHECK (${ident(column.physical)} IS NOT NULL) NOT VALID`],
    ];
    for (const statements of restore) {
      const undo = { kind: "ddl" as const, description: `restore NOT NULL on ${table.name}.${column.physical}`, statements, table: ref };
      ctx.stages.rollback.push(undo);
      ctx.stages.gates.set(undo, step);
    }
    column.nullable = true;
  }
}

/** On a table created by this migration nobody reads the old shape: change it directly. */
function planInPlaceOnNewTable(ctx: PlanContext, op: AlterColumnOperation): void {
  const table = requireTable(ctx, op.table);
  const column = requireColumn(ctx, table, op.column);
  const ref = tableRef(ctx, table);
  const col = ident(column.physical);
  const statements: string[] = [];
  if (op.type !== undefined) {
    statements.push(`ALTER TABLE ${ref} ALTER COLUMN ${col} TYPE ${op.type}${op.up ? ` USING ${op.up}` : ""}`);
    column.type = op.type;
  }
  if (op.nullable !== undefined) {
    statements.push(`ALTER TABLE ${ref} ALTER COLUMN ${col} ${op.nullable ? "DROP" : "SET"} NOT NULL`);
    column.nullable = op.nullable;
  }
  if (op.default !== undefined) {
    statements.push(`ALTER TABLE ${ref} ALTER COLUMN ${col} ${op.default === null ? "DROP DEFAULT" : `SET DEFAULT ${op.default}`}`);
    column.default = op.default;
  }
  if (op.comment !== undefined) statements.push(commentStatement(`COLUMN ${ref}.${col}`, op.comment));
  if (op.unique) statements.push(`ALTER TABLE ${ref} ADD CONSTRAINT ${ident(op.unique.name)} UNIQUE (${col})`);
  if (op.check) statements.push(`ALTER TABLE ${ref} ADD CONSTRAINT ${ident(op.check.name)} CHECK (${checkExpression(op.check.constraint)})`);
  if (op.references) {
    const name = op.references.name ?? `${table.physical}_${column.name}_fkey`;
    statements.push(
      `ALTER TABLE ${ref} ADD CONSTRAINT ${ident(name)} FOREIGN KEY (${col}) ${referencesClause(ctx.schema, { ...op.references, columns: [op.references.column] }, physicalReference(ctx))}`,
    );
  }
  if (statements.length > 0) {
    ctx.stages.expand.push({ kind: "ddl", description: `alter column ${table.name}.${op.column}`, statements, table: ref });
  }
}

/** Type names as PostgreSQL prints them are compared loosely, so `int` equals `integer`. */
function normalizeType(type: string): string {
  const t = type.trim().toLowerCase().replace(/\s+/g, " ");
  const aliases: Record<string, string> = {
    int: "integer",
    int4: "integer",
    int8: "bigint",
    int2: "smallint",
    bool: "boolean",
    varchar: "character varying",
    float8: "double precision",
    float4: "real",
    timestamptz: "timestamp with time zone",
    timestamp: "timestamp without time zone",
    decimal: "numeric",
  };
  const base = t.replace(/^varchar\(/, "character varying(").replace(/^decimal\(/, "numeric(");
  return aliases[base] ?? base;
}

/** Whether an up/down expression is absent or just the column, which changes no value. */
function isIdentity(expression: string | undefined, column: string): boolean {
  if (expression === undefined) return true;
  const text = expression.trim().replace(/^select\s+/i, "").trim();
  return text === column || text === `"${column.replaceAll('"', '""')}"` || (text.toLowerCase() === column && /^[a-z_][a-z0-9_$]*$/.test(column));
}
