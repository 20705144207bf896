import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";
import { runUntil } from "../support/cli.js";
import { json, query, scratchDir, underway, writeMigration, type CliRun } from "./run-cli.js";

/**
 * The operator's edges of the CLI: a database that accepts a connection and never answers
 * is a clear error within the connect timeout, never a hang; underway's own short queries
 * have a limit too; usage errors are one line with the same prefix, checked before any
 * file is read; `latest` prints a URL that works as printed.
 */

function expectOneLine(run: CliRun, code: 1 | 2, pattern: RegExp): void {
  const context = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  expect(run.code, context).toBe(code);
  expect(run.errorLines, context).toHaveLength(1);
  expect(run.errorLines[0], context).toMatch(pattern);
}

/** A TCP port that accepts connections and never says a word. */
async function silentPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("a database that accepts and never answers", () => {
  let silent: Awaited<ReturnType<typeof silentPort>>;
  beforeAll(async () => {
    silent = await silentPort();
  });
  afterAll(async () => {
    await silent?.close();
  });

  it("status fails with exit 1 and one line naming the timeout, after --connect-timeout", async () => {
    const url = `postgres://app:secret@127.0.0.1:${silent.port}/shop`;
    const started = Date.now();
    const run = await underway(["status", "--database-url", url, "--connect-timeout", "2s"]);
    expectOneLine(run, 1, new RegExp(`^underway: cannot connect to postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:${silent.port}/shop.*: no answer within 2s \\(--connect-timeout`));
    expect(run.stderr).not.toContain("secret");
    // Not a timing assertion: the run would otherwise hang until the harness kills it at 60 s.
    expect(Date.now() - started).toBeLessThan(50_000);
  });

  it("reads libpq's connect_timeout in the URL, and the same holds for --json and every command that connects", async () => {
    const url = `postgres://app@127.0.0.1:${silent.port}/shop?connect_timeout=1`;
    for (const argv of [["status", "--json"], ["jobs"], ["latest"], ["pause"]]) {
      const run = await underway([...argv, "--database-url", url]);
      expectOneLine(run, 1, /^underway: cannot connect to .*: no answer within 1s/);
    }
  });

  it("start, complete and rollback fail the same way: a database never reached is not a lost connection to ride out", async () => {
    const url = `postgres://app@127.0.0.1:${silent.port}/shop`;
    const dir = await scratchDir();
    const path = await writeMigration(dir, "01_t.yaml", [{ create_table: { name: "t", columns: [{ name: "id", type: "int", pk: true }] } }]);
    for (const argv of [["start", path], ["complete"], ["rollback"]]) {
      const run = await underway([...argv, "--database-url", url, "--connect-timeout", "1s"]);
      expectOneLine(run, 1, /^underway: cannot connect to .*: no answer within 1s/);
      expect(run.stderr).not.toContain("reconnecting");
    }
  });

  it("refuses a connect timeout that is not a duration, or under a second, as a usage error", async () => {
    const url = `postgres://app@127.0.0.1:${silent.port}/shop`;
    expectOneLine(await underway(["status", "--database-url", url, "--connect-timeout", "soon"]), 2, /^underway: .*"soon"/);
    expectOneLine(await underway(["status", "--database-url", url, "--connect-timeout", "200ms"]), 2, /^underway: --connect-timeout must be at least 1s, got "200ms"$/);
    expectOneLine(await underway(["status", "--database-url", `${url}?connect_timeout=abc`]), 2, /^underway: invalid connect_timeout "abc" in the database URL/);
  });
});

describe("usage errors", () => {
  it("a URL that is not PostgreSQL's is a usage error: exit 2, one line", async () => {
    for (const url of ["mysql://root@db/shop", "https://db.example.com/shop"]) {
      expectOneLine(await underway(["status", "--database-url", url]), 2, /^underway: --database-url must be a PostgreSQL URL \(postgres:\/\/ or postgresql:\/\/\)/);
    }
    expectOneLine(await underway(["status"], { env: { DATABASE_URL: "mysql://root@db/shop" } }), 2, /^underway: DATABASE_URL must be a PostgreSQL URL/);
    expectOneLine(await underway(["status", "--database-url", "not a url"]), 2, /^underway: --database-url is not a URL/);
  });

  it("an unknown command, option or missing argument reads like every other error: one line, the same prefix, exit 2", async () => {
    expectOneLine(await underway(["frobnicate"]), 2, /^underway: unknown command 'frobnicate' \(run "underway --help" for usage\)$/);
    expectOneLine(await underway(["stats"]), 2, /^underway: unknown command 'stats' \(Did you mean status\?\)/);
    expectOneLine(await underway(["status", "--bogus"]), 2, /^underway: unknown option '--bogus'/);
    expectOneLine(await underway(["start"]), 2, /^underway: missing required argument 'file'/);
  });

  it("flags and the URL are checked before the file is read", async () => {
    const dir = await scratchDir();
    const missing = `${dir}/01_missing.yaml`;
    const url = "postgres://app@127.0.0.1:1/shop";
    expectOneLine(await underway(["start", missing, "--max-rate", "fast", "--database-url", url]), 2, /^underway: invalid --max-rate "fast"/);
    expectOneLine(await underway(["start", missing, "--database-url", "mysql://x@y/z"]), 2, /must be a PostgreSQL URL/);
    expectOneLine(await underway(["start", missing, "--database-url", url]), 2, new RegExp(`^underway: ${missing}: no such file$`));
    expectOneLine(await underway(["start", dir, "--database-url", url]), 2, new RegExp(`^underway: ${dir} is a directory; give a migration file \\(for a directory of them: underway migrate DIR\\)$`));
  });
});

describe("control queries and the URL of the new version", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("edges");
    await query(db.url, "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)");
    await query(db.url, "INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(1, 50) g");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("a control query the database does not answer in time is a CONNECTION error, and nothing was changed", async () => {
    const migrator = new Migrator({ databaseUrl: db.url, controlQueryTimeoutMs: 1000 });
    await migrator.init();
    const before = await schemaSnapshot(db.url);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query("LOCK TABLE underway.migrations IN ACCESS EXCLUSIVE MODE");
      const error = await migrator.history().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(UnderwayError);
      expect((error as UnderwayError).code).toBe("CONNECTION");
      expect((error as Error).message).toMatch(/did not answer a query within 1s: the server or the network is stuck$/);
      await holder.query("ROLLBACK");
    } finally {
      await holder.end();
    }
    expect(await migrator.history()).toEqual([]);
    expect(await schemaSnapshot(db.url)).toEqual(before);
  });

  it("start names the whole search_path, and latest prints a URL that connects to it as printed", async () => {
    const dir = await scratchDir();
    const path = await writeMigration(dir, "01_notes_title.yaml", [{ add_column: { table: "notes", column: { name: "title", type: "text", nullable: true } } }]);
    const password = (db.url.match(/:\/\/[^:]+:([^@]+)@/) ?? [])[1];
    const start = await underway(["start", path, "--database-url", db.url]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/new version: search_path=public_01_notes_title, public \(run "underway complete" once every client uses it\)/);

    const latest = await underway(["latest", "--database-url", db.url]);
    expect(latest.code, latest.stderr).toBe(0);
    const [schema, url] = latest.stdout.trim().split("\n");
    expect(schema).toBe("public_01_notes_title");
    if (password) expect(url).toContain(password);
    expect(latest.errorLines).toHaveLength(1);
    expect(latest.errorLines[0]).toMatch(/^note: a transaction pooler .* does not pass this URL's options on/);
    const rows = await query<{ schemas: string[] }>(url!, "SELECT to_json(current_schemas(false)) AS schemas");
    expect(rows[0]!.schemas).toEqual(["public_01_notes_title", "public"]);
    await query(url!, "INSERT INTO notes (id, body, title) VALUES (1000, 'through the printed URL', 'a title')");
    const [row] = await query<{ title: string }>(db.url, "SELECT title FROM notes WHERE id = 1000");
    expect(row!.title).toBe("a title");

    // The URL's own options stay, and --connect-timeout does not rewrite it.
    const withOptions = `${db.url}${db.url.includes("?") ? "&" : "?"}options=${encodeURIComponent("-c statement_timeout=5s")}`;
    const kept = await underway(["latest", "--database-url", withOptions, "--connect-timeout", "3s"]);
    const keptUrl = kept.stdout.trim().split("\n")[1]!;
    expect(keptUrl).not.toContain("connect_timeout");
    const [settings] = await query<{ timeout: string; schemas: string[] }>(keptUrl, "SELECT current_setting('statement_timeout') AS timeout, to_json(current_schemas(false)) AS schemas");
    expect(settings).toEqual({ timeout: "5s", schemas: ["public_01_notes_title", "public"] });

    const asJson = json<{ versionSchema: string; searchPath: string; url: string; note: string }>(await underway(["latest", "--json", "--database-url", db.url]));
    expect(asJson).toMatchObject({ versionSchema: "public_01_notes_title", searchPath: "public_01_notes_title, public", url });
    expect(asJson.note).toMatch(/set_config\('search_path', 'public_01_notes_title, public', true\)/);
    expect((await underway(["rollback", "--database-url", db.url])).code).toBe(0);
  });

  it("complete and rollback while another process backfills are refused, saying to cancel first; cancel then rollback works", async () => {
    await query(db.url, "CREATE TABLE ledger (id bigint PRIMARY KEY, amount integer NOT NULL)");
    await query(db.url, "INSERT INTO ledger SELECT g, g FROM generate_series(1, 20000) g");
    const dir = await scratchDir();
    const path = await writeMigration(dir, "02_ledger_cents.yaml", [{ add_column: { table: "ledger", column: { name: "cents", type: "bigint", nullable: true }, up: "amount * 100" } }]);
    const env = { DATABASE_URL: db.url };
    expect((await underway(["init"], { env })).code).toBe(0);
    const before = await schemaSnapshot(db.url);
    const backfilling = runUntil(["start", path, "--max-rate", "200"], /backfill ledger: [1-9]/, env, { signals: [] });
    let jobs: { state: string; owners: string[] }[] = [];
    const moving = () => (jobs[0]?.state === "running" || jobs[0]?.state === "throttled") && jobs[0].owners.length > 0;
    for (let i = 0; i < 100 && !moving(); i++) {
      await new Promise((r) => setTimeout(r, 100));
      const status = await underway(["jobs", "--json"], { env });
      jobs = status.code === 0 ? (json<{ jobs: typeof jobs }>(status).jobs ?? []) : [];
    }
    expect(moving(), JSON.stringify(jobs)).toBe(true);

    const complete = await underway(["complete"], { env });
    expectOneLine(complete, 1, /^underway: migration "02_ledger_cents" is backfilling ledger in another process \(process \d+ on .+\): complete needs the backfill done; wait for that process to finish it, or run "underway cancel" first to stop it$/);
    const rollback = await underway(["rollback"], { env });
    expectOneLine(rollback, 1, /^underway: migration "02_ledger_cents" is backfilling ledger in another process \(process \d+ on .+\): run "underway cancel" first, then "underway rollback"$/);

    expect((await underway(["cancel"], { env })).code).toBe(0);
    const stopped = await backfilling;
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stderr).toMatch(/was cancelled; the migration stays started/);
    const undone = await underway(["rollback"], { env });
    expect(undone.code, undone.stderr).toBe(0);
    expect(await schemaSnapshot(db.url)).toEqual(before);
  });
});
