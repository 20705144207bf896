/**
 * The PostgreSQL majors underway runs on, each with what it adds to the one before.
 * Release notes: https://www.postgresql.org/docs/release/
 */
import type { DialectProfile } from "./profile.js";

/**
 * The oldest major underway runs on. PostgreSQL 14 brought TID range scans (the backfill
 * and verify page a keyless table by block ranges, which before 14 scan the whole table
 * per batch) and `client_connection_check_interval` (a statement of a vanished client is
 * cancelled instead of holding its locks and the guard).
 */
export const OLDEST_POSTGRES_MAJOR = 14;
/** The newest major the suite runs on (`npm run test:matrix`). */
export const NEWEST_POSTGRES_MAJOR = 18;

const POSTGRES_14: DialectProfile = {
  engine: "postgres",
  major: 14,
  name: "PostgreSQL 14",
  basis: "tested",
  advisoryLocks: true,
  transactionalDdl: true,
  notValidConstraints: true,
  notNullConstraints: false,
  notValidForeignKeyOnPartitioned: false,
  indexBuild: "concurrently",
  uniqueNullsNotDistinct: false,
  setExpression: false,
  virtualGeneratedColumns: false,
  triggers: "plpgsql",
  securityInvokerViews: false,
  tidRangeScan: true,
  replicationView: true,
  subscriptionRole: false,
};

const POSTGRES_15: DialectProfile = { ...POSTGRES_14, major: 15, name: "PostgreSQL 15", uniqueNullsNotDistinct: true, securityInvokerViews: true };
const POSTGRES_16: DialectProfile = { ...POSTGRES_15, major: 16, name: "PostgreSQL 16", subscriptionRole: true };
const POSTGRES_17: DialectProfile = { ...POSTGRES_16, major: 17, name: "PostgreSQL 17", setExpression: true };
const POSTGRES_18: DialectProfile = {
  ...POSTGRES_17,
  major: 18,
  name: "PostgreSQL 18",
  notNullConstraints: true,
  notValidForeignKeyOnPartitioned: true,
  virtualGeneratedColumns: true,
};

const POSTGRES: ReadonlyMap<number, DialectProfile> = new Map([POSTGRES_14, POSTGRES_15, POSTGRES_16, POSTGRES_17, POSTGRES_18].map((p) => [p.major!, p]));

/**
 * The profile of a PostgreSQL major underway supports, or undefined for one it does not
 * know (older than 14, newer than 18): the caller decides whether that is an error.
 *
 * @example
 * postgresProfile(15)?.securityInvokerViews; // true
 */
export function postgresProfile(major: number): DialectProfile | undefined {
  return POSTGRES.get(major);
}
