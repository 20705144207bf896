/**
 * alter_column: changes one column (type, nullability, default, comment, uniqueness, a check,
 * a foreign key), through a copy of the column kept in step with the original. Also reads
 * pgroll's older spellings of it: `name` (a rename) and `not_null`.
 */
import * as z from "zod";

import { buildCheckConstraint, buildColumnReference, given, operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { closed, identifier, optional, rawCheckConstraint, rawColumnReference, sqlText } from "../raw.js";
import type { CheckConstraint, ForeignKeyReference } from "../types.js";
import type { RenameColumnOperation } from "./rename-column.js";

/**
 * Changes one column. Every field but `table` and `column` is optional; at least one change is
 * present. `default: null` drops the default and `comment: null` drops the comment, while an
 * absent key leaves them alone.
 */
export interface AlterColumnOperation {
  kind: "alter_column";
  table: string;
  column: string;
  type?: string;
  nullable?: boolean;
  default?: string | null;
  comment?: string | null;
  unique?: { name: string };
  check?: CheckConstraint;
  references?: ForeignKeyReference;
  /** Old column to new: SQL over the columns as the table is when the operation begins. */
  up?: string;
  /** New column to old: SQL over the columns as the operation leaves the table. */
  down?: string;
  /** Set when the file's alter_column also had `name` (pgroll's older rename), split into the rename that follows. */
  legacyRename?: boolean;
}

const rawAlterColumnFields = {
  table: identifier,
  column: identifier,
  type: optional(sqlText),
  nullable: optional(z.boolean()),
  default: sqlText.nullable().optional(),
  comment: z.string().nullable().optional(),
  unique: optional(closed({ name: identifier })),
  check: optional(rawCheckConstraint),
  references: optional(rawColumnReference),
  up: optional(sqlText),
  down: optional(sqlText),
};

const rawAlterColumn = closed({
  ...rawAlterColumnFields,
  // Deprecated: pgroll once renamed columns through alter_column, and its very first
  // releases spelt nullability `not_null`.
  name: optional(identifier),
  not_null: optional(z.boolean()),
});

export type AlterColumnInput = z.input<typeof rawAlterColumn>;

/** The fields of an alter_column without its older spellings. */
export type RawAlterColumn = Omit<z.output<typeof rawAlterColumn>, "name" | "not_null">;

/** Builds an alter_column from its fields; `path` names the key the fields came from. */
export function buildAlterColumn(raw: RawAlterColumn, path: Path, problems: Problems): AlterColumnOperation {
  const operation: AlterColumnOperation = { kind: "alter_column", table: raw.table, column: raw.column };
  if (given(raw.type)) operation.type = raw.type;
  if (given(raw.nullable)) operation.nullable = raw.nullable;
  if (raw.default !== undefined) operation.default = raw.default;
  if (raw.comment !== undefined) operation.comment = raw.comment;
  if (given(raw.unique)) operation.unique = { name: raw.unique.name };
  if (given(raw.check)) operation.check = buildCheckConstraint(raw.check);
  if (given(raw.references)) operation.references = buildColumnReference(problems, raw.references, [...path, "references"]);
  if (given(raw.up)) operation.up = raw.up;
  if (given(raw.down)) operation.down = raw.down;

  // pgroll's sub-operations refuse to start without the expressions they cannot invent:
  // converting values between types or into a new constraint needs both directions, and
  // NOT NULL needs `up` to replace existing NULLs. Defaults, comments, uniqueness and
  // dropping NOT NULL copy the column unchanged when `up`/`down` are absent.
  // Which of up and down the change needs is checked when it is planned, once the table
  // and column are known to exist (pgroll reports a missing table first).
  return operation;
}

/**
 * `name` on alter_column was pgroll's rename before rename_column existed; alone it is a
 * rename_column, next to other changes it renames after them (their `up` names the column
 * as it was, their `down` as renamed). `not_null` is the first spelling of `nullable`, inverted.
 */
function buildAlterColumnWithLegacyFields(raw: z.output<typeof rawAlterColumn>, path: Path, problems: Problems): (AlterColumnOperation | RenameColumnOperation)[] {
  const { name, not_null: notNull, ...fields } = raw;
  if (given(notNull)) {
    if (given(fields.nullable)) problems.add([...path, "not_null"], "give nullable or the older not_null, not both");
    else fields.nullable = !notNull;
  }
  // null means "drop it" for default and comment, and "not given" for the rest.
  const changes = ["type", "nullable", "default", "comment", "unique", "check", "references"] as const;
  const changesSomething = changes.some((field) =>
    field === "default" || field === "comment" ? fields[field] !== undefined : given(fields[field]),
  );

  const operations: (AlterColumnOperation | RenameColumnOperation)[] = [];
  if (changesSomething) {
    const operation = buildAlterColumn(fields, path, problems);
    if (given(name)) operation.legacyRename = true;
    operations.push(operation);
  } else if (!given(name)) {
    problems.add(path, `changes nothing: set at least one of ${changes.join(", ")}`);
    return [];
  } else {
    for (const direction of ["up", "down"] as const) {
      if (given(fields[direction])) problems.add([...path, direction], "not allowed when alter_column only renames the column");
    }
  }
  if (given(name)) {
    if (name === fields.column) problems.add([...path, "name"], `is the same as column ("${name}")`);
    operations.push({ kind: "rename_column", table: fields.table, from: fields.column, to: name });
  }
  return operations;
}

export const alterColumnFormat = operationFormat(rawAlterColumn, buildAlterColumnWithLegacyFields);
