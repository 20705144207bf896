import type { Client } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";
import type { Migration } from "../format/schema.js";
import type { Action, MigrationPlan } from "../plan/step.js";
import { activePhaseSql, type Phase } from "./phase.js";
import { PLAN_FORMAT_VERSION, readStoredPlan } from "./plan-format.js";
import { stateSchemaExists } from "./state-schema.js";

/**
 * The migration records of the state schema: one row per migration of a schema, written
 * when start plans it and updated by every phase. Every read and write of the
 * `migrations` table goes through here (the dashboard's and rehearse's reads through
 * read-model.ts), so its columns and what "active" means are known in one place.
 */

/** Which state schema, and which application schema's migrations in it. */
export interface StateWhere {
  stateSchema: string;
  schema: string;
}

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
  /** The plan, in this release's format (an older stored one is upgraded as it is read). */
  plan: MigrationPlan;
  startDone: number;
  completeDone: number;
  rollbackDone: number;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

/** What start knows of a new migration when it records it. */
export interface NewMigration {
  name: string;
  parent: string | null;
  checksum: string;
  versionSchema: string;
  previousVersionSchema: string | null;
  migration: Migration;
  raw: string;
  plan: MigrationPlan;
}

function table(where: { stateSchema: string }): string {
  return qualified(where.stateSchema, "migrations");
}

/** The schema's active migration (started, neither completed nor rolled back), if any. */
export async function activeMigration(client: Client, where: StateWhere): Promise<MigrationRecord | null> {
  return selectOne(client, where, `WHERE schema = $1 AND ${activePhaseSql()}`, []);
}

/** The schema's migration of that name, if recorded. */
export async function findMigration(client: Client, where: StateWhere, name: string): Promise<MigrationRecord | null> {
  return selectOne(client, where, "WHERE schema = $1 AND name = $2", [name]);
}

/** The schema's most recently started migration, whatever its phase. */
export async function newestMigration(client: Client, where: StateWhere): Promise<MigrationRecord | null> {
  return selectOne(client, where, "WHERE schema = $1 ORDER BY id DESC LIMIT 1", []);
}

/** The migration completed last: the parent of the next one. */
export async function lastCompletedMigration(client: Client, where: StateWhere): Promise<MigrationRecord | null> {
  return selectOne(client, where, "WHERE schema = $1 AND phase = 'completed' ORDER BY completed_at DESC, id DESC LIMIT 1", []);
}

/** Every migration of the schema, oldest first; none when there is no state schema yet. */
export async function listMigrations(client: Client, where: StateWhere): Promise<MigrationRecord[]> {
  if (!(await stateSchemaExists(client, where.stateSchema))) return [];
  const { rows } = await client.query(`SELECT * FROM ${table(where)} WHERE schema = $1 ORDER BY id`, [where.schema]);
  return rows.map(toRecord);
}

async function selectOne(client: Client, where: StateWhere, clause: string, params: unknown[]): Promise<MigrationRecord | null> {
  if (!(await stateSchemaExists(client, where.stateSchema))) return null;
  const { rows } = await client.query(`SELECT * FROM ${table(where)} ${clause}`, [where.schema, ...params]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** Records a migration start has planned, as started with its start running; its plan in this release's format. */
export async function insertMigration(client: Client, where: StateWhere, record: NewMigration): Promise<MigrationRecord> {
  const { rows } = await client.query(
    `INSERT INTO ${table(where)} (schema, name, parent, checksum, phase, running, version_schema, previous_version_schema, migration, raw, plan, plan_format)
     VALUES ($1, $2, $3, $4, 'started', 'start', $5, $6, $7, $8, $9, $10) RETURNING *`,
    [
      where.schema,
      record.name,
      record.parent,
      record.checksum,
      record.versionSchema,
      record.previousVersionSchema,
      JSON.stringify(record.migration),
      record.raw,
      JSON.stringify(record.plan),
      PLAN_FORMAT_VERSION,
    ],
  );
  return toRecord(rows[0]);
}

/** Forgets a migration's record (a rolled-back one that is started again). */
export async function deleteMigration(client: Client, where: StateWhere, name: string): Promise<void> {
  await client.query(`DELETE FROM ${table(where)} WHERE schema = $1 AND name = $2`, [where.schema, name]);
}

export async function setMigrationPhase(client: Client, where: StateWhere, name: string, phase: Phase, running: Action | null): Promise<void> {
  await client.query(`UPDATE ${table(where)} SET phase = $3, running = $4, updated_at = now() WHERE schema = $1 AND name = $2`, [where.schema, name, phase, running]);
}

/** The end of complete: the migration is completed, nothing runs. */
export async function markMigrationCompleted(client: Client, where: StateWhere, name: string): Promise<void> {
  await client.query(
    `UPDATE ${table(where)} SET phase = 'completed', running = NULL, completed_at = now(), updated_at = now() WHERE schema = $1 AND name = $2`,
    [where.schema, name],
  );
}

/** An action begins (or begins again): it is the one running, and the last error is cleared. */
export async function markActionRunning(client: Client, where: StateWhere, name: string, action: Action): Promise<void> {
  await client.query(`UPDATE ${table(where)} SET running = $3, last_error = NULL, updated_at = now() WHERE schema = $1 AND name = $2`, [where.schema, name, action]);
}

/** Why the running action stopped, for status to show. */
export async function recordMigrationError(client: Client, where: StateWhere, name: string, message: string): Promise<void> {
  await client.query(`UPDATE ${table(where)} SET last_error = $3, updated_at = now() WHERE schema = $1 AND name = $2`, [where.schema, name, message]);
}

/**
 * Records that `done` steps of `action` are finished, on `client` (inside the step's own
 * transaction when it has one). With a `fence` (the guard's lease still naming this
 * process) it records nothing once the fence is false: returns whether a row was updated.
 */
export async function recordStepsDone(
  client: Client,
  where: StateWhere,
  name: string,
  action: Action,
  done: number,
  fence: string | null | undefined,
): Promise<boolean> {
  const result = await client.query(
    `UPDATE ${table(where)} SET ${ident(`${action}_done`)} = $3, updated_at = now() WHERE schema = $1 AND name = $2${fence ? ` AND ${fence}` : ""}`,
    [where.schema, name, done],
  );
  return (result.rowCount ?? 0) > 0;
}

/** Adds objects a raw-SQL step created, for its rollback to drop. */
export async function rememberCreatedObjects(client: Client, where: StateWhere, name: string, created: unknown[]): Promise<void> {
  if (created.length === 0) return;
  await client.query(`UPDATE ${table(where)} SET sql_created = sql_created || $3::jsonb WHERE schema = $1 AND name = $2`, [where.schema, name, JSON.stringify(created)]);
}

/** The objects the migration's raw-SQL steps created, as `rememberCreatedObjects` stored them. */
export async function createdObjects<T>(client: Client, where: StateWhere, name: string): Promise<T[]> {
  const { rows } = await client.query<{ created: T[] | null }>(`SELECT sql_created AS created FROM ${table(where)} WHERE schema = $1 AND name = $2`, [where.schema, name]);
  return rows[0]?.created ?? [];
}

/** A foreign key of another table that the contract re-created NOT VALID. */
export interface CarriedConstraint {
  table: string;
  constraint: string;
}

/** Adds foreign keys the contract carried over NOT VALID, for the step after it to validate. */
export async function rememberCarried(client: Client, where: StateWhere, name: string, carried: CarriedConstraint[]): Promise<void> {
  if (carried.length === 0) return;
  await client.query(`UPDATE ${table(where)} SET carried = carried || $3::jsonb WHERE schema = $1 AND name = $2`, [where.schema, name, JSON.stringify(carried)]);
}

export async function carriedConstraints(client: Client, where: StateWhere, name: string): Promise<CarriedConstraint[]> {
  const { rows } = await client.query<{ carried: CarriedConstraint[] | null }>(`SELECT carried FROM ${table(where)} WHERE schema = $1 AND name = $2`, [where.schema, name]);
  return rows[0]?.carried ?? [];
}

/**
 * Copies every completed migration of the state schema (of every schema) from `source` to
 * the same state schema in `target`, ids kept, so a rehearsal knows which version is the
 * old one; false when `source` has no state schema. A row of a state schema older than
 * the target's gets the columns it lacks as the upgrade would have set them.
 */
export async function copyCompletedMigrations(source: Client, target: Client, stateSchema: string): Promise<boolean> {
  if (!(await stateSchemaExists(source, stateSchema))) return false;
  const { rows } = await source.query<{ j: string }>(
    `SELECT (jsonb_build_object('plan_format', 1, 'carried', '[]'::jsonb) || to_jsonb(t))::text AS j
       FROM ${table({ stateSchema })} t WHERE phase = 'completed'`,
  );
  const { rows: cols } = await target.query<{ name: string }>(
    "SELECT attname::text AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    [table({ stateSchema })],
  );
  const columns = cols.map((c) => ident(c.name)).join(", ");
  if (rows.length > 0) {
    await target.query(
      `INSERT INTO ${table({ stateSchema })} (${columns}) OVERRIDING SYSTEM VALUE SELECT ${columns} FROM json_populate_recordset(NULL::${table({ stateSchema })}, $1::json)`,
      [`[${rows.map((r) => r.j).join(",")}]`],
    );
  }
  return true;
}

/**
 * A row as a record. A row read before this release's first guarded command upgraded the
 * state schema has no `plan_format` column: its plan is of format 1.
 */
export function toRecord(row: Record<string, unknown>): MigrationRecord {
  const name = row.name as string;
  return {
    name,
    schema: row.schema as string,
    parent: (row.parent as string | null) ?? null,
    checksum: row.checksum as string,
    phase: row.phase as Phase,
    running: (row.running as Action | null) ?? null,
    versionSchema: row.version_schema as string,
    previousVersionSchema: (row.previous_version_schema as string | null) ?? null,
    migration: row.migration as Migration,
    plan: readStoredPlan(row.plan, (row.plan_format as number | undefined) ?? 1, name),
    startDone: row.start_done as number,
    completeDone: row.complete_done as number,
    rollbackDone: row.rollback_done as number,
    lastError: (row.last_error as string | null) ?? null,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    completedAt: (row.completed_at as Date | null) ?? null,
  };
}
