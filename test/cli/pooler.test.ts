import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startPgBouncer, type PgBouncer } from "../../src/harness/pgbouncer.js";
import { freshDatabase, serverInfo, type FreshDatabase } from "../support/database.js";
import { runUntil } from "../support/cli.js";
import { json, query, scratchDir, underway, writeMigration } from "./run-cli.js";

/**
 * underway through PgBouncer in transaction mode: its guard is a lease in the state
 * schema (a session lock would stay on a pooled server connection and refuse every later
 * command), nothing it sets leaks to another client, a killed run is taken over at once by
 * the next one on the same host, and a guard left behind is shown and cleared safely.
 */
describe("through PgBouncer in transaction mode", () => {
  let db: FreshDatabase;
  let bouncer: PgBouncer;
  let pooled: Record<string, string>;
  let direct: Record<string, string>;
  beforeAll(async () => {
    db = await freshDatabase("pooler");
    const { hostname, port } = new URL(serverInfo().adminUrl);
    bouncer = await startPgBouncer({ host: hostname, port: Number(port), poolSize: 2 });
    pooled = { DATABASE_URL: bouncer.url(db.name) };
    direct = { DATABASE_URL: db.url };
    await query(db.url, `CREATE TABLE items (id bigint PRIMARY KEY, amount integer NOT NULL, note text)`);
    await query(db.url, `INSERT INTO items SELECT g, g, 'n' FROM generate_series(1, 200000) g`);
    // Under 10,000 rows: one range, held by its worker from the first batch to the last.
    await query(db.url, `CREATE TABLE notes (id bigint PRIMARY KEY, note text)`);
    await query(db.url, `INSERT INTO notes SELECT g, 'n' FROM generate_series(1, 8000) g`);
  });
  afterAll(async () => {
    await bouncer?.stop();
    await db?.drop();
  });

  it("needs the state schema first, then runs a whole migration, and leaves no lock on a pooled connection", async () => {
    const dir = await scratchDir();
    const path = await writeMigration(dir, "01_widen.yaml", [{ alter_column: { table: "items", column: "amount", type: "bigint", up: "amount", down: "amount::integer" } }]);
    const first = await underway(["start", path], { env: pooled });
    expect(first.code).toBe(1);
    expect(first.errorLines[0]).toMatch(/goes through a connection pooler.*run "underway init" first/);
    expect((await underway(["init"], { env: pooled })).code).toBe(0);
    const started = await underway(["start", path, "--complete"], { env: pooled });
    expect(started.code, started.stderr).toBe(0);
    // No session lock stayed behind on a server connection: a direct command gets the guard at once.
    const locks = await query<{ n: number }>(
      db.url,
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    expect(locks[0]!.n).toBe(0);
    const status = json<{ guard: { held: boolean } }>(await underway(["status", "--json"], { env: direct }));
    expect(status.guard.held).toBe(false);
  });

  it("a run killed mid-backfill is taken over at once by the next, which resumes from the saved cursors", async () => {
    const dir = await scratchDir();
    const path = await writeMigration(dir, "02_note.yaml", [{ alter_column: { table: "notes", column: "note", type: "varchar(20)", up: "note", down: "note" } }]);
    // Its one range leased for 10 minutes: a resume that waited for it would not finish before it runs out.
    const killed = await runUntil(["start", path, "--max-rate", "400", "--lease", "600s"], /backfill notes: [1-9]/, pooled);
    expect(killed.killed).toBe(true);
    const status = json<{ guard: { held: boolean; kind: string; gone: boolean }; jobs: { state: string; rowsDone: number }[] }>(
      await underway(["status", "--json"], { env: direct }),
    );
    expect(status.guard).toMatchObject({ held: true, kind: "lease", gone: true });
    expect(status.jobs[0]!.state).toBe("interrupted");
    const [leased] = await query<{ until: Date; n: number }>(
      db.url,
      `SELECT max(lease_expires_at) AS until, count(*)::int AS n FROM underway.backfill_ranges WHERE NOT done AND lease_expires_at > now()`,
    );
    expect(leased!.n).toBeGreaterThan(0);
    const resumed = await underway(["resume", "--max-rate", "1000000"], { env: pooled });
    expect(resumed.code, resumed.stderr).toBe(0);
    // The dead worker's ranges were taken over without waiting for their leases.
    const [now] = await query<{ now: Date }>(db.url, "SELECT now() AS now");
    expect(now!.now.getTime()).toBeLessThan(leased!.until.getTime());
    expect((await underway(["complete"], { env: pooled })).code).toBe(0);
    const rows = await query<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM notes WHERE note = 'n'`);
    expect(rows[0]!.n).toBe(8000);
  });

  it("names a session lock left on a pooled connection and clears it only when told", async () => {
    // What an underway release before leases left behind: a session lock on a pooled server connection.
    const client = new pg.Client({ connectionString: bouncer.url(db.name) });
    await client.connect();
    await client.query("SELECT pg_advisory_lock(x'756e6477'::int, hashtext('underway.public'))");
    await client.end();
    const dir = await scratchDir();
    const path = await writeMigration(dir, "03_index.yaml", [{ create_index: { name: "items_note", table: "items", columns: ["note"] } }]);
    const refused = await underway(["start", path], { env: direct });
    expect(refused.code).toBe(1);
    expect(refused.errorLines[0]).toMatch(/another underway process is working on schema "public": server pid \d+.*run "underway unlock"/);
    const cautious = await underway(["unlock"], { env: direct });
    expect(cautious.code).toBe(1);
    expect(cautious.errorLines[0]).toMatch(/may still be working; stop it first, or if you know it is gone, run "underway unlock --force"/);
    expect((await underway(["unlock", "--force"], { env: direct })).code).toBe(0);
    const started = await underway(["start", path, "--complete"], { env: direct });
    expect(started.code, started.stderr).toBe(0);
  });
});
