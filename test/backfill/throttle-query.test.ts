import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import pg from "pg";
import { runThrottleQuery } from "../../src/backfill/throttle-monitor.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";
import { CLI } from "../support/cli.js";
import { json, query, scratchDir, underway, writeMigration } from "../cli/run-cli.js";

/**
 * A throttle query is checked when it is given, and a throttle query that starts failing
 * while the backfill runs pauses the job with PostgreSQL's error for the operator to see,
 * instead of holding it forever without a word.
 */
describe("--throttle-query", () => {
  let db: FreshDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await freshDatabase("throttleq");
    env = { DATABASE_URL: db.url };
    await query(db.url, `CREATE TABLE items (id bigint PRIMARY KEY, amount integer)`);
    await query(db.url, `INSERT INTO items SELECT g, g FROM generate_series(1, 100000) g`);
    await query(db.url, `CREATE TABLE hold (on_hold boolean)`);
    await query(db.url, `INSERT INTO hold VALUES (false)`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("is checked when given: a query that fails is a usage error (2) and changes nothing", async () => {
    const dir = await scratchDir();
    const path = await writeMigration(dir, "01_widen.yaml", [{ alter_column: { table: "items", column: "amount", type: "bigint", up: "amount", down: "amount::integer" } }]);
    const before = await schemaSnapshot(db.url);
    const run = await underway(["start", path, "--throttle-query", "SELEC on_hold FROM hold"], { env });
    expect(run.code).toBe(2);
    expect(run.errorLines).toEqual([`underway: --throttle-query fails: syntax error at or near "SELEC"`]);
    const missing = await underway(["start", path, "--throttle-query", "SELECT on_hold FROM nowhere"], { env });
    expect(missing.code).toBe(2);
    expect(missing.errorLines[0]).toBe(`underway: --throttle-query fails: relation "nowhere" does not exist`);
    expect(await schemaSnapshot(db.url)).toEqual(before);
  });

  it("pauses the job with the error when it starts failing, and the job carries on once it is fixed", async () => {
    const dir = await scratchDir();
    const path = await writeMigration(dir, "01_widen.yaml", [{ alter_column: { table: "items", column: "amount", type: "bigint", up: "amount", down: "amount::integer" } }]);
    const child = spawn(process.execPath, [CLI, "start", path, "--max-rate", "5000", "--throttle-query", "SELECT on_hold FROM hold"], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      await waitFor(async () => json<{ jobs: { rowsDone: number }[] }>(await underway(["status", "--json"], { env })).jobs[0]?.rowsDone ?? 0, (n) => n > 0);
      await query(db.url, `DROP TABLE hold`);
      const paused = await waitFor(
        async () => json<{ jobs: { state: string; lastError: string | null }[] }>(await underway(["status", "--json"], { env })).jobs[0]!,
        (job) => job.state === "paused",
      );
      expect(paused.lastError).toBe(
        'the throttle query fails: relation "hold" does not exist; fix it with "underway throttle --throttle-query ..." (or "none") and run "underway resume"',
      );
      expect((await underway(["throttle", "--throttle-query", "none"], { env })).code).toBe(0);
      expect((await underway(["resume"], { env })).code).toBe(0);
      expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("still running after 60 s"), 60_000))])).toBe(0);
      expect(stderr).toContain("backfill paused: the throttle query fails");
    } catch (error) {
      throw new Error(`${(error as Error).message}\nstart's stderr:\n${stderr}`);
    } finally {
      child.kill("SIGKILL");
    }
    const status = json<{ active: { phase: string } | null }>(await underway(["status", "--json"], { env }));
    expect(status.active?.phase).toBe("ready");
  });

  it("runs in a transaction of its own on a shared connection: a query queued meanwhile runs outside it, and neither fails", async () => {
    // The job's progress reports share the monitor's connection; one queued while the
    // throttle query's read-only transaction was open ran inside it, failed, and made the
    // throttle query itself fail, which paused the job.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await query(db.url, `CREATE TABLE IF NOT EXISTS reports (n int)`);
      const held = runThrottleQuery(client, "SELECT true");
      const report = client.query(`INSERT INTO reports VALUES (1)`);
      expect(await held).toBe(true);
      await expect(report).resolves.toMatchObject({ rowCount: 1 });
      const failing = runThrottleQuery(client, "SELECT 1/0 > 0");
      const after = client.query(`INSERT INTO reports VALUES (2)`);
      await expect(failing).rejects.toThrow(/division by zero/);
      await expect(after).resolves.toMatchObject({ rowCount: 1 });
      const { rows } = await client.query(`SELECT current_setting('transaction_read_only') AS ro, current_setting('statement_timeout') AS timeout`);
      expect(rows[0]).toEqual({ ro: "off", timeout: "0" });
    } finally {
      await client.end();
    }
  });
});

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
