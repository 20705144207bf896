import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { runUntil } from "../support/cli.js";
import { json, query, scratchDir, underway, writeMigration } from "./run-cli.js";

interface Status {
  active: { name: string; phase: string } | null;
  guard: { held: boolean };
  jobs: { table: string; state: string; rowsDone: number; owners: string[] }[];
}

/**
 * SIGINT and SIGTERM while a phase runs: the phase stops at its next safe point, releases
 * its ranges and the guard, so `status` is right at once, and ends with one line naming
 * the command that carries on, exiting 128 + the signal's number. A second signal stops at
 * once. Whatever was stopped, the next command finishes the migration with every row right.
 */
describe("stopping a phase with a signal", () => {
  let db: FreshDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await freshDatabase("signals");
    env = { DATABASE_URL: db.url };
    for (const table of ["by_int", "by_term", "twice", "verified", "migrated"]) {
      await query(db.url, `CREATE TABLE ${table} (id bigint PRIMARY KEY, amount integer NOT NULL)`);
    }
    for (const table of ["by_int", "by_term", "twice", "migrated"]) {
      await query(db.url, `INSERT INTO ${table} SELECT g, g % 1000 FROM generate_series(1, 60000) g`);
    }
    await query(db.url, `INSERT INTO verified SELECT g, g % 1000 FROM generate_series(1, 400000) g`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** Every row carries amount * 2 in the new column, and nothing else changed. */
  async function expectAllConverted(table: string, rows: number) {
    const [check] = await query<{ n: number; wrong: number }>(
      db.url,
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE doubled IS DISTINCT FROM (id % 1000) * 2)::int AS wrong FROM ${table}`,
    );
    expect(check).toEqual({ n: rows, wrong: 0 });
  }

  it.each([
    ["SIGINT", 130, "by_int"],
    ["SIGTERM", 143, "by_term"],
  ] as const)("%s mid-backfill stops at a batch boundary, exits %i, and resume finishes from the cursors", async (signal, code, table) => {
    const dir = await scratchDir();
    const path = await writeMigration(dir, `01_${table}.yaml`, [{ add_column: { table, column: { name: "doubled", type: "bigint", nullable: true }, up: "amount * 2" } }]);
    const run = await runUntil(["start", path, "--max-rate", "4000"], new RegExp(`backfill ${table}: [1-9]`), env, { signals: [signal] });
    expect(run.killed).toBe(true);
    expect(run.signal).toBeNull();
    expect(run.code, run.stderr).toBe(code);
    const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines).toContain(`underway: ${signal} received; stopping at the next safe point (send it again to stop at once)`);
    expect(lines.at(-1)).toMatch(
      new RegExp(`^underway: stopped by ${signal} during the backfill of ${table} \\([\\d,]+ of about [\\d,]+ rows done, every batch's cursor kept\\); migration "01_${table}" stays started \\(dual writes go on\\): run "underway resume" to carry on, or "underway rollback"$`),
    );
    // Right at once: nothing holds the guard or a range, and the job reads as interrupted.
    const status = json<Status>(await underway(["status", "--json"], { env }));
    expect(status.guard.held).toBe(false);
    expect(status.active).toMatchObject({ name: `01_${table}`, phase: "backfilling" });
    expect(status.jobs).toHaveLength(1);
    expect(status.jobs[0]).toMatchObject({ table, state: "interrupted", owners: [] });
    expect(status.jobs[0]!.rowsDone).toBeGreaterThan(0);
    expect(status.jobs[0]!.rowsDone).toBeLessThan(60000);
    const [held] = await query<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM underway.backfill_ranges WHERE owner IS NOT NULL`);
    expect(held!.n).toBe(0);
    const resumed = await underway(["resume", "--max-rate", "none"], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const completed = await underway(["complete"], { env });
    expect(completed.code, completed.stderr).toBe(0);
    await expectAllConverted(table, 60000);
  });

  it("a second signal stops at once, while a batch waits for a row lock", async () => {
    const dir = await scratchDir();
    const path = await writeMigration(dir, "02_twice.yaml", [{ add_column: { table: "twice", column: { name: "doubled", type: "bigint", nullable: true }, up: "amount * 2" } }]);
    expect((await underway(["start", path, "--no-backfill"], { env })).code).toBe(0);
    // A transaction holding the first row: the backfill's first batch waits for it.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT * FROM twice WHERE id = 1 FOR UPDATE");
      const run = await runUntil(["resume"], /backfill twice: /, env, { signals: ["SIGINT", "SIGINT"], gapMs: 300 });
      expect(run.code, run.stderr).toBe(130);
      expect(run.stderr).toContain(`underway: SIGINT received again; stopped at once: run "underway status" to see where it stopped`);
      expect(run.stderr).not.toContain("stopped by SIGINT during");
      // The process is gone: its ranges are taken over at once, not after their leases.
      const status = json<Status>(await underway(["status", "--json"], { env }));
      expect(status.jobs[0]).toMatchObject({ table: "twice", state: "interrupted" });
    } finally {
      await blocker.query("ROLLBACK").catch(() => undefined);
      await blocker.end();
    }
    const resumed = await underway(["resume"], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await underway(["complete"], { env })).code).toBe(0);
    await expectAllConverted("twice", 60000);
  });

  it("SIGINT while DDL waits for a lock stops between attempts; resume carries on", async () => {
    await query(db.url, "CREATE TABLE locked (id bigint PRIMARY KEY, amount integer NOT NULL)");
    await query(db.url, "INSERT INTO locked SELECT g, g % 1000 FROM generate_series(1, 1000) g");
    const dir = await scratchDir();
    const path = await writeMigration(dir, "02_locked.yaml", [{ add_column: { table: "locked", column: { name: "doubled", type: "bigint", nullable: true }, up: "amount * 2" } }]);
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT * FROM locked WHERE id = 1 FOR UPDATE");
      const run = await runUntil(["start", path], /lock not acquired for "add column locked.doubled"/, env, { signals: ["SIGINT"] });
      expect(run.code, run.stderr).toBe(130);
      expect(run.stderr.trim().split("\n").at(-1)).toBe(
        `underway: stopped by SIGINT while waiting for a lock for "add column locked.doubled"; nothing of migration "02_locked" has changed the schema yet: run "underway resume" to carry on, or "underway rollback" to drop it`,
      );
    } finally {
      await blocker.query("ROLLBACK").catch(() => undefined);
      await blocker.end();
    }
    const [column] = await query<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'locked' AND column_name = 'doubled'`);
    expect(column!.n).toBe(0);
    expect((await underway(["resume"], { env })).code).toBe(0);
    expect((await underway(["complete"], { env })).code).toBe(0);
    await expectAllConverted("locked", 1000);
  });

  it("SIGINT while complete verifies contracts nothing; complete again finishes", async () => {
    const dir = await scratchDir();
    // A migration with a dual write to verify: a new column computed from the old one.
    const path = await writeMigration(dir, "03_verified.yaml", [{ add_column: { table: "verified", column: { name: "doubled", type: "bigint", nullable: true }, up: "amount * 2" } }]);
    expect((await underway(["start", path], { env })).code).toBe(0);
    const run = await runUntil(["complete"], /verified [1-9][\d,]* rows of verified/, env, { signals: ["SIGINT"] });
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `underway: stopped by SIGINT while verifying before the contract, nothing contracted; migration "03_verified" is still ready: run "underway complete" again, or "underway rollback"`,
    );
    const status = json<Status>(await underway(["status", "--json"], { env }));
    expect(status.active).toMatchObject({ name: "03_verified", phase: "ready" });
    expect(status.guard.held).toBe(false);
    const completed = await underway(["complete"], { env });
    expect(completed.code, completed.stderr).toBe(0);
    await expectAllConverted("verified", 400000);
  });

  it("SIGINT during migrate names migrate as the way on, and migrate again finishes", async () => {
    const dir = await scratchDir();
    await writeMigration(dir, "04_migrated.yaml", [{ add_column: { table: "migrated", column: { name: "doubled", type: "bigint", nullable: true }, up: "amount * 2" } }]);
    const run = await runUntil(["migrate", dir, "--max-rate", "4000"], /backfill migrated: [1-9]/, env, { signals: ["SIGINT"] });
    expect(run.code, run.stderr).toBe(130);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(`; migration "04_migrated" stays started: run "underway migrate ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}" again to carry on, or "underway rollback"$`),
    );
    const again = await underway(["migrate", dir], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(json<{ applied: string[] }>(await underway(["migrate", dir, "--json"], { env })).applied).toEqual([]);
    await expectAllConverted("migrated", 60000);
  });
});
