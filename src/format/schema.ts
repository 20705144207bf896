/**
 * The migration file format: pgroll's operations, read as pgroll reads them, validated as far
 * as a file can be without a database, and normalized into one tagged union the engine can
 * switch on. Field names and meanings are pgroll's; `docs/file-format.md` describes each one.
 *
 * Parsing has two passes. Zod checks the shape of every operation (required fields, types,
 * unknown keys); then plain code checks what depends on several fields at once (a type change
 * needs `up` and `down`, a foreign key needs as many referenced columns as columns, ...) and
 * builds the normalized operation. Every problem carries the path of the field it is about, and
 * the first one becomes a one-line `INVALID_MIGRATION` error naming the file and that path.
 *
 * This file is the entry point and what the rest of underway imports. The parts live beside
 * it: `types.ts` (shared normalized types), `problems.ts` (problems and their rendering),
 * `raw.ts` (shared raw shapes), `build.ts` (shared builders) and `operations/<kind>.ts` (one
 * operation each: its normalized type, raw shape and builder), listed in `operations/index.ts`.
 */
import * as z from "zod";

import { UnderwayError } from "../errors.js";
import { given } from "./build.js";
import { OPERATION_KEYS, OPERATION_KINDS, operationFormatOf, type Operation, type OperationInput } from "./operations/index.js";
import { closestMatch, describeValueType, formatPath, Problems, type Path } from "./problems.js";
import { checkedLater, closed, identifier, optional } from "./raw.js";

export { formatPath } from "./problems.js";
export { MAX_IDENTIFIER_BYTES } from "./raw.js";
export { DEPRECATED_OPERATION_KINDS, OPERATION_KINDS } from "./operations/index.js";
export type { DeprecatedOperationKind, Operation, OperationInput, OperationKind } from "./operations/index.js";
export type * from "./types.js";
export type { ColumnInput, CheckConstraintInput, ColumnReferenceInput, TableReferenceInput, IndexParametersInput, ColumnMapInput } from "./raw.js";
export type { AddColumnInput, AddColumnOperation } from "./operations/add-column.js";
export type { AlterColumnInput, AlterColumnOperation } from "./operations/alter-column.js";
export type { CreateConstraintInput, CreateConstraintOperation } from "./operations/create-constraint.js";
export type { CreateIndexInput, CreateIndexOperation, IndexColumn, IndexColumnInput, IndexColumnsInput, IndexMethod } from "./operations/create-index.js";
export type { CreateTableInput, CreateTableOperation, TableConstraintInput } from "./operations/create-table.js";
export type { DropColumnInput, DropColumnOperation } from "./operations/drop-column.js";
export type { DropConstraintInput, DropConstraintOperation } from "./operations/drop-constraint.js";
export type { DropIndexInput, DropIndexOperation } from "./operations/drop-index.js";
export type { DropMultiColumnConstraintInput, DropMultiColumnConstraintOperation } from "./operations/drop-multicolumn-constraint.js";
export type { DropTableInput, DropTableOperation } from "./operations/drop-table.js";
export type { RenameColumnInput, RenameColumnOperation } from "./operations/rename-column.js";
export type { RenameConstraintInput, RenameConstraintOperation } from "./operations/rename-constraint.js";
export type { RenameTableInput, RenameTableOperation } from "./operations/rename-table.js";
export type { SetReplicaIdentityInput, SetReplicaIdentityOperation } from "./operations/set-replica-identity.js";
export type { SqlInput, SqlOperation } from "./operations/sql.js";

export interface Migration {
  name: string;
  operations: Operation[];
  /** pgroll's `version_schema`: the version schema is `<schema>_<version_schema>` instead of `<schema>_<name>`. */
  versionSchema?: string;
}

const rawMigration = closed({
  name: optional(z.string()),
  version_schema: optional(identifier),
  operations: z.array(checkedLater<OperationInput>()),
});

/** A migration file's content, for code that writes one (`underway convert`). */
export type MigrationInput = z.input<typeof rawMigration>;

/** The key naming the operation at `path`, if it is one; says what is wrong if not. */
function operationKey(value: unknown, path: Path, problems: Problems): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.add(path, `expected an operation (a mapping with one key such as create_table), got ${describeValueType(value)}`);
    return undefined;
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    problems.add(
      path,
      keys.length === 0
        ? "empty operation: expected one key naming the operation, such as create_table"
        : `an operation has exactly one key, found ${keys.length} (${keys.join(", ")}); check the indentation`,
    );
    return undefined;
  }
  const key = keys[0]!;
  if (operationFormatOf(key) === undefined) {
    const suggestion = closestMatch(key, OPERATION_KEYS);
    const hint = suggestion === undefined ? "" : `did you mean "${suggestion}"? `;
    problems.add(path, `unknown operation ${JSON.stringify(key)} (${hint}expected one of ${OPERATION_KINDS.join(", ")})`);
    return undefined;
  }
  return key;
}

/** Builds the operation(s) for one operation of the file, after zod has checked its shape. */
function buildOperation(kind: string, value: unknown, path: Path, problems: Problems): Operation[] {
  const format = operationFormatOf(kind)!;
  const parsed = problems.parse(format.raw, value, path);
  if (parsed === undefined) return [];
  return [format.build(parsed, path, problems)].flat();
}

/**
 * Validates a parsed migration file (the value YAML or JSON gave) and normalizes it.
 * `source.name` is the migration's name (the file name without its extension); a `name` key
 * in the file, as older pgroll files have, must agree with it.
 *
 * @throws UnderwayError `INVALID_MIGRATION` with one line `<file>: <path>: <message>`; every
 *   problem found is listed in `detail`.
 *
 * @example
 * const migration = parseMigration(YAML.parse(text), { name: "03_add_column", file: "migrations/03_add_column.yaml" });
 * for (const op of migration.operations) if (op.kind === "add_column") console.log(op.column.name);
 */
export function parseMigration(raw: unknown, source: { name: string; file: string }): Migration {
  const problems = new Problems();
  const migration = parseInto(raw, source, problems);
  if (migration !== undefined && problems.empty) return migration;

  const lines = problems.list.map(({ path, message }) => {
    const where = formatPath(path);
    return where === "" ? `${source.file}: ${message}` : `${source.file}: ${where}: ${message}`;
  });
  throw new UnderwayError("INVALID_MIGRATION", lines[0] ?? `${source.file}: invalid migration`, {
    detail: lines.length > 1 ? lines.join("\n") : undefined,
  });
}

function parseInto(raw: unknown, source: { name: string; file: string }, problems: Problems): Migration | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.add([], `expected a mapping with an operations list at the top level, got ${describeValueType(raw)}`);
    return undefined;
  }
  const top = problems.parse(rawMigration, raw, []);
  if (top === undefined) return undefined;

  if (given(top.name) && top.name !== source.name) {
    problems.add(["name"], `"${top.name}" does not match the file name "${source.name}"; the file name is the migration's name`);
  }
  if (top.operations.length === 0) problems.add(["operations"], "must list at least one operation");

  const operations: Operation[] = [];
  const startTimeSql: number[] = [];
  top.operations.forEach((value, i) => {
    const path = ["operations", i];
    const kind = operationKey(value, path, problems);
    if (kind === undefined) return;
    const built = buildOperation(kind, (value as Record<string, unknown>)[kind], [...path, kind], problems);
    if (built.some((op) => op.kind === "sql" && !op.on_complete)) startTimeSql.push(i);
    operations.push(...built);
  });

  // A start-time sql operation can change anything, so pgroll runs it alone: the schema the
  // other operations were checked against would no longer be the one they run on.
  if (top.operations.length > 1) {
    for (const i of startTimeSql) {
      problems.add(["operations", i, "sql"], "a sql operation without onComplete: true must be the only operation in its migration");
    }
  }

  const migration: Migration = { name: source.name, operations };
  if (given(top.version_schema)) migration.versionSchema = top.version_schema;
  return migration;
}
