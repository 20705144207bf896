import type pg from "pg";
import { UnderwayError } from "../errors.js";

export type Client = pg.Client;

/** Options every connection of underway shares. */
export interface ConnectOptions {
  /** Shown in pg_stat_activity, so operators can tell underway's sessions apart. */
  applicationName?: string;
}

/**
 * Opens one dedicated connection. DDL always runs on a dedicated connection, never
 * a pool: `SET LOCAL lock_timeout` must apply to the session that runs the DDL.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Client> {
  let config: pg.ClientConfig;
  try {
    // Parse first, so a malformed URL is a one-line error rather than a stack trace from the driver.
    new URL(url);
    config = { connectionString: url, application_name: options.applicationName ?? "underway" };
  } catch {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid database URL: ${redactUrl(url)}`);
  }
  // The driver loads with the first connection: `import "underway"`, `lint` and `--help` never need it.
  const { default: driver } = await import("pg");
  const client = new driver.Client(config);
  // An idle connection that errors (server restart, network cut) must not crash the process;
  // the next query on it fails and the caller handles that.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UnderwayError("CONNECTION", `cannot connect to ${redactUrl(url)}: ${reason}`, { cause: error });
  }
  // A pooler (PgBouncer, pgcat, Supavisor...) answers the startup with a backend key of its
  // own; the server's pid then differs from it. Behind one, session state (SET, advisory
  // locks) stays on a pooled server connection and may serve another client next, so
  // underway keeps all of its settings to transactions there.
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
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

const pooledClients = new WeakMap<pg.Client, boolean>();

/** Whether a connection made by `connect` goes through a connection pooler. */
export function isPooled(client: pg.Client): boolean {
  return pooledClients.get(client) === true;
}

/** The URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
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
