import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { loadMigrationFile } from "../../src/format/load.js";
import { UnderwayError } from "../../src/errors.js";
import { dualWriteFunctionName } from "../../src/plan/dual-write.js";
import { freshDatabase, serverInfo } from "../support/database.js";

/**
 * pgroll's operation tests (`pkg/migrations/op_*_test.go`), run the way its `ExecuteTests`
 * runs them: every migration but the last is started and completed; the last is started,
 * checked, rolled back, checked, started again, completed and checked. Each case gets a
 * database of its own, and the hooks get a connection as the non-superuser role that owns it.
 *
 * Migrations are written as pgroll's JSON files are: `{ name, version_schema?, operations:
 * [{ create_table: {...} }, ...] }`. A version schema is named as pgroll names it,
 * `<schema>_<version_schema or name>`.
 */
export interface PgrollMigration {
  name: string;
  version_schema?: string;
  operations: Record<string, unknown>[];
}

export interface TestCase {
  name: string;
  /** The case needs at least this PostgreSQL major (pgroll's `minPgMajorVersion`). */
  minPgMajorVersion?: number;
  migrations: PgrollMigration[];
  /** The last migration's start must fail: with an error matching this (or any INVALID_MIGRATION for `true`). */
  wantStartErr?: RegExp | true;
  wantRollbackErr?: RegExp | true;
  wantCompleteErr?: RegExp | true;
  afterStart?: (db: Db, schema: string) => Promise<void>;
  afterRollback?: (db: Db, schema: string) => Promise<void>;
  afterComplete?: (db: Db, schema: string) => Promise<void>;
  /**
   * Why underway's result differs from pgroll's here (it does less, or refuses something):
   * the case then asserts underway's behaviour, and the README's section on differences
   * names it.
   */
  differs?: string;
}

/** The database handle the hooks get: one connection, as pgroll's tests use one `*sql.DB`. */
export interface Db {
  query<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

const SCHEMA = "public";

/** pgroll's `roll.VersionedSchemaName`. */
export function versionedSchemaName(schema: string, version: string): string {
  return `${schema}_${version}`;
}

function matches(error: unknown, want: RegExp | true): void {
  expect(error, "expected an error").toBeInstanceOf(Error);
  if (want === true) {
    expect(error).toBeInstanceOf(UnderwayError);
    expect(["INVALID_MIGRATION", "INVALID_STATE"]).toContain((error as UnderwayError).code);
  } else {
    expect((error as Error).message).toMatch(want);
  }
}

/** Registers one vitest case per test case. */
export function executeTests(cases: TestCase[]): void {
  for (const tc of cases) {
    const skip = tc.minPgMajorVersion !== undefined && serverInfo().version < tc.minPgMajorVersion;
    (skip ? it.skip : it)(tc.name, async () => {
      const database = await freshDatabase("pgroll");
      // int8 comes back as a number, as pgroll's tests read it (they turn int64 into int).
      const client = new pg.Client({ connectionString: database.url, types: { getTypeParser: typeParser } });
      await client.connect();
      const migrator = new Migrator({ databaseUrl: database.url, schema: SCHEMA });
      try {
        const dir = await mkdtemp(join(tmpdir(), "underway-pgroll-"));
        const paths: string[] = [];
        for (const m of tc.migrations) {
          const path = join(dir, `${m.name}.json`);
          const { name: _name, ...body } = m;
          await writeFile(path, JSON.stringify(body, null, 2));
          paths.push(path);
        }
        for (const path of paths.slice(0, -1)) {
          await migrator.start(await loadMigrationFile(path));
          await migrator.complete();
        }
        // pgroll validates a file when it starts it; underway reads it first, so an error
        // loading the last file is its start error.
        let last: Awaited<ReturnType<typeof loadMigrationFile>> | undefined;
        const started = await loadMigrationFile(paths[paths.length - 1]!).then(
          (file) => {
            last = file;
            return migrator.start(file).then(() => null);
          },
        ).catch((error: unknown) => error);
        if (tc.wantStartErr !== undefined) {
          matches(started, tc.wantStartErr);
          return;
        }
        if (started) throw started;
        await tc.afterStart?.(client, SCHEMA);
        const rolledBack = await migrator.rollback().then(
          () => null,
          (error: unknown) => error,
        );
        if (tc.wantRollbackErr !== undefined) {
          matches(rolledBack, tc.wantRollbackErr);
          return;
        }
        if (rolledBack) throw rolledBack;
        await tc.afterRollback?.(client, SCHEMA);
        await migrator.start(last!);
        const completed = await migrator.complete().then(
          () => null,
          (error: unknown) => error,
        );
        if (tc.wantCompleteErr !== undefined) {
          matches(completed, tc.wantCompleteErr);
          return;
        }
        if (completed) throw completed;
        await tc.afterComplete?.(client, SCHEMA);
      } finally {
        await client.end().catch(() => undefined);
        await database.drop();
      }
    });
  }
}

function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === 20) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format as "text");
}

// ---------------------------------------------------------------------------------------
// Writes and reads through a version schema, as pgroll's MustInsert and friends do them:
// search_path set to the version schema, values quoted as literals except NULL.
// ---------------------------------------------------------------------------------------

async function setSearchPath(db: Db, schema: string): Promise<void> {
  await db.query(`SET search_path = ${quoteIdent(schema)}`);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function literalOrNull(value: string): string {
  return value === "NULL" ? "NULL" : `'${value.replaceAll("'", "''")}'`;
}

export async function insert(db: Db, schema: string, version: string, table: string, record: Record<string, string>): Promise<void> {
  const versionSchema = versionedSchemaName(schema, version);
  await setSearchPath(db, versionSchema);
  const cols = Object.keys(record).sort();
  await db.query(`INSERT INTO ${versionSchema}.${table} (${cols.join(", ")}) VALUES (${cols.map((c) => literalOrNull(record[c]!)).join(", ")})`);
}

export async function mustInsert(db: Db, schema: string, version: string, table: string, record: Record<string, string>): Promise<void> {
  await insert(db, schema, version, table, record);
}

/** The insert must fail with this PostgreSQL error, by its condition name (`not_null_violation`) as pgroll's tests give it. */
export async function mustNotInsert(db: Db, schema: string, version: string, table: string, record: Record<string, string>, errorCode: string): Promise<void> {
  const error = await insert(db, schema, version, table, record).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected INSERT into ${version}.${table} to fail with ${errorCode}`).not.toBeNull();
  expect(conditionName(error), `INSERT into ${version}.${table}: ${(error as Error).message}`).toBe(errorCode);
}

export async function update(db: Db, schema: string, version: string, table: string, column: string, value: string, record: Record<string, string>): Promise<void> {
  const versionSchema = versionedSchemaName(schema, version);
  await setSearchPath(db, versionSchema);
  const cols = Object.keys(record).sort();
  await db.query(`UPDATE ${versionSchema}.${table} SET ${cols.map((c) => `${c}=${record[c]}`).join(", ")} WHERE ${column}=${value}`);
}

export async function mustUpdate(db: Db, schema: string, version: string, table: string, column: string, value: string, record: Record<string, string>): Promise<void> {
  await update(db, schema, version, table, column, value, record);
}

/** The update must fail with this condition name (pgroll's tests sometimes check an update's failure). */
export async function mustNotUpdate(db: Db, schema: string, version: string, table: string, column: string, value: string, record: Record<string, string>, errorCode: string): Promise<void> {
  const error = await update(db, schema, version, table, column, value, record).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected UPDATE of ${version}.${table} to fail with ${errorCode}`).not.toBeNull();
  expect(conditionName(error), `UPDATE of ${version}.${table}: ${(error as Error).message}`).toBe(errorCode);
}

async function remove(db: Db, schema: string, version: string, table: string, record: Record<string, string>): Promise<void> {
  const versionSchema = versionedSchemaName(schema, version);
  const cols = Object.keys(record).sort();
  await db.query(`DELETE FROM ${versionSchema}.${table} WHERE ${cols.map((c) => `${c} = '${record[c]!.replaceAll("'", "''")}'`).join(" AND ")}`);
}

export async function mustDelete(db: Db, schema: string, version: string, table: string, record: Record<string, string>): Promise<void> {
  await remove(db, schema, version, table, record);
}

export async function mustNotDelete(db: Db, schema: string, version: string, table: string, record: Record<string, string>, errorCode: string): Promise<void> {
  const error = await remove(db, schema, version, table, record).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected DELETE from ${version}.${table} to fail with ${errorCode}`).not.toBeNull();
  expect(conditionName(error), `DELETE from ${version}.${table}: ${(error as Error).message}`).toBe(errorCode);
}

/** `SELECT * FROM <version schema>.<table>`, rows as objects (int8 as numbers), in the order the server returns them. */
export async function mustSelect(db: Db, schema: string, version: string, table: string): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query(`SELECT * FROM ${versionedSchemaName(schema, version)}.${table}`);
  return rows;
}

// ---------------------------------------------------------------------------------------
// Catalog assertions, as pgroll's helpers make them.
// ---------------------------------------------------------------------------------------

async function one<T>(db: Db, text: string, values: unknown[]): Promise<T> {
  const { rows } = await db.query(text, values);
  return Object.values(rows[0] ?? {})[0] as T;
}

const exists = (db: Db, text: string, values: unknown[]) => one<boolean>(db, `SELECT EXISTS (${text})`, values);

export async function viewMustExist(db: Db, schema: string, version: string, view: string): Promise<void> {
  expect(await exists(db, `SELECT 1 FROM pg_catalog.pg_views WHERE schemaname = $1 AND viewname = $2`, [versionedSchemaName(schema, version), view]), `view ${version}.${view} must exist`).toBe(true);
}

export async function viewMustNotExist(db: Db, schema: string, version: string, view: string): Promise<void> {
  expect(await exists(db, `SELECT 1 FROM pg_catalog.pg_views WHERE schemaname = $1 AND viewname = $2`, [versionedSchemaName(schema, version), view]), `view ${version}.${view} must not exist`).toBe(false);
}

const tableExists = (db: Db, schema: string, table: string) => exists(db, `SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2`, [schema, table]);

export async function tableMustExist(db: Db, schema: string, table: string): Promise<void> {
  expect(await tableExists(db, schema, table), `table ${table} must exist`).toBe(true);
}

export async function tableMustNotExist(db: Db, schema: string, table: string): Promise<void> {
  expect(await tableExists(db, schema, table), `table ${table} must not exist`).toBe(false);
}

const columnExists = (db: Db, schema: string, table: string, column: string) =>
  exists(db, `SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3`, [schema, table, column]);

export async function columnMustExist(db: Db, schema: string, table: string, column: string): Promise<void> {
  expect(await columnExists(db, schema, table, column), `column ${table}.${column} must exist`).toBe(true);
}

export async function columnMustNotExist(db: Db, schema: string, table: string, column: string): Promise<void> {
  expect(await columnExists(db, schema, table, column), `column ${table}.${column} must not exist`).toBe(false);
}

/** information_schema's data_type: `integer`, `text`, `character varying`... */
export async function columnMustHaveType(db: Db, schema: string, table: string, column: string, expectedType: string): Promise<void> {
  const type = await one<string>(db, `SELECT data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3`, [schema, table, column]);
  expect(type, `type of ${table}.${column}`).toBe(expectedType);
}

const columnComment = (db: Db, schema: string, table: string, column: string) =>
  one<string | null>(db, `SELECT col_description($1::regclass, (SELECT attnum FROM pg_attribute WHERE attname = $2 AND attrelid = $1::regclass))`, [`${schema}.${table}`, column]);

export async function columnMustHaveComment(db: Db, schema: string, table: string, column: string, expected: string): Promise<void> {
  expect(await columnComment(db, schema, table, column), `comment of ${table}.${column}`).toBe(expected);
}

export async function columnMustNotHaveComment(db: Db, schema: string, table: string, column: string): Promise<void> {
  expect(await columnComment(db, schema, table, column), `comment of ${table}.${column}`).toBeNull();
}

/** information_schema's column_default, as PostgreSQL prints it: `'foo'::text`, `nextval(...)`. */
export async function columnMustHaveDefault(db: Db, schema: string, table: string, column: string, expected: string | null): Promise<void> {
  const value = await one<string | null>(db, `SELECT column_default FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3`, [schema, table, column]);
  expect(value, `default of ${table}.${column}`).toBe(expected);
}

export async function columnMustBePK(db: Db, schema: string, table: string, column: string): Promise<void> {
  expect(
    await exists(db, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary AND a.attname = $2`, [`${schema}.${table}`, column]),
    `${table}.${column} must be part of the primary key`,
  ).toBe(true);
}

export async function tableMustHaveComment(db: Db, schema: string, table: string, expected: string): Promise<void> {
  expect(await one<string | null>(db, `SELECT obj_description($1::regclass, 'pg_class')`, [`${schema}.${table}`]), `comment of ${table}`).toBe(expected);
}

export async function tableMustHaveColumnCount(db: Db, schema: string, table: string, n: number): Promise<void> {
  expect(Number(await one<string>(db, `SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, [schema, table])), `columns of ${table}`).toBe(n);
}

const checkExists = (db: Db, schema: string, table: string, constraint: string, noInherit: boolean) =>
  exists(db, `SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'c' AND connoinherit = $3`, [`${schema}.${table}`, constraint, noInherit]);

export async function checkConstraintMustExist(db: Db, schema: string, table: string, constraint: string): Promise<void> {
  expect(await checkExists(db, schema, table, constraint, false), `check ${constraint} must exist on ${table}`).toBe(true);
}

export async function checkConstraintMustNotExist(db: Db, schema: string, table: string, constraint: string): Promise<void> {
  expect(await checkExists(db, schema, table, constraint, false), `check ${constraint} must not exist on ${table}`).toBe(false);
}

export async function notInheritableCheckConstraintMustExist(db: Db, schema: string, table: string, constraint: string): Promise<void> {
  expect(await checkExists(db, schema, table, constraint, true), `NO INHERIT check ${constraint} must exist on ${table}`).toBe(true);
}

export async function uniqueConstraintMustExist(db: Db, schema: string, table: string, constraint: string): Promise<void> {
  expect(
    await exists(db, `SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'u'`, [`${schema}.${table}`, constraint]),
    `unique constraint ${constraint} must exist on ${table}`,
  ).toBe(true);
}

export type ForeignKeyAction = "NO ACTION" | "RESTRICT" | "SET NULL" | "SET DEFAULT" | "CASCADE";
const ACTIONS: Record<ForeignKeyAction, string> = { "NO ACTION": "a", RESTRICT: "r", "SET NULL": "n", "SET DEFAULT": "d", CASCADE: "c" };

const foreignKeyExists = (db: Db, schema: string, table: string, constraint: string, validated: boolean, onDelete: ForeignKeyAction, onUpdate: ForeignKeyAction) =>
  exists(
    db,
    `SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'f' AND convalidated = $3 AND confdeltype = $4 AND confupdtype = $5`,
    [`${schema}.${table}`, constraint, validated, ACTIONS[onDelete], ACTIONS[onUpdate]],
  );

export async function validatedForeignKeyMustExist(db: Db, schema: string, table: string, constraint: string, onDelete: ForeignKeyAction = "NO ACTION", onUpdate: ForeignKeyAction = "NO ACTION"): Promise<void> {
  expect(await foreignKeyExists(db, schema, table, constraint, true, onDelete, onUpdate), `validated foreign key ${constraint} (${onDelete}/${onUpdate}) must exist on ${table}`).toBe(true);
}

export async function notValidatedForeignKeyMustExist(db: Db, schema: string, table: string, constraint: string, onDelete: ForeignKeyAction = "NO ACTION", onUpdate: ForeignKeyAction = "NO ACTION"): Promise<void> {
  expect(await foreignKeyExists(db, schema, table, constraint, false, onDelete, onUpdate), `NOT VALID foreign key ${constraint} (${onDelete}/${onUpdate}) must exist on ${table}`).toBe(true);
}

export async function tableForeignKeyMustExist(db: Db, schema: string, table: string, constraint: string, deferrable: boolean, initiallyDeferred: boolean): Promise<void> {
  expect(
    await exists(
      db,
      `SELECT 1 FROM information_schema.table_constraints WHERE table_schema = $1 AND table_name = $2 AND constraint_name = $3 AND constraint_type = 'FOREIGN KEY' AND is_deferrable = $4 AND initially_deferred = $5`,
      [schema, table, constraint, deferrable ? "YES" : "NO", initiallyDeferred ? "YES" : "NO"],
    ),
    `foreign key ${constraint} (deferrable ${deferrable}, initially deferred ${initiallyDeferred}) must exist on ${table}`,
  ).toBe(true);
}

export async function primaryKeyConstraintMustExist(db: Db, schema: string, table: string, constraint: string): Promise<void> {
  expect(
    await exists(db, `SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'p'`, [`${schema}.${table}`, constraint]),
    `primary key ${constraint} must exist on ${table}`,
  ).toBe(true);
}

export async function excludeConstraintMustExist(db: Db, schema: string, table: string, constraint: string): Promise<void> {
  expect(
    await exists(db, `SELECT 1 FROM pg_catalog.pg_constraint WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'x'`, [`${schema}.${table}`, constraint]),
    `exclusion constraint ${constraint} must exist on ${table}`,
  ).toBe(true);
}

const indexExists = (db: Db, schema: string, table: string, index: string) =>
  exists(db, `SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexname = $3`, [schema, table, index]);

export async function indexMustExist(db: Db, schema: string, table: string, index: string): Promise<void> {
  expect(await indexExists(db, schema, table, index), `index ${index} must exist on ${table}`).toBe(true);
}

export async function indexMustNotExist(db: Db, schema: string, table: string, index: string): Promise<void> {
  expect(await indexExists(db, schema, table, index), `index ${index} must not exist on ${table}`).toBe(false);
}

export async function indexDescendingMustExist(db: Db, schema: string, table: string, index: string, columnIdx: number): Promise<void> {
  const flags = await one<string>(db, `SELECT indoption::text FROM pg_index WHERE indrelid = $1::regclass AND indexrelid = $2::regclass`, [`${schema}.${table}`, `${schema}.${index}`]);
  const option = Number(flags.split(" ")[columnIdx]);
  expect(option & 1, `column ${columnIdx} of index ${index} must be descending`).toBe(1);
}

/** pg_indexes.indexdef, exactly. */
export async function checkIndexDefinition(db: Db, schema: string, table: string, index: string, expected: string): Promise<void> {
  expect(await one<string>(db, `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexname = $3`, [schema, table, index]), `definition of ${index}`).toBe(expected);
}

/** pg_class.relreplident: `d`, `n`, `f` or `i`. */
export async function replicaIdentityMustBe(db: Db, schema: string, table: string, identity: string): Promise<void> {
  const actual = await one<string>(db, `SELECT c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = $1 AND c.relname = $2`, [schema, table]);
  expect(actual, `replica identity of ${table}`).toBe(identity);
}

/**
 * underway's form of pgroll's TableMustBeCleanedUp (whose checks name pgroll's own
 * temporary columns, functions and triggers): after rollback or complete the table has
 * no column underway made (`_uw_...`) and no dual-write trigger or function. The
 * `columns` argument of pgroll's helper is accepted and not needed.
 */
export async function tableMustBeCleanedUp(db: Db, schema: string, table: string, ..._columns: string[]): Promise<void> {
  const leftovers = await one<string[]>(
    db,
    `SELECT ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attname LIKE '\\_uw\\_%')`,
    [`${quoteIdent(schema)}.${quoteIdent(table)}`],
  );
  expect(leftovers, `columns underway made on ${table}`).toEqual([]);
  const triggers = await one<string[]>(db, `SELECT ARRAY(SELECT tgname::text FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE '%uw_dual_write%')`, [
    `${quoteIdent(schema)}.${quoteIdent(table)}`,
  ]);
  expect(triggers, `dual-write triggers on ${table}`).toEqual([]);
  const functions = await one<number>(db, `SELECT count(*)::int FROM pg_proc WHERE proname = $1`, [dualWriteFunctionName(schema, table)]);
  expect(functions, `dual-write function of ${table}`).toBe(0);
}

/** PostgreSQL's condition names for the SQLSTATEs pgroll's tests check (`not_null_violation`...). */
const CONDITIONS: Record<string, string> = {
  "23502": "not_null_violation",
  "23503": "foreign_key_violation",
  "23505": "unique_violation",
  "23514": "check_violation",
  "23P01": "exclusion_violation",
  "42703": "undefined_column",
  "42P01": "undefined_table",
  "42883": "undefined_function",
  "22P02": "invalid_text_representation",
  "22001": "string_data_right_truncation",
  "22003": "numeric_value_out_of_range",
  "42804": "datatype_mismatch",
  "428C9": "generated_always",
  "42601": "syntax_error",
  "0A000": "feature_not_supported",
  "23000": "integrity_constraint_violation",
  "22023": "invalid_parameter_value",
  "42501": "insufficient_privilege",
  "55000": "object_not_in_prerequisite_state",
  "42809": "wrong_object_type",
};

export function conditionName(error: unknown): string {
  const code = (error as { code?: string } | null)?.code;
  if (typeof code !== "string") return `not a PostgreSQL error: ${String(error)}`;
  return CONDITIONS[code] ?? code;
}
