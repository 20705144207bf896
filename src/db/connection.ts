import type pg from "pg";
import { UnderwayError } from "../errors.js";
import { isTlsDeclined, isTlsFailure, tlsPlanFor } from "./tls.js";

export type Client = pg.Client;

/** Options every connection of underway shares. */
export interface ConnectOptions {
  /** Shown in pg_stat_activity, so operators can tell underway's sessions apart. */
  applicationName?: string;
  /**
   * A limit on each query of this connection, kept by the client (it holds behind a
   * pooler, where a session's statement_timeout would not): for underway's own short
   * control queries, so a stuck server or network is an error, never a hang.
   */
  queryTimeoutMs?: number;
}

/** How long a connection may take to be accepted and answer its start-up, unless the URL says. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The connect timeout a URL asks for: its `connect_timeout` parameter, in seconds as
 * libpq reads it (0 waits forever), else the default. node-postgres ignores that
 * parameter, so underway reads it itself; `--connect-timeout` writes it.
 */
export function connectTimeoutOf(url: string): number {
  let value: string | null = null;
  try {
    value = new URL(url).searchParams.get("connect_timeout");
  } catch {
    return DEFAULT_CONNECT_TIMEOUT_MS;
  }
  if (value === null || value.trim() === "") return DEFAULT_CONNECT_TIMEOUT_MS;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0) {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid connect_timeout "${value}" in the database URL: give whole seconds (0 waits forever)`);
  }
  return seconds * 1000;
}

/**
 * The URL with its `connect_timeout` set to `ms` (rounded up to whole seconds, as libpq
 * reads it); every other part stays byte for byte as it was.
 */
export function withConnectTimeout(url: string, ms: number): string {
  return withUrlParameter(url, "connect_timeout", () => String(Math.ceil(ms / 1000)));
}

/**
 * The URL with its parameter `name` set to what `value` makes of the values it had (percent-
 * decoded); every other part stays byte for byte as it was. Done on the text: libpq
 * percent-decodes parameters but does not read "+" as a space, which URLSearchParams writes.
 */
export function withUrlParameter(url: string, name: string, value: (previous: string[]) => string): string {
  const hash = url.indexOf("#");
  const body = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? "" : url.slice(hash);
  const query = body.indexOf("?");
  const base = query === -1 ? body : body.slice(0, query);
  const params = query === -1 ? [] : body.slice(query + 1).split("&").filter((p) => p !== "");
  const named = (p: string) => p === name || p.startsWith(`${name}=`);
  const previous = params.filter(named).map((p) => decodeURIComponent(p.slice(name.length + 1)));
  const kept = params.filter((p) => !named(p));
  kept.push(`${name}=${encodeURIComponent(value(previous))}`);
  return `${base}?${kept.join("&")}${fragment}`;
}

/**
 * Opens one dedicated connection. DDL always runs on a dedicated connection, never
 * a pool: `SET LOCAL lock_timeout` must apply to the session that runs the DDL.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Client> {
  try {
    // Parse first, so a malformed URL is a one-line error rather than a stack trace from the driver.
    new URL(url);
  } catch {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid database URL: ${redactUrl(url)}`);
  }
  const connectTimeoutMs = connectTimeoutOf(url);
  const tls = tlsPlanFor(url);
  // The driver loads with the first connection: `import "underway"`, `lint` and `--help` never need it.
  const { default: driver } = await import("pg");
  let client: pg.Client | undefined;
  for (const [attempt, ssl] of tls.attempts.entries()) {
    const config: pg.ClientConfig = {
      connectionString: tls.driverUrl,
      ssl,
      application_name: options.applicationName ?? "underway",
      connectionTimeoutMillis: connectTimeoutMs,
      // A peer that vanished (a host down, a cut network) is noticed on an idle connection too.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
    };
    const candidate = new driver.Client(config);
    // An idle connection that errors (server restart, network cut) must not crash the process;
    // the next query on it fails and the caller handles that.
    candidate.on("error", () => {});
    try {
      await candidate.connect();
      client = candidate;
      break;
    } catch (error) {
      await candidate.end().catch(() => undefined);
      // prefer falls back to plain text when the server has no TLS (never when a certificate
      // fails a check: that fails closed); allow tries TLS when the server refused the
      // plain-text connection (pg_hba.conf: hostssl only).
      const fallBack =
        attempt + 1 < tls.attempts.length && (tls.mode === "prefer" ? isTlsDeclined(error) : sqlState(error) === "28000");
      if (fallBack) continue;
      let reason = error instanceof Error ? error.message : String(error);
      if (/timeout expired/i.test(reason) || /Connection terminated due to connection timeout/i.test(reason)) {
        reason = `no answer within ${formatMs(connectTimeoutMs)} (--connect-timeout, or connect_timeout in the URL, sets how long to wait)`;
      } else if (ssl !== false && isTlsFailure(error)) {
        reason = `TLS (sslmode=${tls.mode}): ${reason}`;
      }
      throw new UnderwayError("CONNECTION", `cannot connect to ${redactUrl(url)}: ${reason}`, { cause: error });
    }
  }
  if (client === undefined) throw new UnderwayError("CONNECTION", `cannot connect to ${redactUrl(url)}`);
  // A pooler (PgBouncer, pgcat, Supavisor...) answers the startup with a backend key of its
  // own; the server's pid then differs from it. Behind one, session state (SET, advisory
  // locks) stays on a pooled server connection and may serve another client next, so
  // underway keeps all of its settings to transactions there.
  // A server that accepted the start-up but answers nothing more must not hang us either.
  const { rows } = await client
    .query<{ pid: number }>({ text: "SELECT pg_backend_pid() AS pid", ...(connectTimeoutMs > 0 ? { query_timeout: connectTimeoutMs } : {}) })
    .catch(async (error: unknown) => {
      await client.end().catch(() => undefined);
      const reason = isQueryTimeout(error) ? `no answer within ${formatMs(connectTimeoutMs)} after the start-up` : error instanceof Error ? error.message : String(error);
      throw new UnderwayError("CONNECTION", `cannot connect to ${redactUrl(url)}: ${reason}`, { cause: error });
    });
  const processID = (client as unknown as { processID?: number }).processID;
  pooledClients.set(client, typeof processID === "number" && processID !== rows[0]!.pid);
  if (!isPooled(client)) {
    // If this process dies (kill -9, lost host), the server would otherwise keep running its
    // statement, holding locks and the migration guard, until it next tries to talk to us.
    // PG 14+ can notice a vanished client during a statement (Linux).
    await client.query("SET client_connection_check_interval = 1000").catch(() => undefined);
  }
  return client;
}

/** Whether a query failed because the client stopped waiting for it (`queryTimeoutMs`). */
export function isQueryTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === "Query read timeout";
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const pooledClients = new WeakMap<pg.Client, boolean>();

/** Whether a connection made by `connect` goes through a connection pooler. */
export function isPooled(client: pg.Client): boolean {
  return pooledClients.get(client) === true;
}

/**
 * The URL with its passwords hidden, for messages: the one in the user-info part, and the
 * `password` and `sslpassword` parameters libpq also accepts (`?password=...`). A string
 * that is no URL (a libpq key=value string) has its `password=` values hidden too.
 *
 * @example
 * redactUrl("postgres://app:s3cret@db/shop?sslpassword=k") // "postgres://app:***@db/shop?sslpassword=***"
 */
export function redactUrl(url: string): string {
  const hideParameters = (text: string) => text.replace(/([?&](?:ssl)?password=)[^&#]*/gi, "$1***");
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    const hash = parsed.hash;
    parsed.hash = "";
    return hideParameters(parsed.toString()) + hash;
  } catch {
    return url
      .replace(/:[^:@/]*@/, ":***@")
      .replace(/\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)/gi, "$1***");
  }
}

/**
 * The URL with its passwords taken out (the user-info one, `password` and `sslpassword`
 * parameters), for a URL underway hands back: a client fills the password in from
 * PGPASSWORD or ~/.pgpass as libpq does. Every other part stays byte for byte as it was.
 *
 * @example
 * withoutPassword("postgres://app:s3cret@db/shop?sslmode=require") // "postgres://app@db/shop?sslmode=require"
 */
export function withoutPassword(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*):[^@/?#]*@/i, "$1@")
    .replace(/([?&])(?:ssl)?password=[^&#]*(&|(?=#)|$)/gi, (_m, lead: string, tail: string) => (tail === "&" ? lead : ""))
    .replace(/\?(?=#|$)/, "");
}

/** The password a URL carries (user-info, else its `password` parameter), percent-decoded. */
export function passwordOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    if (parsed.password) return decodeURIComponent(parsed.password);
    return parsed.searchParams.get("password") ?? undefined;
  } catch {
    return undefined;
  }
}

/** The major version of the server, e.g. 15. */
export async function serverMajorVersion(client: Client): Promise<number> {
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Math.floor(Number(rows[0]!.v) / 10000);
}

/** PostgreSQL's SQLSTATE of an error thrown by node-postgres, if any. */
export function sqlState(error: unknown): string | undefined {
  if (error && typeof error === "object" && "code" in error && typeof (error as { code: unknown }).code === "string") {
    return (error as { code: string }).code;
  }
  return undefined;
}

/**
 * Whether the server refused a write because it is not a primary (SQLSTATE 25006,
 * read_only_sql_transaction, which a standby raises for any write). To work that only
 * ever ran on a primary, this is a failover still in progress rather than a failure (and
 * behind PgBouncer it may come with no lost connection at all): for a moment the
 * primary's address can lead to a node that is not a primary yet (Patroni 3.0's /primary
 * answers 200 as soon as its node holds the leader key, before PostgreSQL has finished
 * promoting, and HAProxy routes there), or to the old primary restarting as a replica.
 */
export function isReadOnlyRefusal(error: unknown): boolean {
  if (error instanceof UnderwayError) return error.cause !== undefined && isReadOnlyRefusal(error.cause);
  return sqlState(error) === "25006";
}

/**
 * Whether a session refuses writes, and why: `standby` (a server in recovery), `read-only`
 * (a primary whose `default_transaction_read_only` is on, for the database, the role or
 * the server), or null when it accepts them.
 */
export async function readOnlyReason(client: Client): Promise<"standby" | "read-only" | null> {
  const { rows } = await client.query<{ recovery: boolean; read_only: boolean }>(
    "SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') = 'on' AS read_only",
  );
  if (rows[0]!.recovery) return "standby";
  return rows[0]!.read_only ? "read-only" : null;
}

/**
 * A session found read-only before anything was tried on it, as PostgreSQL would refuse
 * its first write (SQLSTATE 25006, so `isReadOnlyRefusal` says yes).
 */
export class ReadOnlySessionError extends Error {
  readonly code = "25006";
}

/**
 * Whether an error means the connection was lost (a restart, a failover, a network cut)
 * rather than that the statement failed: worth reconnecting and carrying on for.
 */
export function isConnectionLoss(error: unknown): boolean {
  if (error instanceof UnderwayError) return error.code === "CONNECTION" || (error.cause !== undefined && isConnectionLoss(error.cause));
  const state = sqlState(error);
  if (state?.startsWith("08") || state === "57P01" || state === "57P02" || state === "57P03") return true;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"].includes(code)) return true;
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|connection .*(closed|lost|ended)|Client has encountered a connection error|not queryable|timeout expired/i.test(message);
}

/** Lock timeout (55P03) and deadlock (40P01) end one attempt; anything else is a real failure. */
export function isLockConflict(error: unknown): boolean {
  const state = sqlState(error);
  return state === "55P03" || state === "40P01";
}
