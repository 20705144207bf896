import { ident, identList } from "../../db/ident.js";
import { UnderwayError } from "../../errors.js";
import type { ColumnModel, TableModel } from "../schema-model.js";
import { renameIdentifiers } from "../sql-expression.js";
import { commentStatement } from "./column-definition.js";
import { notNullViaCheck, constraintNotValid } from "./constraint-steps.js";
import {
  addDown,
  addPair,
  addUp,
  addedColumn,
  attach,
  invalid,
  objectName,
  tableRef,
  tempColumnName,
  type PlanContext,
} from "./plan-context.js";

/** One column to duplicate, and how its copy differs from it. */
export interface DuplicateSpec {
  column: ColumnModel;
  type?: string | undefined;
  /** The copy's final nullability. */
  nullable?: boolean | undefined;
  /** `undefined` keeps the current default; `null` drops it. */
  default?: string | null | undefined;
  comment?: string | null | undefined;
  /** old -> new, with the old version's names; defaults to the column itself. */
  up?: string | undefined;
  /** new -> old, with the new version's names; defaults to the column itself. */
  down?: string | undefined;
  /** Where `up` and `down` stand in the file, when not `<operation>.up` and `.down`. */
  origins?: { up: string; down: string };
}

/**
 * Changes that PostgreSQL cannot make in place without a rewrite or a scan under
 * ACCESS EXCLUSIVE, or that old clients must not see, are made on a copy of the
 * column: added empty (no default at ADD, so not even a volatile default rewrites),
 * kept in step by the dual-write trigger, backfilled, given copies of the indexes and
 * constraints of the original (built concurrently / NOT VALID), and swapped in at
 * complete, when the original is dropped and the copy takes its name.
 *
 * `omitConstraint` leaves one constraint of the original off the copy
 * (drop_multicolumn_constraint).
 */
export async function duplicateColumns(
  ctx: PlanContext,
  table: TableModel,
  specs: DuplicateSpec[],
  options: { omitConstraint?: string | undefined } = {},
): Promise<Map<string, string>> {
  if (table.createdHere) throw new Error("duplicateColumns: the table is new; change it in place");
  const ref = tableRef(ctx, table);
  const renames = new Map<string, string>(); // old physical -> copy
  for (const spec of specs) {
    if (spec.column.generated || spec.column.identity) {
      throw invalid(ctx, "", `column "${spec.column.name}" is generated or an identity column; underway cannot duplicate it yet`);
    }
    if (renames.has(spec.column.physical)) continue;
    renames.set(spec.column.physical, tempColumnName(table, spec.column.name, ctx));
  }
  const renameMap = Object.fromEntries(renames);

  for (const spec of specs) {
    const column = spec.column;
    const copy = renames.get(column.physical)!;
    const type = spec.type ?? column.type;
    const statements = [`ALTER TABLE ${ref} ADD COLUMN ${ident(copy)} ${type}`];
    let defaultValue = spec.default === undefined ? column.default : spec.default;
    // A default the new type cannot hold is dropped, as pgroll does ('0' on an integer, say).
    if (spec.default === undefined && defaultValue !== null && type !== column.type && !(await ctx.probe.compiles(`CREATE TEMP TABLE _uw_default_fits (c ${type} DEFAULT ${defaultValue})`))) {
      (ctx.notices ??= []).push(`${ctx.path}: the default of ${table.name}.${column.name} (${defaultValue}) cannot be a ${type}; the new version has none`);
      defaultValue = null;
    }
    // SET DEFAULT after ADD COLUMN only applies to rows inserted later: no rewrite even when volatile.
    if (defaultValue !== null) statements.push(`ALTER TABLE ${ref} ALTER COLUMN ${ident(copy)} SET DEFAULT ${defaultValue}`);
    const comment = spec.comment === undefined ? column.comment : spec.comment;
    if (comment !== null) statements.push(commentStatement(`COLUMN ${ref}.${ident(copy)}`, comment));
    ctx.stages.expand.push({
      kind: "ddl",
      description: `add column ${copy} to ${table.name} (copy of ${column.name})`,
      statements,
      table: ref,
    });
    const nullable = spec.nullable ?? column.nullable;
    if (!nullable) notNullViaCheck(ctx, table, copy);

    // Without up/down the value is carried over as it is (with an assignment cast): up
    // names the column as the operation found it, down as the operation leaves it.
    const origin = spec.origins ?? { up: `${ctx.path}.up`, down: `${ctx.path}.down` };
    addUp(ctx, table, { target: copy, expression: spec.up ?? ident(column.name), origin: origin.up, targetType: type });
    addDown(
      ctx,
      table,
      spec.down === undefined
        ? { target: column.physical, sameAs: column, origin: ctx.path, targetType: column.type }
        : { target: column.physical, expression: spec.down, origin: origin.down, targetType: column.type },
    );
    addPair(ctx, table, { old: column.physical, new: copy });
    addedColumn(ctx, table, copy);

    column.physical = copy;
    column.type = type;
    column.nullable = nullable;
    column.default = defaultValue;
    column.comment = comment;
  }
  ctx.backfill.add(table.physical);

  // Copies of the indexes and constraints over the duplicated columns.
  for (const index of table.indexes) {
    if (!index.columns.some((c) => renames.has(c)) && !mentions(index.definition, renames)) continue;
    if (index.constraint !== null && index.constraint === options.omitConstraint) continue;
    if (index.primary) {
      uniqueCopy(ctx, table, index.definition, renameMap, index.constraint ?? index.name, "PRIMARY KEY");
      continue;
    }
    if (index.constraint !== null) {
      const isExclusion = table.constraints.find((c) => c.name === index.constraint)?.type === "x";
      if (isExclusion) {
        throw invalid(ctx, "", `exclusion constraint "${index.constraint}" covers a changed column; underway cannot copy it yet`);
      }
      uniqueCopy(ctx, table, index.definition, renameMap, index.constraint, "UNIQUE");
      continue;
    }
    const copyName = objectName(index.name);
    ctx.stages.afterBackfill.push({
      kind: "concurrent_index",
      description: `copy index ${index.name} for the changed columns`,
      schema: ctx.schema,
      table: table.physical,
      index: copyName,
      statement: copyIndexDefinition(index.definition, copyName, renameMap),
    });
    attach(ctx, table, `ALTER INDEX ${ident(ctx.schema)}.${ident(copyName)} RENAME TO ${ident(index.name)}`);
    ctx.stages.rollback.push({ kind: "drop_index", description: `drop index ${copyName}`, schema: ctx.schema, index: copyName });
  }
  for (const constraint of table.constraints) {
    if (constraint.type !== "c" && constraint.type !== "f") continue;
    if (constraint.name === options.omitConstraint) continue;
    if (!constraint.columns.some((c) => renames.has(c))) continue;
    const copyName = objectName(constraint.name);
    let definition = constraint.definition.replace(/\s+NOT VALID$/, "");
    if (constraint.type === "f") {
      definition = definition.replace(/^FOREIGN KEY \(([^)]*)\)/, (_, cols: string) =>
        `FOREIGN KEY (${identList(cols.split(",").map((c) => unquote(c.trim())).map((c) => renames.get(c) ?? c))})`,
      );
    } else {
      definition = renameIdentifiers(definition, renameMap);
      // A check the new type cannot evaluate (length() of an integer) is dropped, as pgroll does.
      const expression = /^CHECK \(([\s\S]*)\)(\s+NO INHERIT)?$/.exec(definition)?.[1];
      const row = table.columns.map((c) => `NULL::${c.type} AS ${ident(c.physical)}`).join(", ");
      if (expression !== undefined && !(await ctx.probe.compiles(`SELECT (${expression}) FROM (SELECT ${row}) AS t`))) {
        (ctx.notices ??= []).push(`${ctx.path}: the check ${constraint.name} (${constraint.definition}) does not apply to the new type; the new version does without it`);
        continue;
      }
    }
    constraintNotValid(ctx, table, copyName, definition);
    attach(ctx, table, `ALTER TABLE ${ref} RENAME CONSTRAINT ${ident(copyName)} TO ${ident(constraint.name)}`);
  }
  table.primaryKey = table.primaryKey.map((c) => renames.get(c) ?? c);
  // The table's model now describes the copies; the originals' objects go with them at complete.
  table.indexes = table.indexes.filter((i) => !i.columns.some((c) => renames.has(c)));
  table.constraints = table.constraints.filter((c) => !c.columns.some((col) => renames.has(col)));
  return renames;
}

function uniqueCopy(
  ctx: PlanContext,
  table: TableModel,
  definition: string,
  renames: Record<string, string>,
  constraintName: string,
  kind: "UNIQUE" | "PRIMARY KEY",
): void {
  const ref = tableRef(ctx, table);
  const indexName = objectName(constraintName);
  ctx.stages.afterBackfill.push({
    kind: "concurrent_index",
    description: `copy ${kind === "UNIQUE" ? "unique constraint" : "primary key"} ${constraintName} for the changed columns`,
    schema: ctx.schema,
    table: table.physical,
    index: indexName,
    statement: copyIndexDefinition(definition, indexName, renames),
  });
  attach(ctx, table, `ALTER TABLE ${ref} ADD CONSTRAINT ${ident(constraintName)} ${kind} USING INDEX ${ident(indexName)}`);
  ctx.stages.rollback.push({ kind: "drop_index", description: `drop index ${indexName}`, schema: ctx.schema, index: indexName });
}

/**
 * `CREATE [UNIQUE] INDEX name ON schema.t USING m (cols) ...` from pg_get_indexdef,
 * rewritten as a concurrent build of a copy over the duplicated columns.
 */
export function copyIndexDefinition(definition: string, copyName: string, renames: Record<string, string>): string {
  // pg_get_indexdef's form, or the planner's own for an index this migration creates.
  const match = /^CREATE (UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?(?:"(?:[^"]|"")+"|\S+) ON (ONLY )?(.*)$/s.exec(definition);
  if (!match) throw new UnderwayError("INVALID_MIGRATION", `cannot copy index for the changed column: ${definition}`);
  const [, unique = "", , rest = ""] = match;
  const on = /^((?:"(?:[^"]|"")+"|[^\s.]+)\.(?:"(?:[^"]|"")+"|\S+))(\s.*)$/s.exec(rest);
  const target = on ? on[1]! : rest;
  const tail = on ? on[2]! : "";
  return `CREATE ${unique}INDEX CONCURRENTLY IF NOT EXISTS ${ident(copyName)} ON ${target}${renameIdentifiers(tail, renames)}`;
}

function mentions(definition: string, renames: Map<string, string>): boolean {
  for (const name of renames.keys()) {
    if (renameIdentifiers(definition, { [name]: "\u0001" }) !== definition) return true;
  }
  return false;
}

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name;
}
