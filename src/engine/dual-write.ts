import { createHash } from "node:crypto";
import { ident, literal, qualified } from "../db/ident.js";
import { asValueExpression, dollarTag } from "./sql-expression.js";

/**
 * Dual write: while a migration is active, a BEFORE trigger on each changed table keeps
 * the old and new representations in step. A write from the new version sets the old
 * columns from `down(new)`; any other write (old version, raw table, backfill) sets the
 * new columns from `up(old)`. `up` is evaluated with the old version's column names
 * bound to the row, `down` with the new version's, so the expressions in a migration
 * file read exactly as the columns do in that version.
 */
export interface DualWriteTable {
  schema: string;
  /** Physical table name. */
  table: string;
  /** Logical column names of the old version, bound for `up`. */
  oldBindings: Binding[];
  /** Logical column names of the new version, bound for `down`. */
  newBindings: Binding[];
  up: Assignment[];
  down: Assignment[];
  /** Columns kept in step both ways (original, copy): `up` fills `new`, `down` fills `old`. */
  pairs: { old: string; new: string }[];
}

export interface Binding {
  name: string;
  physical: string;
}

export interface Assignment {
  /** Physical column set by the trigger. */
  target: string;
  expression: string;
}

export const DUAL_WRITE_TRIGGER = "_uw_dual_write";

/** The trigger function's name: stable per schema and table, within 63 bytes. */
export function dualWriteFunctionName(schema: string, table: string): string {
  const hash = createHash("sha256").update(`${schema}.${table}`).digest("hex").slice(0, 10);
  return `dual_write_${hash}_${Buffer.from(table).subarray(0, 36).toString("utf8").replace(/\uFFFD/g, "")}`;
}

export function createDualWriteStatements(
  stateSchema: string,
  versionSchema: string,
  migration: string,
  spec: DualWriteTable,
): string[] {
  const fn = qualified(stateSchema, dualWriteFunctionName(spec.schema, spec.table));
  const table = qualified(spec.schema, spec.table);
  const declare = (bindings: Binding[]) =>
    bindings.map((b) => `      ${ident(b.name)} ${table}.${ident(b.physical)}%TYPE := NEW.${ident(b.physical)};`).join("\n");
  const assign = (assignments: Assignment[]) =>
    assignments.map((a) => `      NEW.${ident(a.target)} := ${asValueExpression(a.expression)};`).join("\n");
  const expressions = [...spec.up, ...spec.down].map((a) => a.expression);
  const tag = dollarTag(...expressions);
  const branch = (bindings: Binding[], assignments: Assignment[]) =>
    assignments.length === 0 ? "    NULL;" : `    DECLARE\n${declare(bindings)}\n    BEGIN\n${assign(assignments)}\n    END;`;
  // The common cases are decided inline, without a function call per row: the backfill
  // and pinned clients set underway.version; a session whose search_path does not even
  // contain the version schema's name cannot have it first. The rest (parsing
  // search_path, refusing an unknown version) is is_new_version's.
  const quick = versionSchema.includes('"')
    ? ""
    : `
    WHEN (v IS NULL OR v = '') AND strpos(current_setting('search_path'), ${literal(versionSchema)}) = 0 THEN false`;
  const body = `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS ${tag}
#variable_conflict use_column
DECLARE
  v text := current_setting('underway.version', true);
BEGIN
  -- In parentheses: PL/pgSQL reads an IF condition up to the first THEN outside them.
  IF (CASE
    WHEN v IN (${literal(versionSchema)}, ${literal(migration)}) THEN true
    WHEN v = ${literal(spec.schema)} THEN false${quick}
    ELSE ${qualified(stateSchema, "is_new_version")}(${literal(spec.schema)}, ${literal(versionSchema)}, ${literal(migration)})
  END) THEN
${branch(spec.newBindings, spec.down)}
  ELSE
${branch(spec.oldBindings, spec.up)}
  END IF;
  RETURN NEW;
END
${tag}`;
  return [
    body,
    `DROP TRIGGER IF EXISTS ${ident(DUAL_WRITE_TRIGGER)} ON ${table}`,
    `CREATE TRIGGER ${ident(DUAL_WRITE_TRIGGER)} BEFORE INSERT OR UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
  ];
}

export function dropDualWriteStatements(stateSchema: string, schema: string, table: string): string[] {
  return [
    `DROP TRIGGER IF EXISTS ${ident(DUAL_WRITE_TRIGGER)} ON ${qualified(schema, table)}`,
    `DROP FUNCTION IF EXISTS ${qualified(stateSchema, dualWriteFunctionName(schema, table))}()`,
  ];
}
