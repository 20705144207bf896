/**
 * What the linted SQL will run on: a PostgreSQL major version, or a distributed engine
 * whose behaviour underway knows from its documentation only.
 */
import { UnderwayError } from "../errors.js";

export type Target =
  | { engine: "postgres"; major: number }
  | { engine: "cockroachdb" }
  | { engine: "yugabytedb" };

/**
 * The oldest PostgreSQL major underway supports, and the default target. Older majors are
 * refused: underway cannot run there, so neither its findings nor its hints would hold.
 */
export const DEFAULT_POSTGRES_MAJOR = 14;
export const NEWEST_POSTGRES_MAJOR = 18;

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
    if (major >= DEFAULT_POSTGRES_MAJOR && major <= NEWEST_POSTGRES_MAJOR) return { engine: "postgres", major };
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

/** PostgreSQL at or above a major (false for the distributed engines). */
export function postgresAtLeast(target: Target, major: number): boolean {
  return target.engine === "postgres" && target.major >= major;
}
