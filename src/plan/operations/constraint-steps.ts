import { ident, identList, literal } from "../../db/ident.js";
import { upFailedSetting } from "../dual-write.js";
import type { TableModel } from "../schema-model.js";
import { attach, objectName, tableRef, type PlanContext } from "./plan-context.js";

/**
 * NOT NULL on a column `up` fills, without a scan under ACCESS EXCLUSIVE. While the
 * migration runs, a `CHECK (c IS NOT NULL OR <up failed for this row>) NOT VALID` holds
 * every write to it, except an old-version write for which `up` failed: that write must
 * go through (the old application keeps working) and is recorded instead, and complete
 * refuses while such rows remain. At complete a plain `CHECK (c IS NOT NULL) NOT VALID`
 * is added and VALIDATEd (SHARE UPDATE EXCLUSIVE, writes go on), then SET NOT NULL, which
 * PostgreSQL 12+ proves from the valid check without scanning (ALTER TABLE docs, SET NOT
 * NULL), and both checks go.
 */
export function notNullViaCheck(ctx: PlanContext, table: TableModel, physicalColumn: string): void {
  const ref = tableRef(ctx, table);
  const check = objectName(table.physical, physicalColumn, "not_null");
  const proof = objectName(table.physical, physicalColumn, "nn");
  const failed = literal(upFailedSetting(ctx.schema, table.physical));
  ctx.stages.constrain.push({
    kind: "ddl",
    description: `add NOT NULL check on ${table.name}.${physicalColumn} (NOT VALID)`,
    statements: [
      // coalesce: unset, current_setting gives NULL, and a CHECK that is NULL passes.
      `ALTER TABLE ${ref} ADD CONSTRAINT ${ident(check)} CHECK (${ident(physicalColumn)} IS NOT NULL OR coalesce(current_setting(${failed}, true), '') = 'on') NOT VALID`,
    ],
    table: ref,
  });
  ctx.stages.validate.push({
    kind: "ddl",
    description: `add NOT NULL proof on ${table.name}.${physicalColumn} (NOT VALID)`,
    statements: [
      `ALTER TABLE ${ref} DROP CONSTRAINT IF EXISTS ${ident(proof)}`,
      `ALTER TABLE ${ref} ADD CONSTRAINT ${ident(proof)} CHECK (${ident(physicalColumn)} IS NOT NULL) NOT VALID`,
    ],
    table: ref,
  });
  ctx.stages.validate.push({
    kind: "ddl",
    description: `validate NOT NULL check on ${table.name}.${physicalColumn}`,
    statements: [`ALTER TABLE ${ref} VALIDATE CONSTRAINT ${ident(proof)}`],
    table: ref,
  });
  ctx.stages.validate.push({
    kind: "ddl",
    description: `set NOT NULL on ${table.name}.${physicalColumn}`,
    statements: [
      `ALTER TABLE ${ref} ALTER COLUMN ${ident(physicalColumn)} SET NOT NULL`,
      `ALTER TABLE ${ref} DROP CONSTRAINT ${ident(proof)}`,
      `ALTER TABLE ${ref} DROP CONSTRAINT IF EXISTS ${ident(check)}`,
    ],
    table: ref,
  });
  ctx.stages.rollback.push({
    kind: "ddl",
    description: `drop NOT NULL check on ${table.name}.${physicalColumn}`,
    statements: [
      `ALTER TABLE IF EXISTS ${ref} DROP CONSTRAINT IF EXISTS ${ident(check)}`,
      `ALTER TABLE IF EXISTS ${ref} DROP CONSTRAINT IF EXISTS ${ident(proof)}`,
    ],
    table: ref,
  });
}

/**
 * UNIQUE or PRIMARY KEY without building the index under the table lock: the index is
 * built CONCURRENTLY after the backfill and attached with `ADD CONSTRAINT ... USING
 * INDEX` at complete, which only renames it.
 */
export function uniqueViaConcurrentIndex(
  ctx: PlanContext,
  table: TableModel,
  physicalColumns: string[],
  constraintName: string,
  indexName = constraintName,
  kind: "UNIQUE" | "PRIMARY KEY" = "UNIQUE",
  extra: { include?: string[] | undefined; nullsNotDistinct?: boolean | undefined } = {},
): void {
  const ref = tableRef(ctx, table);
  const include = extra.include?.length ? ` INCLUDE (${identList(extra.include)})` : "";
  const nulls = extra.nullsNotDistinct ? " NULLS NOT DISTINCT" : "";
  ctx.stages.afterBackfill.push({
    kind: "concurrent_index",
    description: `build unique index ${indexName} on ${table.name} concurrently`,
    schema: ctx.schema,
    table: table.physical,
    index: indexName,
    statement: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ${ident(indexName)} ON ${ref} (${identList(physicalColumns)})${include}${nulls}`,
  });
  attach(ctx, table, `ALTER TABLE ${ref} ADD CONSTRAINT ${ident(constraintName)} ${kind} USING INDEX ${ident(indexName)}`);
  ctx.stages.rollback.push({
    kind: "drop_index",
    description: `drop index ${indexName}`,
    schema: ctx.schema,
    index: indexName,
  });
}

/**
 * A CHECK or FOREIGN KEY added NOT VALID at start and validated at complete, or, with
 * `atStart`, at the end of start once the backfill has filled the column (as pgroll does
 * for a foreign key on a new column): VALIDATE takes SHARE UPDATE EXCLUSIVE, so writes go on.
 */
export function constraintNotValid(ctx: PlanContext, table: TableModel, name: string, definition: string, options: { atStart?: boolean } = {}): void {
  const ref = tableRef(ctx, table);
  ctx.stages.constrain.push({
    kind: "ddl",
    description: `add constraint ${name} on ${table.name} (NOT VALID)`,
    statements: [`ALTER TABLE ${ref} ADD CONSTRAINT ${ident(name)} ${definition} NOT VALID`],
    table: ref,
  });
  (options.atStart ? ctx.stages.afterBackfill : ctx.stages.validate).push({
    kind: "ddl",
    description: `validate constraint ${name}`,
    statements: [`ALTER TABLE ${ref} VALIDATE CONSTRAINT ${ident(name)}`],
    table: ref,
  });
  ctx.stages.rollback.push({
    kind: "ddl",
    description: `drop constraint ${name}`,
    statements: [`ALTER TABLE IF EXISTS ${ref} DROP CONSTRAINT IF EXISTS ${ident(name)}`],
    table: ref,
  });
}
