import { ident, identList, literal, qualified } from "../../db/ident.js";

/** A column as a migration file describes it (pgroll's column object). */
export interface ColumnSpec {
  name: string;
  type: string;
  pk?: boolean | undefined;
  nullable?: boolean | undefined;
  unique?: boolean | undefined;
  default?: string | null | undefined;
  comment?: string | null | undefined;
  check?: { name: string; constraint: string; no_inherit?: boolean | undefined } | undefined;
  references?: ReferenceSpec | undefined;
  generated?:
    | {
        expression?: string | undefined;
        identity?: { user_specified_values?: string | undefined; sequence_options?: string | undefined } | undefined;
      }
    | undefined;
}

export interface ReferenceSpec {
  name?: string | undefined;
  table: string;
  column: string;
  on_delete?: string | undefined;
  on_update?: string | undefined;
  match_type?: string | undefined;
  deferrable?: boolean | undefined;
  initially_deferred?: boolean | undefined;
  on_delete_set_columns?: string[] | undefined;
}

/** pgroll's default: a column is NOT NULL unless it says `nullable: true`. */
export function isNullable(column: ColumnSpec): boolean {
  return column.nullable === true;
}

const REFERENTIAL_ACTIONS = new Set(["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]);
const MATCH_TYPES = new Set(["SIMPLE", "FULL", "PARTIAL"]);

export function referentialAction(value: string | undefined, field: string): string | undefined {
  if (value === undefined || value === "") return undefined;
  const normal = value.trim().toUpperCase().replace(/\s+/g, " ");
  if (!REFERENTIAL_ACTIONS.has(normal)) throw new Error(`${field}: "${value}" is not one of ${[...REFERENTIAL_ACTIONS].join(", ")}`);
  return normal;
}

/**
 * Turns the table and columns a foreign key names (as the migration knows them at that
 * point: a table renamed earlier in it has its new name) into the physical ones.
 */
export type ReferenceResolver = (table: string, columns: string[]) => { table: string; columns: string[] };

/** The `REFERENCES ...` clause of a foreign key. */
export function referencesClause(
  schema: string,
  ref: { table: string; columns: string[]; on_delete?: string | undefined; on_update?: string | undefined; match_type?: string | undefined; deferrable?: boolean | undefined; initially_deferred?: boolean | undefined; on_delete_set_columns?: string[] | undefined },
  resolve?: ReferenceResolver,
): string {
  const target = resolve ? resolve(ref.table, ref.columns) : { table: ref.table, columns: ref.columns };
  const onDelete = referentialAction(ref.on_delete, "on_delete");
  const onUpdate = referentialAction(ref.on_update, "on_update");
  const match = ref.match_type ? ref.match_type.trim().toUpperCase() : undefined;
  if (match !== undefined && !MATCH_TYPES.has(match)) throw new Error(`match_type: "${ref.match_type}" is not one of SIMPLE, FULL, PARTIAL`);
  let sql = `REFERENCES ${qualified(schema, target.table)} (${identList(target.columns)})`;
  if (match) sql += ` MATCH ${match}`;
  if (onDelete) {
    sql += ` ON DELETE ${onDelete}`;
    if (ref.on_delete_set_columns?.length && (onDelete === "SET NULL" || onDelete === "SET DEFAULT")) {
      sql += ` (${identList(ref.on_delete_set_columns)})`;
    }
  }
  if (onUpdate) sql += ` ON UPDATE ${onUpdate}`;
  if (ref.deferrable) sql += " DEFERRABLE";
  if (ref.initially_deferred) sql += " INITIALLY DEFERRED";
  return sql;
}

/**
 * The full inline definition of a column for CREATE TABLE (or ADD COLUMN on a table
 * nobody uses yet). Primary keys are left to a table constraint so composite keys work.
 */
export function inlineColumnDefinition(schema: string, column: ColumnSpec, physical = column.name, resolve?: ReferenceResolver): string {
  const parts = [ident(physical), column.type];
  if (column.generated?.expression) {
    parts.push(`GENERATED ALWAYS AS (${column.generated.expression}) STORED`);
  } else if (column.generated?.identity) {
    const when = (column.generated.identity.user_specified_values ?? "BY DEFAULT").toUpperCase() === "ALWAYS" ? "ALWAYS" : "BY DEFAULT";
    const options = column.generated.identity.sequence_options;
    parts.push(`GENERATED ${when} AS IDENTITY${options ? ` (${options})` : ""}`);
  }
  if (column.default !== undefined && column.default !== null) parts.push(`DEFAULT ${column.default}`);
  if (!isNullable(column) || column.pk) parts.push("NOT NULL");
  if (column.unique) parts.push("UNIQUE");
  if (column.check) {
    parts.push(`CONSTRAINT ${ident(column.check.name)} CHECK (${checkExpression(column.check.constraint)})${column.check.no_inherit ? " NO INHERIT" : ""}`);
  }
  if (column.references) {
    const ref = column.references;
    parts.push(
      `${ref.name ? `CONSTRAINT ${ident(ref.name)} ` : ""}${referencesClause(schema, { ...ref, columns: [ref.column] }, resolve)}`,
    );
  }
  return parts.join(" ");
}

/** A check constraint's expression; pgroll files may also write it wrapped as `CHECK (...)`. */
export function checkExpression(text: string): string {
  const wrapped = /^\s*CHECK\s*\(([\s\S]*)\)\s*$/i.exec(text);
  return (wrapped ? wrapped[1]! : text).trim();
}

export function commentStatement(target: string, comment: string | null): string {
  return `COMMENT ON ${target} IS ${comment === null ? "NULL" : literal(comment)}`;
}
