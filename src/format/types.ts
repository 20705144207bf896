/**
 * The normalized pieces several operations share (columns, constraints, foreign keys, index
 * parameters): what the planner reads once a file is parsed. Each operation's own type is in
 * `operations/<kind>.ts`, their union `Operation` in `operations/index.ts`.
 */

export type ForeignKeyAction = "NO ACTION" | "RESTRICT" | "CASCADE" | "SET NULL" | "SET DEFAULT";
/** `PARTIAL` is in pgroll's schema but PostgreSQL does not implement it, so files using it are rejected. */
export type ForeignKeyMatchType = "SIMPLE" | "FULL";

export interface CheckConstraint {
  name: string;
  /** SQL boolean expression; pgroll also accepts it already wrapped as `CHECK (...)`. */
  constraint: string;
  no_inherit: boolean;
}

/** A column-level foreign key (`columns[].references`, `alter_column.references`). */
export interface ForeignKeyReference {
  name: string;
  table: string;
  column: string;
  on_delete: ForeignKeyAction;
  on_update: ForeignKeyAction;
  match_type: ForeignKeyMatchType;
  deferrable: boolean;
  initially_deferred: boolean;
}

/** A table-level foreign key (`constraints[].references`, `create_constraint.references`). */
export interface TableForeignKeyReference {
  table: string;
  columns: string[];
  on_delete: ForeignKeyAction;
  on_update: ForeignKeyAction;
  match_type: ForeignKeyMatchType;
  /** Columns set by `ON DELETE SET NULL (...)` / `SET DEFAULT (...)`; a subset of the key. */
  on_delete_set_columns?: string[];
}

export interface IdentityColumn {
  user_specified_values: "ALWAYS" | "BY DEFAULT";
  /** Options as in `CREATE SEQUENCE`, passed through verbatim. */
  sequence_options?: string;
}

/** Exactly one of `expression` (a stored generated column) or `identity`. */
export type GeneratedColumn = { expression: string; identity?: undefined } | { identity: IdentityColumn; expression?: undefined };

export interface Column {
  name: string;
  /** PostgreSQL type, verbatim (`varchar(255)`, `time with time zone`, a user enum). */
  type: string;
  /** pgroll columns are `NOT NULL` unless `nullable: true`. */
  nullable: boolean;
  pk: boolean;
  unique: boolean;
  /** SQL expression; string literals carry their own quotes (`'''paper'''` in YAML). */
  default?: string;
  comment?: string;
  check?: CheckConstraint;
  references?: ForeignKeyReference;
  generated?: GeneratedColumn;
}

export interface IndexParameters {
  tablespace?: string;
  storage_parameters?: string;
  include_columns?: string[];
}

interface TableConstraintBase {
  name: string;
}

export interface UniqueTableConstraint extends TableConstraintBase {
  type: "unique";
  columns: string[];
  nulls_not_distinct: boolean;
  deferrable: boolean;
  initially_deferred: boolean;
  index_parameters?: IndexParameters;
}

export interface CheckTableConstraint extends TableConstraintBase {
  type: "check";
  check: string;
  no_inherit: boolean;
  /** Informational: the columns the expression reads. */
  columns?: string[];
}

export interface PrimaryKeyTableConstraint extends TableConstraintBase {
  type: "primary_key";
  columns: string[];
  deferrable: boolean;
  initially_deferred: boolean;
  index_parameters?: IndexParameters;
}

export interface ForeignKeyTableConstraint extends TableConstraintBase {
  type: "foreign_key";
  columns: string[];
  references: TableForeignKeyReference;
  deferrable: boolean;
  initially_deferred: boolean;
}

export interface ExcludeTableConstraint extends TableConstraintBase {
  type: "exclude";
  exclude: { index_method: string; elements: string; predicate?: string };
  deferrable: boolean;
  initially_deferred: boolean;
  index_parameters?: IndexParameters;
}

export type TableConstraint =
  | UniqueTableConstraint
  | CheckTableConstraint
  | PrimaryKeyTableConstraint
  | ForeignKeyTableConstraint
  | ExcludeTableConstraint;
