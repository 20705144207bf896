/**
 * What the linted SQL will run on: a PostgreSQL major version, or a distributed engine
 * whose behaviour underway knows from its documentation only. What each can do is its
 * dialect profile (src/dialect/).
 */
import { COCKROACHDB, YUGABYTEDB } from "../dialect/distributed.js";
import { NEWEST_POSTGRES_MAJOR, OLDEST_POSTGRES_MAJOR, postgresProfile } from "../dialect/postgres.js";
import type { DialectProfile } from "../dialect/profile.js";
import { UnderwayError } from "../errors.js";

export type Target =
  | { engine: "postgres"; major: number }
  | { engine: "cockroachdb" }
  | { engine: "yugabytedb" };

/**
 * The oldest PostgreSQL major underway supports, and the default target. Older majors are
 * refused: underway cannot run there, so neither its findings nor its hints would hold.
 */
export const DEFAULT_POSTGRES_MAJOR = OLDEST_POSTGRES_MAJOR;
export { NEWEST_POSTGRES_MAJOR };

export const DEFAULT_TARGET: Target = { engine: "postgres", major: DEFAULT_POSTGRES_MAJOR };

/**
 * Reads `postgres@14` ... `postgres@18`, `postgres` (the default major), `cockroachdb` or
 * `yugabytedb`.
 *
 * @throws UnderwayError `INVALID_ARGUMENT` for anything else.
 *
 * @example
 * parseTarget("postgres@17"); // { engine: "postgres", major: 17 }
 */
export function parseTarget(text: string): Target {
  const value = text.trim().toLowerCase();
  if (value === "cockroachdb" || value === "cockroach" || value === "crdb") return { engine: "cockroachdb" };
  if (value === "yugabytedb" || value === "yugabyte" || value === "yb") return { engine: "yugabytedb" };
  const match = /^(?:postgres|postgresql|pg)(?:@(\d+))?$/.exec(value);
  if (match !== null) {
    const major = match[1] === undefined ? DEFAULT_POSTGRES_MAJOR : Number(match[1]);
    if (postgresProfile(major) !== undefined) return { engine: "postgres", major };
    throw new UnderwayError(
      "INVALID_ARGUMENT",
      `unsupported target "${text}": underway supports PostgreSQL ${DEFAULT_POSTGRES_MAJOR} to ${NEWEST_POSTGRES_MAJOR} (postgres@${DEFAULT_POSTGRES_MAJOR} ... postgres@${NEWEST_POSTGRES_MAJOR})`,
    );
  }
  throw new UnderwayError(
    "INVALID_ARGUMENT",
    `unknown target "${text}": use postgres@${DEFAULT_POSTGRES_MAJOR} ... postgres@${NEWEST_POSTGRES_MAJOR}, cockroachdb or yugabytedb`,
  );
}

export function formatTarget(target: Target): string {
  return target.engine === "postgres" ? `postgres@${target.major}` : target.engine;
}

/**
 * What the target can do. A PostgreSQL target's major is one `parseTarget` accepted.
 *
 * @example
 * targetProfile(parseTarget("postgres@15")).uniqueNullsNotDistinct; // true
 */
export function targetProfile(target: Target): DialectProfile {
  if (target.engine === "cockroachdb") return COCKROACHDB;
  if (target.engine === "yugabytedb") return YUGABYTEDB;
  const profile = postgresProfile(target.major);
  if (profile === undefined) throw new Error(`no profile for postgres@${target.major}: build targets with parseTarget`);
  return profile;
}

/** A feature a later PostgreSQL major added, by its capability in the profile. */
export type PostgresFeature = "uniqueNullsNotDistinct" | "setExpression" | "virtualGeneratedColumns" | "notNullConstraints" | "notValidForeignKeyOnPartitioned";

/**
 * Whether a PostgreSQL target is too old for a feature a later major added. False for the
 * distributed engines: what they lack is reported by rules of their own.
 */
export function postgresLacks(target: Target, feature: PostgresFeature): boolean {
  return target.engine === "postgres" && !targetProfile(target)[feature];
}
