import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase, serverInfo, type FreshDatabase } from "../support/database.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";
import { query, scratchDir, underway, writeMigration } from "./run-cli.js";

/**
 * A guarded phase rides through a read-only refusal only when its address accepted its
 * writes before (a failover in progress). A database that is read-only from the start,
 * here through `ALTER DATABASE ... SET default_transaction_read_only = on`, is an error at
 * once: exit 1, one line that says why, and nothing changed, not even the guard's record.
 */
describe("a guarded command against a read-only database", () => {
  let db: FreshDatabase;
  let env: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    db = await freshDatabase("read_only");
    env = { DATABASE_URL: db.url };
    dir = await scratchDir();
    await query(db.url, "CREATE TABLE items (id bigint PRIMARY KEY, amount integer NOT NULL)");
    await query(db.url, "INSERT INTO items SELECT g, g FROM generate_series(1, 1000) g");
  });

  afterAll(async () => {
    await db?.drop();
  });

  // From the server's own database: a session of a read-only one could not turn it back.
  const readOnly = (on: boolean) => query(serverInfo().adminUrl, `ALTER DATABASE "${db.name}" SET default_transaction_read_only = ${on ? "on" : "off"}`);

  /** What a failed command must leave as it was: the schemas, the state schema's rows, the guard. */
  async function everything(): Promise<unknown> {
    const state = await query<{ n: number }>(db.url, "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'underway'");
    if (state[0]!.n === 0) return { schema: await schemaSnapshot(db.url) };
    return {
      schema: await schemaSnapshot(db.url),
      migrations: await query(db.url, "SELECT name, phase, running, start_done, complete_done, last_error, updated_at FROM underway.migrations ORDER BY id"),
      leases: await query(db.url, "SELECT name, owner, expires_at FROM underway.leases ORDER BY name"),
      audit: await query(db.url, "SELECT count(*)::int AS n FROM underway.audit"),
    };
  }

  it("start fails at once with one line, and creates nothing", async () => {
    const path = await writeMigration(dir, "01_note.yaml", [{ add_column: { table: "items", column: { name: "note", type: "text", nullable: true } } }]);
    const before = await everything();
    await readOnly(true);
    try {
      const began = Date.now();
      const run = await underway(["start", path], { env });
      expect(run.code, run.stderr).toBe(1);
      expect(run.errorLines, run.stderr).toHaveLength(1);
      expect(run.errorLines[0]).toMatch(/refuses writes \(default_transaction_read_only is on for this database, role or server\): underway needs a database it can write to/);
      expect(Date.now() - began).toBeLessThan(10_000);
    } finally {
      await readOnly(false);
    }
    expect(await everything()).toEqual(before);
  });

  it("complete of a ready migration fails at once with one line, changes nothing, and runs once the database is writable", async () => {
    const path = await writeMigration(dir, "02_amount.yaml", [{ alter_column: { table: "items", column: "amount", type: "bigint", up: "amount", down: "amount::integer" } }]);
    const started = await underway(["start", path], { env });
    expect(started.code, started.stderr).toBe(0);
    const before = await everything();
    await readOnly(true);
    try {
      const began = Date.now();
      const run = await underway(["complete"], { env });
      expect(run.code, run.stderr).toBe(1);
      expect(run.errorLines, run.stderr).toHaveLength(1);
      expect(run.errorLines[0]).toMatch(/refuses writes \(default_transaction_read_only is on/);
      expect(run.stderr).not.toMatch(/reconnecting/);
      expect(Date.now() - began).toBeLessThan(10_000);
    } finally {
      await readOnly(false);
    }
    expect(await everything()).toEqual(before);
    const completed = await underway(["complete"], { env });
    expect(completed.code, completed.stderr).toBe(0);
    expect((await query<{ phase: string }>(db.url, "SELECT phase FROM underway.migrations WHERE name = '02_amount'"))[0]!.phase).toBe("completed");
  });
});
