import type { Client } from "../db/connection.js";
import { ReadOnlySessionError, connect, isConnectionLoss, isPooled, isReadOnlyRefusal, formatMs, isQueryTimeout, readOnlyReason, redactUrl, sqlState } from "../db/connection.js";
import { displayIdent, ident, qualified } from "../db/ident.js";
import { serverProfile } from "../dialect/server-profile.js";
import { InterruptedError, UnderwayError, describeError, toUnderwayError } from "../errors.js";
import { throwIfStopped } from "../util/interrupt.js";
import type { MigrationFile } from "../format/load.js";
import type { Backfill } from "../backfill/backfill.js";
import type { BackfillJobOptions } from "../backfill/backfill-job.js";
import { BackfillJobService, type BackfillService, type JobScope } from "../backfill/backfill-service.js";
import { parseOwner, type JobSummary } from "../backfill/job-store.js";
import type { BackfillSettings } from "../backfill/settings.js";
import { introspectSchema } from "./introspect.js";
import { defaultLockPolicy, type LockPolicy } from "./lock-retry.js";
import { describeReplicaWait, waitForReplicas } from "./replica-wait.js";
import { clearGuard, createGuard, guardState, newGuardOwner, type GuardState, type MigrationGuard } from "./migration-guard.js";
import { planMigration } from "../plan/planner.js";
import { initStateSchema, refuseNewerStateSchema, stateSchemaExists, upgradeStateSchema } from "../state/state-schema.js";
import {
  activeMigration,
  deleteMigration,
  findMigration,
  insertMigration,
  lastCompletedMigration,
  listMigrations,
  markActionRunning,
  markMigrationCompleted,
  newestMigration,
  recordMigrationError,
  setMigrationPhase,
  type MigrationRecord,
} from "../state/migration-store.js";
import type { Phase } from "../state/phase.js";
import type { Action, MigrationPlan, Step } from "../plan/step.js";
import { planDependents } from "./dependents.js";
import { validateSql } from "./validate-sql.js";
import { runSteps, type MigrationEvent } from "./step-runner.js";
import { LIBRARY_ACTOR, ensureAuditTrail, readAuditTrail, recordAudit, type AuditActor, type AuditEntry, type AuditRecord } from "../state/audit.js";
import { columnDefaultRewrites, sqlCompiles } from "./probe.js";
import { forgetUpFailures, unresolvedUpFailures, verifyDualWrite, type UpFailure, type VerifyProgress, type VerifyReport } from "../verify/verify.js";

/**
 * How long underway waits for one of its own short queries (status, jobs, pause, cancel,
 * throttle, latest, unlock...) before it calls the database stuck.
 */
const CONTROL_QUERY_TIMEOUT_MS = 30_000;

/** What a guarded action learned of its address, kept across its reconnects. */
interface Reach {
  /** A connection was made. */
  once: boolean;
  /** A connection found the address writable: it led to a primary then. */
  writable: boolean;
}

/** How a method uses its connection: with the migration guard or not; `control`: only short queries. */
interface ClientUse {
  guarded: boolean;
  graceMs?: number;
  control?: boolean;
}

export type { Phase } from "../state/phase.js";
export type { MigrationRecord } from "../state/migration-store.js";

export interface MigratorOptions {
  databaseUrl: string;
  schema?: string;
  stateSchema?: string;
  lockPolicy?: Partial<LockPolicy>;
  /** lock_timeout for concurrent index builds, which wait for older transactions by design. */
  concurrentIndexLockTimeoutMs?: number;
  /**
   * Replaces the backfill job (for tests, or a custom strategy). It takes none of the job's
   * options: `start` and `resume` given `workers`, `settings`, `leaseSeconds` or `join`
   * refuse them (INVALID_ARGUMENT) before anything changes.
   */
  backfill?: Backfill;
  onEvent?: (event: MigrationEvent) => void;
  /**
   * Stops a running phase at its next safe point: before the next step, after the
   * backfill's current batch (its ranges released), or while waiting for a lock. The
   * phase then throws an `InterruptedError` that says what to run next; what was done
   * stays recorded. The CLI aborts it on SIGINT and SIGTERM (`abort("SIGINT")`).
   */
  signal?: AbortSignal;
  /**
   * How long one of underway's own short queries (status, jobs, pause, cancel, throttle,
   * latest, unlock, history) may take before the database counts as stuck (default 30 s).
   */
  controlQueryTimeoutMs?: number;
  /**
   * Who the audit trail says acted: the CLI says `cli`, the dashboard `dashboard` (with the
   * request's address); a library caller is `library` unless it says otherwise.
   */
  actor?: AuditActor;
  /**
   * How long a phase that finished waits for the streaming replicas to flush its last
   * commit before it returns (default 10 s; 0: no wait). Past it, a notice says which
   * replica lacks it; the phase still succeeds.
   */
  replicaWaitMs?: number;
}

/** A backfill worker's owner (`host:pid:tag/worker`) as a person reads it. */
function describeOwner(owner: string): string {
  const parsed = parseOwner(owner);
  return parsed ? `process ${parsed.pid} on ${parsed.host}` : owner;
}

/** How the backfill of a `start` or `resume` runs. */
export interface BackfillOptions {
  /** Workers in this process (default 1). */
  workers?: number;
  /** Limits for the job (kept with it, changeable later with `throttle`). */
  settings?: Partial<BackfillSettings>;
  /** Lease length of a worker's range, in seconds (default 15). */
  leaseSeconds?: number;
}

export interface StartOptions extends BackfillOptions {
  /** Complete right after start (for a migration no running application depends on). */
  complete?: boolean;
  /** With `complete`: skip the verification before the contract. */
  skipVerify?: boolean;
  /** Stop before the backfill; `resume` runs it and finishes the start phase. */
  backfill?: boolean;
  /** Refuse writes that name no version (`underway.version`) while the migration is active. */
  strictVersions?: boolean;
}

export interface CompleteOptions {
  /** Contract without checking old against new first. */
  skipVerify?: boolean;
  /** Receives the verification report before the contract begins. */
  onVerified?: (report: VerifyReport) => void;
}

export interface ResumeOptions extends BackfillOptions {
  /**
   * When another process runs the migration, help it with this process's workers on
   * ranges nobody holds (or whose holder's lease ran out) instead of leaving it alone.
   */
  join?: boolean;
}

/** What `resume` did. */
export type ResumeOutcome =
  | { kind: "finished"; record: MigrationRecord }
  | { kind: "resumed-elsewhere"; tables: string[]; holder: string }
  | { kind: "joined"; tables: string[] };

/**
 * The migration engine. Each public method opens one dedicated connection, takes the
 * schema's migration guard for its whole duration, and releases both when done.
 *
 * @example
 * const migrator = new Migrator({ databaseUrl: process.env.DATABASE_URL! });
 * await migrator.start(await loadMigrationFile("migrations/02_rename.yaml"));
 * // ...roll out the application that uses the new version schema...
 * await migrator.complete();
 */
export class Migrator {
  readonly schema: string;
  readonly stateSchema: string;
  private readonly lockPolicy: LockPolicy;
  private readonly backfills: BackfillService;
  /** While a guarded action runs behind a pooler: the SQL that holds while this process still has the guard. */
  private fence: string | null = null;

  constructor(private readonly options: MigratorOptions) {
    this.schema = options.schema ?? "public";
    this.stateSchema = options.stateSchema ?? "underway";
    this.lockPolicy = { ...defaultLockPolicy, ...options.lockPolicy, signal: options.signal };
    this.backfills = new BackfillJobService(options.backfill);
  }

  /** Creates the state schema if needed. Idempotent. */
  async init(): Promise<void> {
    await this.withClient(async (client) => {
      const existed = await stateSchemaExists(client, this.stateSchema);
      await initStateSchema(client, this.stateSchema);
      if (!existed) await this.audit(client, { migration: null, action: "init", outcome: "done", detail: { stateSchema: this.stateSchema } });
    }, { guarded: false });
  }

  /**
   * Starts a migration (expand, dual write, backfill, version schema), or carries on
   * with the same migration if an earlier `start` was interrupted.
   */
  async start(file: MigrationFile, options: StartOptions = {}): Promise<MigrationRecord> {
    const record = await this.replicated("start", () => this.withClient(async (client) => {
      await this.backfills.checkRun(client, options);
      let active = await this.activeRecord(client);
      if (active && active.name !== file.name) {
        throw new UnderwayError(
          "INVALID_STATE",
          `migration "${active.name}" is active (${describePhase(active)}); complete or roll it back before starting "${file.name}"`,
        );
      }
      if (active && active.checksum !== file.checksum) {
        throw new UnderwayError(
          "CHECKSUM_MISMATCH",
          `migration "${file.name}" was started from a different file (checksum ${active.checksum.slice(0, 12)}, file has ${file.checksum.slice(0, 12)})`,
        );
      }
      // A complete that was stopped part way: start --complete (and migrate) finishes it.
      if (active && active.running === "complete" && options.complete) return active;
      if (active && active.running !== null && active.running !== "start") {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is ${describePhase(active)}; run "${active.running}" again to finish it`);
      }
      if (!active) {
        const existing = await this.findRecord(client, file.name);
        if (existing?.phase === "completed") {
          throw new UnderwayError("INVALID_STATE", `migration "${file.name}" is already completed`);
        }
        if (existing?.phase === "rolled_back") {
          // A rolled-back migration may be started again: its old record gives way.
          await deleteMigration(client, this, file.name);
        }
        active = await this.createRecord(client, file, { strictVersions: options.strictVersions });
      }
      if (active.phase === "started" || active.phase === "backfilling") {
        const outcome = await this.runAction(client, active, "start", options, options.backfill === false);
        if (outcome === "finished") await this.setPhase(client, active.name, "ready", null);
        else await this.setPhase(client, active.name, "backfilling", "start");
      }
      return (await this.findRecord(client, file.name))!;
    }));
    if (options.complete && record.phase === "ready") return this.complete({ skipVerify: options.skipVerify });
    return record;
  }

  /**
   * Carries on with the active migration's start after a crash, a kill, `pause`,
   * `cancel`, a failure or `start --no-backfill`: the jobs are set running again and, if
   * no other process runs the migration, this one finishes it from the persisted
   * cursors. If another process runs it, that one picks the change up (or, with `join`,
   * this process adds workers to it).
   */
  async resume(options: ResumeOptions = {}): Promise<ResumeOutcome> {
    const client = await connect(this.options.databaseUrl, { applicationName: "underway" });
    let tables: string[];
    let active: MigrationRecord;
    try {
      active = await this.requireActive(client);
      if (active.phase === "ready") {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is ready; nothing to resume (run "underway complete")`);
      }
      if (active.running !== null && active.running !== "start") {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is ${describePhase(active)}; run "${active.running}" again to finish it`);
      }
      await this.backfills.checkRun(client, options);
      const settings = options.settings && Object.keys(options.settings).length > 0 ? options.settings : null;
      tables = await this.audited(client, async () => {
        const resumed = await this.backfills.resume(client, this.jobScope(active.name), settings ?? undefined);
        return {
          result: resumed,
          record: {
            migration: active.name,
            action: "resume",
            outcome: "done",
            checksum: active.checksum,
            detail: { tables: resumed, ...(settings ? { settings } : {}), ...(options.join ? { join: true } : {}) },
          },
        };
      });
    } finally {
      await client.end().catch(() => undefined);
    }
    // The settings are stored with the jobs above; the run gives them only to a job it creates.
    const run = { ...options, retune: false };
    try {
      const record = await this.replicated("resume", () => this.withClient(async (c) => {
        const current = (await this.findRecord(c, active.name))!;
        const outcome = await this.runAction(c, current, "start", run, false, { resumed: true });
        if (outcome === "finished") await this.setPhase(c, current.name, "ready", null);
        return (await this.findRecord(c, active.name))!;
      }, { guarded: true, graceMs: 2000 }));
      return { kind: "finished", record };
    } catch (error) {
      if (!(error instanceof UnderwayError) || error.code !== "MIGRATION_LOCKED") throw error;
      if (!options.join) return { kind: "resumed-elsewhere", tables, holder: error.message };
      // Another process runs the phase: work on its jobs' free ranges, without the guard.
      const joined: string[] = [];
      for (const step of active.plan.start) {
        if (step.kind !== "backfill") continue;
        await this.backfills.join({
          databaseUrl: this.options.databaseUrl,
          stateSchema: this.stateSchema,
          schema: this.schema,
          migration: active.name,
          table: step.table,
          dualWrite: (active.plan.dualWrite ?? []).find((d) => d.table === step.table),
          onProgress: (progress) => this.options.onEvent?.({ type: "backfill", progress, migration: active.name }),
        }, run);
        joined.push(step.table);
      }
      return { kind: "joined", tables: joined };
    }
  }

  /** Pauses the active migration's running backfill jobs; their workers hold within a second. */
  async pause(): Promise<string[]> {
    return this.jobControl("pause");
  }

  /**
   * Cancels the active migration's backfill jobs: workers stop, the migration stays
   * started (dual writes go on), and `resume` or `rollback` can follow.
   */
  async cancel(): Promise<string[]> {
    return this.jobControl("cancel");
  }

  /** Changes the limits of the active migration's unfinished jobs; running workers reload them. */
  async throttle(patch: Partial<BackfillSettings>): Promise<string[]> {
    return this.withClient(async (client) => {
      await this.backfills.checkSettings(client, patch);
      const active = await this.requireActive(client);
      return this.audited(client, async () => {
        const tables = await this.backfills.throttle(client, this.jobScope(active.name), patch);
        return { result: tables, record: { migration: active.name, action: "throttle", outcome: "done", checksum: active.checksum, detail: { tables, settings: patch } } };
      });
    }, { guarded: false });
  }

  /** The backfill jobs of the active migration (or of the newest one, if none is active). */
  async jobs(): Promise<{ migration: string | null; jobs: JobSummary[] }> {
    return this.withClient(async (client) => {
      if (!(await stateSchemaExists(client, this.stateSchema))) return { migration: null, jobs: [] };
      const record = (await this.activeRecord(client)) ?? (await this.newestRecord(client));
      if (!record) return { migration: null, jobs: [] };
      return { migration: record.name, jobs: await this.backfills.status(client, this.jobScope(record.name)) };
    }, { guarded: false });
  }

  private async jobControl(action: "pause" | "cancel"): Promise<string[]> {
    return this.withClient(async (client) => {
      const active = await this.requireActive(client);
      return this.audited(client, async () => {
        const tables = await this.backfills[action](client, this.jobScope(active.name));
        return { result: tables, record: { migration: active.name, action, outcome: "done", checksum: active.checksum, detail: { tables } } };
      });
    }, { guarded: false });
  }

  /** Where the backfill jobs of migration `name` of this schema are filed. */
  private jobScope(name: string): JobScope {
    return { stateSchema: this.stateSchema, schema: this.schema, migration: name };
  }

  /**
   * Sets the active migration's paused jobs running again, and nothing more: unlike
   * `resume` it runs no backfill in this process (the dashboard's resume).
   */
  async unpause(): Promise<{ migration: string; tables: string[] }> {
    return this.withClient(async (client) => {
      const active = await this.requireActive(client);
      const tables = await this.audited(client, async () => {
        const changed = await this.backfills.unpause(client, this.jobScope(active.name));
        return { result: changed, record: { migration: active.name, action: "resume", outcome: "done", checksum: active.checksum, detail: { tables: changed } } };
      });
      return { migration: active.name, tables };
    }, { guarded: false });
  }

  /**
   * The audit trail of the schema, oldest first: every action that changed a migration's
   * state, who took it and when (see audit.ts). `migration` keeps one migration's rows;
   * `limit` the newest rows.
   */
  async auditTrail(filter: { migration?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    return this.withClient(async (client) => {
      if (!(await stateSchemaExists(client, this.stateSchema))) return [];
      return readAuditTrail(client, { stateSchema: this.stateSchema, schema: this.schema }, filter);
    }, { guarded: false });
  }

  /** Writes one row of the audit trail on `client` and tells `onEvent`. */
  private async audit(client: Client, record: AuditRecord): Promise<AuditEntry> {
    const entry = await recordAudit(client, { stateSchema: this.stateSchema, schema: this.schema }, this.options.actor ?? LIBRARY_ACTOR, record);
    this.options.onEvent?.({ type: "audit", entry, ...(record.migration ? { migration: record.migration } : {}) });
    return entry;
  }

  /** Runs a change of the state and its audit row in one transaction: both or neither. */
  private async audited<T>(client: Client, change: () => Promise<{ result: T; record: AuditRecord }>): Promise<T> {
    await ensureAuditTrail(client, this.stateSchema);
    await client.query("BEGIN");
    try {
      const { result, record } = await change();
      const entry = await recordAudit(client, { stateSchema: this.stateSchema, schema: this.schema }, this.options.actor ?? LIBRARY_ACTOR, record);
      await client.query("COMMIT");
      this.options.onEvent?.({ type: "audit", entry, ...(record.migration ? { migration: record.migration } : {}) });
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  }

  /**
   * Contracts the active migration: the old version goes, the new one becomes the
   * schema. Unless told to skip it, `verify` runs first and a mismatch stops it.
   */
  async complete(options: CompleteOptions = {}): Promise<MigrationRecord> {
    return this.refusedWhileBackfilling("complete", () => this.replicated("complete", () => this.completeGuarded(options)));
  }

  private async completeGuarded(options: CompleteOptions): Promise<MigrationRecord> {
    return this.withClient(async (client) => {
      const active = await this.requireActive(client);
      if (active.running === "rollback") {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is being rolled back; run rollback again to finish it`);
      }
      if (active.phase !== "ready") {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is ${describePhase(active)}; run "underway resume" to finish its start before complete`);
      }
      if (active.completeDone === 0) {
        // Rows an old-version client wrote that `up` could not convert have empty new
        // columns: contracting would lose their values, whatever --skip-verify says.
        const failures = await unresolvedUpFailures(client, this.stateSchema, active.plan.dualWrite ?? []);
        if (failures.length > 0) throw upFailureError(active.name, failures);
        if (!options.skipVerify) {
          const stop = () => throwIfStopped(this.options.signal, () => "while verifying before the contract, nothing contracted");
          let said = 0;
          const progress = (p: VerifyProgress) => {
            stop();
            // The first chunk, then at most one line every two seconds.
            if (said !== 0 && Date.now() - said < 2000) return;
            said = Date.now();
            this.options.onEvent?.({ type: "notice", message: `  verified ${p.rowsChecked.toLocaleString("en-US")} rows of ${p.table}`, migration: active.name });
          };
          let report: VerifyReport;
          try {
            stop();
            report = await verifyDualWrite(client, active.plan.dualWrite ?? [], progress, this.stateSchema);
            stop();
          } catch (error) {
            if (error instanceof InterruptedError) {
              throw error.withNext(`migration "${active.name}" is still ready: run "underway complete" again, or "underway rollback"`);
            }
            throw error;
          }
          options.onVerified?.(report);
          await this.audit(client, {
            migration: active.name,
            action: "verify",
            outcome: report.ok ? "done" : "failed",
            checksum: active.checksum,
            detail: {
              before: "complete",
              rowsChecked: report.tables.reduce((n, t) => n + t.rowsChecked, 0),
              mismatches: report.tables.reduce((n, t) => n + t.mismatches, 0),
            },
          });
          if (!report.ok) throw verifyFailure(active.name, report);
        }
      }
      await this.runAction(client, active, "complete");
      await markMigrationCompleted(client, this, active.name);
      return (await this.findRecord(client, active.name))!;
    });
  }

  /** Checks the active migration's old and new representations row by row (see `verifyDualWrite`). */
  async verify(onProgress?: (progress: VerifyProgress) => void): Promise<{ migration: string; report: VerifyReport }> {
    return this.withClient(async (client) => {
      const active = await this.requireActive(client);
      if (active.phase !== "ready") {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is ${describePhase(active)}; verify runs once start has finished`);
      }
      const progress = (p: VerifyProgress) => {
        throwIfStopped(this.options.signal, () => `during verify of ${p.table}, nothing changed`);
        onProgress?.(p);
      };
      return { migration: active.name, report: await verifyDualWrite(client, active.plan.dualWrite ?? [], progress, this.stateSchema) };
    }, { guarded: false, control: false });
  }


  /** Undoes the active migration from whatever point its start reached. */
  async rollback(): Promise<MigrationRecord> {
    return this.refusedWhileBackfilling("rollback", () => this.replicated("rollback", () => this.rollbackGuarded()));
  }

  private async rollbackGuarded(): Promise<MigrationRecord> {
    return this.withClient(async (client) => {
      const active = await this.requireActive(client);
      // Until the contract commits, complete has only validated constraints rollback drops
      // anyway. Plans stored by earlier releases contract in several steps: any of them counts.
      const contractAt = active.plan.complete.findIndex((s) => s.kind === "contract");
      const contracted = contractAt >= 0 ? active.completeDone > contractAt : active.running === "complete" || active.completeDone > 0;
      if (contracted) {
        throw new UnderwayError(
          "INVALID_STATE",
          `migration "${active.name}" is contracted (complete step ${active.completeDone}/${active.plan.complete.length}): the old version is gone, so run "underway complete" again to finish it`,
        );
      }
      await this.runAction(client, active, "rollback");
      await forgetUpFailures(client, this.stateSchema, this.schema, (active.plan.dualWrite ?? []).map((d) => d.table));
      // A job's cursors mean nothing once its columns are gone; a new start begins afresh.
      await this.backfills.remove(client, this.jobScope(active.name));
      // Last, so that a primary which has the phase has the clean-up too (the wait for the replicas compares the record).
      await this.setPhase(client, active.name, "rolled_back", null);
      return (await this.findRecord(client, active.name))!;
    });
  }

  /** Who holds the schema's migration guard, if anyone. */
  async guard(): Promise<GuardState> {
    return this.withClient((client) => guardState(client, this.stateSchema, this.schema), { guarded: false });
  }

  /**
   * Clears a guard whose holder is gone (a lease, or a session lock left on a pooled server
   * connection); refuses one whose holder may still work, unless `force`.
   */
  async unlock(options: { force?: boolean } = {}): Promise<GuardState> {
    return this.withClient(async (client) => {
      const state = await clearGuard(client, this.stateSchema, this.schema, options.force === true);
      if ((state.held || state.kind !== null) && (await stateSchemaExists(client, this.stateSchema))) {
        await ensureAuditTrail(client, this.stateSchema);
        const active = await this.activeRecord(client);
        await this.audit(client, {
          migration: active?.name ?? null,
          action: "unlock",
          outcome: "done",
          checksum: active?.checksum ?? null,
          detail: { force: options.force === true, guard: state.kind, gone: state.gone, ...(state.holder ? { holder: state.holder } : {}), ...(state.backend ? { backendPid: state.backend.pid } : {}) },
        });
      }
      return state;
    }, { guarded: false });
  }

  /** Every migration of the schema, oldest first. */
  async history(): Promise<MigrationRecord[]> {
    return this.withClient(async (client) => {
      return listMigrations(client, this);
    }, { guarded: false });
  }

  /** The newest version: the active migration's, else the last completed one's. */
  async latest(): Promise<MigrationRecord | null> {
    const all = await this.history();
    const live = all.filter((m) => m.phase !== "rolled_back");
    return live[live.length - 1] ?? null;
  }

  /** The plan `start` would run, without changing anything. */
  async plan(file: MigrationFile): Promise<MigrationPlan> {
    return this.withClient(async (client) => {
      // While a migration is active the catalog holds its expansion; a plan made from it
      // would be wrong. The active migration's own plan is the stored one.
      const active = await this.activeRecord(client);
      if (active?.name === file.name) return active.plan;
      if (active) {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is active (${describePhase(active)}); plan "${file.name}" once it is completed or rolled back`);
      }
      return this.planAgainstCatalog(client, file, this.versionSchemaName(file), await this.lastCompleted(client), {});
    }, { guarded: false, control: false });
  }

  /**
   * Plans a migration against the catalog as it is, then checks the plan against it:
   * objects that depend on what complete drops are carried over or refuse the file, each
   * named, before anything changes.
   */
  private async planAgainstCatalog(
    client: Client,
    file: MigrationFile,
    versionSchema: string,
    parent: MigrationRecord | null,
    options: { strictVersions?: boolean },
  ): Promise<MigrationPlan> {
    const before = await introspectSchema(client, this.schema);
    const plan = await planMigration({
      schema: this.schema,
      stateSchema: this.stateSchema,
      migration: file.migration,
      file: file.path,
      versionSchema,
      previousVersionSchema: parent?.versionSchema ?? null,
      previousMigration: parent?.name ?? null,
      ...(options.strictVersions ? { strictVersions: true } : {}),
      before,
      probe: {
        defaultRewrites: (type, expression) => columnDefaultRewrites(client, type, expression),
        compiles: (sql) => sqlCompiles(client, this.schema, sql),
      },
    });
    const operations = file.migration.operations;
    await validateSql(client, this.schema, plan.checks ?? [], {
      file: file.path,
      createdTables: operations.flatMap((op) => (op.kind === "create_table" ? [{ name: op.name, columns: op.columns.map((c) => ({ name: c.name, type: c.type })) }] : [])),
      sqlOperations: operations.flatMap((op, i) => (op.kind === "sql" ? [i] : [])),
    });
    delete plan.checks;
    const contract = plan.complete.find((s): s is Extract<Step, { kind: "contract" }> => s.kind === "contract");
    if (contract) {
      const dependents = await planDependents(
        client,
        contract.tables.map((t) => ({ schema: this.schema, table: t.table, dropped: t.dropped, expected: t.expected })),
        contract.droppedTables.map((t) => ({ schema: this.schema, table: t })),
        parent?.versionSchema ? [parent.versionSchema] : [],
      );
      const refused = dependents.filter((d) => d.refusal !== null);
      if (refused.length > 0) {
        throw new UnderwayError(
          "INVALID_MIGRATION",
          `${file.path}: complete could not drop what the new version no longer has: ${refused.map((d) => `${d.description} (${d.refusal})`).join("; ")}`,
          { detail: refused.map((d) => `${d.description}: ${d.refusal}`).join("\n") },
        );
      }
      plan.carried = dependents.map((d) => d.description);
    }
    return plan;
  }

  versionSchemaName(file: MigrationFile): string {
    // pgroll's rule: `<schema>_<version_schema>`, or `<schema>_<migration name>`.
    const name = `${this.schema}_${file.migration.versionSchema ?? file.name}`;
    if (Buffer.byteLength(name) > 63) {
      throw new UnderwayError(
        "INVALID_MIGRATION",
        `${file.path}: version schema name "${name}" is longer than 63 bytes; shorten the file name or set version_schema`,
      );
    }
    return name;
  }

  private async createRecord(client: Client, file: MigrationFile, options: { strictVersions?: boolean } = {}): Promise<MigrationRecord> {
    const parent = await this.lastCompleted(client);
    const versionSchema = this.versionSchemaName(file);
    const { rows: clash } = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [versionSchema]);
    if (clash.length > 0) {
      throw new UnderwayError("INVALID_STATE", `schema "${versionSchema}" already exists; it would be the version schema of "${file.name}"`);
    }
    const plan = await this.planAgainstCatalog(client, file, versionSchema, parent, options);
    // Only a valid plan changes the database, starting with the state schema itself (an
    // existing one was brought up to date when the guard was taken: its DDL is not run again).
    if (!(await stateSchemaExists(client, this.stateSchema))) await initStateSchema(client, this.stateSchema);
    return insertMigration(client, this, {
      name: file.name,
      parent: parent?.name ?? null,
      checksum: file.checksum,
      versionSchema,
      previousVersionSchema: parent?.versionSchema ?? null,
      migration: file.migration,
      raw: file.raw,
      plan,
    });
  }

  private async runAction(
    client: Client,
    record: MigrationRecord,
    action: Action,
    backfill: BackfillJobOptions = {},
    deferBackfill = false,
    note: Record<string, unknown> = {},
  ): Promise<"finished" | "deferred"> {
    await markActionRunning(client, this, record.name, action);
    const done = action === "start" ? record.startDone : action === "complete" ? record.completeDone : record.rollbackDone;
    const steps = record.plan[action].length;
    const about = { migration: record.name, action, checksum: record.checksum };
    await this.audit(client, { ...about, outcome: "begun", detail: { ...note, stepsDone: done, steps, ...(deferBackfill ? { backfill: "deferred" } : {}) } });
    try {
      const outcome = await runSteps(
        {
          client,
          databaseUrl: this.options.databaseUrl,
          stateSchema: this.stateSchema,
          schema: this.schema,
          migration: record.name,
          lockPolicy: this.lockPolicy,
          concurrentIndexLockTimeoutMs: this.options.concurrentIndexLockTimeoutMs ?? 600_000,
          backfill: this.backfills.backfill(backfill),
          dualWrite: record.plan.dualWrite,
          onEvent: this.options.onEvent,
          onBackfillStart: action === "start" ? () => this.setPhase(client, record.name, "backfilling", "start") : undefined,
          deferBackfill,
          fence: this.fence,
          signal: this.options.signal,
          audit: async (c, step) => void (await this.audit(c, { ...step, checksum: record.checksum })),
        },
        action,
        record.plan[action],
        done,
        record.startDone,
      );
      await this.audit(client, { ...about, outcome: "done", detail: outcome === "deferred" ? { backfill: "deferred" } : {} });
      return outcome;
    } catch (error) {
      let failure = toUnderwayError(error);
      if (failure instanceof InterruptedError) failure = failure.withNext(await this.nextAfterStop(client, record.name, action));
      await this.audit(client, { ...about, outcome: failure instanceof InterruptedError ? "stopped" : "failed", detail: { error: failure.message } }).catch(() => {});
      await recordMigrationError(client, this, record.name, failure.message).catch(() => {});
      throw failure;
    }
  }

  /** What to run after a phase was stopped, from how far it got. */
  private async nextAfterStop(client: Client, name: string, action: Action): Promise<string> {
    const record = await this.findRecord(client, name).catch(() => null);
    if (action === "rollback") return `migration "${name}" is partly rolled back: run "underway rollback" again to finish`;
    if (action === "complete") {
      const contractAt = record ? record.plan.complete.findIndex((s) => s.kind === "contract") : -1;
      if (record && contractAt >= 0 && record.completeDone > contractAt) {
        return `migration "${name}" is contracted (the old version is gone): run "underway complete" again to finish`;
      }
      return `migration "${name}" is ready again: run "underway complete" to contract it, or "underway rollback"`;
    }
    if (record && record.startDone === 0) {
      return `nothing of migration "${name}" has changed the schema yet: run "underway resume" to carry on, or "underway rollback" to drop it`;
    }
    // Dual writes go on once the step that installs the trigger is done.
    const dualWriteAt = record ? record.plan.start.findIndex((s) => /dual-write trigger/.test(s.description)) : -1;
    const dualWrites = dualWriteAt >= 0 && record!.startDone > dualWriteAt ? " (dual writes go on)" : "";
    return `migration "${name}" stays started${dualWrites}: run "underway resume" to carry on, or "underway rollback"`;
  }

  private async setPhase(client: Client, name: string, phase: Phase, running: Action | null): Promise<void> {
    await setMigrationPhase(client, this, name, phase, running);
  }

  private async activeRecord(client: Client): Promise<MigrationRecord | null> {
    return activeMigration(client, this);
  }

  private async requireActive(client: Client): Promise<MigrationRecord> {
    const active = await this.activeRecord(client);
    if (!active) throw new UnderwayError("INVALID_STATE", `no migration is active in schema "${this.schema}"`);
    return active;
  }

  private async findRecord(client: Client, name: string): Promise<MigrationRecord | null> {
    return findMigration(client, this, name);
  }

  private async newestRecord(client: Client): Promise<MigrationRecord | null> {
    return newestMigration(client, this);
  }

  private async lastCompleted(client: Client): Promise<MigrationRecord | null> {
    return lastCompletedMigration(client, this);
  }

  /**
   * `complete` or `rollback` while another process runs the active migration's backfill:
   * the guard refuses it; say what to do about the backfill rather than only who holds it.
   */
  private async refusedWhileBackfilling<T>(action: "complete" | "rollback", run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof UnderwayError) || error.code !== "MIGRATION_LOCKED") throw error;
      const busy = await this.withClient(
        async (client) => {
          const active = await this.activeRecord(client);
          if (!active || active.running !== "start") return null;
          const jobs = await this.backfills.status(client, this.jobScope(active.name));
          const moving = jobs.filter((j) => j.owners.length > 0 && (j.state === "running" || j.state === "throttled" || j.state === "paused"));
          return moving.length > 0 ? { name: active.name, tables: moving.map((j) => j.table), owners: [...new Set(moving.flatMap((j) => j.owners.map(describeOwner)))] } : null;
        },
        { guarded: false },
      ).catch(() => null);
      if (!busy) throw error;
      const where = `migration "${busy.name}" is backfilling ${busy.tables.join(", ")} in another process (${busy.owners.join(", ")})`;
      throw new UnderwayError(
        "MIGRATION_LOCKED",
        action === "rollback"
          ? `${where}: run "underway cancel" first, then "underway rollback"`
          : `${where}: complete needs the backfill done; wait for that process to finish it, or run "underway cancel" first to stop it`,
        { cause: error },
      );
    }
  }

  /**
   * Runs a phase and returns once what it committed is on the streaming replicas too (for
   * up to `replicaWaitMs`, then with a notice). With asynchronous replication a failover
   * right after a phase finished can promote a replica that lacks the phase's last
   * commits; returning then would tell the operator, and the deploy that switches to the
   * new version, something the new primary does not know. When the connection is lost
   * while waiting, the record is read again on the (new) primary: unchanged, the wait
   * goes on there; behind, the phase runs again from where that primary has it.
   */
  private async replicated(what: string, phase: () => Promise<MigrationRecord>): Promise<MigrationRecord> {
    const timeoutMs = this.options.replicaWaitMs ?? REPLICA_WAIT_MS;
    const notice = (record: MigrationRecord, message: string) => this.options.onEvent?.({ type: "notice", message, migration: record.name });
    const committed = (record: MigrationRecord) => `${what} of migration "${record.name}" is committed`;
    for (let round = 1; ; round++) {
      const record = await phase();
      if (timeoutMs <= 0) return record;
      const firstLoss = { at: 0 };
      for (;;) {
        // The phase is done: a stop asked for now, or a wait that cannot finish, costs only the confirmation.
        if (this.options.signal?.aborted) return record;
        try {
          const outcome = await this.onceWithClient(async (client) => {
            // Behind the same address during a failover: a node still in recovery knows nothing final yet.
            const { rows } = await client.query<{ standby: boolean }>("SELECT pg_is_in_recovery() AS standby");
            if (rows[0]!.standby) return { standby: true };
            const now = await this.findRecord(client, record.name);
            if (!now || progressOf(now) !== progressOf(record)) return { changed: now };
            return { wait: await waitForReplicas(client, timeoutMs, this.options.signal) };
          }, { guarded: false, control: true });
          if (outcome.wait !== undefined) {
            const said = describeReplicaWait(outcome.wait, committed(record), timeoutMs);
            if (said) notice(record, said);
            return record;
          }
          if (outcome.standby) {
            firstLoss.at ||= Date.now();
            if (Date.now() - firstLoss.at > RECONNECT_FOR_MS) {
              notice(record, `${committed(record)}, but the address has led to a node in recovery for ${formatMs(RECONNECT_FOR_MS)}: underway could not check that the primary now serving has it`);
              return record;
            }
            await new Promise((resolve) => setTimeout(resolve, 1000));
            continue;
          }
          const now = outcome.changed ?? null;
          // Only a record behind what the phase wrote is one a failover took back; any other
          // change is another process's (a rollback, a complete), and is not undone here.
          if (!isBehind(now, record)) {
            notice(record, `${committed(record)}; the migration has changed since (${now ? describePhase(now) : "its record is gone"}), so underway did not wait for the replicas`);
            return record;
          }
          if (round >= 3) {
            throw new UnderwayError(
              "DATABASE",
              `${what} of migration "${record.name}" finished ${round} times, and each time the primary then serving lacked its last commits (a failover to a replica that had not replayed them): its record there says ${now ? describePhase(now) : "nothing"}; run "underway status", then the same command again`,
            );
          }
          notice(record, `the primary now serving lacks the last commits of ${what} (a failover to a replica that had not replayed them): ${now ? `its record says ${describePhase(now)}; ` : ""}running ${what} again from there`);
          break;
        } catch (error) {
          if (!isConnectionLoss(error) && !isQueryTimeout(error)) throw error;
          firstLoss.at ||= Date.now();
          if (Date.now() - firstLoss.at > RECONNECT_FOR_MS) {
            notice(record, `${committed(record)}, but underway lost the database for ${formatMs(RECONNECT_FOR_MS)} while waiting for the replicas (${describeError(error)}): check with "underway status" that the primary now serving has it`);
            return record;
          }
          notice(record, `lost the database connection while waiting for the replicas (${describeError(error)}); reconnecting`);
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    }
  }

  /**
   * Opens the dedicated connection and, when `guarded`, takes the migration guard. It
   * creates nothing: `init` and a successfully planned `start` create the state schema.
   * When the connection is lost (a restart, a failover behind the same address, a
   * network cut), a guarded action reconnects, takes the guard again and carries on,
   * for up to two minutes: every phase resumes from its recorded step. So it does when
   * the address, having led to a primary, leads for a moment to a node that refuses
   * writes (SQLSTATE 25006: a failover still in progress, a replica not promoted yet or
   * the old primary back as one). An address that refuses writes from the start (a
   * replica's, or a database with default_transaction_read_only on) is an error at once.
   */
  private async withClient<T>(
    fn: (client: Client) => Promise<T>,
    options: ClientUse = { guarded: true },
  ): Promise<T> {
    const firstLoss = { at: 0 };
    // Only a connection that was made can be lost: a database that never answered is an
    // error at once (after the connect timeout), not two minutes of reconnecting. Only an
    // address this action once found writable (a primary's then) refuses its writes for a failover.
    const reached: Reach = { once: false, writable: false };
    // Who this action is in the guard's record, kept across its reconnects so it takes back its own lease.
    const owner = newGuardOwner();
    for (;;) {
      try {
        return await this.onceWithClient(fn, options, reached, owner);
      } catch (error) {
        const readOnly = reached.writable && isReadOnlyRefusal(error);
        if (!options.guarded || !reached.once || !(readOnly || isConnectionLoss(error)) || this.options.signal?.aborted) throw error;
        firstLoss.at ||= Date.now();
        const reason = error instanceof Error ? error.message : String(error);
        if (Date.now() - firstLoss.at > RECONNECT_FOR_MS) {
          if (!readOnly) throw error;
          throw new UnderwayError(
            "DATABASE",
            `${redactUrl(this.options.databaseUrl)} led to a primary, then refused writes for over ${formatMs(RECONNECT_FOR_MS)} (${reason}): a failover that did not finish, or the database was made read-only`,
            { cause: error },
          );
        }
        this.options.onEvent?.({
          type: "notice",
          message: readOnly
            ? `the database is read-only for now (${reason}): a failover in progress; reconnecting`
            : `lost the database connection (${reason}); reconnecting`,
        });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /**
   * A permission error (42501) because the connected role is not the state schema's owner
   * (nor a member of its role), as a line that says so and how to fix it, rather than
   * PostgreSQL's "permission denied for table migrations"; null when that is not the cause.
   */
  private async stateSchemaRefusal(client: Client, error: unknown): Promise<UnderwayError | null> {
    const { rows } = await client.query<{ role: string; owner: string; ok: boolean }>(
      `SELECT current_user::text AS role, n.nspowner::regrole::text AS owner, pg_has_role(current_user, n.nspowner, 'USAGE') AS ok
         FROM pg_namespace n WHERE n.nspname = $1`,
      [this.stateSchema],
    );
    const row = rows[0];
    if (!row || row.ok) return null;
    return new UnderwayError(
      "INVALID_STATE",
      `role ${displayIdent(row.role)} may not use the state schema ${displayIdent(this.stateSchema)}, which ${row.owner} owns (${describeError(error)}): connect as ${row.owner}, or GRANT ${row.owner} TO ${displayIdent(row.role)}`,
      { cause: error },
    );
  }

  private async onceWithClient<T>(
    fn: (client: Client) => Promise<T>,
    options: ClientUse,
    reached: Reach = { once: false, writable: false },
    owner = newGuardOwner(),
  ): Promise<T> {
    const control = options.control ?? !options.guarded;
    const queryTimeoutMs = this.options.controlQueryTimeoutMs ?? CONTROL_QUERY_TIMEOUT_MS;
    const client = await connect(this.options.databaseUrl, { applicationName: "underway", ...(control ? { queryTimeoutMs } : {}) });
    reached.once = true;
    let guard: MigrationGuard | undefined;
    try {
      await serverProfile(client); // refuses a server older than underway supports
      // Before the guard writes its record: a state schema of a newer release is left as it is.
      await refuseNewerStateSchema(client, this.stateSchema);
      // Type names and expressions in a migration file mean what they mean in its schema, as
      // in pgroll. Each step's transaction sets it too; behind a pooler only that holds.
      if (!isPooled(client)) await client.query(`SET search_path TO ${ident(this.schema)}`);
      if (options.guarded) {
        // Asked before the guard, so a read-only address changes nothing, not even the guard's record.
        const readOnly = await readOnlyReason(client);
        if (readOnly !== null && reached.writable) {
          throw new ReadOnlySessionError(readOnly === "standby" ? "the address now leads to a server in recovery" : "default_transaction_read_only is now on");
        }
        if (readOnly !== null) {
          throw new UnderwayError(
            "INVALID_STATE",
            readOnly === "standby"
              ? `${redactUrl(this.options.databaseUrl)} leads to a standby (the server is in recovery) and underway needs to write: give the primary's address`
              : `${redactUrl(this.options.databaseUrl)} refuses writes (default_transaction_read_only is on for this database, role or server): underway needs a database it can write to`,
          );
        }
        reached.writable = true;
        guard = await createGuard(client, this.options.databaseUrl, this.stateSchema, this.schema, options.graceMs, owner);
        await guard.acquire();
        this.fence = guard.fence();
        await upgradeStateSchema(client, this.stateSchema);
      }
      return await fn(client);
    } catch (error) {
      if (sqlState(error) === "42501") {
        const refused = await this.stateSchemaRefusal(client, error).catch(() => null);
        if (refused) throw refused;
      }
      if (isQueryTimeout(error)) {
        throw new UnderwayError(
          "CONNECTION",
          `${redactUrl(this.options.databaseUrl)} did not answer a query within ${formatMs(queryTimeoutMs)}: the server or the network is stuck`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      this.fence = null;
      await guard?.release().catch(() => {});
      await client.end().catch(() => {});
    }
  }
}

/** How long a phase keeps reconnecting after losing its connection. */
const RECONNECT_FOR_MS = 120_000;

/** How long a finished phase waits for the replicas to flush its last commit. */
const REPLICA_WAIT_MS = 10_000;

/** Where a migration stands, as one comparable string: a primary that lost commits shows an earlier one. */
function progressOf(record: MigrationRecord): string {
  return [record.phase, record.startDone, record.completeDone, record.rollbackDone].join("/");
}

/** How far along a migration's life a phase is: a rollback is a branch of its own. */
const PHASE_RANK: Record<string, number> = { started: 1, backfilling: 1, ready: 2, completed: 3, rolled_back: 3 };

/**
 * Whether `now` (the record on the primary now serving) is an earlier state of `done`
 * (what the phase wrote), as a failover that lost the last commits leaves it: no record at
 * all, or the same road with fewer steps done. Anything else is someone else's change.
 */
function isBehind(now: MigrationRecord | null, done: MigrationRecord): boolean {
  if (now === null) return true;
  if (now.phase === "completed" || now.phase === "rolled_back") return false;
  if (done.phase !== "rolled_back" && now.rollbackDone > 0) return false;
  return (
    (PHASE_RANK[now.phase] ?? 0) <= (PHASE_RANK[done.phase] ?? 0) &&
    now.startDone <= done.startDone &&
    now.completeDone <= done.completeDone &&
    now.rollbackDone <= done.rollbackDone
  );
}

function verifyFailure(migration: string, report: VerifyReport): UnderwayError {
  const bad = report.tables.filter((t) => t.mismatches > 0);
  const total = bad.reduce((n, t) => n + t.mismatches, 0);
  const failing = bad.find((t) => t.failures.length > 0);
  if (failing) {
    const first = failing.failures[0]!;
    return new UnderwayError(
      "CHECKSUM_MISMATCH",
      `verify found ${total} row(s) of migration "${migration}" that up cannot convert or whose old and new values disagree (first: ${failing.table} key ${first.key.join(",")}: ${first.error}); nothing was contracted: fix those rows through the old version and run complete again, or run "underway rollback"`,
      { detail: failing.failures.map((f) => `${failing.table} key ${f.key.join(",")}: ${f.error}`).join("\n") },
    );
  }
  const first = bad[0]!.ranges[0]!;
  return new UnderwayError(
    "CHECKSUM_MISMATCH",
    `verify found ${total} row(s) of migration "${migration}" whose old and new values disagree (first: ${bad[0]!.table}.${first.column}, keys ${first.from.join(",")}..${first.to.join(",")}); nothing was contracted: run "underway verify" for details, or complete --skip-verify`,
    { detail: bad.flatMap((t) => t.ranges.map((r) => `${t.table}.${r.column} keys ${r.from.join(",")}..${r.to.join(",")}: ${r.rows} row(s)`)).join("\n") },
  );
}

function upFailureError(migration: string, failures: UpFailure[]): UnderwayError {
  const first = failures[0]!;
  return new UnderwayError(
    "CHECKSUM_MISMATCH",
    `${failures.length} row(s) written during migration "${migration}" could not be converted by up (first: ${first.table}${first.key ? ` key ${first.key}` : ""}${first.values ? `, ${first.values}` : ""}: ${first.error}); nothing was contracted: fix those rows through the old version and run complete again, or run "underway rollback"`,
    { detail: failures.map((f) => `${f.table}${f.key ? ` key ${f.key}` : ""}${f.values ? ` (${f.values})` : ""}: ${f.error} (${f.count} write(s))`).join("\n") },
  );
}

export function describePhase(record: MigrationRecord): string {
  if (record.running) {
    const total = record.plan[record.running].length;
    const done = record.running === "start" ? record.startDone : record.running === "complete" ? record.completeDone : record.rollbackDone;
    const verb =
      record.running === "start" && record.phase === "backfilling"
        ? "backfilling"
        : { start: "starting", complete: "completing", rollback: "rolling back" }[record.running];
    return `${verb}, step ${done}/${total}${record.lastError ? ` (stopped: ${record.lastError})` : ""}`;
  }
  return record.phase.replace("_", " ");
}
