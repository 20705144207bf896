import { ident } from "./ident.js";

/** Which version a transaction uses. */
export interface VersionTarget {
  /** The version schema, e.g. `public_02_rename_widen` (see `underway latest`). */
  versionSchema: string;
  /** The base schema, searched after the version schema (for functions, types). Default `public`. */
  schema?: string;
}

/**
 * The statement that pins the current transaction to a version: `search_path` for name
 * resolution and `underway.version` for the dual-write triggers, both `SET LOCAL`
 * (`set_config(..., true)`), so they end with the transaction. That is what keeps it
 * correct behind PgBouncer in transaction mode, which hands the next transaction on the
 * same server connection to another client and would carry session settings over.
 *
 * It fails (`schema "..." does not exist`, SQLSTATE 3F000) once the version schema is
 * gone: after the next migration completes, a client still pinned to this version gets
 * an error instead of silently reading the new shape through the base schema.
 */
export function pinVersionSql(target: VersionTarget): { text: string; values: string[] } {
  const path = `${ident(target.versionSchema)}, ${ident(target.schema ?? "public")}`;
  return {
    text: "SELECT set_config('search_path', $1, true), set_config('underway.version', $2, true), $3::regnamespace",
    values: [path, target.versionSchema, ident(target.versionSchema)],
  };
}
