import { UnderwayError } from "../../errors.js";
import { ident, qualified } from "../../db/ident.js";
import type { Step } from "../step.js";
import type { Assignment, Binding } from "../dual-write.js";
import type { ColumnModel, SchemaModel, TableModel } from "../schema-model.js";
import { TEMP_PREFIX } from "../version-mapping.js";
import { renameIdentifiers as renameIdentifiersImpl } from "../sql-expression.js";

/**
 * What operations write into while a migration is planned. Steps go into stages; the
 * planner assembles the stages into the start, complete and rollback phases:
 *
 * start    = expand, dual-write triggers, constrain, backfills, afterBackfill, the
 *            version schema (constraints on new columns wait for the trigger, or a
 *            write in between would leave the new column NULL and fail them)
 * complete = validate, drop the old version schema, one transaction per table that
 *            drops its trigger, drops the columns the new version no longer maps,
 *            renames the rest to their logical names and runs `attach`; finalize
 * rollback = drop the version schema and triggers, drop what expand added, then
 *            `rollback` in reverse order
 *
 * Column drops and renames at complete, and column drops at rollback, are derived
 * from the difference between `before` and `after`, so operations only describe the
 * new version and the objects that go with it.
 */
export interface PlanContext {
  schema: string;
  stateSchema: string;
  migration: string;
  versionSchema: string;
  /** The old version, read from the catalog. Never modified. */
  before: SchemaModel;
  /** The new version, built up operation by operation. */
  after: SchemaModel;
  /** Runs a probe on the database (read-only, rolled back); used to tell volatile defaults. */
  probe: Probe;
  stages: Stages;
  /** Dual-write assignments per physical table. */
  dualWrite: Map<string, PendingDualWrite>;
  /** Physical tables whose existing rows must be rewritten. */
  backfill: Set<string>;
  /** Physical tables the new version does not see. */
  hiddenTables: Set<string>;
  /** Where the operation being planned stands in the file, for messages: `operations[2].alter_column`. */
  path: string;
  /** The migration file, for messages. */
  file: string;
  /** The operation being planned, by index. */
  operation?: number;
  /** SQL from the file for the database to check before anything changes. */
  checks?: SqlCheck[];
  /** The names each table offered when the current operation began (`up` is bound to them). */
  operationStart?: Map<TableModel, Binding[]>;
  /** `down` assignments of the current operation, bound once it has run. */
  pendingDown?: { table: TableModel; assignment: PendingAssignment }[];
  /** Physical columns start adds, per physical table (whether or not a version keeps them). */
  added: Map<string, string[]>;
  /** Names of constraints and indexes this migration creates. */
  names?: Set<string>;
  /** What the plan does differently from what the file says, and why (shown by plan). */
  notices?: string[];
}

/**
 * A dual-write assignment whose expression may wait for the end of planning: `sameAs`
 * stands for "the value of this column of the new version", named as the column is
 * named once every operation has run (a later rename_column changes it).
 */
export type PendingAssignment = Assignment | { target: string; sameAs: ColumnModel; origin?: string; targetType?: string };

/**
 * SQL from the file that the database checks before anything changes (names resolved,
 * types known, casts possible), with what it is evaluated against.
 */
export interface SqlCheck {
  /** Where it stands in the file: `operations[1].alter_column.up`. */
  origin: string;
  kind: "expression" | "type" | "default" | "check";
  sql: string;
  /** The names the SQL may use as columns, with their types. */
  bindings: { name: string; type: string }[];
  /** The type its value must be cast to (an expression or default). */
  target?: string;
  /** The operation's index: names an earlier `sql` operation may create cannot be checked. */
  operation: number;
}

export interface PendingDualWrite {
  up: Assignment[];
  /** Resolved once each operation has run (see `finishOperation`). */
  down: Assignment[];
  /** Columns kept in step in both directions (original, copy), for `verify`. */
  pairs: { old: string; new: string }[];
}

export interface Probe {
  /** Whether `ALTER TABLE ... ADD COLUMN c <type> DEFAULT <expr>` would rewrite a table. */
  defaultRewrites(type: string, expression: string): Promise<boolean>;
  /** Whether the server can plan a statement (names resolve, types fit); it is not run. */
  compiles(sql: string): Promise<boolean>;
}

export interface Stages {
  expand: Step[];
  /** NOT VALID constraints on new columns; after the dual-write triggers exist. */
  constrain: Step[];
  afterBackfill: Step[];
  validate: Step[];
  /**
   * Statements per physical table, run at complete before any column is dropped or
   * renamed, so they name columns as the migration found them (defaults, comments).
   */
  columnAttach: Map<string, string[]>;
  /** Statements per physical table, run at complete after its columns have their final names. */
  attach: Map<string, string[]>;
  finalize: Step[];
  /** Rollback steps in operation order; the planner reverses them. */
  rollback: Step[];
  /** Rollback steps gated on a start step, matched by identity once indexes are known. */
  gates: Map<Step, Step>;
}

export function newStages(): Stages {
  return { expand: [], constrain: [], afterBackfill: [], validate: [], columnAttach: new Map(), attach: new Map(), finalize: [], rollback: [], gates: new Map() };
}

/** A semantic error in the migration: exit 2, naming the file and the field. */
export function invalid(ctx: PlanContext, field: string, message: string): UnderwayError {
  return new UnderwayError("INVALID_MIGRATION", `${ctx.file}: ${ctx.path}${field ? `.${field}` : ""}: ${message}`);
}

/** The table in the new version, or an INVALID_MIGRATION error. */
export function requireTable(ctx: PlanContext, name: string, field = "table"): TableModel {
  const table = ctx.after.tables.get(name);
  if (!table) {
    throw invalid(ctx, field, `table "${name}" does not exist in schema "${ctx.schema}"`);
  }
  return table;
}

export function requireColumn(ctx: PlanContext, table: TableModel, name: string, field = "column"): ColumnModel {
  const column = table.columns.find((c) => c.name === name);
  if (!column) {
    throw invalid(ctx, field, `column "${name}" does not exist on table "${table.name}"`);
  }
  return column;
}

/**
 * A name for a new constraint (or the index of a new unique constraint, when `index`):
 * refused when the table already has a constraint by that name or, for an index, when the
 * schema has an index by that name, which PostgreSQL would refuse at start or complete.
 */
export function requireNewConstraintName(ctx: PlanContext, table: TableModel, name: string, field: string, options: { index?: boolean } = {}): void {
  if (table.constraints.some((c) => c.name === name)) throw invalid(ctx, field, `constraint "${name}" already exists on table "${table.name}"`);
  if (options.index) {
    for (const t of ctx.after.tables.values()) {
      if (t.indexes.some((i) => i.name === name)) throw invalid(ctx, field, `an index named "${name}" already exists in schema "${ctx.schema}" (on table "${t.name}")`);
    }
  }
  const taken = ctx.names ?? (ctx.names = new Set());
  if (taken.has(name)) throw invalid(ctx, field, `"${name}" is already the name of a constraint or index this migration creates`);
  taken.add(name);
}

/** The table as the old version sees it (same physical table), if it existed before. */
export function beforeTable(ctx: PlanContext, table: TableModel): TableModel | undefined {
  for (const t of ctx.before.tables.values()) if (t.physical === table.physical) return t;
  return undefined;
}

export function tableRef(ctx: PlanContext, table: TableModel): string {
  return qualified(ctx.schema, table.physical);
}

/** Appends a statement to a table's transaction at complete, after its columns are renamed. */
export function attach(ctx: PlanContext, table: TableModel, statement: string): void {
  const list = ctx.stages.attach.get(table.physical) ?? [];
  list.push(statement);
  ctx.stages.attach.set(table.physical, list);
}

/**
 * Appends a statement naming a column by its physical name now to a table's transaction
 * at complete, where it runs before columns are dropped or renamed.
 */
export function attachToColumn(ctx: PlanContext, table: TableModel, statement: string): void {
  const list = ctx.stages.columnAttach.get(table.physical) ?? [];
  list.push(statement);
  ctx.stages.columnAttach.set(table.physical, list);
}

/**
 * Column references of an expression written against the new version's names,
 * rewritten to the physical columns (for CHECK constraints on duplicated columns).
 */
export function toPhysical(table: TableModel, expression: string): string {
  const renames: Record<string, string> = {};
  for (const c of table.columns) if (c.name !== c.physical) renames[c.name] = c.physical;
  return renameIdentifiersImpl(expression, renames);
}

function dualWriteOf(ctx: PlanContext, table: TableModel): PendingDualWrite {
  const entry = ctx.dualWrite.get(table.physical) ?? { up: [], down: [], pairs: [] };
  ctx.dualWrite.set(table.physical, entry);
  return entry;
}

/** The names a table offers to an expression right now, each with its physical column and type. */
export function bindingsNow(table: TableModel): Binding[] {
  return table.columns.map((c) => ({ name: c.name, physical: c.physical, type: c.type }));
}

/**
 * old -> new, for writes in the old version's terms. Evaluated with the names the table
 * had when the operation began (so after the renames of earlier operations, as pgroll
 * reads a migration), bound to the columns as they were then: the original, or a copy an
 * earlier operation made and filled first.
 */
export function addUp(ctx: PlanContext, table: TableModel, assignment: Assignment): void {
  const bindings = ctx.operationStart?.get(table) ?? bindingsNow(table);
  dualWriteOf(ctx, table).up.push({ origin: `${ctx.path}.up`, bindings, ...assignment });
}

/**
 * new -> old, for writes in the new version's terms. Evaluated with the names the table
 * has once the operation has run (see `finishOperation`).
 */
export function addDown(ctx: PlanContext, table: TableModel, assignment: PendingAssignment): void {
  (ctx.pendingDown ??= []).push({ table, assignment: { origin: "sameAs" in assignment ? ctx.path : `${ctx.path}.down`, ...assignment } });
}

/** Called before each operation: the names its `up` expressions see. */
export function startOperation(ctx: PlanContext): void {
  ctx.operationStart = new Map([...ctx.after.tables.values()].map((t) => [t, bindingsNow(t)]));
}

/**
 * Called once an operation (with the rename of the same entry, for pgroll's older
 * alter_column with `name`) has run: its `down` expressions get the names the table has
 * now, and an implicit `down` (the column itself) names the column as it is now called.
 */
export function finishOperation(ctx: PlanContext): void {
  for (const { table, assignment } of ctx.pendingDown ?? []) {
    const bindings = bindingsNow(table);
    const resolved: Assignment =
      "sameAs" in assignment
        ? { target: assignment.target, expression: ident(assignment.sameAs.name), ...(assignment.origin ? { origin: assignment.origin } : {}), ...(assignment.targetType ? { targetType: assignment.targetType } : {}) }
        : assignment;
    dualWriteOf(ctx, table).down.push({ ...resolved, bindings });
  }
  ctx.pendingDown = [];
}

/**
 * Foreign keys name the referenced table and columns as the migration knows them at that
 * point (a table renamed earlier in the same migration by its new name); the constraint is
 * made on the physical ones, which keep their names until complete.
 */
export function physicalReference(ctx: PlanContext): (table: string, columns: string[]) => { table: string; columns: string[] } {
  return (name, columns) => {
    const table = ctx.after.tables.get(name);
    if (!table) return { table: name, columns };
    return { table: table.physical, columns: columns.map((c) => table.columns.find((col) => col.name === c)?.physical ?? c) };
  };
}

/** Records a physical column start adds, so complete and rollback drop it if no version keeps it. */
export function addedColumn(ctx: PlanContext, table: TableModel, physical: string): void {
  const list = ctx.added.get(table.physical) ?? [];
  list.push(physical);
  ctx.added.set(table.physical, list);
}

/** SQL the database checks before anything changes; see `SqlCheck`. */
export function addCheck(ctx: PlanContext, check: Omit<SqlCheck, "operation">): void {
  (ctx.checks ??= []).push({ ...check, operation: ctx.operation ?? 0 });
}

/** The names a table's rows offer to an expression in this version, with their types. */
export function bindingsOf(table: TableModel): { name: string; type: string }[] {
  return table.columns.map((c) => ({ name: c.name, type: c.type }));
}

export function addPair(ctx: PlanContext, table: TableModel, pair: { old: string; new: string }): void {
  dualWriteOf(ctx, table).pairs.push(pair);
}

/**
 * A physical name for an object underway creates, within PostgreSQL's 63 bytes and
 * unused by any column of the table.
 */
export function tempColumnName(table: TableModel, base: string, ctx?: PlanContext): string {
  const taken = new Set([...table.columns.map((c) => c.physical), ...(ctx?.added.get(table.physical) ?? [])]);
  for (let n = 0; ; n++) {
    const suffix = n === 0 ? "" : `_${n}`;
    const name = truncateBytes(`${TEMP_PREFIX}new_${base}`, 63 - suffix.length) + suffix;
    if (!taken.has(name)) return name;
  }
}

export function truncateBytes(text: string, bytes: number): string {
  const buffer = Buffer.from(text, "utf8");
  if (buffer.length <= bytes) return text;
  return buffer.subarray(0, bytes).toString("utf8").replace(/\uFFFD+$/, "");
}

/** A sensible name for an underway-made constraint or index. */
export function objectName(...parts: string[]): string {
  return truncateBytes(`${TEMP_PREFIX}${parts.join("_")}`, 63);
}
