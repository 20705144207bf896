/**
 * The connection URL of a version schema: the URL an application was given, with the
 * version's search path in libpq's `options`, so a client that connects with it sees the
 * new version without any code of its own. What `underway latest` prints.
 */
import { withUrlParameter, withoutPassword } from "./connection.js";
import { ident } from "./ident.js";

/** A version's URL, and whether a password was taken out of it. */
export interface VersionUrl {
  /** The URL as given, without its password, with `-c search_path=...` in its `options`. */
  url: string;
  /** True when the URL given had a password: the client then takes it from PGPASSWORD or ~/.pgpass, as libpq does. */
  passwordLeftOut: boolean;
}

/**
 * The URL with `-c search_path=...` in its `options`: any search_path there replaced, the
 * other options kept, every other part byte for byte as given.
 *
 * @example
 * withSearchPath("postgres://app@db/shop?options=-c%20work_mem%3D64MB", '"public_02_rename",public')
 * // the options become "-c work_mem=64MB -c search_path=\"public_02_rename\",public"
 */
export function withSearchPath(given: string, searchPath: string): string {
  return withUrlParameter(given, "options", (previous) => {
    const others = previous.join(" ").replace(/(^|\s)-c\s*search_path=\S+/g, "").trim();
    return `${others ? `${others} ` : ""}-c search_path=${searchPath}`;
  });
}

/**
 * The URL a client of `versionSchema` connects with: the version schema first on its
 * search path, then `schema` for what the version does not define. Without the password:
 * underway hands back no password, ever.
 *
 * Behind a transaction pooler (PgBouncer in transaction mode) the URL's options are not
 * passed on; there a client sets the search path in each transaction (`withVersion`).
 *
 * @example
 * const latest = await migrator.latest();
 * const { url } = versionUrl(process.env.DATABASE_URL!, latest!.versionSchema, "public");
 */
export function versionUrl(databaseUrl: string, versionSchema: string, schema: string): VersionUrl {
  const withoutSecret = withoutPassword(databaseUrl);
  return { url: withSearchPath(withoutSecret, `${ident(versionSchema)},${ident(schema)}`), passwordLeftOut: withoutSecret !== databaseUrl };
}
