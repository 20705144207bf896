/**
 * Every operation of the file format, by the key a file names it with.
 *
 * To add an operation: write `operations/<kind>.ts` (its normalized type, raw shape and
 * builder), add its type to `Operation` and its format to `OPERATION_FORMATS` below; the
 * compiler then asks for its planner in `plan/planner.ts`.
 */
import type * as z from "zod";

import type { OperationFormat } from "../build.js";
import { addColumnFormat, type AddColumnOperation } from "./add-column.js";
import { alterColumnFormat, type AlterColumnOperation } from "./alter-column.js";
import { createConstraintFormat, type CreateConstraintOperation } from "./create-constraint.js";
import { createIndexFormat, type CreateIndexOperation } from "./create-index.js";
import { createTableFormat, type CreateTableOperation } from "./create-table.js";
import {
  changeTypeFormat,
  dropNotNullFormat,
  setCheckConstraintFormat,
  setForeignKeyFormat,
  setNotNullFormat,
  setUniqueFormat,
} from "./deprecated.js";
import { dropColumnFormat, type DropColumnOperation } from "./drop-column.js";
import { dropConstraintFormat, type DropConstraintOperation } from "./drop-constraint.js";
import { dropIndexFormat, type DropIndexOperation } from "./drop-index.js";
import { dropMultiColumnConstraintFormat, type DropMultiColumnConstraintOperation } from "./drop-multicolumn-constraint.js";
import { dropTableFormat, type DropTableOperation } from "./drop-table.js";
import { renameColumnFormat, type RenameColumnOperation } from "./rename-column.js";
import { renameConstraintFormat, type RenameConstraintOperation } from "./rename-constraint.js";
import { renameTableFormat, type RenameTableOperation } from "./rename-table.js";
import { setReplicaIdentityFormat, type SetReplicaIdentityOperation } from "./set-replica-identity.js";
import { sqlFormat, type SqlOperation } from "./sql.js";

/** A normalized operation: what the planner switches on. */
export type Operation =
  | CreateTableOperation
  | AddColumnOperation
  | AlterColumnOperation
  | RenameColumnOperation
  | DropColumnOperation
  | RenameTableOperation
  | DropTableOperation
  | CreateIndexOperation
  | DropIndexOperation
  | CreateConstraintOperation
  | DropConstraintOperation
  | DropMultiColumnConstraintOperation
  | RenameConstraintOperation
  | SetReplicaIdentityOperation
  | SqlOperation;

export type OperationKind = Operation["kind"];

/**
 * Each operation's format, in the order the docs list them. The key builds an operation of
 * its own kind, or (alter_column with pgroll's older `name`) a list of operations.
 */
const OPERATION_FORMATS = {
  create_table: createTableFormat,
  add_column: addColumnFormat,
  alter_column: alterColumnFormat,
  rename_column: renameColumnFormat,
  drop_column: dropColumnFormat,
  rename_table: renameTableFormat,
  drop_table: dropTableFormat,
  create_index: createIndexFormat,
  drop_index: dropIndexFormat,
  create_constraint: createConstraintFormat,
  drop_constraint: dropConstraintFormat,
  drop_multicolumn_constraint: dropMultiColumnConstraintFormat,
  rename_constraint: renameConstraintFormat,
  set_replica_identity: setReplicaIdentityFormat,
  sql: sqlFormat,
} satisfies { [K in OperationKind]: OperationFormat<z.ZodType, Extract<Operation, { kind: K }> | Operation[]> };

/** Operation keys older pgroll releases read as operations of their own; each becomes an alter_column. */
const DEPRECATED_FORMATS = {
  set_not_null: setNotNullFormat,
  drop_not_null: dropNotNullFormat,
  set_unique: setUniqueFormat,
  set_foreign_key: setForeignKeyFormat,
  set_check_constraint: setCheckConstraintFormat,
  change_type: changeTypeFormat,
} satisfies Record<string, OperationFormat<z.ZodType, AlterColumnOperation>>;

const FORMATS: Record<string, OperationFormat<z.ZodType, Operation | Operation[]>> = { ...OPERATION_FORMATS, ...DEPRECATED_FORMATS };

/** The operation keys a file may use, in the order the docs list them. */
export const OPERATION_KINDS = Object.keys(OPERATION_FORMATS) as readonly OperationKind[];

export type DeprecatedOperationKind = keyof typeof DEPRECATED_FORMATS;

export const DEPRECATED_OPERATION_KINDS = Object.keys(DEPRECATED_FORMATS) as readonly DeprecatedOperationKind[];

/** Every key a file may name an operation with: the documented ones, then the older ones. */
export const OPERATION_KEYS: readonly string[] = Object.keys(FORMATS);

/** The format of the operation a file names `key`, if there is one. */
export function operationFormatOf(key: string): OperationFormat<z.ZodType, Operation | Operation[]> | undefined {
  return Object.hasOwn(FORMATS, key) ? FORMATS[key] : undefined;
}

type InputOf<F> = F extends OperationFormat<infer S, unknown> ? z.input<S> : never;
type AllFormats = typeof OPERATION_FORMATS & typeof DEPRECATED_FORMATS;

/** An operation as a file holds it: one key, naming the operation, over its fields. */
export type OperationInput = { [K in keyof AllFormats]: { [P in K]: InputOf<AllFormats[K]> } }[keyof AllFormats];
