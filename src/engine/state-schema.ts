import type { Client } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";

/**
 * The state schema holds migration history and the progress of every phase. It needs
 * no superuser and no event trigger: the role that owns the application's tables owns it.
 *
 * Progress is stored per action (`start_done`, `complete_done`, `rollback_done`: the
 * number of finished steps), and every transactional step updates it in the same
 * transaction as its DDL, so a step is either done and counted or neither.
 */
export function stateSchemaDdl(stateSchema: string): string[] {
  const s = ident(stateSchema);
  const migrations = qualified(stateSchema, "migrations");
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${migrations} (
      id bigserial PRIMARY KEY,
      schema text NOT NULL,
      name text NOT NULL,
      parent text,
      checksum text NOT NULL,
      phase text NOT NULL CHECK (phase IN ('started', 'backfilling', 'ready', 'completed', 'rolled_back')),
      running text CHECK (running IN ('start', 'complete', 'rollback')),
      version_schema text NOT NULL,
      previous_version_schema text,
      migration jsonb NOT NULL,
      raw text NOT NULL,
      plan jsonb NOT NULL,
      start_done integer NOT NULL DEFAULT 0,
      complete_done integer NOT NULL DEFAULT 0,
      rollback_done integer NOT NULL DEFAULT 0,
      sql_created jsonb NOT NULL DEFAULT '[]',
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz,
      UNIQUE (schema, name)
    )`,
    // At most one migration per schema is between start and complete/rollback.
    `CREATE UNIQUE INDEX IF NOT EXISTS migrations_one_active ON ${migrations} (schema)
      WHERE phase NOT IN ('completed', 'rolled_back')`,
    `CREATE TABLE IF NOT EXISTS ${qualified(stateSchema, "leases")} (
      name text PRIMARY KEY,
      owner text NOT NULL,
      expires_at timestamptz NOT NULL
    )`,
    // Backfill jobs: one per table of a migration, its key space cut into ranges that
    // workers lease; each range's cursor moves in the same transaction as its batch.
    `CREATE TABLE IF NOT EXISTS ${qualified(stateSchema, "backfill_jobs")} (
      id bigserial PRIMARY KEY,
      schema text NOT NULL,
      migration text NOT NULL,
      table_name text NOT NULL,
      state text NOT NULL CHECK (state IN ('running', 'paused', 'done', 'failed', 'cancelled')),
      paging jsonb NOT NULL,
      rows_total bigint NOT NULL DEFAULT 0,
      settings jsonb NOT NULL DEFAULT '{}',
      throttled_by text,
      rows_per_second double precision NOT NULL DEFAULT 0,
      last_error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      finished_at timestamptz,
      UNIQUE (schema, migration, table_name)
    )`,
    `CREATE TABLE IF NOT EXISTS ${qualified(stateSchema, "backfill_ranges")} (
      job_id bigint NOT NULL REFERENCES ${qualified(stateSchema, "backfill_jobs")} ON DELETE CASCADE,
      range_no integer NOT NULL,
      lower jsonb,
      upper jsonb NOT NULL,
      cursor jsonb,
      rows_done bigint NOT NULL DEFAULT 0,
      done boolean NOT NULL DEFAULT false,
      owner text,
      lease_expires_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (job_id, range_no)
    )`,
    // WAL positions over time, so replica lag can be told in seconds from the primary
    // alone: a replica is as far behind as the newest heartbeat it has replayed.
    `CREATE TABLE IF NOT EXISTS ${qualified(stateSchema, "heartbeat")} (
      ts timestamptz PRIMARY KEY,
      lsn pg_lsn NOT NULL
    )`,
    // Application roles fire the dual-write triggers, whose functions live here.
    `GRANT USAGE ON SCHEMA ${s} TO PUBLIC`,
    clientVersionFunction(stateSchema),
    knownVersionFunction(stateSchema),
    isNewVersionFunction(stateSchema),
  ];
}

/**
 * `client_schema()`: the first schema of the session's search_path, parsed the way
 * PostgreSQL parses identifiers (so `"Public_V2"` and `public_v2` differ and spaces
 * do not matter). pgroll compares the raw search_path string instead, which takes
 * `public_v2, public` for an old client.
 */
function clientVersionFunction(stateSchema: string): string {
  return `CREATE OR REPLACE FUNCTION ${qualified(stateSchema, "client_schema")}() RETURNS text
  LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  item text;
BEGIN
  FOR item IN
    SELECT m[1] FROM regexp_matches(current_setting('search_path'), '\\s*("(?:[^"]|"")*"|[^,\\s]+)\\s*(?:,|$)', 'g') AS m
  LOOP
    IF item IN ('$user', '"$user"') THEN
      CONTINUE;
    END IF;
    RETURN (parse_ident(item))[1];
  END LOOP;
  RETURN NULL;
END
$fn$`;
}

/**
 * `is_new_version(schema, version_schema, migration)`: whether the writing session
 * uses the new version of an active migration. The session setting `underway.version`
 * wins (it survives poolers when set with SET LOCAL); an unknown value raises rather
 * than guessing, because a wrong guess silently overwrites the client's writes.
 *
 * It runs as the caller, so it sees the caller's search_path; only the lookup of known
 * versions (`known_version`) runs as the state schema's owner, because application
 * roles cannot read the migrations table.
 */
function isNewVersionFunction(stateSchema: string): string {
  return `CREATE OR REPLACE FUNCTION ${qualified(stateSchema, "is_new_version")}(p_schema text, p_version_schema text, p_migration text)
  RETURNS boolean LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  v text := current_setting('underway.version', true);
BEGIN
  IF v IS NOT NULL AND v <> '' THEN
    IF v = p_version_schema OR v = p_migration THEN
      RETURN true;
    END IF;
    IF v = p_schema OR ${qualified(stateSchema, "known_version")}(p_schema, v) THEN
      RETURN false;
    END IF;
    RAISE EXCEPTION 'underway: unknown version "%" in underway.version (schema %)', v, p_schema
      USING ERRCODE = '22023', HINT = 'set underway.version to a migration name or version schema, or unset it';
  END IF;
  RETURN ${qualified(stateSchema, "client_schema")}() = p_version_schema;
END
$fn$`;
}

function knownVersionFunction(stateSchema: string): string {
  return `CREATE OR REPLACE FUNCTION ${qualified(stateSchema, "known_version")}(p_schema text, p_version text)
  RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $fn$
    SELECT EXISTS (SELECT 1 FROM ${qualified(stateSchema, "migrations")} m
                    WHERE m.schema = p_schema AND (m.name = p_version OR m.version_schema = p_version))
$fn$`;
}

/** Creates or upgrades the state schema. Idempotent; safe to run concurrently with applications. */
export async function initStateSchema(client: Client, stateSchema: string): Promise<void> {
  await client.query("BEGIN");
  try {
    // Serialise concurrent `init`s: CREATE ... IF NOT EXISTS is not safe against a race.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`underway-init:${stateSchema}`]);
    for (const statement of stateSchemaDdl(stateSchema)) {
      await client.query(statement);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Whether `init` has been run for this state schema. */
export async function stateSchemaExists(client: Client, stateSchema: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(
    "SELECT to_regclass($1) IS NOT NULL AS ok",
    [`${ident(stateSchema)}.migrations`],
  );
  return rows[0]!.ok;
}
