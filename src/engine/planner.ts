import { ident, qualified } from "../db/ident.js";
import type { Migration, Operation } from "../migration/schema.js";
import { planAddColumn } from "../operations/add-column.js";
import { planAlterColumn } from "../operations/alter-column.js";
import { planCreateConstraint } from "../operations/create-constraint.js";
import { planCreateIndex } from "../operations/create-index.js";
import { planCreateTable } from "../operations/create-table.js";
import { planDropColumn } from "../operations/drop-column.js";
import { planDropConstraint } from "../operations/drop-constraint.js";
import { planDropIndex } from "../operations/drop-index.js";
import { planDropTable } from "../operations/drop-table.js";
import { newStages, type PlanContext, type Probe } from "../operations/plan-context.js";
import { planSql } from "../operations/raw-sql.js";
import { planRenameColumn } from "../operations/rename-column.js";
import { planRenameConstraint } from "../operations/rename-constraint.js";
import { planRenameTable } from "../operations/rename-table.js";
import { planSetReplicaIdentity } from "../operations/set-replica-identity.js";
import { createDualWriteStatements, dropDualWriteStatements, type DualWriteTable } from "./dual-write.js";
import { cloneSchema, type SchemaModel, type TableModel } from "./schema-model.js";
import type { MigrationPlan, Step } from "./step.js";
import type { TableMapping, VersionMapping } from "./version-schema.js";

export interface PlanInput {
  schema: string;
  stateSchema: string;
  migration: Migration;
  /** The file it came from, for messages. */
  file: string;
  versionSchema: string;
  /** The version schema of the previous migration, dropped at complete. */
  previousVersionSchema: string | null;
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
  };
  for (const [i, op] of input.migration.operations.entries()) {
    ctx.path = `operations[${i}].${op.kind}`;
    await planOperation(ctx, op);
  }
  return assemble(ctx, input.previousVersionSchema);
}

async function planOperation(ctx: PlanContext, op: Operation): Promise<void> {
  switch (op.kind) {
    case "create_table":
      return planCreateTable(ctx, op);
    case "add_column":
      return planAddColumn(ctx, op);
    case "alter_column":
      return planAlterColumn(ctx, op);
    case "rename_column":
      return planRenameColumn(ctx, op);
    case "drop_column":
      return planDropColumn(ctx, op);
    case "rename_table":
      return planRenameTable(ctx, op);
    case "drop_table":
      return planDropTable(ctx, op);
    case "create_index":
      return planCreateIndex(ctx, op);
    case "drop_index":
      return planDropIndex(ctx, op);
    case "create_constraint":
      return planCreateConstraint(ctx, op);
    case "drop_multicolumn_constraint":
    case "drop_constraint":
      return planDropConstraint(ctx, op);
    case "rename_constraint":
      return planRenameConstraint(ctx, op);
    case "set_replica_identity":
      return planSetReplicaIdentity(ctx, op);
    case "sql":
      return planSql(ctx, op);
  }
}

function assemble(ctx: PlanContext, previousVersionSchema: string | null): MigrationPlan {
  const { stages } = ctx;
  const beforeByPhysical = new Map<string, TableModel>();
  for (const t of ctx.before.tables.values()) beforeByPhysical.set(t.physical, t);
  const afterByPhysical = new Map<string, TableModel>();
  for (const t of ctx.after.tables.values()) afterByPhysical.set(t.physical, t);

  // Dual-write triggers, one per changed table.
  const triggerSteps: Step[] = [];
  const dualWrites: DualWriteTable[] = [];
  const dropTriggerSteps = new Map<string, Step>();
  for (const [physical, assignments] of ctx.dualWrite) {
    const before = beforeByPhysical.get(physical);
    if (!before) continue;
    const after = afterByPhysical.get(physical);
    const spec: DualWriteTable = {
      schema: ctx.schema,
      table: physical,
      oldBindings: before.columns.map((c) => ({ name: c.name, physical: c.physical })),
      newBindings: (after?.columns ?? []).map((c) => ({ name: c.name, physical: c.physical })),
      up: assignments.up,
      down: assignments.down.map((a) => ("sameAs" in a ? { target: a.target, expression: ident(a.sameAs.name) } : a)),
      pairs: assignments.pairs,
    };
    dualWrites.push(spec);
    const ref = qualified(ctx.schema, physical);
    triggerSteps.push({
      kind: "ddl",
      description: `install dual-write trigger on ${physical}`,
      statements: createDualWriteStatements(ctx.stateSchema, ctx.versionSchema, ctx.migration, spec),
      table: ref,
    });
    dropTriggerSteps.set(physical, {
      kind: "ddl",
      description: `remove dual-write trigger from ${physical}`,
      statements: dropDualWriteStatements(ctx.stateSchema, ctx.schema, physical),
      table: ref,
    });
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

  // Complete: validate, retire the old version, then swap columns table by table.
  const complete: Step[] = [...stages.validate];
  if (previousVersionSchema) {
    complete.push({
      kind: "ddl",
      description: `drop previous version schema ${previousVersionSchema}`,
      statements: [`DROP SCHEMA IF EXISTS ${ident(previousVersionSchema)} CASCADE`],
    });
  }
  const contractTables = new Set<string>([...ctx.dualWrite.keys(), ...stages.attach.keys(), ...stages.columnAttach.keys()]);
  for (const after of ctx.after.tables.values()) {
    const before = beforeByPhysical.get(after.physical);
    if (!before) continue;
    const used = new Set(after.columns.map((c) => c.physical));
    if (before.columns.some((c) => !used.has(c.physical)) || after.columns.some((c) => c.name !== c.physical) || after.name !== after.physical) {
      contractTables.add(after.physical);
    }
  }
  const renamedTables: Step[] = [];
  for (const physical of contractTables) {
    const before = beforeByPhysical.get(physical);
    const after = afterByPhysical.get(physical);
    if (!before || !after) {
      // Hidden (dropped) tables only lose their trigger; created tables need nothing.
      const dropTrigger = dropTriggerSteps.get(physical);
      if (dropTrigger) complete.push(dropTrigger);
      continue;
    }
    const ref = qualified(ctx.schema, physical);
    const statements: string[] = [
      ...(ctx.dualWrite.has(physical) ? dropDualWriteStatements(ctx.stateSchema, ctx.schema, physical) : []),
      ...(stages.columnAttach.get(physical) ?? []),
    ];
    const used = new Set(after.columns.map((c) => c.physical));
    for (const column of before.columns) {
      if (!used.has(column.physical)) statements.push(`ALTER TABLE ${ref} DROP COLUMN ${ident(column.physical)}`);
    }
    statements.push(...renameColumns(ref, after));
    statements.push(...(stages.attach.get(physical) ?? []));
    if (after.name !== after.physical) {
      renamedTables.push({
        kind: "ddl",
        description: `rename table ${after.physical} to ${after.name}`,
        statements: [`ALTER TABLE ${ref} RENAME TO ${ident(after.name)}`],
        table: ref,
      });
    }
    if (statements.length > 0) {
      complete.push({ kind: "ddl", description: `contract table ${physical}`, statements, table: ref });
    }
  }
  for (const physical of ctx.hiddenTables) {
    complete.push({
      kind: "ddl",
      description: `drop table ${physical}`,
      statements: [`DROP TABLE ${qualified(ctx.schema, physical)}`],
      table: qualified(ctx.schema, physical),
    });
  }
  complete.push(...renamedTables, ...stages.finalize);

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
    const existing = new Set(before.columns.map((c) => c.physical));
    const added = (after?.columns ?? []).filter((c) => !existing.has(c.physical));
    const statements = [
      ...(dropTriggerSteps.has(before.physical) ? dropDualWriteStatements(ctx.stateSchema, ctx.schema, before.physical) : []),
      ...added.map((c) => `ALTER TABLE ${qualified(ctx.schema, before.physical)} DROP COLUMN IF EXISTS ${ident(c.physical)}`),
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
  return { start, complete, rollback, backfillTables: [...ctx.backfill], dualWrite: dualWrites };
}

/**
 * Renames columns to their logical names. A swap (a -> b, b -> a) would collide, so
 * any column whose target is still taken goes through a temporary name first.
 */
function renameColumns(ref: string, table: TableModel): string[] {
  const moves = table.columns.filter((c) => c.name !== c.physical).map((c) => ({ from: c.physical, to: c.name }));
  if (moves.length === 0) return [];
  const statements: string[] = [];
  const sources = new Set(moves.map((m) => m.from));
  const staged = moves.map((m, i) => {
    if (!sources.has(m.to)) return m;
    const temp = `_uw_swap_${i}`;
    statements.push(`ALTER TABLE ${ref} RENAME COLUMN ${ident(m.from)} TO ${ident(temp)}`);
    return { from: temp, to: m.to };
  });
  for (const m of staged) statements.push(`ALTER TABLE ${ref} RENAME COLUMN ${ident(m.from)} TO ${ident(m.to)}`);
  return statements;
}

function versionMapping(ctx: PlanContext, beforeByPhysical: Map<string, TableModel>): VersionMapping {
  const tables: Record<string, TableMapping> = {};
  for (const after of ctx.after.tables.values()) {
    const before = beforeByPhysical.get(after.physical);
    const identical =
      before !== undefined &&
      after.name === after.physical &&
      after.columns.length === before.columns.length &&
      after.columns.every((c, i) => c.name === c.physical && c.physical === before.columns[i]!.physical && c.viewDefault === undefined && c.viewComment === undefined);
    if (identical || (before === undefined && after.columns.every((c) => c.name === c.physical))) continue;
    tables[after.physical] = {
      name: after.name,
      columns: after.columns.map((c) => ({
        physical: c.physical,
        name: c.name,
        ...(c.viewDefault !== undefined ? { default: c.viewDefault } : {}),
        ...(c.viewComment !== undefined ? { comment: c.viewComment } : {}),
      })),
    };
  }
  return { tables, hiddenTables: [...ctx.hiddenTables] };
}
