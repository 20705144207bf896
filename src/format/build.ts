/**
 * Building normalized values from parsed raw ones, with the checks that span several fields
 * (a foreign key needs as many referenced columns as key columns, a generated column has no
 * default, ...). These are the pieces several operations share; each operation's own builder
 * is in `operations/<kind>.ts`, and `OperationFormat` is what such a file exports.
 */
import type * as z from "zod";

import type { Path, Problems } from "./problems.js";
import { canonical, FOREIGN_KEY_ACTIONS, MATCH_TYPES, USER_SPECIFIED_VALUES } from "./raw.js";
import type { RawCheckConstraint, RawColumn, RawColumnReference, RawIndexParameters, RawTableReference } from "./raw.js";
import type {
  CheckConstraint,
  Column,
  ForeignKeyMatchType,
  ForeignKeyReference,
  IdentityColumn,
  IndexParameters,
  TableForeignKeyReference,
} from "./types.js";

/**
 * One operation of the file format: its raw shape, checked by zod, and the builder that turns
 * what zod parsed into the normalized operation (or, for older spellings that mean two
 * operations, the list of them) the planner reads, adding to `problems` whatever depends on
 * several fields at once.
 */
export interface OperationFormat<S extends z.ZodType = z.ZodType, O = unknown> {
  raw: S;
  build(raw: z.output<S>, path: Path, problems: Problems): O;
}

/** Declares an operation's format; `build` gets the parsed shape of `raw`. */
export function operationFormat<S extends z.ZodType, O>(raw: S, build: (raw: z.output<S>, path: Path, problems: Problems) => O): OperationFormat<S, O> {
  return { raw, build };
}

/** Given in the file: neither absent nor null, which pgroll reads alike. */
export function given<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}

/** Enough English for our constraint types: "an exclude", but "a unique". */
export function article(word: string): "a" | "an" {
  return /^[aeio]/i.test(word) ? "an" : "a";
}

export function duplicates(values: readonly string[]): string[] {
  return values.filter((value, i) => values.indexOf(value) !== i);
}

/** A column-level check (`columns[].check`, `alter_column.check`). */
export function buildCheckConstraint(raw: RawCheckConstraint): CheckConstraint {
  return { name: raw.name, constraint: raw.constraint, no_inherit: raw.no_inherit ?? false };
}

/** A column-level foreign key (`columns[].references`, `alter_column.references`). */
export function buildColumnReference(problems: Problems, raw: RawColumnReference, path: Path): ForeignKeyReference {
  const deferrable = raw.deferrable ?? false;
  const initiallyDeferred = raw.initially_deferred ?? false;
  if (initiallyDeferred && !deferrable) {
    problems.add([...path, "initially_deferred"], "requires deferrable: true");
  }
  return {
    name: raw.name,
    table: raw.table,
    column: raw.column,
    on_delete: canonical(FOREIGN_KEY_ACTIONS, raw.on_delete ?? "NO ACTION"),
    on_update: canonical(FOREIGN_KEY_ACTIONS, raw.on_update ?? "NO ACTION"),
    match_type: matchType(problems, raw.match_type, [...path, "match_type"]),
    deferrable,
    initially_deferred: initiallyDeferred,
  };
}

/** A table-level foreign key's `references`; `keyColumns` are the columns it constrains. */
export function buildTableReference(problems: Problems, raw: RawTableReference, path: Path, keyColumns: readonly string[]): TableForeignKeyReference {
  if (raw.columns.length === 0) problems.add([...path, "columns"], "must list at least one referenced column");
  else if (keyColumns.length > 0 && raw.columns.length !== keyColumns.length) {
    problems.add(
      [...path, "columns"],
      `lists ${raw.columns.length} referenced column(s) for ${keyColumns.length} key column(s); they must pair up`,
    );
  }
  const onDelete = canonical(FOREIGN_KEY_ACTIONS, raw.on_delete ?? "NO ACTION");
  const reference: TableForeignKeyReference = {
    table: raw.table,
    columns: raw.columns,
    on_delete: onDelete,
    on_update: canonical(FOREIGN_KEY_ACTIONS, raw.on_update ?? "NO ACTION"),
    match_type: matchType(problems, raw.match_type, [...path, "match_type"]),
  };
  if (given(raw.on_delete_set_columns) && raw.on_delete_set_columns.length > 0) {
    if (onDelete !== "SET NULL" && onDelete !== "SET DEFAULT") {
      problems.add([...path, "on_delete_set_columns"], "only applies with on_delete: SET NULL or SET DEFAULT");
    }
    raw.on_delete_set_columns.forEach((column, i) => {
      if (!keyColumns.includes(column)) {
        problems.add([...path, "on_delete_set_columns", i], `"${column}" is not one of the key columns`);
      }
    });
    reference.on_delete_set_columns = raw.on_delete_set_columns;
  }
  return reference;
}

function matchType(problems: Problems, raw: string | null | undefined, path: Path): ForeignKeyMatchType {
  const matchType = canonical(MATCH_TYPES, raw ?? "SIMPLE");
  if (matchType === "PARTIAL") {
    problems.add(path, "MATCH PARTIAL is not implemented by PostgreSQL; use SIMPLE or FULL");
    return "SIMPLE";
  }
  return matchType;
}

/** A column of create_table or add_column. */
export function buildColumn(problems: Problems, raw: RawColumn, path: Path): Column {
  const column: Column = {
    name: raw.name,
    type: raw.type,
    nullable: raw.nullable ?? false,
    pk: raw.pk ?? false,
    unique: raw.unique ?? false,
  };
  if (given(raw.default)) column.default = raw.default;
  if (given(raw.comment)) column.comment = raw.comment;
  if (given(raw.check)) column.check = buildCheckConstraint(raw.check);
  if (given(raw.references)) column.references = buildColumnReference(problems, raw.references, [...path, "references"]);
  if (given(raw.generated)) {
    const generatedPath = [...path, "generated"];
    const { expression, identity } = raw.generated;
    if (given(expression) && given(identity)) {
      problems.add(generatedPath, "set either expression or identity, not both");
    } else if (given(expression)) {
      column.generated = { expression };
    } else if (given(identity)) {
      const normalized: IdentityColumn = {
        user_specified_values: canonical(USER_SPECIFIED_VALUES, identity.user_specified_values ?? "ALWAYS"),
      };
      if (given(identity.sequence_options) && identity.sequence_options.trim() !== "") {
        normalized.sequence_options = identity.sequence_options;
      }
      column.generated = { identity: normalized };
    } else {
      problems.add(generatedPath, "set expression (a stored generated column) or identity");
    }
    if (given(raw.default)) problems.add([...path, "default"], "a generated column cannot also have a default");
  }
  return column;
}

/** `index_parameters`; `include_columns` are checked against `tableColumns` when they are known. */
export function buildIndexParameters(problems: Problems, raw: RawIndexParameters, path: Path, tableColumns?: readonly string[]): IndexParameters {
  const parameters: IndexParameters = {};
  if (given(raw.tablespace)) parameters.tablespace = raw.tablespace;
  if (given(raw.storage_parameters)) parameters.storage_parameters = raw.storage_parameters;
  if (given(raw.include_columns) && raw.include_columns.length > 0) {
    if (tableColumns !== undefined) knownColumns(problems, raw.include_columns, [...path, "include_columns"], tableColumns);
    parameters.include_columns = raw.include_columns;
  }
  return parameters;
}

export function knownColumns(problems: Problems, columns: readonly string[], path: Path, tableColumns: readonly string[]): void {
  columns.forEach((column, i) => {
    if (!tableColumns.includes(column)) problems.add([...path, i], `"${column}" is not a column of this table`);
  });
}

/** Reports fields that have no meaning for a constraint type; zero values pass, as in pgroll's schema. */
export function forbid(problems: Problems, raw: Record<string, unknown>, fields: readonly string[], path: Path, type: string): void {
  for (const field of fields) {
    const value = raw[field];
    const set =
      value === true ||
      (typeof value === "string" && value !== "") ||
      (Array.isArray(value) && value.length > 0) ||
      (typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).some(given));
    if (set) problems.add([...path, field], `not allowed on ${article(type)} ${type} constraint`);
  }
}
