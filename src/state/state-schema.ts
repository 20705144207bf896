import type { Client } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";
import { UnderwayError } from "../errors.js";
import { auditDdl } from "./audit.js";
import { activePhaseSql } from "./phase.js";

/**
 * The state schema holds migration history and the progress of every phase. It needs
 * no superuser and no event trigger: the role that owns the application's tables owns it.
 *
 * Progress is stored per action (`start_done`, `complete_done`, `rollback_done`: the
 * number of finished steps), and every transactional step updates it in the same
 * transaction as its DDL, so a step is either done and counted or neither.
 *
 * Its DDL is a list of upgrades, each bringing the tables from one version to the next;
 * `state_version` records the version reached. A new state schema runs them all, an older
 * one the steps it lacks. Every statement is idempotent (IF NOT EXISTS), so an upgrade
 * that ran half way, or a schema that already had what a step adds, is brought up the
 * same way. A release that changes a table adds a step; it never edits an old one.
 */
interface StateSchemaUpgrade {
  /** The version this step brings the state schema to. */
  version: number;
  /** What the step adds, for the person reading this list. */
  adds: string;
  statements(stateSchema: string): string[];
}

const UPGRADES: StateSchemaUpgrade[] = [
  {
    version: 1,
    adds: "migration history, the guard's leases, backfill jobs and their ranges, the WAL heartbeat",
    statements: (stateSchema) => {
      const migrations = qualified(stateSchema, "migrations");
      return [
        `CREATE SCHEMA IF NOT EXISTS ${ident(stateSchema)}`,
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
        `CREATE UNIQUE INDEX IF NOT EXISTS migrations_one_active ON ${migrations} (schema) WHERE ${activePhaseSql()}`,
        // The migration guard's holder (and, behind a pooler, the guard itself as a lease).
        `CREATE TABLE IF NOT EXISTS ${qualified(stateSchema, "leases")} (
          name text PRIMARY KEY,
          owner text NOT NULL,
          expires_at timestamptz NOT NULL
        )`,
        ...backfillTablesDdl(stateSchema),
        // WAL positions over time, so replica lag can be told in seconds from the primary
        // alone: a replica is as far behind as the newest heartbeat it has replayed.
        `CREATE TABLE IF NOT EXISTS ${qualified(stateSchema, "heartbeat")} (
          ts timestamptz PRIMARY KEY,
          lsn pg_lsn NOT NULL
        )`,
      ];
    },
  },
  {
    version: 2,
    adds: "carried foreign keys, the guard's holder, rows whose up failed",
    statements: (stateSchema) => [
      // Foreign keys of other tables that a contract re-created NOT VALID, for validation after it.
      `ALTER TABLE ${qualified(stateSchema, "migrations")} ADD COLUMN IF NOT EXISTS carried jsonb NOT NULL DEFAULT '[]'`,
      `ALTER TABLE ${qualified(stateSchema, "leases")} ADD COLUMN IF NOT EXISTS holder jsonb`,
      // Rows an old-version client wrote for which `up` failed: the write went through with
      // the new columns empty; verify and complete refuse until each is fixed or gone.
      `CREATE TABLE IF NOT EXISTS ${qualified(stateSchema, "up_failures")} (
        id bigserial PRIMARY KEY,
        schema text NOT NULL,
        table_name text NOT NULL,
        key jsonb,
        key_text text,
        "values" text,
        sqlstate text,
        error text NOT NULL,
        count bigint NOT NULL DEFAULT 1,
        first_at timestamptz NOT NULL DEFAULT now(),
        last_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE UNIQUE INDEX IF NOT EXISTS up_failures_row ON ${qualified(stateSchema, "up_failures")} (schema, table_name, key)`,
    ],
  },
  {
    version: 3,
    adds: "the audit trail, and the foreground reading of a backfill job",
    statements: (stateSchema) => [
      // Every action that changes state, kept after its migration ends (audit.ts).
      ...auditDdl(stateSchema),
      // Added while the state schema was at version 2 without raising it: some version 2 schemas lack it.
      ...backfillForegroundDdl(stateSchema),
    ],
  },
  {
    version: 4,
    // Only a function changed, and the functions are made again by every upgrade.
    adds: "record_up_failure checks that its caller could be a dual-write trigger",
    statements: () => [],
  },
  {
    version: 5,
    adds: "each migration record's plan format",
    statements: (stateSchema) => [
      // Plans stored before records said their format have format 1 (plan-format.ts).
      `ALTER TABLE ${qualified(stateSchema, "migrations")} ADD COLUMN IF NOT EXISTS plan_format integer NOT NULL DEFAULT 1`,
    ],
  },
];

/**
 * The version of the state schema's tables and functions this release writes. The first
 * guarded command of a newer release on an older state schema brings it up to date, so a
 * migration started by the previous release completes or rolls back with the new one.
 */
export const STATE_SCHEMA_VERSION = UPGRADES[UPGRADES.length - 1]!.version;

/**
 * The backfill's tables: one job per table of a migration, its key space cut into ranges
 * that workers lease; each range's cursor moves in the same transaction as its batch.
 */
function backfillTablesDdl(stateSchema: string): string[] {
  return [
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
  ];
}

/** What the foreground guard of the process running the job saw last (foreground.ts). */
function backfillForegroundDdl(stateSchema: string): string[] {
  return [`ALTER TABLE ${qualified(stateSchema, "backfill_jobs")} ADD COLUMN IF NOT EXISTS foreground jsonb`];
}

/**
 * The functions of the state schema, at this release's bodies. CREATE OR REPLACE makes
 * them idempotent, so every upgrade makes them all again: a step need not say which
 * function it changed, and none is left at an older body.
 */
function stateFunctionsDdl(stateSchema: string): string[] {
  return [
    // Application roles fire the dual-write triggers, whose functions live here.
    `GRANT USAGE ON SCHEMA ${ident(stateSchema)} TO PUBLIC`,
    clientVersionFunction(stateSchema),
    knownVersionFunction(stateSchema),
    isNewVersionFunction(stateSchema),
    defaultMarkFunction(),
    recordUpFailureFunction(stateSchema),
  ];
}

/** The statements that bring a state schema from `from` (0: none yet) to this release's version. */
export function stateSchemaDdl(stateSchema: string, from = 0): string[] {
  const s = ident(stateSchema);
  return [
    ...UPGRADES.filter((u) => u.version > from).flatMap((u) => u.statements(stateSchema)),
    ...stateFunctionsDdl(stateSchema),
  ].map((statement) => statement.replaceAll("__STATE__", s));
}

/**
 * `default_mark(setting, tag, value)`: the physical default of a column only one version
 * has, while its table is dual-written. It returns the column's real default and notes, in
 * a transaction-local setting the trigger reads and clears for each row, that the
 * statement left the column to the table. Version views carry their own defaults, so a
 * write through a view never runs it for that view's columns.
 */
function defaultMarkFunction(): string {
  return `CREATE OR REPLACE FUNCTION __STATE__.default_mark(p_setting text, p_tag text, p_value anyelement) RETURNS anyelement
  LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  PERFORM set_config(p_setting, coalesce(nullif(current_setting(p_setting, true), ''), ',') || p_tag || ',', true);
  RETURN p_value;
END
$fn$`;
}

/**
 * `record_up_failure(...)`: called by a dual-write trigger when `up` fails for a row an
 * old-version client writes. It runs as the state schema's owner, since application
 * roles cannot write the state tables.
 */
function recordUpFailureFunction(stateSchema: string): string {
  const table = qualified(stateSchema, "up_failures");
  const migrations = qualified(stateSchema, "migrations");
  // Every role may execute it (the dual-write trigger runs as whoever writes), so it checks
  // that the call could be the trigger's: inside a trigger, while a migration of that schema
  // is active, by a session whose role (or a role it is a member of) may write the table. A
  // role that can only log in cannot forge failures that hold up complete. A write whose up
  // fails, made by a session that cannot write the table itself (through another owner's
  // SECURITY DEFINER function), is refused with this error rather than losing its value.
  return `CREATE OR REPLACE FUNCTION __STATE__.record_up_failure(p_schema text, p_table text, p_key jsonb, p_key_text text, p_values text, p_sqlstate text, p_error text)
  RETURNS void LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $fn$
  BEGIN
    IF pg_trigger_depth() = 0
       OR NOT EXISTS (SELECT 1 FROM ${migrations} m WHERE m.schema = p_schema AND ${activePhaseSql("m.phase")})
       OR to_regclass(format('%I.%I', p_schema, p_table)) IS NULL
       OR NOT EXISTS (SELECT 1 FROM pg_roles r
                       WHERE pg_has_role(session_user, r.oid, 'MEMBER')
                         AND has_table_privilege(r.oid, format('%I.%I', p_schema, p_table)::regclass, 'INSERT, UPDATE')) THEN
      RAISE EXCEPTION 'underway: up failed for a row of %.% (%: %), and this session may not record it: only the dual-write trigger of a role that may write the table records a failed up', p_schema, p_table, p_sqlstate, p_error
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO ${table} AS f (schema, table_name, key, key_text, "values", sqlstate, error)
    VALUES (p_schema, p_table, p_key, p_key_text, p_values, p_sqlstate, p_error)
    ON CONFLICT (schema, table_name, key) DO UPDATE
      SET "values" = excluded."values", sqlstate = excluded.sqlstate, error = excluded.error, count = f.count + 1, last_at = now();
  END
$fn$`;
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

/**
 * Creates the state schema, or brings an existing one up to this release's version: in
 * one transaction, behind an advisory lock (CREATE ... IF NOT EXISTS is not safe against
 * a concurrent one), each DDL statement with a lock timeout. A state schema already at
 * this version is left alone; a newer one is refused, changing nothing.
 */
export async function initStateSchema(client: Client, stateSchema: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`underway-init:${stateSchema}`]);
    // Its ALTER TABLEs take ACCESS EXCLUSIVE on the state tables even when there is nothing to add: never queue behind a long holder.
    await client.query("SET LOCAL lock_timeout = '10s'");
    // Read under the lock: a concurrent upgrade may have just finished.
    const from = await recordedVersion(client, stateSchema);
    refuseNewer(stateSchema, from);
    if (from < STATE_SCHEMA_VERSION) {
      for (const statement of stateSchemaDdl(stateSchema, from)) await client.query(statement);
      const version = qualified(stateSchema, "state_version");
      await client.query(`CREATE TABLE IF NOT EXISTS ${version} (version integer NOT NULL)`);
      // One row; earlier releases read max(version), and refuse a version newer than theirs.
      await client.query(`DELETE FROM ${version}`);
      await client.query(`INSERT INTO ${version} (version) VALUES ($1)`, [STATE_SCHEMA_VERSION]);
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

/**
 * The version the state schema records: 0 when there is none, 1 for one made before
 * versions were recorded (it has the migrations table but no `state_version`).
 */
export async function recordedVersion(client: Client, stateSchema: string): Promise<number> {
  if (!(await stateSchemaExists(client, stateSchema))) return 0;
  const { rows: exists } = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [qualified(stateSchema, "state_version")]);
  if (!exists[0]!.ok) return 1;
  const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${qualified(stateSchema, "state_version")}`);
  return rows[0]?.version ?? 1;
}

/**
 * Refuses a state schema written by a newer release, before anything is changed: its
 * tables may mean what this release does not know.
 */
export async function refuseNewerStateSchema(client: Client, stateSchema: string): Promise<void> {
  refuseNewer(stateSchema, await recordedVersion(client, stateSchema));
}

function refuseNewer(stateSchema: string, version: number): void {
  if (version <= STATE_SCHEMA_VERSION) return;
  throw new UnderwayError(
    "INVALID_STATE",
    `the state schema "${stateSchema}" was written by a newer underway (state version ${version}, this release knows up to ${STATE_SCHEMA_VERSION}); nothing was changed: use that release or a newer one`,
  );
}

/**
 * Brings an existing state schema up to this release's version; does nothing when there
 * is none (a planned `start` or `init` creates it) or when it is up to date, so a guarded
 * command takes no lock on the state tables in the usual case.
 */
export async function upgradeStateSchema(client: Client, stateSchema: string): Promise<void> {
  const version = await recordedVersion(client, stateSchema);
  refuseNewer(stateSchema, version);
  if (version === 0 || version === STATE_SCHEMA_VERSION) return;
  await initStateSchema(client, stateSchema);
}
