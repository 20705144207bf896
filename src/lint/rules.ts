/**
 * The linter's rules: what each one catches, the lock behind it and what to run instead.
 * `docs/lint.md` and the SARIF rule descriptors are written from this table.
 */

export type Severity = "error" | "warning";

export const RULE_IDS = [
  "require-concurrent-index-creation",
  "require-concurrent-index-deletion",
  "reindex-without-concurrently",
  "concurrently-in-transaction",
  "volatile-default",
  "column-type-change",
  "stored-generated-column",
  "serial-or-identity-column",
  "table-rewrite",
  "set-not-null-scan",
  "foreign-key-without-not-valid",
  "check-without-not-valid",
  "validate-in-same-transaction",
  "constraint-builds-index",
  "not-null-column-without-default",
  "lock-table",
  "refresh-matview-without-concurrently",
  "rename-column",
  "rename-table",
  "drop-column",
  "drop-table",
  "backfill-in-ddl-transaction",
  "lock-held-across-statements",
  "missing-lock-timeout",
  "unsupported-by-target",
  "advisory-lock-no-op",
  "ddl-in-transaction",
  "rewrite-loses-writes",
  "untranslated-statement",
] as const;

export type RuleId = (typeof RULE_IDS)[number];

export interface RuleDescription {
  id: RuleId;
  severity: Severity;
  /** One line: what the rule catches. */
  summary: string;
  /** The lock taken and what it blocks, or what breaks. */
  lock: string;
  /** What to run instead, including the underway operation that does it. */
  alternative: string;
  /** Where the rule applies: PostgreSQL, or a distributed engine's documented behaviour. */
  engines: readonly ("postgres" | "cockroachdb" | "yugabytedb")[];
}

const PG = ["postgres"] as const;
const ALL = ["postgres", "cockroachdb", "yugabytedb"] as const;

export const RULES: Record<RuleId, RuleDescription> = {
  "require-concurrent-index-creation": {
    id: "require-concurrent-index-creation",
    severity: "error",
    summary: "CREATE INDEX without CONCURRENTLY on an existing table",
    lock: "SHARE on the table for the whole build: every INSERT, UPDATE and DELETE waits",
    alternative: "CREATE INDEX CONCURRENTLY, outside a transaction block (underway: create_index)",
    engines: PG,
  },
  "require-concurrent-index-deletion": {
    id: "require-concurrent-index-deletion",
    severity: "error",
    summary: "DROP INDEX without CONCURRENTLY",
    lock: "ACCESS EXCLUSIVE on the index's table: reads and writes queue behind it (and behind any long transaction it waits for)",
    alternative: "DROP INDEX CONCURRENTLY, outside a transaction block (underway: drop_index)",
    engines: PG,
  },
  "reindex-without-concurrently": {
    id: "reindex-without-concurrently",
    severity: "error",
    summary: "REINDEX without CONCURRENTLY",
    lock: "SHARE on the table (writes wait) and ACCESS EXCLUSIVE on each index (queries using it wait) for the whole rebuild",
    alternative: "REINDEX ... CONCURRENTLY (PostgreSQL 12+), outside a transaction block",
    engines: PG,
  },
  "concurrently-in-transaction": {
    id: "concurrently-in-transaction",
    severity: "error",
    summary: "CONCURRENTLY (or VACUUM) inside a transaction block",
    lock: "none: PostgreSQL refuses it (ERROR 25001: cannot run inside a transaction block), so the migration fails",
    alternative: "run the statement on its own, outside BEGIN/COMMIT and not batched with other statements",
    engines: PG,
  },
  "volatile-default": {
    id: "volatile-default",
    severity: "error",
    summary: "ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval() ...)",
    lock: "ACCESS EXCLUSIVE while every row is rewritten: reads and writes wait for the whole rewrite",
    alternative: "add the column without a default (or with a constant one), set the default, backfill in batches (underway: add_column with up)",
    engines: PG,
  },
  "column-type-change": {
    id: "column-type-change",
    severity: "error",
    summary: "ALTER COLUMN ... TYPE that rewrites the table",
    lock: "ACCESS EXCLUSIVE while every row and index is rewritten; the running application also sees the new type at once",
    alternative: "underway alter_column with type, up and down: a new column kept in step by triggers, backfilled in batches, swapped at complete",
    engines: PG,
  },
  "stored-generated-column": {
    id: "stored-generated-column",
    severity: "error",
    summary: "ADD COLUMN ... GENERATED ALWAYS AS (...) STORED on an existing table",
    lock: "ACCESS EXCLUSIVE while every row is rewritten to compute the column",
    alternative: "add a plain column, fill it with a trigger and a batched backfill (underway: add_column with up); on PostgreSQL 18 a VIRTUAL generated column needs no rewrite",
    engines: PG,
  },
  "serial-or-identity-column": {
    id: "serial-or-identity-column",
    severity: "error",
    summary: "ADD COLUMN of type serial/bigserial or GENERATED ... AS IDENTITY on an existing table",
    lock: "ACCESS EXCLUSIVE while every row is rewritten to take a sequence value",
    alternative: "add a nullable bigint column, create the sequence and set the default, backfill in batches (underway: add_column with up: nextval(...))",
    engines: PG,
  },
  "table-rewrite": {
    id: "table-rewrite",
    severity: "error",
    summary: "a statement that rewrites the whole table: SET TABLESPACE, VACUUM FULL, CLUSTER, SET LOGGED/UNLOGGED, SET ACCESS METHOD, SET EXPRESSION",
    lock: "ACCESS EXCLUSIVE for the whole rewrite: reads and writes wait",
    alternative: "pg_repack or pg_squeeze for bloat and clustering; an underway shadow-table rebuild for the rest",
    engines: PG,
  },
  "set-not-null-scan": {
    id: "set-not-null-scan",
    severity: "error",
    summary: "ALTER COLUMN ... SET NOT NULL on an existing table without a validated CHECK (col IS NOT NULL)",
    lock: "ACCESS EXCLUSIVE while the whole table is scanned for NULLs",
    alternative:
      "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; then SET NOT NULL skips the scan (underway: alter_column nullable: false)",
    engines: PG,
  },
  "foreign-key-without-not-valid": {
    id: "foreign-key-without-not-valid",
    severity: "error",
    summary: "FOREIGN KEY added to an existing table without NOT VALID",
    lock: "SHARE ROW EXCLUSIVE on both tables while every row is checked: writes to both wait",
    alternative: "ADD CONSTRAINT ... NOT VALID, then VALIDATE CONSTRAINT in a later transaction (underway: create_constraint type foreign_key)",
    engines: PG,
  },
  "check-without-not-valid": {
    id: "check-without-not-valid",
    severity: "error",
    summary: "CHECK constraint added to an existing table without NOT VALID",
    lock: "ACCESS EXCLUSIVE while every row is checked",
    alternative: "ADD CONSTRAINT ... CHECK (...) NOT VALID, then VALIDATE CONSTRAINT in a later transaction (underway: create_constraint type check)",
    engines: PG,
  },
  "validate-in-same-transaction": {
    id: "validate-in-same-transaction",
    severity: "error",
    summary: "VALIDATE CONSTRAINT in the same transaction that added the constraint NOT VALID",
    lock: "the ADD's lock (ACCESS EXCLUSIVE or SHARE ROW EXCLUSIVE) is still held while VALIDATE scans the table",
    alternative: "commit after ADD CONSTRAINT ... NOT VALID and validate in a separate transaction",
    engines: PG,
  },
  "constraint-builds-index": {
    id: "constraint-builds-index",
    severity: "error",
    summary: "UNIQUE, PRIMARY KEY or EXCLUDE constraint that builds its index inside ALTER TABLE",
    lock: "ACCESS EXCLUSIVE while the index is built: reads and writes wait",
    alternative:
      "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX (or PRIMARY KEY USING INDEX) (underway: create_constraint type unique)",
    engines: PG,
  },
  "not-null-column-without-default": {
    id: "not-null-column-without-default",
    severity: "error",
    summary: "ADD COLUMN ... NOT NULL without a default",
    lock: "fails on any table with rows (existing rows would be NULL); the application's INSERTs that omit it fail too",
    alternative: "add it with a constant default, or nullable, backfill, then SET NOT NULL the safe way (underway: add_column with up)",
    engines: ALL,
  },
  "lock-table": {
    id: "lock-table",
    severity: "error",
    summary: "explicit LOCK TABLE",
    lock: "the mode named, held until the transaction ends; SHARE and stronger block writes, ACCESS EXCLUSIVE blocks reads",
    alternative: "do without it: build the change from statements that take brief locks (underway runs each step with lock_timeout and retries)",
    engines: PG,
  },
  "refresh-matview-without-concurrently": {
    id: "refresh-matview-without-concurrently",
    severity: "error",
    summary: "REFRESH MATERIALIZED VIEW without CONCURRENTLY",
    lock: "ACCESS EXCLUSIVE on the view for the whole refresh: every read of it waits",
    alternative: "REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index on the view)",
    engines: PG,
  },
  "rename-column": {
    id: "rename-column",
    severity: "error",
    summary: "RENAME COLUMN",
    lock: "ACCESS EXCLUSIVE, brief; but the running application still uses the old name and its queries fail",
    alternative: "underway rename_column: both names work (through version schemas) until complete",
    engines: ALL,
  },
  "rename-table": {
    id: "rename-table",
    severity: "error",
    summary: "ALTER TABLE ... RENAME TO",
    lock: "ACCESS EXCLUSIVE, brief; but the running application still uses the old name and its queries fail",
    alternative: "underway rename_table: both names work (through version schemas) until complete",
    engines: ALL,
  },
  "drop-column": {
    id: "drop-column",
    severity: "error",
    summary: "DROP COLUMN",
    lock: "ACCESS EXCLUSIVE, brief; but the running application may still read or write the column, and the data is gone",
    alternative: "stop using the column in the application first, then drop it (underway: drop_column hides it until complete, so rollback keeps the data)",
    engines: ALL,
  },
  "drop-table": {
    id: "drop-table",
    severity: "error",
    summary: "DROP TABLE of an existing table",
    lock: "ACCESS EXCLUSIVE, brief; but the running application may still use the table, and the data is gone",
    alternative: "stop using the table first (underway: drop_table hides it until complete, so rollback keeps the data)",
    engines: ALL,
  },
  "backfill-in-ddl-transaction": {
    id: "backfill-in-ddl-transaction",
    severity: "error",
    summary: "UPDATE or DELETE of a table altered earlier in the same transaction",
    lock: "the ALTER's ACCESS EXCLUSIVE lock is held while every row is written: reads and writes wait for the whole update",
    alternative: "commit the schema change first, then update in small batches (underway: add_column/alter_column with up runs a batched, throttled backfill)",
    engines: PG,
  },
  "lock-held-across-statements": {
    id: "lock-held-across-statements",
    severity: "error",
    summary: "a transaction that locks a second table while it holds a strong lock on a first one",
    lock: "the first table stays locked while the second lock is waited for: every query on the first table queues behind it (an error without lock_timeout, a warning with one)",
    alternative: "one table per transaction: commit after each ALTER (underway runs each table's change as its own step, with lock_timeout and retries)",
    engines: PG,
  },
  "missing-lock-timeout": {
    id: "missing-lock-timeout",
    severity: "warning",
    summary: "a statement that takes a strong lock on an existing table with no lock_timeout set before it",
    lock: "while it waits for its lock (behind any long transaction) every later query on the table queues behind it",
    alternative: "SET lock_timeout = '2s' at the top of the file and retry on failure (underway sets it on every step and retries with backoff)",
    engines: PG,
  },
  "unsupported-by-target": {
    id: "unsupported-by-target",
    severity: "error",
    summary: "syntax or a command the target database version or engine does not support",
    lock: "none: the statement fails there",
    alternative: "use the form the target supports (see the message), or raise --target",
    engines: ALL,
  },
  "advisory-lock-no-op": {
    id: "advisory-lock-no-op",
    severity: "error",
    summary: "pg_advisory_lock and friends on CockroachDB",
    lock: "none: CockroachDB documents these functions as accepted for compatibility but not locking, so nothing is serialized",
    alternative: "use a lock row in a table (SELECT ... FOR UPDATE) or CockroachDB's own schema-change jobs",
    engines: ["cockroachdb"],
  },
  "ddl-in-transaction": {
    id: "ddl-in-transaction",
    severity: "error",
    summary: "schema changes inside an explicit transaction on a distributed engine",
    lock: "not atomic there: CockroachDB commits the open transaction before DDL (autocommit_before_ddl) and runs schema changes as jobs that can fail after COMMIT; YugabyteDB runs DDL outside the transaction unless transactional DDL is enabled",
    alternative: "one schema change per transaction, each idempotent, so a partial run can be re-run",
    engines: ["cockroachdb", "yugabytedb"],
  },
  "rewrite-loses-writes": {
    id: "rewrite-loses-writes",
    severity: "error",
    summary: "a table rewrite on YugabyteDB (type change, primary key change, volatile default ...)",
    lock: "YugabyteDB DDL does not lock against DML by default: writes that land during the rewrite can be lost or fail",
    alternative: "add a new column or table and backfill it (underway: alter_column / add_column with up), or stop writes to the table first",
    engines: ["yugabytedb"],
  },
  "untranslated-statement": {
    id: "untranslated-statement",
    severity: "warning",
    summary: "underway convert kept a statement as a raw sql operation",
    lock: "whatever the statement takes: underway runs it as written (with lock_timeout and retries) and cannot undo it beyond dropping what it created",
    alternative: "review the sql operation; give it a down, or split the change into operations underway knows",
    engines: ALL,
  },
};
