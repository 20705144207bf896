import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnderwayError } from "../errors.js";
import { serverOwner } from "./local-server.js";
import { accepts, freePort } from "./local-net.js";

/**
 * A throwaway PgBouncer (the system's, `/usr/sbin/pgbouncer`) in front of a local server,
 * for tests and rehearsals of what applications behind a pooler do: in transaction mode a
 * client's session settings and advisory locks stay on whichever server connection it had.
 * Trusts every user, as the local test servers do on loopback. Like PostgreSQL it refuses
 * to run as root, so as root it runs as the `postgres` OS user.
 */
export interface PgBouncer {
  /** The pooler's address for a database: `postgres://user@127.0.0.1:PORT/db`. */
  url(database: string, user?: string): string;
  port: number;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The server behind it. */
  host: string;
  port: number;
  /** Default `transaction`. */
  poolMode?: "session" | "transaction" | "statement";
  /** Server connections per database and user (default 4, fewer than clients, so they are shared). */
  poolSize?: number;
  /** Users it lets in (default `app` and `postgres`). */
  users?: string[];
  /**
   * Seconds PgBouncer waits after a failed server login before it tries again, refusing
   * clients meanwhile (PgBouncer's `server_login_retry`, default 15). Behind a failover the
   * server is away for a while; with the default, clients stay refused up to 15 s after
   * the new primary is back.
   */
  serverLoginRetry?: number;
  binary?: string;
}

const BINARY = "/usr/sbin/pgbouncer";

export function pgbouncerAvailable(binary = BINARY): boolean {
  return existsSync(binary);
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const binary = options.binary ?? BINARY;
  if (!existsSync(binary)) {
    throw new UnderwayError("INVALID_STATE", `${binary} is missing: install Debian's pgbouncer package (apt-get install pgbouncer)`);
  }
  const dir = await mkdtemp(join(tmpdir(), "underway-pgbouncer-"));
  const port = await freePort();
  const users = options.users ?? ["app", "postgres"];
  await writeFile(join(dir, "users.txt"), users.map((u) => `"${u.replaceAll('"', '""')}" ""`).join("\n") + "\n");
  await writeFile(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${options.host} port=${options.port}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(dir, "users.txt")}`,
      `pool_mode = ${options.poolMode ?? "transaction"}`,
      `default_pool_size = ${options.poolSize ?? 4}`,
      "max_client_conn = 500",
      "ignore_startup_parameters = extra_float_digits",
      "server_reset_query =",
      ...(options.serverLoginRetry === undefined ? [] : [`server_login_retry = ${options.serverLoginRetry}`]),
      `logfile = ${join(dir, "pgbouncer.log")}`,
      "",
    ].join("\n"),
  );
  const owner = serverOwner();
  if (owner) await chown(dir, owner.uid, owner.gid);
  for (const file of ["users.txt", "pgbouncer.ini"]) if (owner) await chown(join(dir, file), owner.uid, owner.gid);
  const child: ChildProcess = spawn(binary, [join(dir, "pgbouncer.ini")], {
    stdio: "ignore",
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  child.unref();
  const deadline = Date.now() + 15_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      await rm(dir, { recursive: true, force: true });
      throw new UnderwayError("INVALID_STATE", `pgbouncer did not start on port ${port} (exit ${child.exitCode})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  let stopped = false;
  return {
    port,
    url: (database, user = "app") => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      child.kill("SIGINT");
      await new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(undefined);
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve(undefined);
        }, 5000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}


