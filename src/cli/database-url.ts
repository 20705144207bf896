import { connectTimeoutOf, redactUrl, withConnectTimeout } from "../db/connection.js";
import { parseDurationMs } from "../util/time.js";
import { tlsPlanFor } from "../db/tls.js";
import { UnderwayError } from "../errors.js";

/**
 * The database URL the options give, checked: a postgres:// or postgresql:// URL (else a
 * usage error, exit 2), with --connect-timeout written into it as libpq's connect_timeout,
 * so every connection of the command (backfill workers too) waits no longer.
 */
export function databaseUrlFrom(options: { databaseUrl?: string | undefined; connectTimeout?: string | undefined; databaseUrlSource?: string | undefined }): string {
  // The configuration (config.ts) has put DATABASE_URL here already when no flag, UNDERWAY_DATABASE_URL or file gave one.
  const given = options.databaseUrl;
  if (!given) {
    throw new UnderwayError(
      "INVALID_ARGUMENT",
      "no database given: pass --database-url, set DATABASE_URL (or UNDERWAY_DATABASE_URL), or give databaseUrl in underway.config.json",
    );
  }
  const source = options.databaseUrlSource ?? "--database-url";
  let parsed: URL;
  try {
    parsed = new URL(given);
  } catch {
    throw new UnderwayError("INVALID_ARGUMENT", `${source} is not a URL: ${redactUrl(given)} (expected postgres://user:password@host:port/database)`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new UnderwayError(
      "INVALID_ARGUMENT",
      `${source} must be a PostgreSQL URL (postgres:// or postgresql://), got "${parsed.protocol}//...": ${redactUrl(given)}`,
    );
  }
  connectTimeoutOf(given);
  // A bad sslmode or an unreadable certificate is a usage error before anything runs.
  tlsPlanFor(given);
  if (options.connectTimeout === undefined) return given;
  const ms = parseDurationMs(options.connectTimeout, "--connect-timeout");
  if (ms < 1000) throw new UnderwayError("INVALID_ARGUMENT", `--connect-timeout must be at least 1s, got "${options.connectTimeout}"`);
  return withConnectTimeout(given, ms);
}
