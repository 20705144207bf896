import type { Client } from "../db/connection.js";
import { connect, serverMajorVersion } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";
import { UnderwayError, toUnderwayError } from "../errors.js";
import type { MigrationFile } from "../migration/load.js";
import type { Migration } from "../migration/schema.js";
import type { Backfill } from "../backfill/backfill.js";
import { KeysetBackfill } from "../backfill/keyset-backfill.js";
import { introspectSchema } from "./introspect.js";
import { defaultLockPolicy, type LockPolicy } from "./lock-retry.js";
import { AdvisoryLockGuard, type MigrationGuard } from "./migration-guard.js";
import { planMigration } from "./planner.js";
import { initStateSchema, stateSchemaExists } from "./state-schema.js";
import type { Action, MigrationPlan } from "./step.js";
import { runSteps, type MigrationEvent } from "./step-runner.js";
import { columnDefaultRewrites } from "./probe.js";

export type Phase = "started" | "backfilling" | "ready" | "completed" | "rolled_back";

/** One migration as the state schema records it. */
export interface MigrationRecord {
  name: string;
  schema: string;
  parent: string | null;
  checksum: string;
  phase: Phase;
  /** The action in progress, or interrupted, if any. */
  running: Action | null;
  versionSchema: string;
  previousVersionSchema: string | null;
  migration: Migration;
  plan: MigrationPlan;
  startDone: number;
  completeDone: number;
  rollbackDone: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

export interface MigratorOptions {
  databaseUrl: string;
  schema?: string;
  stateSchema?: string;
  lockPolicy?: Partial<LockPolicy>;
  /** lock_timeout for concurrent index builds, which wait for older transactions by design. */
  concurrentIndexLockTimeoutMs?: number;
  backfill?: Backfill;
  onEvent?: (event: MigrationEvent) => void;
}

export interface StartOptions {
  /** Complete right after start (for a migration no running application depends on). */
  complete?: boolean;
}

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
  private readonly backfill: Backfill;

  constructor(private readonly options: MigratorOptions) {
    this.schema = options.schema ?? "public";
    this.stateSchema = options.stateSchema ?? "underway";
    this.lockPolicy = { ...defaultLockPolicy, ...options.lockPolicy };
    this.backfill = options.backfill ?? new KeysetBackfill();
  }

  /** Creates the state schema if needed. Idempotent. */
  async init(): Promise<void> {
    await this.withClient(async (client) => {
      await initStateSchema(client, this.stateSchema);
    }, { guarded: false });
  }

  /**
   * Starts a migration (expand, dual write, backfill, version schema), or carries on
   * with the same migration if an earlier `start` was interrupted.
   */
  async start(file: MigrationFile, options: StartOptions = {}): Promise<MigrationRecord> {
    const record = await this.withClient(async (client) => {
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
          await client.query(`DELETE FROM ${this.table()} WHERE schema = $1 AND name = $2`, [this.schema, file.name]);
        }
        active = await this.createRecord(client, file);
      }
      if (active.phase === "started" || active.phase === "backfilling") {
        await this.runAction(client, active, "start");
        await this.setPhase(client, active.name, "ready", null);
      }
      return (await this.findRecord(client, file.name))!;
    });
    if (options.complete) return this.complete();
    return record;
  }

  /** Contracts the active migration: the old version goes, the new one becomes the schema. */
  async complete(): Promise<MigrationRecord> {
    return this.withClient(async (client) => {
      const active = await this.requireActive(client);
      if (active.running === "rollback") {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is being rolled back; run rollback again to finish it`);
      }
      if (active.phase !== "ready") {
        throw new UnderwayError("INVALID_STATE", `migration "${active.name}" is ${describePhase(active)}; run start again to finish it before complete`);
      }
      await this.runAction(client, active, "complete");
      await client.query(
        `UPDATE ${this.table()} SET phase = 'completed', running = NULL, completed_at = now(), updated_at = now() WHERE schema = $1 AND name = $2`,
        [this.schema, active.name],
      );
      return (await this.findRecord(client, active.name))!;
    });
  }

  /** Undoes the active migration from whatever point its start reached. */
  async rollback(): Promise<MigrationRecord> {
    return this.withClient(async (client) => {
      const active = await this.requireActive(client);
      if (active.running === "complete" || active.completeDone > 0) {
        throw new UnderwayError(
          "INVALID_STATE",
          `migration "${active.name}" has begun to complete (step ${active.completeDone}/${active.plan.complete.length}); the old version is partly gone, so run complete again to finish it`,
        );
      }
      await this.runAction(client, active, "rollback");
      await this.setPhase(client, active.name, "rolled_back", null);
      return (await this.findRecord(client, active.name))!;
    });
  }

  /** Every migration of the schema, oldest first. */
  async history(): Promise<MigrationRecord[]> {
    return this.withClient(async (client) => {
      if (!(await stateSchemaExists(client, this.stateSchema))) return [];
      const { rows } = await client.query(`SELECT * FROM ${this.table()} WHERE schema = $1 ORDER BY id`, [this.schema]);
      return rows.map(toRecord);
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
      const parent = await this.lastCompleted(client);
      const before = await introspectSchema(client, this.schema);
      return planMigration({
        schema: this.schema,
        stateSchema: this.stateSchema,
        migration: file.migration,
        file: file.path,
        versionSchema: this.versionSchemaName(file),
        previousVersionSchema: parent?.versionSchema ?? null,
        before,
        probe: { defaultRewrites: (type, expression) => columnDefaultRewrites(client, type, expression) },
      });
    }, { guarded: false });
  }

  versionSchemaName(file: MigrationFile): string {
    const name = file.migration.versionSchema ?? `${this.schema}_${file.name}`;
    if (Buffer.byteLength(name) > 63) {
      throw new UnderwayError(
        "INVALID_MIGRATION",
        `${file.path}: version schema name "${name}" is longer than 63 bytes; shorten the file name or set version_schema`,
      );
    }
    return name;
  }

  private async createRecord(client: Client, file: MigrationFile): Promise<MigrationRecord> {
    const parent = await this.lastCompleted(client);
    const versionSchema = this.versionSchemaName(file);
    const { rows: clash } = await client.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [versionSchema]);
    if (clash.length > 0) {
      throw new UnderwayError("INVALID_STATE", `schema "${versionSchema}" already exists; it would be the version schema of "${file.name}"`);
    }
    const before = await introspectSchema(client, this.schema);
    const plan = await planMigration({
      schema: this.schema,
      stateSchema: this.stateSchema,
      migration: file.migration,
      file: file.path,
      versionSchema,
      previousVersionSchema: parent?.versionSchema ?? null,
      before,
      probe: { defaultRewrites: (type, expression) => columnDefaultRewrites(client, type, expression) },
    });
    // Only a valid plan changes the database, starting with the state schema itself.
    await initStateSchema(client, this.stateSchema);
    const { rows } = await client.query(
      `INSERT INTO ${this.table()} (schema, name, parent, checksum, phase, running, version_schema, previous_version_schema, migration, raw, plan)
       VALUES ($1, $2, $3, $4, 'started', 'start', $5, $6, $7, $8, $9) RETURNING *`,
      [this.schema, file.name, parent?.name ?? null, file.checksum, versionSchema, parent?.versionSchema ?? null, JSON.stringify(file.migration), file.raw, JSON.stringify(plan)],
    );
    return toRecord(rows[0]);
  }

  private async runAction(client: Client, record: MigrationRecord, action: Action): Promise<void> {
    await client.query(`UPDATE ${this.table()} SET running = $3, last_error = NULL, updated_at = now() WHERE schema = $1 AND name = $2`, [
      this.schema,
      record.name,
      action,
    ]);
    const done = action === "start" ? record.startDone : action === "complete" ? record.completeDone : record.rollbackDone;
    try {
      await runSteps(
        {
          client,
          stateSchema: this.stateSchema,
          schema: this.schema,
          migration: record.name,
          lockPolicy: this.lockPolicy,
          concurrentIndexLockTimeoutMs: this.options.concurrentIndexLockTimeoutMs ?? 600_000,
          backfill: this.backfill,
          onEvent: this.options.onEvent,
          onBackfillStart: action === "start" ? () => this.setPhase(client, record.name, "backfilling", "start") : undefined,
        },
        action,
        record.plan[action],
        done,
        record.startDone,
      );
    } catch (error) {
      const failure = toUnderwayError(error);
      await client
        .query(`UPDATE ${this.table()} SET last_error = $3, updated_at = now() WHERE schema = $1 AND name = $2`, [
          this.schema,
          record.name,
          failure.message,
        ])
        .catch(() => {});
      throw failure;
    }
  }

  private async setPhase(client: Client, name: string, phase: Phase, running: Action | null): Promise<void> {
    await client.query(`UPDATE ${this.table()} SET phase = $3, running = $4, updated_at = now() WHERE schema = $1 AND name = $2`, [
      this.schema,
      name,
      phase,
      running,
    ]);
  }

  private async activeRecord(client: Client): Promise<MigrationRecord | null> {
    if (!(await stateSchemaExists(client, this.stateSchema))) return null;
    const { rows } = await client.query(
      `SELECT * FROM ${this.table()} WHERE schema = $1 AND phase NOT IN ('completed', 'rolled_back')`,
      [this.schema],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  private async requireActive(client: Client): Promise<MigrationRecord> {
    const active = await this.activeRecord(client);
    if (!active) throw new UnderwayError("INVALID_STATE", `no migration is active in schema "${this.schema}"`);
    return active;
  }

  private async findRecord(client: Client, name: string): Promise<MigrationRecord | null> {
    if (!(await stateSchemaExists(client, this.stateSchema))) return null;
    const { rows } = await client.query(`SELECT * FROM ${this.table()} WHERE schema = $1 AND name = $2`, [this.schema, name]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  private async lastCompleted(client: Client): Promise<MigrationRecord | null> {
    if (!(await stateSchemaExists(client, this.stateSchema))) return null;
    const { rows } = await client.query(
      `SELECT * FROM ${this.table()} WHERE schema = $1 AND phase = 'completed' ORDER BY completed_at DESC, id DESC LIMIT 1`,
      [this.schema],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  private table(): string {
    return qualified(this.stateSchema, "migrations");
  }

  /**
   * Opens the dedicated connection and, when `guarded`, takes the migration guard. It
   * creates nothing: `init` and a successfully planned `start` create the state schema.
   */
  private async withClient<T>(fn: (client: Client) => Promise<T>, options: { guarded: boolean } = { guarded: true }): Promise<T> {
    const client = await connect(this.options.databaseUrl, { applicationName: "underway" });
    let guard: MigrationGuard | undefined;
    try {
      const major = await serverMajorVersion(client);
      if (major < 14) {
        throw new UnderwayError("INVALID_STATE", `PostgreSQL ${major} is not supported; underway needs PostgreSQL 14 or newer`);
      }
      // Type names and expressions in a migration file mean what they mean in its schema, as in pgroll.
      await client.query(`SET search_path TO ${ident(this.schema)}`);
      if (options.guarded) {
        guard = new AdvisoryLockGuard(client, this.stateSchema, this.schema);
        await guard.acquire();
      }
      return await fn(client);
    } finally {
      await guard?.release().catch(() => {});
      await client.end().catch(() => {});
    }
  }
}

export function describePhase(record: MigrationRecord): string {
  if (record.running) {
    const total = record.plan[record.running].length;
    const done = record.running === "start" ? record.startDone : record.running === "complete" ? record.completeDone : record.rollbackDone;
    const verb = { start: "starting", complete: "completing", rollback: "rolling back" }[record.running];
    return `${verb}, step ${done}/${total}${record.lastError ? ` (stopped: ${record.lastError})` : ""}`;
  }
  return record.phase.replace("_", " ");
}

function toRecord(row: Record<string, unknown>): MigrationRecord {
  return {
    name: row.name as string,
    schema: row.schema as string,
    parent: (row.parent as string | null) ?? null,
    checksum: row.checksum as string,
    phase: row.phase as Phase,
    running: (row.running as Action | null) ?? null,
    versionSchema: row.version_schema as string,
    previousVersionSchema: (row.previous_version_schema as string | null) ?? null,
    migration: row.migration as Migration,
    plan: row.plan as MigrationPlan,
    startDone: row.start_done as number,
    completeDone: row.complete_done as number,
    rollbackDone: row.rollback_done as number,
    lastError: (row.last_error as string | null) ?? null,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    completedAt: (row.completed_at as Date | null) ?? null,
  };
}
