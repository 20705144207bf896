/**
 * The distributed engines that speak PostgreSQL's protocol, as their documentation
 * describes them. Documented, not run: no test starts either engine, and underway's
 * engine refuses them today (they report a server_version_num below 140000). The linter
 * uses these profiles for `--target cockroachdb` and `--target yugabytedb`.
 */
import type { DialectProfile } from "./profile.js";

/**
 * CockroachDB (v24.3 and later). Schema changes run online as background jobs, so every
 * index build is online and DDL is not part of the transaction that issued it. Advisory
 * lock functions exist for compatibility but lock nothing. There is no ctid (every table
 * has a primary key, a hidden `rowid` when none is declared) and no WAL to stream: ranges
 * replicate by Raft. Triggers arrived in v24.3, row-level only, with documented gaps
 * (hidden columns are invisible to them; a function a trigger uses cannot be replaced).
 * Its catalog is PostgreSQL's emulated: no security_invoker views, no NOT NULL constraints
 * in pg_constraint.
 * https://www.cockroachlabs.com/docs/stable/postgresql-compatibility
 */
export const COCKROACHDB: DialectProfile = {
  engine: "cockroachdb",
  major: null,
  name: "CockroachDB",
  basis: "documented",
  advisoryLocks: false,
  transactionalDdl: false,
  notValidConstraints: true,
  notNullConstraints: false,
  notValidForeignKeyOnPartitioned: false,
  indexBuild: "online",
  uniqueNullsNotDistinct: false,
  setExpression: false,
  virtualGeneratedColumns: false,
  triggers: "limited",
  securityInvokerViews: false,
  tidRangeScan: false,
  replicationView: false,
  subscriptionRole: false,
};

/**
 * YugabyteDB's YSQL (a fork of PostgreSQL 11's query layer; of 15 from v2.25, whose
 * additions this profile leaves off until a versioned profile is needed). PL/pgSQL and
 * triggers are PostgreSQL's own. DDL takes no table lock against DML by default and index
 * builds are online; DDL is transactional only with transactional DDL enabled. Advisory
 * locks arrived in the v2.25 series (on by default from v2.27): older releases lack them.
 * Rows live in DocDB keyed by the primary key (a hidden row id when none is declared),
 * so there is no ctid paging, and tablets replicate by Raft, not WAL streaming.
 * https://docs.yugabyte.com/stable/explore/ysql-language-features/
 */
export const YUGABYTEDB: DialectProfile = {
  engine: "yugabytedb",
  major: null,
  name: "YugabyteDB",
  basis: "documented",
  advisoryLocks: false,
  transactionalDdl: false,
  notValidConstraints: true,
  notNullConstraints: false,
  notValidForeignKeyOnPartitioned: false,
  indexBuild: "online",
  uniqueNullsNotDistinct: false,
  setExpression: false,
  virtualGeneratedColumns: false,
  triggers: "plpgsql",
  securityInvokerViews: false,
  tidRangeScan: false,
  replicationView: false,
  subscriptionRole: false,
};
