/**
 * How volatile a column default is, which decides whether ADD COLUMN rewrites the table:
 * since PostgreSQL 11 a non-volatile default is evaluated once and stored in the catalog
 * ("fast default"); a volatile one must be evaluated for every existing row, so the
 * table is rewritten under ACCESS EXCLUSIVE (docs: ALTER TABLE, Notes).
 */
import type { Node } from "libpg-query";

import { functionsCalled } from "./ast.js";

export type Volatility = "non-volatile" | "volatile" | "unknown";

/** Built-in functions marked VOLATILE in pg_proc that show up in column defaults. */
const VOLATILE = new Set([
  "random",
  "random_normal",
  "gen_random_uuid",
  "uuidv4",
  "uuidv7",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "gen_random_bytes",
  "clock_timestamp",
  "timeofday",
  "nextval",
  "setval",
  "txid_current",
  "pg_current_xact_id",
  "uuid_generate_v7",
  "ulid",
  "gen_ulid",
  "generate_ulid",
]);

/** Built-in IMMUTABLE or STABLE functions common in defaults: evaluated once, no rewrite. */
const NON_VOLATILE = new Set([
  "now",
  "statement_timestamp",
  "transaction_timestamp",
  "current_setting",
  "lower",
  "upper",
  "trim",
  "btrim",
  "concat",
  "concat_ws",
  "length",
  "md5",
  "to_char",
  "to_date",
  "to_timestamp",
  "to_json",
  "to_jsonb",
  "json_build_object",
  "jsonb_build_object",
  "json_build_array",
  "jsonb_build_array",
  "array_fill",
  "make_date",
  "make_interval",
  "make_timestamp",
  "make_timestamptz",
  "date_trunc",
  "timezone",
  "coalesce",
  "nullif",
  "greatest",
  "least",
  "abs",
  "round",
  "floor",
  "ceil",
  "pg_catalog.now",
  "current_user",
  "session_user",
  "current_database",
  "current_schema",
  "inet_client_addr",
  "uuid_nil",
  "uuid_ns_url",
]);

/**
 * Classifies a default expression. Constants, casts, operators and SQL value functions
 * (CURRENT_TIMESTAMP, CURRENT_DATE ...) are non-volatile; a known volatile function makes
 * it volatile; any other function makes it unknown (a user function may be either).
 *
 * @example
 * volatilityOf(defaultNode); // { volatility: "volatile", functions: ["gen_random_uuid"] }
 */
export function volatilityOf(expression: Node | undefined): { volatility: Volatility; functions: string[] } {
  if (expression === undefined) return { volatility: "non-volatile", functions: [] };
  const called = functionsCalled(expression);
  const volatile = called.filter((name) => VOLATILE.has(name));
  if (volatile.length > 0) return { volatility: "volatile", functions: volatile };
  const unknown = called.filter((name) => !NON_VOLATILE.has(name));
  if (unknown.length > 0) return { volatility: "unknown", functions: unknown };
  return { volatility: "non-volatile", functions: [] };
}
