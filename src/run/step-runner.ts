import type { Client } from "../db/connection.js";
import { sqlState } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";
import { UnderwayError, describeError } from "../errors.js";
import type { Backfill, BackfillProgress } from "../backfill/backfill.js";
import type { DualWriteTable } from "../plan/dual-write.js";
import { inLockedTransaction, withLockRetry, type LockPolicy, type RetryListener } from "./lock-retry.js";
import type { Action, Step } from "../plan/step.js";
import type { AuditEntry, AuditRecord } from "../state/audit.js";
import { carriedConstraints, createdObjects, recordStepsDone, rememberCarried, rememberCreatedObjects } from "../state/migration-store.js";
import { versionSchemaStatements } from "./version-schema.js";
import { createdBetween, dropCreatedStatements, schemaObjects, type CreatedObject } from "./sql-objects.js";
import { carryDependents, tableDependents, type Dependent } from "./dependents.js";
import { throwIfStopped } from "../util/interrupt.js";

/** Something worth telling the operator while a phase runs. */
export type MigrationEvent = (
  | { type: "step"; action: Action; index: number; total: number; description: string; kind?: Step["kind"]; table?: string }
  | { type: "step-skipped"; action: Action; index: number; total: number; description: string; reason: string; kind?: Step["kind"]; table?: string }
  | { type: "retry"; action: Action; description: string; attempt: number; delayMs: number; blockedBy: string | null; kind?: Step["kind"]; table?: string }
  | { type: "backfill"; progress: BackfillProgress }
  | { type: "notice"; message: string }
  | { type: "audit"; entry: AuditEntry }
) & {
  /** The migration the event is about (logs and metrics label every line and series with it). */
  migration?: string;
};

export interface StepRunnerOptions {
  client: Client;
  /** For connections beyond the dedicated one (backfill workers). */
  databaseUrl: string;
  stateSchema: string;
  schema: string;
  migration: string;
  lockPolicy: LockPolicy;
  /** lock_timeout for CREATE/DROP INDEX CONCURRENTLY, which waits for older transactions by design. */
  concurrentIndexLockTimeoutMs: number;
  backfill: Backfill;
  /** The plan's dual-write tables, for the backfill to compute new columns itself. */
  dualWrite?: DualWriteTable[] | undefined;
  onEvent?: ((event: MigrationEvent) => void) | undefined;
  /** Called before a backfill step, so the phase can say `backfilling`. */
  onBackfillStart?: (() => Promise<void>) | undefined;
  /** Stop before the first backfill step (`start --no-backfill`); `resume` carries on. */
  deferBackfill?: boolean | undefined;
  /** A predicate each progress update must satisfy: that this process still holds the guard (leases). */
  fence?: string | null | undefined;
  /** Stops the phase before its next step (and the backfill at its next batch). */
  signal?: AbortSignal | undefined;
  /** Writes a step's row of the audit trail, on the connection (and in the transaction) that records the step. */
  audit?: ((c: Client, record: AuditRecord) => Promise<void>) | undefined;
}

/**
 * Runs the steps of one phase from `from`, recording after each step how many are
 * done. Transactional steps record it in their own transaction; the others are
 * idempotent, so a crash between the step and the record only repeats harmless work.
 */
export async function runSteps(
  options: StepRunnerOptions,
  action: Action,
  steps: Step[],
  from: number,
  startDone: number,
): Promise<"finished" | "deferred"> {
  const { client } = options;
  const record = async (c: Client, done: number, step: Step, skipped = false) => {
    const recorded = await recordStepsDone(c, options, options.migration, action, done, options.fence);
    if (options.fence && !recorded) {
      throw new UnderwayError(
        "MIGRATION_LOCKED",
        `this process lost the guard of schema "${options.schema}" (another process took its lease over, or "underway unlock" cleared it); the step was not recorded: run the command again`,
      );
    }
    await options.audit?.(c, {
      migration: options.migration,
      action: `${action} step`,
      outcome: "done",
      detail: { step: `${action} ${done}/${steps.length}: ${step.description}`, kind: step.kind, ...(skipped ? { skipped: "its start step never ran" } : {}) },
    });
  };
  for (let i = from; i < steps.length; i++) {
    const step = steps[i]!;
    const about = { migration: options.migration, kind: step.kind, ...("table" in step && step.table ? { table: step.table } : {}) };
    const onRetry: RetryListener = ({ attempt, delayMs, blockers }) =>
      options.onEvent?.({
        ...about,
        type: "retry",
        action,
        description: step.description,
        attempt,
        delayMs,
        blockedBy: blockers[0] ? `pid ${blockers[0].pid}: ${blockers[0].query ?? "?"}` : null,
      });
    if (step.kind === "backfill" && options.deferBackfill) return "deferred";
    throwIfStopped(options.signal, () => `before ${action} step ${i + 1}/${steps.length} (${step.description}), ${i} done`);
    if (step.onlyIfStarted !== undefined && startDone <= step.onlyIfStarted) {
      options.onEvent?.({ ...about, type: "step-skipped", action, index: i, total: steps.length, description: step.description, reason: "its start step never ran" });
      await record(client, i + 1, step, true);
      continue;
    }
    options.onEvent?.({ ...about, type: "step", action, index: i, total: steps.length, description: step.description });
    try {
      await runStep(options, step, onRetry, (c) => record(c, i + 1, step));
    } catch (error) {
      if (error instanceof UnderwayError) throw error;
      const message = describeError(error);
      throw new UnderwayError("DATABASE", `${action} step ${i + 1}/${steps.length} (${step.description}) failed: ${message}`, {
        cause: error,
      });
    }
  }
  return "finished";
}

async function runStep(
  options: StepRunnerOptions,
  step: Step,
  onRetry: RetryListener,
  record: (c: Client) => Promise<unknown>,
): Promise<void> {
  const { client, lockPolicy } = options;
  switch (step.kind) {
    case "ddl": {
      await inLockedTransaction(client, lockPolicy, { description: step.description, tables: step.table ? [step.table] : [], searchPath: options.schema }, async (c) => {
        for (const statement of step.statements) await c.query(statement);
        await record(c);
      }, onRetry);
      return;
    }
    case "version_schema": {
      await inLockedTransaction(client, lockPolicy, { description: step.description, searchPath: step.schema }, async (c) => {
        for (const statement of await versionSchemaStatements(c, step.schema, step.versionSchema, step.mapping, { refresh: step.refresh === true })) {
          await c.query(statement);
        }
        await record(c);
      }, onRetry);
      return;
    }
    case "user_sql": {
      const remember = (c: Client, created: CreatedObject[]) => rememberCreatedObjects(c, options, options.migration, created);
      try {
        await inLockedTransaction(client, lockPolicy, { description: step.description, searchPath: step.schema }, async (c) => {
          const before = await schemaObjects(c, step.schema);
          await c.query(step.sql);
          await remember(c, createdBetween(before, await schemaObjects(c, step.schema)));
          await record(c);
        }, onRetry);
      } catch (error) {
        // 25001: the SQL cannot run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM...).
        if (sqlState(error) !== "25001") throw error;
        const before = await schemaObjects(client, step.schema);
        await withLockRetry(client, lockPolicy, { description: step.description }, (c) => c.query(step.sql), onRetry);
        await remember(client, createdBetween(before, await schemaObjects(client, step.schema)));
        await record(client);
      }
      return;
    }
    case "undo_sql": {
      await inLockedTransaction(client, lockPolicy, { description: step.description }, async (c) => {
        const created = await createdObjects<CreatedObject>(c, options, options.migration);
        for (const statement of dropCreatedStatements(step.schema, created)) await c.query(statement);
        await record(c);
      }, onRetry);
      return;
    }
    case "contract": {
      const tables = [...step.tables.map((t) => qualified(step.schema, t.table)), ...step.droppedTables.map((t) => qualified(step.schema, t))];
      await inLockedTransaction(client, lockPolicy, { description: step.description, tables, searchPath: step.schema }, async (c) => {
        const carried: { table: string; constraint: string }[] = [];
        for (const statement of step.before) await c.query(statement);
        for (const table of step.tables) {
          for (const statement of table.pre) await c.query(statement);
          // Definitions are read and written with only pg_catalog on the path, so every name in them is qualified.
          await c.query("SET LOCAL search_path = pg_catalog");
          const carry = await carryDependents(c, step.schema, table.table, table.dropped, table.expected);
          const refused = carry.dependents.filter((d) => d.refusal !== null);
          if (refused.length > 0) throw dependentsError(step.schema, table.table, refused);
          for (const statement of carry.drop) await c.query(statement);
          await c.query(`SET LOCAL search_path = ${ident(step.schema)}`);
          for (const statement of table.post) await c.query(statement);
          await c.query("SET LOCAL search_path = pg_catalog");
          for (const statement of carry.recreate) await c.query(statement);
          await c.query(`SET LOCAL search_path = ${ident(step.schema)}`);
          carried.push(...carry.validate);
        }
        for (const dropped of step.droppedTables) {
          const blockers = await tableDependents(c, step.schema, dropped);
          if (blockers.length > 0) throw dependentsError(step.schema, dropped, blockers);
        }
        for (const statement of step.after) await c.query(statement);
        await rememberCarried(c, options, options.migration, carried);
        await record(c);
      }, onRetry);
      return;
    }
    case "validate_carried": {
      // VALIDATE takes SHARE UPDATE EXCLUSIVE on the referencing table: writes go on while it scans.
      for (const fk of await carriedConstraints(client, options, options.migration)) {
        await inLockedTransaction(client, lockPolicy, { description: `validate foreign key ${fk.constraint}`, tables: [fk.table] }, async (c) => {
          const { rows: pending } = await c.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2 AND NOT convalidated`,
            [fk.table, fk.constraint],
          );
          if (pending[0]!.n > 0) await c.query(`ALTER TABLE ${fk.table} VALIDATE CONSTRAINT ${ident(fk.constraint)}`);
        }, onRetry);
      }
      await record(client);
      return;
    }
    case "concurrent_index": {
      await buildIndexConcurrently(options, step, onRetry);
      await record(client);
      return;
    }
    case "drop_index": {
      const policy = { ...lockPolicy, lockTimeoutMs: options.concurrentIndexLockTimeoutMs };
      await withLockRetry(client, policy, { description: step.description }, (c) =>
        c.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(step.schema, step.index)}`),
        onRetry,
      );
      await record(client);
      return;
    }
    case "backfill": {
      await options.onBackfillStart?.();
      await options.backfill.run({
        databaseUrl: options.databaseUrl,
        stateSchema: options.stateSchema,
        schema: step.schema,
        migration: options.migration,
        table: step.table,
        dualWrite: options.dualWrite?.find((d) => d.schema === step.schema && d.table === step.table),
        onProgress: (progress) => options.onEvent?.({ type: "backfill", progress, migration: options.migration }),
        signal: options.signal,
      });
      await record(client);
      return;
    }
  }
}

/**
 * CREATE INDEX CONCURRENTLY that survives its own failures: a failed or cancelled build
 * leaves an INVALID index that is still maintained on every write, so it is dropped
 * (concurrently) before the build is tried again, and before giving up.
 */
async function buildIndexConcurrently(
  options: StepRunnerOptions,
  step: Extract<Step, { kind: "concurrent_index" }>,
  onRetry: RetryListener,
): Promise<void> {
  const { client } = options;
  const policy = { ...options.lockPolicy, lockTimeoutMs: options.concurrentIndexLockTimeoutMs };
  const name = qualified(step.schema, step.index);
  const state = async () => {
    const { rows } = await client.query<{ valid: boolean }>(
      `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [step.schema, step.index],
    );
    return rows[0] === undefined ? "missing" : rows[0].valid ? "valid" : "invalid";
  };
  const dropInvalid = () =>
    withLockRetry(client, policy, { description: `drop invalid index ${step.index}` }, (c) =>
      c.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`),
    );
  for (let attempt = 1; ; attempt++) {
    const current = await state();
    if (current === "valid") return;
    if (current === "invalid") await dropInvalid();
    try {
      await withLockRetry(client, policy, { description: step.description, tables: [qualified(step.schema, step.table)] }, (c) =>
        c.query(step.statement),
        onRetry,
      );
      if ((await state()) === "valid") return;
    } catch (error) {
      if ((await state()) === "invalid") await dropInvalid();
      // A unique violation or a bad definition will not go away by retrying.
      const code = sqlState(error);
      if (attempt >= 3 || code === "23505" || code?.startsWith("42")) throw error;
    }
  }
}

/** A contract refused because of objects it cannot carry over: each named, with why and what to do. */
export function dependentsError(schema: string, table: string, dependents: Dependent[]): UnderwayError {
  const list = dependents.map((d) => `${d.description} (${d.refusal})`).join("; ");
  return new UnderwayError("INVALID_STATE", `cannot contract ${schema}.${table}: ${list}; nothing was changed`, {
    detail: dependents.map((d) => `${d.description}: ${d.refusal}`).join("\n"),
  });
}
