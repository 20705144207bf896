import { ident, qualified } from "../db/ident.js";
import { UnderwayError } from "../errors.js";
import type { Migration, Operation, OperationKind } from "../format/schema.js";
import { planAddColumn } from "./operations/add-column.js";
import { planAlterColumn } from "./operations/alter-column.js";
import { planCreateConstraint } from "./operations/create-constraint.js";
import { planCreateIndex } from "./operations/create-index.js";
import { planCreateTable } from "./operations/create-table.js";
import { planDropColumn } from "./operations/drop-column.js";
import { planDropConstraint } from "./operations/drop-constraint.js";
import { planDropIndex } from "./operations/drop-index.js";
import { planDropTable } from "./operations/drop-table.js";
import { finishOperation, newStages, startOperation, type PlanContext, type Probe } from "./operations/plan-context.js";
import { planSql } from "./operations/raw-sql.js";
import { planRenameColumn } from "./operations/rename-column.js";
import { planRenameConstraint } from "./operations/rename-constraint.js";
import { planRenameTable } from "./operations/rename-table.js";
import { planSetReplicaIdentity } from "./operations/set-replica-identity.js";
import {
  assignmentInputs,
  createDualWriteStatements,
  dropDualWriteStatements,
  backfillSkipSetting,
  dualWriteTriggerNames,
  type Binding,
  type DualWriteTable,
  type MarkedColumn,
} from "./dual-write.js";
import type { PendingDualWrite } from "./operations/plan-context.js";
import { cloneSchema, type ColumnModel, type SchemaModel, type TableModel } from "./schema-model.js";
import type { MigrationPlan, Step } from "./step.js";
import type { TableMapping, VersionMapping } from "./version-mapping.js";

export interface PlanInput {
  schema: string;
  stateSchema: string;
  migration: Migration;
  /** The file it came from, for messages. */
  file: string;
  versionSchema: string;
  /** The version schema of the previous migration, dropped at complete. */
  previousVersionSchema: string | null;
  /** The previous migration's name, which clients of the old version may give as `underway.version`. */
  previousMigration?: string | null;
  /** Refuse writes that name no version while the migration is active (`start --strict-versions`). */
  strictVersions?: boolean;
  /** The schema as the catalog has it now (no migration active). */
  before: SchemaModel;
  probe: Probe;
}

/**
 * Turns a migration into its three phases. Pure apart from `probe`: everything it
 * knows about the database is in `before`, so the same input gives the same plan, and
 * the plan is stored before any step runs.
 */
export async function planMigration(input: PlanInput): Promise<MigrationPlan> {
  const ctx: PlanContext = {
    schema: input.schema,
    stateSchema: input.stateSchema,
    migration: input.migration.name,
    versionSchema: input.versionSchema,
    before: input.before,
    after: cloneSchema(input.before),
    probe: input.probe,
    stages: newStages(),
    dualWrite: new Map(),
    backfill: new Set(),
    hiddenTables: new Set(),
    path: "",
    file: input.file,
    checks: [],
    added: new Map(),
  };
  const operations = input.migration.operations;
  for (const [i, op] of operations.entries()) {
    ctx.path = `operations[${i}].${op.kind}`;
    ctx.operation = i;
    startOperation(ctx);
    await planOperation(ctx, op);
    // pgroll's older alter_column with `name` arrives as the change and then its rename:
    // its `down` names the column as renamed.
    const next = operations[i + 1];
    const renamedNext = op.kind === "alter_column" && next?.kind === "rename_column" && next.table === op.table && next.from === op.column && op.legacyRename === true;
    if (!renamedNext) finishOperation(ctx);
  }
  finishOperation(ctx);
  return assemble(ctx, input);
}

/** The planner of an operation of kind `K`. */
type OperationPlanner<K extends OperationKind> = (ctx: PlanContext, op: Extract<Operation, { kind: K }>) => Promise<void>;

/**
 * Each kind's planner, in plan/operations/<op>.ts. The type asks for one for every kind the
 * file format has, so a new operation does not compile until its planner is listed here.
 */
const PLANNERS: { [K in OperationKind]: OperationPlanner<K> } = {
  create_table: planCreateTable,
  add_column: planAddColumn,
  alter_column: planAlterColumn,
  rename_column: planRenameColumn,
  drop_column: planDropColumn,
  rename_table: planRenameTable,
  drop_table: planDropTable,
  create_index: planCreateIndex,
  drop_index: planDropIndex,
  create_constraint: planCreateConstraint,
  drop_constraint: planDropConstraint,
  drop_multicolumn_constraint: planDropConstraint,
  rename_constraint: planRenameConstraint,
  set_replica_identity: planSetReplicaIdentity,
  sql: planSql,
};

async function planOperation(ctx: PlanContext, op: Operation): Promise<void> {
  // TypeScript cannot pair `op` with the entry its own kind picks; PLANNERS's type does.
  const planner = PLANNERS[op.kind] as (ctx: PlanContext, op: Operation) => Promise<void>;
  return planner(ctx, op);
}

function assemble(ctx: PlanContext, input: PlanInput): MigrationPlan {
  const { stages } = ctx;
  const previousVersionSchema = input.previousVersionSchema;
  const beforeByPhysical = new Map<string, TableModel>();
  for (const t of ctx.before.tables.values()) beforeByPhysical.set(t.physical, t);
  const afterByPhysical = new Map<string, TableModel>();
  for (const t of ctx.after.tables.values()) afterByPhysical.set(t.physical, t);

  // Dual-write triggers, one per changed table.
  const triggerSteps: Step[] = [];
  const dualWrites: DualWriteTable[] = [];
  const dropTriggerSteps = new Map<string, DualWriteTable>();
  for (const [physical, assignments] of ctx.dualWrite) {
    const before = beforeByPhysical.get(physical);
    if (!before) continue;
    const after = afterByPhysical.get(physical);
    const spec = dualWriteSpec(ctx, before, after, assignments, input);
    dualWrites.push(spec);
    const ref = qualified(ctx.schema, physical);
    triggerSteps.push({
      kind: "ddl",
      description: `install dual-write trigger on ${physical}`,
      statements: createDualWriteStatements(ctx.stateSchema, ctx.versionSchema, ctx.migration, spec),
      table: ref,
    });
    dropTriggerSteps.set(physical, spec);
  }

  const backfillSteps: Step[] = [...ctx.backfill].map((table) => ({
    kind: "backfill",
    description: `backfill ${table}`,
    schema: ctx.schema,
    table,
  }));

  const mapping = versionMapping(ctx, beforeByPhysical);
  const versionStep: Step = {
    kind: "version_schema",
    description: `create version schema ${ctx.versionSchema}`,
    schema: ctx.schema,
    versionSchema: ctx.versionSchema,
    mapping,
  };

  const start: Step[] = [...stages.expand, ...triggerSteps, ...stages.constrain, ...backfillSteps, ...stages.afterBackfill, versionStep];
  const attributes = attributeUse(ctx, start, beforeByPhysical);

  // Complete: validations (which rollback can still undo), then the contract in one
  // transaction (the old version schema goes, every table is swapped, dropped tables go,
  // tables take their new names), then the validation of foreign keys the contract
  // re-created, then the file's on_complete SQL. Until the contract commits, rollback is
  // still possible; after it, only complete.
  const complete: Step[] = [...stages.validate];
  const contractTables = new Set<string>([...ctx.dualWrite.keys(), ...stages.attach.keys(), ...stages.columnAttach.keys(), ...ctx.added.keys()]);
  for (const after of ctx.after.tables.values()) {
    const before = beforeByPhysical.get(after.physical);
    if (!before) continue;
    const used = new Set(after.columns.map((c) => c.physical));
    if (before.columns.some((c) => !used.has(c.physical)) || after.columns.some((c) => c.name !== c.physical) || after.name !== after.physical) {
      contractTables.add(after.physical);
    }
  }
  const contract: Extract<Step, { kind: "contract" }> = {
    kind: "contract",
    description: "contract: drop the old version, swap columns, drop and rename tables",
    schema: ctx.schema,
    before: previousVersionSchema ? [`DROP SCHEMA IF EXISTS ${ident(previousVersionSchema)} CASCADE`] : [],
    tables: [],
    after: [],
    droppedTables: [...ctx.hiddenTables],
  };
  const renamedTables: string[] = [];
  for (const physical of contractTables) {
    const before = beforeByPhysical.get(physical);
    const after = afterByPhysical.get(physical);
    if (!before || !after) {
      // Hidden (dropped) tables only lose their trigger; created tables need nothing.
      const spec = dropTriggerSteps.get(physical);
      if (spec) contract.before.push(...dropDualWriteStatements(ctx.stateSchema, ctx.schema, physical, spec));
      continue;
    }
    const ref = qualified(ctx.schema, physical);
    const spec = dropTriggerSteps.get(physical);
    const swap = contractColumns(ref, before, after, spec?.pairs ?? [], ctx.added.get(physical) ?? []);
    const table = {
      table: physical,
      pre: [...(spec ? dropDualWriteStatements(ctx.stateSchema, ctx.schema, physical, spec, "new") : []), ...(stages.columnAttach.get(physical) ?? []), ...swap.pre],
      post: [...swap.post, ...(stages.attach.get(physical) ?? [])],
      dropped: swap.dropped,
      expected: [...before.indexes.map((i) => i.name), ...before.constraints.map((c) => c.name), ...createdNames(start)],
    };
    if (table.pre.length + table.post.length > 0) contract.tables.push(table);
    if (after.name !== after.physical) renamedTables.push(`ALTER TABLE ${ref} RENAME TO ${ident(after.name)}`);
  }
  if (ctx.hiddenTables.size > 0) {
    // One statement, so tables that reference each other go together.
    contract.after.push(`DROP TABLE ${[...ctx.hiddenTables].map((t) => qualified(ctx.schema, t)).join(", ")}`);
  }
  // Tables this migration created under another name (one of the same name was dropped, or
  // it was renamed in the same migration) take their names once the dropped ones are gone.
  for (const after of ctx.after.tables.values()) {
    if (after.createdHere && after.name !== after.physical) renamedTables.push(`ALTER TABLE ${qualified(ctx.schema, after.physical)} RENAME TO ${ident(after.name)}`);
  }
  contract.after.push(...renamedTables);
  if (contract.before.length + contract.tables.length + contract.after.length > 0) {
    complete.push(contract, { kind: "validate_carried", description: "validate foreign keys the contract re-created", schema: ctx.schema });
  }
  complete.push(...stages.finalize);
  if (stages.finalize.some((step) => step.kind === "user_sql")) {
    // What the on_complete SQL made or changed is in the version schema too, as pgroll has it.
    complete.push({
      kind: "version_schema",
      description: `bring version schema ${ctx.versionSchema} up to the tables`,
      schema: ctx.schema,
      versionSchema: ctx.versionSchema,
      mapping: { tables: {}, hiddenTables: [] },
      refresh: true,
    });
  }

  // Rollback: the new version goes first; then, per table and in one transaction, the
  // trigger and the columns it writes (apart, writes in between would either hit a
  // trigger naming a missing column or leave a NULL that a NOT NULL check rejects);
  // then the operations' own undo, newest first.
  const rollback: Step[] = [
    {
      kind: "ddl",
      description: `drop version schema ${ctx.versionSchema}`,
      statements: [`DROP SCHEMA IF EXISTS ${ident(ctx.versionSchema)} CASCADE`],
    },
  ];
  for (const before of ctx.before.tables.values()) {
    const after = afterByPhysical.get(before.physical);
    // Every column start added, whether or not a version keeps it.
    const added = ctx.added.get(before.physical) ?? [];
    const statements = [
      ...(dropTriggerSteps.has(before.physical)
        ? dropDualWriteStatements(ctx.stateSchema, ctx.schema, before.physical, dropTriggerSteps.get(before.physical), "old")
        : []),
      ...added.map((c) => `ALTER TABLE ${qualified(ctx.schema, before.physical)} DROP COLUMN IF EXISTS ${ident(c)}`),
    ];
    if (statements.length === 0) continue;
    rollback.push({
      kind: "ddl",
      description: `remove dual write and new columns from ${before.physical}`,
      statements,
      table: qualified(ctx.schema, before.physical),
    });
  }
  rollback.push(...[...stages.rollback].reverse());

  const startIndex = new Map<Step, number>(start.map((s, i) => [s, i]));
  for (const [rollbackStep, startStep] of stages.gates) {
    const index = startIndex.get(startStep);
    if (index !== undefined) rollbackStep.onlyIfStarted = index;
  }
  const userTriggers = dualWrites
    .map((d) => ({
      table: d.table,
      triggers: (beforeByPhysical.get(d.table)?.triggers ?? []).map((t) => `${t.name} (${t.before ? "BEFORE" : "AFTER"} ${t.events.join("/")}${t.row ? " ROW" : ""})`),
      early: d.triggers?.early !== undefined,
    }))
    .filter((t) => t.triggers.length > 0);
  return {
    start,
    complete,
    rollback,
    backfillTables: [...ctx.backfill],
    dualWrite: dualWrites,
    ...(userTriggers.length > 0 ? { userTriggers } : {}),
    ...(attributes.length > 0 ? { attributes } : {}),
    ...((ctx.notices ?? []).length > 0 ? { notices: ctx.notices } : {}),
    checks: ctx.checks ?? [],
  };
}

/**
 * How the contract changes one table's columns. `pre` moves columns to their final names
 * where those are free, including an original to the name its copy will take, so that the
 * definitions of dependent views and policies, read after `pre`, name every column as it
 * will be named. `post` drops what the new version does not map and renames the rest (a
 * swap, a -> b and b -> a, goes through a temporary name). `dropped` lists the columns
 * `post` drops, as named after `pre`, with the copy (as named after `pre`) that takes
 * each one's place.
 */
function contractColumns(
  ref: string,
  before: TableModel,
  after: TableModel,
  pairs: { old: string; new: string }[],
  added: string[],
): { pre: string[]; post: string[]; dropped: { column: string; replacement: string | null; planned: string }[] } {
  const current = new Map<string, string>(); // physical at plan time -> name now
  for (const c of [...before.columns, ...after.columns]) current.set(c.physical, c.physical);
  for (const physical of added) current.set(physical, physical);
  const taken = () => new Set(current.values());
  const finalName = new Map(after.columns.map((c) => [c.physical, c.name]));
  const used = new Set(after.columns.map((c) => c.physical));
  // A column changed twice in one migration has a copy of a copy: the original's replacement
  // is the last one, which the new version keeps.
  const next = new Map(pairs.map((p) => [p.old, p.new]));
  const copyOf = new Map<string, string>();
  for (const p of pairs) {
    let copy = p.new;
    for (let hops = 0; !used.has(copy) && next.has(copy) && hops < 100; hops++) copy = next.get(copy)!;
    copyOf.set(p.old, copy);
  }
  const pre: string[] = [];
  // Columns to move early: those the new version keeps under another name, and originals,
  // to the name their copy will have.
  const wanted = new Map<string, string>();
  for (const c of after.columns) if (before.columns.some((b) => b.physical === c.physical) && c.name !== c.physical) wanted.set(c.physical, c.name);
  for (const c of before.columns) {
    const copy = copyOf.get(c.physical);
    const target = copy === undefined ? undefined : finalName.get(copy);
    if (!used.has(c.physical) && target !== undefined && target !== c.physical) wanted.set(c.physical, target);
  }
  for (let moved = true; moved; ) {
    moved = false;
    for (const [physical, target] of wanted) {
      if (taken().has(target)) continue;
      pre.push(`ALTER TABLE ${ref} RENAME COLUMN ${ident(current.get(physical)!)} TO ${ident(target)}`);
      current.set(physical, target);
      wanted.delete(physical);
      moved = true;
    }
  }
  const post: string[] = [];
  const dropped: { column: string; replacement: string | null; planned: string }[] = [];
  for (const column of before.columns) {
    if (used.has(column.physical)) continue;
    const name = current.get(column.physical)!;
    post.push(`ALTER TABLE ${ref} DROP COLUMN ${ident(name)}`);
    const copy = copyOf.get(column.physical);
    dropped.push({ column: name, replacement: copy === undefined || !used.has(copy) ? null : current.get(copy)!, planned: column.physical });
    current.delete(column.physical);
  }
  // Columns start added that no version keeps: a copy of a copy, or one added and dropped again.
  for (const physical of added) {
    if (used.has(physical) || !current.has(physical)) continue;
    post.push(`ALTER TABLE ${ref} DROP COLUMN IF EXISTS ${ident(physical)}`);
    current.delete(physical);
  }
  const moves = after.columns.filter((c) => current.get(c.physical) !== c.name).map((c) => ({ from: current.get(c.physical)!, to: c.name }));
  const sources = new Set(moves.map((m) => m.from));
  const staged = moves.map((m, i) => {
    if (!sources.has(m.to)) return m;
    const temp = `_uw_swap_${i}`;
    post.push(`ALTER TABLE ${ref} RENAME COLUMN ${ident(m.from)} TO ${ident(temp)}`);
    return { from: temp, to: m.to };
  });
  for (const m of staged) post.push(`ALTER TABLE ${ref} RENAME COLUMN ${ident(m.from)} TO ${ident(m.to)}`);
  return { pre, post, dropped };
}

function versionMapping(ctx: PlanContext, beforeByPhysical: Map<string, TableModel>): VersionMapping {
  const tables: Record<string, TableMapping> = {};
  for (const after of ctx.after.tables.values()) {
    const before = beforeByPhysical.get(after.physical);
    const identical =
      before !== undefined &&
      !ctx.added.has(after.physical) &&
      after.name === after.physical &&
      after.columns.length === before.columns.length &&
      after.columns.every((c, i) => c.name === c.physical && c.physical === before.columns[i]!.physical && c.viewDefault === undefined && c.viewComment === undefined);
    if (identical || (before === undefined && after.name === after.physical && after.columns.every((c) => c.name === c.physical))) continue;
    // Every column carries its default on the view: `UPDATE v SET c = DEFAULT` uses the
    // view's default, not the table's (NULL without one). A column the view must not take
    // the table's default for (one dropped by this migration, or one only this version has,
    // whose table default tells the trigger the statement left it out) gets NULLIF(NULL, NULL):
    // PostgreSQL stores no default for a plain NULL, so only an expression shadows the table's.
    const oldPhysical = new Set((before?.columns ?? []).map((c) => c.physical));
    tables[after.physical] = {
      name: after.name,
      columns: after.columns.map((c) => {
        const own = c.viewDefault !== undefined ? c.viewDefault : c.default;
        const shadow = c.viewDefault === null || (before !== undefined && !oldPhysical.has(c.physical) && !c.generated && !c.identity);
        const value = own ?? (shadow ? `NULLIF(NULL::${c.type}, NULL)` : undefined);
        return {
          physical: c.physical,
          name: c.name,
          ...(value !== undefined && !c.generated ? { default: value } : {}),
          ...(c.viewComment !== undefined ? { comment: c.viewComment } : {}),
        };
      }),
    };
  }
  return { tables, hiddenTables: [...ctx.hiddenTables] };
}

/**
 * What the dual-write trigger of one table needs: both versions' bindings, the
 * assignments with the columns each reads, the columns only one version has (whose
 * defaults are marked), the key for messages, and trigger names that fire after (and,
 * with user BEFORE ROW triggers, before) every trigger the table has.
 */
function dualWriteSpec(ctx: PlanContext, before: TableModel, after: TableModel | undefined, assignments: PendingDualWrite, input: PlanInput): DualWriteTable {
  const oldBindings: Binding[] = before.columns.map((c) => ({ name: c.name, physical: c.physical }));
  const newBindings: Binding[] = (after?.columns ?? []).map((c) => ({ name: c.name, physical: c.physical }));
  // Each assignment reads the columns its own bindings name. A column an earlier `up` fills
  // (a copy of a copy) counts as the inputs of that `up`, so an UPDATE recomputes the chain.
  const upTargets = new Map<string, string[] | null>();
  const up = assignments.up.map((a) => {
    const direct = assignmentInputs(a.expression, a.bindings ?? oldBindings);
    const inputs = direct === null ? null : expandInputs(direct, upTargets);
    upTargets.set(a.target, inputs);
    return { ...a, inputs };
  });
  // `down` runs newest operation first, so each sees what the later ones filled.
  const downTargets = new Map<string, string[] | null>();
  const down = [...assignments.down]
    .reverse()
    .map((a) => {
      const direct = assignmentInputs(a.expression, a.bindings ?? newBindings);
      const inputs = direct === null ? null : expandInputs(direct, downTargets);
      downTargets.set(a.target, inputs);
      return { ...a, inputs };
    });
  // Each expression, checked by the database before anything changes, as the trigger will
  // evaluate it: with its own bindings, cast to the column it fills.
  for (const a of [...up, ...down]) {
    if (a.targetType === undefined) continue;
    ctx.checks!.push({
      origin: a.origin ?? ctx.path,
      kind: "expression",
      sql: a.expression,
      bindings: (a.bindings ?? []).map((b) => ({ name: b.name, type: b.type ?? "text" })),
      target: a.targetType,
      operation: Number(/^operations\[(\d+)\]/.exec(a.origin ?? "")?.[1] ?? 0),
    });
  }
  const oldPhysical = new Set(before.columns.map((c) => c.physical));
  const newPhysical = new Set((after?.columns ?? []).map((c) => c.physical));
  const markable = (c: ColumnModel) => !c.generated && !c.identity;
  const marked: MarkedColumn[] = [
    ...before.columns
      .filter((c) => !newPhysical.has(c.physical) && markable(c))
      .map((c): MarkedColumn => ({ physical: c.physical, type: c.type, side: "old", default: c.default })),
    ...(after?.columns ?? [])
      .filter((c) => !oldPhysical.has(c.physical) && markable(c))
      .map((c): MarkedColumn => ({ physical: c.physical, type: c.type, side: "new", default: c.default })),
  ];
  const userBeforeRow = (before.triggers ?? []).some((t) => t.before && t.row && (t.events.includes("INSERT") || t.events.includes("UPDATE")));
  const knownOld = [input.previousVersionSchema, input.previousMigration].filter((x): x is string => typeof x === "string" && x !== "");
  return {
    schema: ctx.schema,
    table: before.physical,
    oldBindings,
    newBindings,
    up,
    down,
    pairs: assignments.pairs,
    marked,
    key: before.primaryKey,
    triggers: dualWriteTriggerNames((before.triggers ?? []).map((t) => t.name), userBeforeRow),
    ...(input.strictVersions ? { strict: true } : {}),
    knownOld,
    backfillSkip: backfillSkipSetting(ctx.schema, before.physical),
  };
}

/** Inputs with each column another assignment fills replaced by that assignment's inputs. */
function expandInputs(direct: string[], filled: Map<string, string[] | null>): string[] | null {
  const out = new Set<string>();
  for (const physical of direct) {
    if (!filled.has(physical)) {
      out.add(physical);
      continue;
    }
    const through = filled.get(physical)!;
    if (through === null) return null;
    for (const p of through) out.add(p);
  }
  return [...out];
}

/** Indexes and constraints the start phase creates (on any table), by name. */
function createdNames(start: Step[]): string[] {
  const names: string[] = [];
  for (const step of start) {
    if (step.kind === "concurrent_index") names.push(step.index);
    if (step.kind !== "ddl") continue;
    for (const statement of step.statements) {
      for (const m of statement.matchAll(/\b(?:ADD CONSTRAINT|CREATE (?:UNIQUE )?INDEX(?: CONCURRENTLY)?(?: IF NOT EXISTS)?)\s+"((?:[^"]|"")+)"/g)) {
        names.push(m[1]!.replaceAll('""', '"'));
      }
    }
  }
  return names;
}

/** PostgreSQL's limit on a table's attribute numbers, dropped columns included (MaxHeapAttributeNumber). */
const MAX_ATTRIBUTES = 1600;

/**
 * The attribute numbers each existing table has used and the columns start adds to it. A
 * column added and later dropped keeps its number for good (a rollback gives none back), so
 * a migration that would pass the limit is refused before it adds the first column.
 */
function attributeUse(ctx: PlanContext, start: Step[], beforeByPhysical: Map<string, TableModel>): { table: string; used: number; adds: number }[] {
  const use: { table: string; used: number; adds: number }[] = [];
  for (const [physical, table] of beforeByPhysical) {
    const ref = qualified(ctx.schema, physical);
    const adds = start
      .flatMap((step) => (step.kind === "ddl" ? step.statements : []))
      .filter((sql) => sql.startsWith(`ALTER TABLE ${ref} ADD COLUMN `)).length;
    if (adds === 0) continue;
    const used = table.attributes ?? table.columns.length;
    if (used + adds > MAX_ATTRIBUTES) {
      throw new UnderwayError(
        "INVALID_MIGRATION",
        `${ctx.file}: table "${table.name}" has used ${used} of its ${MAX_ATTRIBUTES} attribute numbers (dropped columns count, and PostgreSQL never reuses them) and this migration adds ${adds} column(s); nothing was changed. Split the migration, or rebuild the table (a copy made with CREATE TABLE ... (LIKE ...) and INSERT ... SELECT starts from 0)`,
      );
    }
    use.push({ table: physical, used, adds });
  }
  for (const table of ctx.after.tables.values()) {
    if (table.createdHere && table.columns.length > MAX_ATTRIBUTES) {
      throw new UnderwayError("INVALID_MIGRATION", `${ctx.file}: table "${table.name}" would have ${table.columns.length} columns; PostgreSQL allows ${MAX_ATTRIBUTES}`);
    }
  }
  return use;
}
