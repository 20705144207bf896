/**
 * What a database engine and version can do, as far as underway cares: one profile per
 * PostgreSQL major, one per distributed engine. The engine, the planner and the linter ask
 * the profile (`profile.tidRangeScan`) instead of comparing version numbers, so a new
 * dialect is a new profile, and a capability's history is written down once.
 */

/** The engines underway knows. Only PostgreSQL is run; the others are profiles from their documentation. */
export type Engine = "postgres" | "cockroachdb" | "yugabytedb";

/**
 * How sure underway is of a profile: `tested`, the test suite runs on it; `documented`,
 * taken from the engine's documentation and never run against a live cluster.
 */
export type ProfileBasis = "tested" | "documented";

/**
 * How an index is built without blocking writes: `concurrently`, only with `CREATE INDEX
 * CONCURRENTLY`, outside a transaction block (PostgreSQL); `online`, every build is online
 * and `CONCURRENTLY` is accepted for compatibility (CockroachDB, YugabyteDB).
 */
export type IndexBuild = "concurrently" | "online";

/**
 * Which triggers run underway's dual write (row-level `BEFORE INSERT OR UPDATE` PL/pgSQL
 * triggers that read session settings): `plpgsql`, all of it; `limited`, row-level
 * triggers exist with documented gaps underway's triggers may hit.
 */
export type TriggerSupport = "plpgsql" | "limited";

export interface DialectProfile {
  engine: Engine;
  /** The PostgreSQL major; null for a distributed engine, whose one profile covers its recent releases. */
  major: number | null;
  /** How a message names it: `PostgreSQL 16`, `CockroachDB`. */
  name: string;
  basis: ProfileBasis;

  /**
   * Session advisory locks that the server frees the moment the holding session ends:
   * the migration guard on a direct connection. Every PostgreSQL. CockroachDB accepts the
   * functions but they lock nothing; YugabyteDB has them only in its newest releases. Where
   * false, the guard must be the lease row (as behind a pooler on PostgreSQL).
   */
  advisoryLocks: boolean;
  /**
   * DDL that commits or rolls back with its transaction, so a step's DDL and its progress
   * record are one atomic unit. PostgreSQL. CockroachDB runs schema changes as jobs after
   * COMMIT; YugabyteDB only with transactional DDL enabled.
   */
  transactionalDdl: boolean;
  /**
   * `ADD CONSTRAINT ... NOT VALID` for CHECK and FOREIGN KEY, then `VALIDATE CONSTRAINT`
   * under SHARE UPDATE EXCLUSIVE: how expand adds a constraint without a scan under a
   * strong lock. Every profile.
   */
  notValidConstraints: boolean;
  /**
   * NOT NULL as a named constraint of its table (PostgreSQL 18): `ADD CONSTRAINT c NOT NULL
   * col NOT VALID` then VALIDATE, SET NOT NULL without the CHECK detour; pg_constraint
   * lists it, and it goes with its column.
   */
  notNullConstraints: boolean;
  /** A NOT VALID foreign key on a partitioned table (PostgreSQL 18); before, create_constraint refuses one. */
  notValidForeignKeyOnPartitioned: boolean;
  indexBuild: IndexBuild;
  /** `UNIQUE NULLS NOT DISTINCT` (PostgreSQL 15): create_index's `nulls_not_distinct`. */
  uniqueNullsNotDistinct: boolean;
  /** `ALTER COLUMN ... SET EXPRESSION` of a generated column (PostgreSQL 17). */
  setExpression: boolean;
  /** `GENERATED ALWAYS AS (...) VIRTUAL` columns, computed on read, no rewrite (PostgreSQL 18). */
  virtualGeneratedColumns: boolean;
  triggers: TriggerSupport;
  /**
   * `WITH (security_invoker = true)` views (PostgreSQL 15): a version schema's view checks
   * the querying role's rights on the table, as a direct query would. Before, a view reads
   * its table with its owner's rights.
   */
  securityInvokerViews: boolean;
  /**
   * `ctid` and TID range scans (`WHERE ctid >= $1 AND ctid < $2`, PostgreSQL 14): how a
   * table without a unique NOT NULL key is backfilled and verified, by block ranges. The
   * distributed engines have no physical row address, but give every table a primary key
   * (a hidden one if none is declared).
   */
  tidRangeScan: boolean;
  /**
   * `pg_stat_replication` with WAL positions: how a phase waits for the streaming replicas
   * and the backfill reads replica lag. The distributed engines replicate by consensus: a
   * commit is on a quorum of nodes when it returns, and there is no view to ask.
   */
  replicationView: boolean;
  /** The `pg_create_subscription` role (PostgreSQL 16): CREATE SUBSCRIPTION without superuser, for a blue/green move. */
  subscriptionRole: boolean;
}
