import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { ProgressPrinter } from "../../src/observe/progress-printer.js";
import { observeRun } from "../../src/cli/observe-commands.js";
import { EventMetrics } from "../../src/observe/event-metrics.js";
import { createMetrics } from "../../src/observe/metrics.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { sample } from "./prometheus-text.js";

const ROWS = 40_000;

/**
 * Metrics of a migration this process runs, on a real database: the backfill's counters
 * follow the job, a DDL that waits behind a long transaction shows as lock retries, a
 * verification shows its mismatches, and `--metrics-port` serves all of it while it runs.
 */
describe("metrics of a running migration", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("metrics");
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`CREATE TABLE accounts (id bigint PRIMARY KEY, balance integer NOT NULL)`);
    await sql.query(`INSERT INTO accounts SELECT g, g % 1000 FROM generate_series(1, ${ROWS}) g`);
    await sql.query(`ANALYZE accounts`);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("counts every backfilled row, retries behind a lock, the phase and a verification", async () => {
    const metrics = createMetrics();
    const observed = new EventMetrics(metrics, { migration: "01_widen" });
    // A long transaction holds a lock every ALTER TABLE needs; it ends after the third retry
    // (not after a fixed time, which a slow machine could spend before the first attempt).
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT count(*) FROM accounts");
    let retries = 0;
    const migrator = new Migrator({
      databaseUrl: db.url,
      lockPolicy: { lockTimeoutMs: 100, baseDelayMs: 50, maxDelayMs: 100, maxAttempts: 100 },
      onEvent: (event) => {
        observed.onEvent(event);
        if (event.type === "retry" && ++retries === 3) void blocker.query("COMMIT");
      },
    });
    try {
      const record = await migrator.start(
        await migrationFile("01_widen", [
          { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
        ]),
      );
      observed.record(record);
      observed.verified((await migrator.verify()).report);
    } finally {
      await blocker.end();
    }
    const text = await metrics.text();
    const job = { migration: "01_widen", table: "accounts" };
    expect(sample(text, "underway_backfill_rows_total", job)).toBe(ROWS);
    expect(sample(text, "underway_backfill_rows_remaining", job)).toBe(0);
    expect(sample(text, "underway_migration_phase", { migration: "01_widen", phase: "ready" })).toBe(1);
    expect(sample(text, "underway_migration_phase", { migration: "01_widen", phase: "backfilling" })).toBe(0);
    expect(sample(text, "underway_ddl_lock_retries_total", { migration: "01_widen", action: "start" })).toBeGreaterThanOrEqual(3);
    const waits = sample(text, "underway_ddl_lock_wait_seconds_count", { action: "start" })!;
    expect(waits).toBe(sample(text, "underway_ddl_lock_retries_total", { migration: "01_widen", action: "start" }));
    // Each failed attempt waited about its lock_timeout (100 ms), not the backoff.
    expect(sample(text, "underway_ddl_lock_wait_seconds_sum", { action: "start" })! / waits).toBeGreaterThan(0.08);
    expect(sample(text, "underway_ddl_lock_wait_seconds_sum", { action: "start" })! / waits).toBeLessThan(0.5);
    expect(sample(text, "underway_verify_mismatched_rows", job)).toBe(0);
    expect(sample(text, "underway_verify_rows_checked", job)).toBe(ROWS);
    expect(sample(text, "underway_verify_runs_total", { migration: "01_widen", result: "ok" })).toBe(1);
    await migrator.complete();
  });

  it("serves /metrics with --metrics-port while the backfill runs, and JSON logs with --log-format json", async () => {
    const lines: string[] = [];
    const observation = await observeRun(
      { metricsPort: "0", logFormat: "json" },
      new ProgressPrinter(process.stderr, true),
      { migration: "02_triple", logStream: { write: (chunk) => lines.push(...chunk.split("\n").filter(Boolean)) } },
    );
    expect(observation.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const migrator = new Migrator({ databaseUrl: db.url, onEvent: observation.onEvent });
    const scrape = async () => sample(await (await fetch(observation.metricsUrl!)).text(), "underway_backfill_rows_total", { migration: "02_triple", table: "accounts" });
    try {
      const running = migrator.start(
        await migrationFile("02_triple", [
          { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance * 3", down: "balance / 3" } },
        ]),
        { settings: { maxRate: 4000 } },
      );
      let settled = false;
      void running.then(() => (settled = true), () => (settled = true));
      // Two scrapes while the backfill is under way (about 10 s at this rate), each a count between 0 and ROWS.
      const seen: number[] = [];
      while (seen.length < 2 && !settled) {
        await new Promise((r) => setTimeout(r, 1200));
        const rows = await scrape();
        if (rows !== undefined && rows > 0 && rows < ROWS) seen.push(rows);
      }
      const record = await running;
      expect(seen, "two scrapes in the middle of the backfill").toHaveLength(2);
      observation.record(record);
      expect(seen[1]).toBeGreaterThan(seen[0]!);
      expect(await scrape()).toBe(ROWS);
    } finally {
      await observation.close();
    }
    await expect(fetch(observation.metricsUrl!)).rejects.toThrow();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ msg: expect.stringMatching(/^metrics at http/) });
    const progress = records.filter((r) => r.rowsDone !== undefined);
    expect(progress.length).toBeGreaterThan(0);
    for (const r of progress) expect(r).toMatchObject({ migration: "02_triple", phase: "backfilling", table: "accounts", step: expect.stringContaining("backfill") });
    expect(records.at(-1)).toMatchObject({ msg: "migration 02_triple is ready", phase: "ready" });
    await migrator.rollback();
  });
});
