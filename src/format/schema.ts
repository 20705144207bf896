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
 */
import * as z from "zod";

import { UnderwayError } from "../errors.js";

// ---------------------------------------------------------------------------------------------
// Normalized operations: what the rest of underway works with.
// ---------------------------------------------------------------------------------------------

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

export interface CreateTableOperation {
  kind: "create_table";
  name: string;
  columns: Column[];
  constraints: TableConstraint[];
  comment?: string;
}

export interface AddColumnOperation {
  kind: "add_column";
  table: string;
  column: Column;
  /** Value of the new column for rows written through the old version, and for the backfill. */
  up?: string;
}

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

export interface RenameColumnOperation {
  kind: "rename_column";
  table: string;
  from: string;
  to: string;
}

export interface DropColumnOperation {
  kind: "drop_column";
  table: string;
  column: string;
  /** Value for the dropped column when a row is written through the new version. */
  down?: string;
}

export interface RenameTableOperation {
  kind: "rename_table";
  from: string;
  to: string;
}

export interface DropTableOperation {
  kind: "drop_table";
  name: string;
}

export type IndexMethod = "btree" | "hash" | "gist" | "spgist" | "gin" | "brin";

export interface IndexColumn {
  column: string;
  collate?: string;
  sort?: "ASC" | "DESC";
  nulls?: "FIRST" | "LAST";
  opclass?: { name: string; params: string[] };
}

export interface CreateIndexOperation {
  kind: "create_index";
  name: string;
  table: string;
  /** In the order the file lists them, whichever of pgroll's three forms it used. */
  columns: IndexColumn[];
  method?: IndexMethod;
  predicate?: string;
  storage_parameters?: string;
  unique: boolean;
  /** underway addition: `NULLS NOT DISTINCT` on a unique index (PostgreSQL 15+). */
  nulls_not_distinct: boolean;
}

export interface DropIndexOperation {
  kind: "drop_index";
  name: string;
}

export interface CreateConstraintOperation {
  kind: "create_constraint";
  table: string;
  name: string;
  type: "unique" | "check" | "foreign_key" | "primary_key";
  columns: string[];
  check?: string;
  references?: TableForeignKeyReference;
  /** One SQL expression per column in `columns`. */
  up: Record<string, string>;
  /** One SQL expression per column in `columns`. */
  down: Record<string, string>;
  no_inherit: boolean;
  index_parameters?: IndexParameters;
  /** underway addition (unique only). */
  nulls_not_distinct: boolean;
  /** underway addition (unique, primary_key, foreign_key). */
  deferrable: boolean;
  /** underway addition (unique, primary_key, foreign_key). */
  initially_deferred: boolean;
}

/** Deprecated by pgroll in favour of drop_multicolumn_constraint; still read. */
export interface DropConstraintOperation {
  kind: "drop_constraint";
  table: string;
  name: string;
  up?: string;
  down: string;
  /** Only in pgroll's earliest files: the constrained column. */
  column?: string;
}

export interface DropMultiColumnConstraintOperation {
  kind: "drop_multicolumn_constraint";
  table: string;
  name: string;
  up: Record<string, string>;
  down: Record<string, string>;
}

export interface RenameConstraintOperation {
  kind: "rename_constraint";
  table: string;
  from: string;
  to: string;
}

export interface SetReplicaIdentityOperation {
  kind: "set_replica_identity";
  table: string;
  identity: { type: "NOTHING" | "DEFAULT" | "INDEX" | "FULL"; index?: string };
}

export interface SqlOperation {
  kind: "sql";
  up: string;
  down?: string;
  /** Run `up` when the migration completes instead of when it starts (pgroll's `onComplete`). */
  on_complete: boolean;
}

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

export interface Migration {
  name: string;
  operations: Operation[];
  /** pgroll's `version_schema`: the version schema is `<schema>_<version_schema>` instead of `<schema>_<name>`. */
  versionSchema?: string;
}

/** The operation keys a file may use, in the order the docs list them. */
export const OPERATION_KINDS: readonly OperationKind[] = [
  "create_table",
  "add_column",
  "alter_column",
  "rename_column",
  "drop_column",
  "rename_table",
  "drop_table",
  "create_index",
  "drop_index",
  "create_constraint",
  "drop_constraint",
  "drop_multicolumn_constraint",
  "rename_constraint",
  "set_replica_identity",
  "sql",
];

/**
 * Operation keys older pgroll releases read as operations of their own; each becomes an
 * `alter_column` with the matching field.
 */
export const DEPRECATED_OPERATION_KINDS = [
  "set_not_null",
  "drop_not_null",
  "set_unique",
  "set_foreign_key",
  "set_check_constraint",
  "change_type",
] as const;

/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

// ---------------------------------------------------------------------------------------------
// Problems and their one-line rendering.
// ---------------------------------------------------------------------------------------------

type PathSegment = string | number;
type Path = readonly PathSegment[];

interface Problem {
  path: Path;
  message: string;
}

/** Renders `["operations", 2, "alter_column", "type"]` as `operations[2].alter_column.type`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function describeValueType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  if (value instanceof Date) return "date";
  if (typeof value === "object") return "mapping";
  return typeof value;
}

function describeExpectedType(expected: string): string {
  if (expected === "object" || expected === "record" || expected === "map") return "mapping";
  if (expected === "array" || expected === "tuple" || expected === "set") return "list";
  return expected;
}

/** YAML and JSON give numbers and booleans where pgroll wants text; say how to fix it. */
function quoteHint(expected: string, input: unknown): string {
  if (expected !== "string") return "";
  if (typeof input === "number") return ` (quote it: "${String(input)}")`;
  if (typeof input === "boolean") {
    return " (quote it if it is text: YAML reads true/false, yes/no and on/off as booleans)";
  }
  return "";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function unknownFieldMessage(key: string, allowed: readonly string[]): string {
  const suggestion = closestMatch(key, allowed);
  return suggestion === undefined
    ? `unknown field (allowed: ${allowed.join(", ")})`
    : `unknown field (did you mean "${suggestion}"?)`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "missing required field";
      const expected = describeExpectedType(issue.expected);
      return `expected ${expected}, got ${describeValueType(issue.input)}${quoteHint(issue.expected, issue.input)}`;
    }
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(issue.input)}`;
    case "too_small":
      return issue.origin === "array" ? `must list at least ${String(issue.minimum)}` : issue.message;
    default:
      return issue.message;
  }
}

/** Collects problems; the first one found becomes the error. */
class Problems {
  readonly list: Problem[] = [];

  add(path: Path, message: string): void {
    this.list.push({ path, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** Parses `value` with `schema`; on failure records its issues under `path` and returns undefined. */
  parse<T extends z.ZodType>(schema: T, value: unknown, path: Path): z.output<T> | undefined {
    const result = schema.safeParse(value, { reportInput: true });
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      this.add([...path, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))], describeIssue(issue));
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Raw shapes, as they appear in files.
// ---------------------------------------------------------------------------------------------

/**
 * An object that rejects keys it does not list, with a "did you mean" for typos. pgroll
 * decodes with unknown fields disallowed too, so a misspelt key never passes silently.
 */
function closed<T extends z.ZodRawShape>(shape: T): z.ZodType<z.output<z.ZodObject<T, z.core.$strict>>> {
  const allowed = Object.keys(shape);
  // Unknown keys are checked first, and alone: a misspelt `typ:` would otherwise surface as
  // "type: missing required field", which hides the typo that caused it.
  const knownKeys = z.unknown().superRefine((value, ctx) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return;
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) ctx.addIssue({ code: "custom", path: [key], message: unknownFieldMessage(key, allowed) });
    }
  });
  return knownKeys.pipe(z.looseObject(shape)) as unknown as z.ZodType<z.output<z.ZodObject<T, z.core.$strict>>>;
}

/** Optional in pgroll's sense: absent or null both mean "not given" (Go decodes null as zero). */
function optional<T extends z.ZodType>(schema: T) {
  return schema.nullish();
}

const identifier = z.string().superRefine((value, ctx) => {
  if (value.trim() === "") {
    ctx.addIssue({ code: "custom", message: "must not be empty" });
    return;
  }
  if (value.includes("\0")) ctx.addIssue({ code: "custom", message: "must not contain a NUL character" });
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_IDENTIFIER_BYTES) {
    ctx.addIssue({
      code: "custom",
      message: `"${value}" is ${bytes} bytes long; PostgreSQL identifiers are at most ${MAX_IDENTIFIER_BYTES} bytes`,
    });
  }
});

/** SQL taken from the file verbatim: an expression, a type, storage parameters. */
const sqlText = z.string().superRefine((value, ctx) => {
  if (value.trim() === "") ctx.addIssue({ code: "custom", message: "must not be empty" });
});

/** A string compared without regard to case, like pgroll's `strings.ToUpper` before use. */
function keyword<const V extends readonly string[]>(values: V) {
  return z.string().superRefine((value, ctx) => {
    if (!values.some((v) => v.toLowerCase() === value.trim().toLowerCase())) {
      ctx.addIssue({
        code: "custom",
        message: `expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(value)}`,
      });
    }
  });
}

function canonical<const V extends readonly string[]>(values: V, value: string): V[number] {
  return values.find((v) => v.toLowerCase() === value.trim().toLowerCase()) ?? values[0]!;
}

const FOREIGN_KEY_ACTIONS = ["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"] as const;
const MATCH_TYPES = ["SIMPLE", "FULL", "PARTIAL"] as const;
const INDEX_METHODS = ["btree", "hash", "gist", "spgist", "gin", "brin"] as const;
const REPLICA_IDENTITIES = ["NOTHING", "DEFAULT", "INDEX", "FULL"] as const;
const USER_SPECIFIED_VALUES = ["ALWAYS", "BY DEFAULT"] as const;
const SORT_ORDERS = ["ASC", "DESC"] as const;
const NULLS_ORDERS = ["FIRST", "LAST"] as const;
const TABLE_CONSTRAINT_TYPES = ["unique", "check", "primary_key", "foreign_key", "exclude"] as const;
const CREATE_CONSTRAINT_TYPES = ["unique", "check", "foreign_key", "primary_key"] as const;

const rawCheckConstraint = closed({
  name: identifier,
  constraint: sqlText,
  no_inherit: optional(z.boolean()),
});

const rawColumnReference = closed({
  name: identifier,
  table: identifier,
  column: identifier,
  on_delete: optional(keyword(FOREIGN_KEY_ACTIONS)),
  on_update: optional(keyword(FOREIGN_KEY_ACTIONS)),
  match_type: optional(keyword(MATCH_TYPES)),
  deferrable: optional(z.boolean()),
  initially_deferred: optional(z.boolean()),
});

const rawTableReference = closed({
  table: identifier,
  columns: z.array(identifier),
  on_delete: optional(keyword(FOREIGN_KEY_ACTIONS)),
  on_update: optional(keyword(FOREIGN_KEY_ACTIONS)),
  match_type: optional(keyword(MATCH_TYPES)),
  on_delete_set_columns: optional(z.array(identifier)),
});

const rawColumn = closed({
  name: identifier,
  type: sqlText,
  nullable: optional(z.boolean()),
  pk: optional(z.boolean()),
  unique: optional(z.boolean()),
  default: optional(sqlText),
  comment: optional(z.string()),
  check: optional(rawCheckConstraint),
  references: optional(rawColumnReference),
  generated: optional(
    closed({
      expression: optional(sqlText),
      identity: optional(
        closed({
          user_specified_values: optional(keyword(USER_SPECIFIED_VALUES)),
          sequence_options: optional(z.string()),
        }),
      ),
    }),
  ),
});

const rawIndexParameters = closed({
  tablespace: optional(identifier),
  storage_parameters: optional(sqlText),
  include_columns: optional(z.array(identifier)),
});

const rawTableConstraint = closed({
  name: identifier,
  type: keyword(TABLE_CONSTRAINT_TYPES),
  columns: optional(z.array(identifier)),
  check: optional(z.string()),
  no_inherit: optional(z.boolean()),
  nulls_not_distinct: optional(z.boolean()),
  deferrable: optional(z.boolean()),
  initially_deferred: optional(z.boolean()),
  references: optional(rawTableReference),
  exclude: optional(
    closed({
      index_method: optional(z.string()),
      elements: optional(z.string()),
      predicate: optional(z.string()),
    }),
  ),
  index_parameters: optional(rawIndexParameters),
});

const rawColumnMap = z.record(z.string(), sqlText);

const rawIndexColumnSettings = {
  collate: optional(sqlText),
  sort: optional(keyword(SORT_ORDERS)),
  nulls: optional(keyword(NULLS_ORDERS)),
  opclass: optional(
    closed({
      name: identifier,
      params: optional(z.array(sqlText)),
    }),
  ),
};

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

const rawOperations = {
  create_table: closed({
    name: identifier,
    columns: z.array(z.unknown()),
    constraints: optional(z.array(z.unknown())),
    comment: optional(z.string()),
  }),
  add_column: closed({
    table: identifier,
    column: rawColumn,
    up: optional(sqlText),
  }),
  alter_column: closed({
    ...rawAlterColumnFields,
    // Deprecated: pgroll once renamed columns through alter_column, and its very first
    // releases spelt nullability `not_null`.
    name: optional(identifier),
    not_null: optional(z.boolean()),
  }),
  rename_column: closed({ table: identifier, from: identifier, to: identifier }),
  drop_column: closed({ table: identifier, column: identifier, down: optional(sqlText) }),
  rename_table: closed({ from: identifier, to: identifier }),
  drop_table: closed({ name: identifier }),
  create_index: closed({
    name: identifier,
    table: identifier,
    columns: z.unknown(),
    method: optional(keyword(INDEX_METHODS)),
    predicate: optional(sqlText),
    storage_parameters: optional(sqlText),
    unique: optional(z.boolean()),
    nulls_not_distinct: optional(z.boolean()),
  }),
  drop_index: closed({ name: identifier }),
  create_constraint: closed({
    table: identifier,
    name: identifier,
    type: keyword(CREATE_CONSTRAINT_TYPES),
    columns: optional(z.array(identifier)),
    check: optional(sqlText),
    references: optional(rawTableReference),
    up: rawColumnMap,
    down: rawColumnMap,
    no_inherit: optional(z.boolean()),
    index_parameters: optional(rawIndexParameters),
    nulls_not_distinct: optional(z.boolean()),
    deferrable: optional(z.boolean()),
    initially_deferred: optional(z.boolean()),
  }),
  drop_constraint: closed({
    table: identifier,
    name: identifier,
    up: optional(sqlText),
    down: sqlText,
    column: optional(identifier),
  }),
  drop_multicolumn_constraint: closed({
    table: identifier,
    name: identifier,
    up: optional(rawColumnMap),
    down: rawColumnMap,
  }),
  rename_constraint: closed({ table: identifier, from: identifier, to: identifier }),
  set_replica_identity: closed({
    table: identifier,
    identity: closed({
      type: keyword(REPLICA_IDENTITIES),
      index: optional(z.string()),
    }),
  }),
  sql: closed({
    up: sqlText,
    down: optional(sqlText),
    onComplete: optional(z.boolean()),
    on_complete: optional(z.boolean()),
  }),
  set_not_null: closed({ table: identifier, column: identifier, up: optional(sqlText), down: optional(sqlText) }),
  drop_not_null: closed({ table: identifier, column: identifier, up: optional(sqlText), down: optional(sqlText) }),
  set_unique: closed({
    name: identifier,
    table: identifier,
    column: identifier,
    up: optional(sqlText),
    down: optional(sqlText),
  }),
  set_foreign_key: closed({
    table: identifier,
    column: identifier,
    references: rawColumnReference,
    up: optional(sqlText),
    down: optional(sqlText),
  }),
  set_check_constraint: closed({
    table: identifier,
    column: identifier,
    check: rawCheckConstraint,
    up: optional(sqlText),
    down: optional(sqlText),
  }),
  change_type: closed({
    table: identifier,
    column: identifier,
    type: sqlText,
    up: optional(sqlText),
    down: optional(sqlText),
  }),
} as const;

type RawOperations = typeof rawOperations;
type RawKind = keyof RawOperations;
type Raw<K extends RawKind> = z.output<RawOperations[K]>;
type RawColumn = z.output<typeof rawColumn>;
type RawCheckConstraint = z.output<typeof rawCheckConstraint>;
type RawColumnReference = z.output<typeof rawColumnReference>;
type RawTableReference = z.output<typeof rawTableReference>;
type RawIndexParameters = z.output<typeof rawIndexParameters>;
type RawAlterColumn = Omit<Raw<"alter_column">, "name" | "not_null">;

const RAW_KINDS = Object.keys(rawOperations) as RawKind[];

const rawMigration = closed({
  name: optional(z.string()),
  version_schema: optional(identifier),
  operations: z.array(z.unknown()),
});

// ---------------------------------------------------------------------------------------------
// Building normalized operations, with the checks that span several fields.
// ---------------------------------------------------------------------------------------------

function given<T>(value: T | null | undefined): value is T {
  return value !== undefined && value !== null;
}

/** Enough English for our constraint types: "an exclude", but "a unique". */
function article(word: string): "a" | "an" {
  return /^[aeio]/i.test(word) ? "an" : "a";
}

function duplicates(values: readonly string[]): string[] {
  return values.filter((value, i) => values.indexOf(value) !== i);
}

const SERIAL_TYPES = new Set(["smallserial", "serial", "bigserial", "serial2", "serial4", "serial8"]);

class OperationBuilder {
  constructor(private readonly problems: Problems) {}

  checkConstraint(raw: RawCheckConstraint): CheckConstraint {
    return { name: raw.name, constraint: raw.constraint, no_inherit: raw.no_inherit ?? false };
  }

  columnReference(raw: RawColumnReference, path: Path): ForeignKeyReference {
    const deferrable = raw.deferrable ?? false;
    const initiallyDeferred = raw.initially_deferred ?? false;
    if (initiallyDeferred && !deferrable) {
      this.problems.add([...path, "initially_deferred"], "requires deferrable: true");
    }
    return {
      name: raw.name,
      table: raw.table,
      column: raw.column,
      on_delete: canonical(FOREIGN_KEY_ACTIONS, raw.on_delete ?? "NO ACTION"),
      on_update: canonical(FOREIGN_KEY_ACTIONS, raw.on_update ?? "NO ACTION"),
      match_type: this.matchType(raw.match_type, [...path, "match_type"]),
      deferrable,
      initially_deferred: initiallyDeferred,
    };
  }

  tableReference(raw: RawTableReference, path: Path, keyColumns: readonly string[]): TableForeignKeyReference {
    if (raw.columns.length === 0) this.problems.add([...path, "columns"], "must list at least one referenced column");
    else if (keyColumns.length > 0 && raw.columns.length !== keyColumns.length) {
      this.problems.add(
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
      match_type: this.matchType(raw.match_type, [...path, "match_type"]),
    };
    if (given(raw.on_delete_set_columns) && raw.on_delete_set_columns.length > 0) {
      if (onDelete !== "SET NULL" && onDelete !== "SET DEFAULT") {
        this.problems.add([...path, "on_delete_set_columns"], "only applies with on_delete: SET NULL or SET DEFAULT");
      }
      raw.on_delete_set_columns.forEach((column, i) => {
        if (!keyColumns.includes(column)) {
          this.problems.add([...path, "on_delete_set_columns", i], `"${column}" is not one of the key columns`);
        }
      });
      reference.on_delete_set_columns = raw.on_delete_set_columns;
    }
    return reference;
  }

  private matchType(raw: string | null | undefined, path: Path): ForeignKeyMatchType {
    const matchType = canonical(MATCH_TYPES, raw ?? "SIMPLE");
    if (matchType === "PARTIAL") {
      this.problems.add(path, "MATCH PARTIAL is not implemented by PostgreSQL; use SIMPLE or FULL");
      return "SIMPLE";
    }
    return matchType;
  }

  column(raw: RawColumn, path: Path): Column {
    const column: Column = {
      name: raw.name,
      type: raw.type,
      nullable: raw.nullable ?? false,
      pk: raw.pk ?? false,
      unique: raw.unique ?? false,
    };
    if (given(raw.default)) column.default = raw.default;
    if (given(raw.comment)) column.comment = raw.comment;
    if (given(raw.check)) column.check = this.checkConstraint(raw.check);
    if (given(raw.references)) column.references = this.columnReference(raw.references, [...path, "references"]);
    if (given(raw.generated)) {
      const generatedPath = [...path, "generated"];
      const { expression, identity } = raw.generated;
      if (given(expression) && given(identity)) {
        this.problems.add(generatedPath, "set either expression or identity, not both");
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
        this.problems.add(generatedPath, "set expression (a stored generated column) or identity");
      }
      if (given(raw.default)) this.problems.add([...path, "default"], "a generated column cannot also have a default");
    }
    return column;
  }

  createTable(raw: Raw<"create_table">, path: Path): CreateTableOperation {
    const columns: Column[] = [];
    raw.columns.forEach((value, i) => {
      const parsed = this.problems.parse(rawColumn, value, [...path, "columns", i]);
      if (parsed !== undefined) columns.push(this.column(parsed, [...path, "columns", i]));
    });
    // pgroll creates a table without columns, as PostgreSQL does; so does underway.
    const names = columns.map((c) => c.name);
    columns.forEach((column, i) => {
      const first = names.indexOf(column.name);
      if (first !== i) this.problems.add([...path, "columns", i, "name"], `duplicate column "${column.name}" (also columns[${first}])`);
    });

    const constraints: TableConstraint[] = [];
    (raw.constraints ?? []).forEach((value, i) => {
      const constraintPath = [...path, "constraints", i];
      const parsed = this.problems.parse(rawTableConstraint, value, constraintPath);
      if (parsed === undefined) return;
      const constraint = this.tableConstraint(parsed, constraintPath, names);
      if (constraint !== undefined) constraints.push(constraint);
    });

    const pkColumns = columns.filter((c) => c.pk).map((c) => c.name);
    let primaryKeys = 0;
    constraints.forEach((constraint, i) => {
      if (constraint.type !== "primary_key") return;
      primaryKeys++;
      if (pkColumns.length > 0) {
        this.problems.add(
          [...path, "constraints", i],
          `the primary key is already set by pk: true on ${pkColumns.join(", ")}; set it in one place`,
        );
      } else if (primaryKeys > 1) {
        this.problems.add([...path, "constraints", i], "a table has at most one primary key constraint");
      }
    });

    const constraintNames = [
      ...columns.flatMap((c) => [c.check?.name, c.references?.name]),
      ...constraints.map((c) => c.name),
    ].filter(given);
    for (const name of new Set(duplicates(constraintNames))) {
      this.problems.add(path, `constraint name "${name}" is used more than once`);
    }

    const operation: CreateTableOperation = { kind: "create_table", name: raw.name, columns, constraints };
    if (given(raw.comment)) operation.comment = raw.comment;
    return operation;
  }

  private indexParameters(raw: RawIndexParameters, path: Path, tableColumns?: readonly string[]): IndexParameters {
    const parameters: IndexParameters = {};
    if (given(raw.tablespace)) parameters.tablespace = raw.tablespace;
    if (given(raw.storage_parameters)) parameters.storage_parameters = raw.storage_parameters;
    if (given(raw.include_columns) && raw.include_columns.length > 0) {
      if (tableColumns !== undefined) this.knownColumns(raw.include_columns, [...path, "include_columns"], tableColumns);
      parameters.include_columns = raw.include_columns;
    }
    return parameters;
  }

  private knownColumns(columns: readonly string[], path: Path, tableColumns: readonly string[]): void {
    columns.forEach((column, i) => {
      if (!tableColumns.includes(column)) this.problems.add([...path, i], `"${column}" is not a column of this table`);
    });
  }

  /** Reports fields that have no meaning for a constraint type; zero values pass, as in pgroll's schema. */
  private forbid(raw: Record<string, unknown>, fields: readonly string[], path: Path, type: string): void {
    for (const field of fields) {
      const value = raw[field];
      const set =
        value === true ||
        (typeof value === "string" && value !== "") ||
        (Array.isArray(value) && value.length > 0) ||
        (typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).some(given));
      if (set) this.problems.add([...path, field], `not allowed on ${article(type)} ${type} constraint`);
    }
  }

  private tableConstraint(
    raw: z.output<typeof rawTableConstraint>,
    path: Path,
    tableColumns: readonly string[],
  ): TableConstraint | undefined {
    const type = canonical(TABLE_CONSTRAINT_TYPES, raw.type);
    const columns = raw.columns ?? [];
    const deferrable = raw.deferrable ?? false;
    const initiallyDeferred = raw.initially_deferred ?? false;
    if (initiallyDeferred && !deferrable) this.problems.add([...path, "initially_deferred"], "requires deferrable: true");
    const needColumns = (): void => {
      if (columns.length === 0) this.problems.add([...path, "columns"], `${article(type)} ${type} constraint must list at least one column`);
      for (const column of new Set(duplicates(columns))) this.problems.add([...path, "columns"], `lists "${column}" twice`);
      this.knownColumns(columns, [...path, "columns"], tableColumns);
    };
    const indexParameters = (): IndexParameters | undefined =>
      given(raw.index_parameters) ? this.indexParameters(raw.index_parameters, [...path, "index_parameters"], tableColumns) : undefined;
    const withIndexParameters = <T extends object>(constraint: T): T => {
      const parameters = indexParameters();
      return parameters === undefined || Object.keys(parameters).length === 0 ? constraint : { ...constraint, index_parameters: parameters };
    };

    switch (type) {
      case "unique":
        this.forbid(raw, ["check", "no_inherit", "references", "exclude"], path, type);
        needColumns();
        return withIndexParameters<UniqueTableConstraint>({
          name: raw.name,
          type,
          columns,
          nulls_not_distinct: raw.nulls_not_distinct ?? false,
          deferrable,
          initially_deferred: initiallyDeferred,
        });
      case "primary_key":
        this.forbid(raw, ["check", "no_inherit", "nulls_not_distinct", "references", "exclude"], path, type);
        needColumns();
        return withIndexParameters<PrimaryKeyTableConstraint>({
          name: raw.name,
          type,
          columns,
          deferrable,
          initially_deferred: initiallyDeferred,
        });
      case "check": {
        this.forbid(
          raw,
          ["deferrable", "initially_deferred", "nulls_not_distinct", "index_parameters", "references", "exclude"],
          path,
          type,
        );
        if (!given(raw.check) || raw.check.trim() === "") {
          this.problems.add([...path, "check"], "a check constraint needs its check expression");
          return undefined;
        }
        const constraint: CheckTableConstraint = { name: raw.name, type, check: raw.check, no_inherit: raw.no_inherit ?? false };
        if (columns.length > 0) {
          this.knownColumns(columns, [...path, "columns"], tableColumns);
          constraint.columns = columns;
        }
        return constraint;
      }
      case "foreign_key":
        this.forbid(raw, ["check", "no_inherit", "nulls_not_distinct", "index_parameters", "exclude"], path, type);
        needColumns();
        if (!given(raw.references)) {
          this.problems.add([...path, "references"], "a foreign_key constraint needs references");
          return undefined;
        }
        return {
          name: raw.name,
          type,
          columns,
          references: this.tableReference(raw.references, [...path, "references"], columns),
          deferrable,
          initially_deferred: initiallyDeferred,
        };
      case "exclude": {
        this.forbid(raw, ["check", "no_inherit", "nulls_not_distinct", "references", "columns"], path, type);
        const exclude = raw.exclude;
        if (!given(exclude)) {
          this.problems.add([...path, "exclude"], "an exclude constraint needs exclude: {index_method, elements}");
          return undefined;
        }
        if (!given(exclude.index_method) || exclude.index_method.trim() === "") {
          this.problems.add([...path, "exclude", "index_method"], "missing required field");
        }
        if (!given(exclude.elements) || exclude.elements.trim() === "") {
          this.problems.add([...path, "exclude", "elements"], "missing required field");
        }
        const normalized: ExcludeTableConstraint["exclude"] = {
          index_method: exclude.index_method ?? "",
          elements: exclude.elements ?? "",
        };
        if (given(exclude.predicate) && exclude.predicate.trim() !== "") normalized.predicate = exclude.predicate;
        return withIndexParameters<ExcludeTableConstraint>({
          name: raw.name,
          type,
          exclude: normalized,
          deferrable,
          initially_deferred: initiallyDeferred,
        });
      }
    }
  }

  addColumn(raw: Raw<"add_column">, path: Path): AddColumnOperation {
    const column = this.column(raw.column, [...path, "column"]);
    if (column.pk) {
      this.problems.add(
        [...path, "column", "pk"],
        "adding a primary key column to an existing table is not supported; add the column, then create_constraint with type primary_key",
      );
    }
    if (column.generated !== undefined) {
      this.problems.add([...path, "column", "generated"], "a generated column cannot be added to an existing table");
    }
    const operation: AddColumnOperation = { kind: "add_column", table: raw.table, column };
    if (given(raw.up)) operation.up = raw.up;
    return operation;
  }

  /** Builds an alter_column from its fields; `path` names the key the fields came from. */
  alterColumn(raw: RawAlterColumn, path: Path): AlterColumnOperation {
    const operation: AlterColumnOperation = { kind: "alter_column", table: raw.table, column: raw.column };
    if (given(raw.type)) operation.type = raw.type;
    if (given(raw.nullable)) operation.nullable = raw.nullable;
    if (raw.default !== undefined) operation.default = raw.default;
    if (raw.comment !== undefined) operation.comment = raw.comment;
    if (given(raw.unique)) operation.unique = { name: raw.unique.name };
    if (given(raw.check)) operation.check = this.checkConstraint(raw.check);
    if (given(raw.references)) operation.references = this.columnReference(raw.references, [...path, "references"]);
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

  createIndex(raw: Raw<"create_index">, path: Path): CreateIndexOperation {
    const columns = this.indexColumns(raw.columns, [...path, "columns"]);
    const unique = raw.unique ?? false;
    const nullsNotDistinct = raw.nulls_not_distinct ?? false;
    const operation: CreateIndexOperation = {
      kind: "create_index",
      name: raw.name,
      table: raw.table,
      columns,
      unique,
      nulls_not_distinct: nullsNotDistinct,
    };
    if (given(raw.method)) {
      operation.method = canonical(INDEX_METHODS, raw.method);
      if (unique && operation.method !== "btree") {
        this.problems.add([...path, "unique"], `PostgreSQL builds unique indexes with btree only, not ${operation.method}`);
      }
      if ((operation.method === "hash" || operation.method === "spgist") && columns.length > 1) {
        this.problems.add([...path, "columns"], `a ${operation.method} index covers one column only`);
      }
    }
    if (nullsNotDistinct && !unique) this.problems.add([...path, "nulls_not_distinct"], "only applies to a unique index (unique: true)");
    if (given(raw.predicate)) operation.predicate = raw.predicate;
    if (given(raw.storage_parameters)) operation.storage_parameters = raw.storage_parameters;
    return operation;
  }

  /**
   * pgroll has accepted three spellings: a list of names (before v0.10), a mapping from name to
   * settings (v0.10 until its list-of-objects change), and a list of `{column, ...settings}`.
   * All become the last; a mapping keeps the order the file wrote it in.
   */
  private indexColumns(raw: unknown, path: Path): IndexColumn[] {
    const settingsSchema = closed(rawIndexColumnSettings);
    const itemSchema = closed({ column: identifier, ...rawIndexColumnSettings });
    const columns: IndexColumn[] = [];
    const settings = (column: string, value: z.output<typeof settingsSchema>): IndexColumn => {
      const out: IndexColumn = { column };
      if (given(value.collate)) out.collate = value.collate;
      if (given(value.sort)) out.sort = canonical(SORT_ORDERS, value.sort);
      if (given(value.nulls)) out.nulls = canonical(NULLS_ORDERS, value.nulls);
      if (given(value.opclass)) out.opclass = { name: value.opclass.name, params: value.opclass.params ?? [] };
      return out;
    };

    if (raw === undefined) {
      this.problems.add(path, "missing required field");
      return columns;
    }
    if ((Array.isArray(raw) ? raw.length : typeof raw === "object" && raw !== null ? Object.keys(raw).length : -1) === 0) {
      this.problems.add(path, "must list at least one column");
      return columns;
    }
    if (Array.isArray(raw)) {
      raw.forEach((item, i) => {
        if (typeof item === "string") {
          const name = this.problems.parse(identifier, item, [...path, i]);
          if (name !== undefined) columns.push({ column: name });
        } else {
          const parsed = this.problems.parse(itemSchema, item, [...path, i]);
          if (parsed !== undefined) columns.push(settings(parsed.column, parsed));
        }
      });
    } else if (typeof raw === "object" && raw !== null) {
      for (const [name, value] of Object.entries(raw)) {
        if (this.problems.parse(identifier, name, [...path, name]) === undefined) continue;
        const parsed = this.problems.parse(settingsSchema, value ?? {}, [...path, name]);
        if (parsed !== undefined) columns.push(settings(name, parsed));
      }
    } else {
      this.problems.add(path, `expected list of columns, got ${describeValueType(raw)}`);
      return columns;
    }
    return columns;
  }

  createConstraint(raw: Raw<"create_constraint">, path: Path): CreateConstraintOperation {
    const type = canonical(CREATE_CONSTRAINT_TYPES, raw.type);
    const columns = raw.columns ?? [];
    if (type !== "check" && columns.length === 0) {
      this.problems.add([...path, "columns"], `${article(type)} ${type} constraint must list at least one column`);
    }
    for (const column of new Set(duplicates(columns))) this.problems.add([...path, "columns"], `lists "${column}" twice`);

    const rawFields = raw as Record<string, unknown>;
    const allowedByType: Record<typeof type, readonly string[]> = {
      unique: ["index_parameters", "nulls_not_distinct", "deferrable", "initially_deferred"],
      primary_key: ["index_parameters", "deferrable", "initially_deferred"],
      foreign_key: ["references", "deferrable", "initially_deferred"],
      check: ["check", "no_inherit"],
    };
    const typed = ["check", "references", "no_inherit", "index_parameters", "nulls_not_distinct", "deferrable", "initially_deferred"];
    this.forbid(rawFields, typed.filter((f) => !allowedByType[type].includes(f)), path, type);

    const deferrable = raw.deferrable ?? false;
    const initiallyDeferred = raw.initially_deferred ?? false;
    if (initiallyDeferred && !deferrable) this.problems.add([...path, "initially_deferred"], "requires deferrable: true");

    // Every constrained column is duplicated and kept in step by triggers, so pgroll needs an
    // `up` and a `down` for each one; an entry for any other column would never be used.
    for (const direction of ["up", "down"] as const) {
      const map = raw[direction];
      for (const column of columns) {
        if (!(column in map)) this.problems.add([...path, direction], `missing an entry for column "${column}"`);
      }
      for (const key of Object.keys(map)) {
        if (!columns.includes(key)) this.problems.add([...path, direction, key], "not one of the constraint's columns");
      }
    }

    const operation: CreateConstraintOperation = {
      kind: "create_constraint",
      table: raw.table,
      name: raw.name,
      type,
      columns,
      up: { ...raw.up },
      down: { ...raw.down },
      no_inherit: raw.no_inherit ?? false,
      nulls_not_distinct: raw.nulls_not_distinct ?? false,
      deferrable,
      initially_deferred: initiallyDeferred,
    };
    if (type === "check") {
      if (!given(raw.check)) this.problems.add([...path, "check"], "a check constraint needs its check expression");
      else operation.check = raw.check;
    }
    if (type === "foreign_key") {
      if (!given(raw.references)) this.problems.add([...path, "references"], "a foreign_key constraint needs references");
      else operation.references = this.tableReference(raw.references, [...path, "references"], columns);
    }
    if (given(raw.index_parameters) && (type === "unique" || type === "primary_key")) {
      const parameters = this.indexParameters(raw.index_parameters, [...path, "index_parameters"]);
      if (Object.keys(parameters).length > 0) operation.index_parameters = parameters;
    }
    return operation;
  }

  dropMultiColumnConstraint(raw: Raw<"drop_multicolumn_constraint">, path: Path): DropMultiColumnConstraintOperation {
    const down = { ...raw.down };
    const up = { ...(raw.up ?? {}) };
    if (Object.keys(down).length === 0) {
      this.problems.add([...path, "down"], "must give a down expression for each column the constraint covers");
    }
    // `down` must name exactly the constraint's columns and `up` may name only those, so an
    // `up` entry without a `down` entry is wrong whatever the constraint turns out to cover.
    for (const key of Object.keys(up)) {
      if (!(key in down)) this.problems.add([...path, "up", key], "has no matching down entry; up and down cover the constraint's columns");
    }
    return { kind: "drop_multicolumn_constraint", table: raw.table, name: raw.name, up, down };
  }

  setReplicaIdentity(raw: Raw<"set_replica_identity">, path: Path): SetReplicaIdentityOperation {
    const type = canonical(REPLICA_IDENTITIES, raw.identity.type);
    const index = given(raw.identity.index) && raw.identity.index !== "" ? raw.identity.index : undefined;
    const identity: SetReplicaIdentityOperation["identity"] = { type };
    if (type === "INDEX") {
      if (index === undefined) this.problems.add([...path, "identity", "index"], "required when identity type is index");
      else if (this.problems.parse(identifier, index, [...path, "identity", "index"]) !== undefined) identity.index = index;
    } else if (index !== undefined) {
      this.problems.add([...path, "identity", "index"], `only applies when identity type is index, not ${raw.identity.type}`);
    }
    return { kind: "set_replica_identity", table: raw.table, identity };
  }

  sql(raw: Raw<"sql">, path: Path): SqlOperation {
    if (given(raw.onComplete) && given(raw.on_complete)) {
      this.problems.add([...path, "on_complete"], "give onComplete or on_complete, not both");
    }
    const onComplete = raw.on_complete ?? raw.onComplete ?? false;
    const operation: SqlOperation = { kind: "sql", up: raw.up, on_complete: onComplete };
    if (given(raw.down)) {
      // After complete there is no rollback, so a down for an on-complete statement could never run.
      if (onComplete) this.problems.add([...path, "down"], "not allowed with onComplete: true (nothing rolls back after complete)");
      operation.down = raw.down;
    }
    return operation;
  }

  /** Builds the operation(s) for one validated raw operation. */
  build(kind: RawKind, value: unknown, path: Path): Operation[] {
    const parsed = this.problems.parse(rawOperations[kind], value, path);
    if (parsed === undefined) return [];
    switch (kind) {
      case "create_table":
        return [this.createTable(parsed as Raw<"create_table">, path)];
      case "add_column":
        return [this.addColumn(parsed as Raw<"add_column">, path)];
      case "alter_column":
        return this.alterColumnWithLegacyFields(parsed as Raw<"alter_column">, path);
      case "rename_column":
      case "rename_constraint": {
        const raw = parsed as Raw<"rename_column">;
        if (raw.from === raw.to) this.problems.add([...path, "to"], `is the same as from ("${raw.from}")`);
        return [{ kind, table: raw.table, from: raw.from, to: raw.to }];
      }
      case "drop_column": {
        const raw = parsed as Raw<"drop_column">;
        const operation: DropColumnOperation = { kind, table: raw.table, column: raw.column };
        if (given(raw.down)) operation.down = raw.down;
        return [operation];
      }
      case "rename_table": {
        const raw = parsed as Raw<"rename_table">;
        if (raw.from === raw.to) this.problems.add([...path, "to"], `is the same as from ("${raw.from}")`);
        return [{ kind, from: raw.from, to: raw.to }];
      }
      case "drop_table":
      case "drop_index":
        return [{ kind, name: (parsed as Raw<"drop_table">).name }];
      case "create_index":
        return [this.createIndex(parsed as Raw<"create_index">, path)];
      case "create_constraint":
        return [this.createConstraint(parsed as Raw<"create_constraint">, path)];
      case "drop_constraint": {
        const raw = parsed as Raw<"drop_constraint">;
        const operation: DropConstraintOperation = { kind, table: raw.table, name: raw.name, down: raw.down };
        if (given(raw.up)) operation.up = raw.up;
        if (given(raw.column)) operation.column = raw.column;
        return [operation];
      }
      case "drop_multicolumn_constraint":
        return [this.dropMultiColumnConstraint(parsed as Raw<"drop_multicolumn_constraint">, path)];
      case "set_replica_identity":
        return [this.setReplicaIdentity(parsed as Raw<"set_replica_identity">, path)];
      case "sql":
        return [this.sql(parsed as Raw<"sql">, path)];
      case "set_not_null":
        return [this.alterColumn({ ...(parsed as Raw<"set_not_null">), nullable: false }, path)];
      case "drop_not_null":
        return [this.alterColumn({ ...(parsed as Raw<"drop_not_null">), nullable: true }, path)];
      case "set_unique": {
        const { name, ...rest } = parsed as Raw<"set_unique">;
        return [this.alterColumn({ ...rest, unique: { name } }, path)];
      }
      case "set_foreign_key":
        return [this.alterColumn(parsed as Raw<"set_foreign_key">, path)];
      case "set_check_constraint":
        return [this.alterColumn(parsed as Raw<"set_check_constraint">, path)];
      case "change_type":
        return [this.alterColumn(parsed as Raw<"change_type">, path)];
    }
  }

  /**
   * `name` on alter_column was pgroll's rename before rename_column existed; alone it is a
   * rename_column, next to other changes it renames after them (their `up` names the column
   * as it was, their `down` as renamed). `not_null` is the first spelling of `nullable`, inverted.
   */
  private alterColumnWithLegacyFields(raw: Raw<"alter_column">, path: Path): Operation[] {
    const { name, not_null: notNull, ...fields } = raw;
    if (given(notNull)) {
      if (given(fields.nullable)) this.problems.add([...path, "not_null"], "give nullable or the older not_null, not both");
      else fields.nullable = !notNull;
    }
    // null means "drop it" for default and comment, and "not given" for the rest.
    const changes = ["type", "nullable", "default", "comment", "unique", "check", "references"] as const;
    const changesSomething = changes.some((field) =>
      field === "default" || field === "comment" ? fields[field] !== undefined : given(fields[field]),
    );

    const operations: Operation[] = [];
    if (changesSomething) {
      const operation = this.alterColumn(fields, path);
      if (given(name) && operation.kind === "alter_column") operation.legacyRename = true;
      operations.push(operation);
    } else if (!given(name)) {
      this.problems.add(path, `changes nothing: set at least one of ${changes.join(", ")}`);
      return [];
    } else {
      for (const direction of ["up", "down"] as const) {
        if (given(fields[direction])) this.problems.add([...path, direction], "not allowed when alter_column only renames the column");
      }
    }
    if (given(name)) {
      if (name === fields.column) this.problems.add([...path, "name"], `is the same as column ("${name}")`);
      operations.push({ kind: "rename_column", table: fields.table, from: fields.column, to: name });
    }
    return operations;
  }
}

// ---------------------------------------------------------------------------------------------
// The entry point.
// ---------------------------------------------------------------------------------------------

function operationKey(value: unknown, path: Path, problems: Problems): RawKind | undefined {
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
  if (!(RAW_KINDS as readonly string[]).includes(key)) {
    const suggestion = closestMatch(key, RAW_KINDS);
    const hint = suggestion === undefined ? "" : `did you mean "${suggestion}"? `;
    problems.add(path, `unknown operation ${JSON.stringify(key)} (${hint}expected one of ${OPERATION_KINDS.join(", ")})`);
    return undefined;
  }
  return key as RawKind;
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

  const builder = new OperationBuilder(problems);
  const operations: Operation[] = [];
  const startTimeSql: number[] = [];
  top.operations.forEach((value, i) => {
    const path = ["operations", i];
    const kind = operationKey(value, path, problems);
    if (kind === undefined) return;
    const built = builder.build(kind, (value as Record<string, unknown>)[kind], [...path, kind]);
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
