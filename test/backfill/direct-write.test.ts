import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import type { BackfillProgress } from "../../src/backfill/backfill.js";
import { directBackfill } from "../../src/backfill/direct-write.js";
import type { DualWriteTable } from "../../src/plan/dual-write.js";
import { UnderwayError } from "../../src/errors.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { accountsTable, connectedClient } from "../support/accounts.js";
import { Writer } from "../support/workload.js";

/**
 * The backfill's batches compute the new columns themselves and pass the dual-write
 * trigger (its WHEN on a setting of the batch's own transaction). They must write exactly
 * what the trigger would have, keep the trigger for every other writer, and go back to the
 * trigger wherever the two could differ.
 */
describe("the backfill's direct writes", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("direct");
    const admin = await connectedClient(db.adminUrl);
    await admin.query(`ALTER DATABASE "${db.name}" SET track_functions = 'pl'`);
    await admin.end();
    sql = await connectedClient(db.url);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  /** Starts `file` without its backfill, then runs the backfill, collecting how it wrote. */
  async function backfill(file: Awaited<ReturnType<typeof migrationFile>>, options: { settings?: { maxRate: number }; onProgress?: (p: BackfillProgress) => void } = {}) {
    const writes: NonNullable<BackfillProgress["write"]>[] = [];
    const migrator = new Migrator({
      databaseUrl: db.url,
      onEvent: (event) => {
        if (event.type !== "backfill") return;
        if (event.progress.write) writes.push(event.progress.write);
        options.onProgress?.(event.progress);
      },
    });
    await migrator.start(file, { backfill: false });
    const outcome = await migrator.resume(options.settings ? { settings: options.settings } : {}).catch((error: unknown) => error);
    return { migrator, writes, outcome };
  }

  /**
   * How many times the table's dual-write function has run, from the statistics (the
   * database counts PL/pgSQL calls for every new session), once `atLeast` have arrived:
   * a session's counts reach the statistics when it ends.
   */
  async function triggerCalls(table: string, atLeast: number): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await sql.query(`SELECT coalesce(sum(calls), 0)::int AS n FROM pg_stat_user_functions WHERE funcname LIKE 'dual\\_write\\_%\\_' || $1`, [table]);
      if (rows[0].n >= atLeast || Date.now() > deadline) return rows[0].n;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** One UPDATE of the table in a session of its own, ended at once. */
  async function writeOnce(statement: string): Promise<void> {
    const c = await connectedClient(db.url);
    await c.query(statement);
    await c.end();
  }

  /** What the trigger computes for every row, taken in a transaction that is rolled back. */
  async function triggerValues(table: string, columns: string[]): Promise<string> {
    await sql.query("BEGIN");
    try {
      await sql.query("SELECT set_config('underway.backfill', 'on', true)");
      await sql.query(`UPDATE ${table} SET id = id`);
      const { rows } = await sql.query(`SELECT json_agg(json_build_array(id, ${columns.join(", ")}) ORDER BY id)::text AS v FROM ${table}`);
      return rows[0].v;
    } finally {
      await sql.query("ROLLBACK");
    }
  }

  it("writes what the trigger would, row by row, for type changes, renames and NULLs, without firing it", async () => {
    await sql.query(`CREATE TABLE items (id bigint PRIMARY KEY, price integer, name text, qty smallint)`);
    await sql.query(`INSERT INTO items SELECT g, CASE WHEN g % 13 = 0 THEN NULL ELSE g END, CASE WHEN g % 17 = 0 THEN NULL ELSE 'Item ' || g END, g % 100 FROM generate_series(1, 20000) g`);
    const file = await migrationFile("02_items", [
      { rename_column: { table: "items", from: "name", to: "title" } },
      { alter_column: { table: "items", column: "price", type: "bigint", up: "price::bigint * 100", down: "(price / 100)::integer" } },
      { alter_column: { table: "items", column: "qty", type: "integer", up: "qty + length(coalesce(title, ''))", down: "qty::smallint" } },
      { add_column: { table: "items", column: { name: "slug", type: "text", nullable: true }, up: "lower(replace(title, ' ', '-'))" } },
    ]);
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(file, { backfill: false });
    const columns = ['"_uw_new_price"', '"_uw_new_qty"', "slug"];
    const expected = await triggerValues("items", columns);
    await migrator.rollback();

    const { writes, outcome } = await backfill(file);
    expect(outcome).toMatchObject({ kind: "finished" });
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((w) => w.kind === "direct")).toBe(true);
    const { rows } = await sql.query(`SELECT json_agg(json_build_array(id, ${columns.join(", ")}) ORDER BY id)::text AS v FROM items`);
    expect(rows[0].v).toBe(expected);
    // Spot values, so the comparison cannot pass on two empty results.
    const { rows: spot } = await sql.query(`SELECT "_uw_new_price"::text AS p, "_uw_new_qty" AS q, slug FROM items WHERE id = 42`);
    expect(spot[0]).toEqual({ p: "4200", q: 42 + "Item 42".length, slug: "item-42" });

    // The batches never ran the trigger; it still guards every other writer.
    await writeOnce(`UPDATE items SET price = 7 WHERE id = 1`);
    expect(await triggerCalls("items", 1)).toBe(1);
    const { rows: after } = await sql.query(`SELECT "_uw_new_price"::int AS p FROM items WHERE id = 1`);
    expect(after[0].p).toBe(700);
    expect((await new Migrator({ databaseUrl: db.url }).verify()).report.ok).toBe(true);
    await new Migrator({ databaseUrl: db.url }).rollback();
    await sql.query(`DROP TABLE items`);
  });

  it("keeps the trigger for a table with a row trigger of its own on UPDATE, which fires for every row", async () => {
    await sql.query(`CREATE TABLE stamped (id bigint PRIMARY KEY, price integer, touched integer NOT NULL DEFAULT 0)`);
    await sql.query(`INSERT INTO stamped SELECT g, g FROM generate_series(1, 5000) g`);
    await sql.query(`CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touched := OLD.touched + 1; RETURN NEW; END $$`);
    await sql.query(`CREATE TRIGGER bump BEFORE UPDATE ON stamped FOR EACH ROW EXECUTE FUNCTION bump()`);
    const { writes, outcome, migrator } = await backfill(
      await migrationFile("02_stamped", [{ alter_column: { table: "stamped", column: "price", type: "bigint", up: "price::bigint * 100", down: "(price / 100)::integer" } }]),
    );
    expect(outcome).toMatchObject({ kind: "finished" });
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((w) => w.kind === "trigger" && /row trigger of its own/.test(w.reason ?? ""))).toBe(true);
    const { rows } = await sql.query(`SELECT count(*) FILTER (WHERE touched = 1)::int AS touched, count(*) FILTER (WHERE "_uw_new_price" = price::bigint * 100)::int AS right FROM stamped`);
    expect(rows[0]).toEqual({ touched: 5000, right: 5000 });
    // Two calls a row: the trigger that fires before the table's own, and the one after.
    expect(await triggerCalls("stamped", 10000)).toBe(10000);
    await migrator.rollback();
    await sql.query(`DROP TABLE stamped; DROP FUNCTION bump()`);
  });

  it("moves to the trigger for the rest of the job when a row trigger appears mid-run, and fires it for every batch after", async () => {
    await sql.query(`CREATE TABLE late (id bigint PRIMARY KEY, price integer)`);
    await sql.query(`CREATE TABLE late_audit (id bigint)`);
    await sql.query(`INSERT INTO late SELECT g, g FROM generate_series(1, 30000) g`);
    await sql.query(`ANALYZE late`);
    await sql.query(`CREATE FUNCTION audit_late() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO late_audit VALUES (NEW.id); RETURN NULL; END $$`);
    const jobRows = async () => Number((await sql.query(`SELECT coalesce(sum(rows_done), 0)::text AS n FROM underway.backfill_ranges`)).rows[0].n);
    let created: Promise<{ before: number; after: number }> | undefined;
    const { writes, outcome, migrator } = await backfill(
      await migrationFile("02_late", [{ alter_column: { table: "late", column: "price", type: "bigint", up: "price::bigint * 100", down: "(price / 100)::integer" } }]),
      {
        settings: { maxRate: 6000 },
        onProgress: (p) => {
          if (created || p.rowsDone === 0 || p.rowsDone > 20000) return;
          created = (async () => {
            const c = await connectedClient(db.url);
            try {
              const before = await jobRows();
              await c.query(`CREATE TRIGGER audit_late AFTER UPDATE ON late FOR EACH ROW EXECUTE FUNCTION audit_late()`);
              return { before, after: await jobRows() };
            } finally {
              await c.end();
            }
          })();
        },
      },
    );
    expect(outcome).toMatchObject({ kind: "finished" });
    const { before, after } = await created!;
    expect(before).toBeGreaterThan(0);
    expect(writes[0]!.kind).toBe("direct");
    expect(writes.at(-1)).toEqual({ kind: "trigger", reason: expect.stringContaining("now has a row trigger of its own") });
    // Every batch that committed after the trigger existed fired it.
    const audited = Number((await sql.query(`SELECT count(DISTINCT id)::int AS n FROM late_audit`)).rows[0].n);
    expect(audited).toBeGreaterThanOrEqual(30000 - after);
    expect(audited).toBeLessThanOrEqual(30000 - before);
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM late WHERE "_uw_new_price" IS DISTINCT FROM price::bigint * 100`);
    expect(rows[0].n).toBe(0);
    await migrator.rollback();
    await sql.query(`DROP TABLE late; DROP TABLE late_audit; DROP FUNCTION audit_late()`);
  });

  it("redoes a batch whose up fails through the trigger, which stops the job naming the row", async () => {
    await sql.query(`CREATE TABLE ratios (id bigint PRIMARY KEY, d integer)`);
    await sql.query(`INSERT INTO ratios SELECT g, g - 1234 FROM generate_series(1, 3000) g`);
    const { outcome, migrator } = await backfill(
      await migrationFile("02_ratios", [{ alter_column: { table: "ratios", column: "d", type: "numeric", up: "1000 / d", down: "d::integer" } }]),
    );
    expect(outcome).toBeInstanceOf(UnderwayError);
    expect((outcome as Error).message).toMatch(/up of public\.ratios failed for key \(id\)=\(1234\) \(d='0'\): division by zero/);
    await migrator.rollback();
    await sql.query(`DROP TABLE ratios`);
  });

  it("loses no write of either version's clients while the direct batches run, and each keeps the trigger", async () => {
    const rows = 40000;
    const accounts = await accountsTable(db, rows);
    try {
      const initial = BigInt((await sql.query(`SELECT sum(balance)::text AS s FROM accounts`)).rows[0].s);
      const writer = new Writer(db.url, "public_01_accounts", rows);
      await writer.start();
      const file = await migrationFile("02_widen", [
        { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
      ]);
      const { writes, outcome, migrator } = await backfill(file, { settings: { maxRate: 20000 } });
      const stats = await writer.stop();
      expect(outcome).toMatchObject({ kind: "finished" });
      expect(writes.every((w) => w.kind === "direct")).toBe(true);
      expect(stats.failures).toEqual([]);
      expect(stats.updates).toBeGreaterThan(50);
      const { rows: sums } = await sql.query(`SELECT sum(balance)::text AS s, count(*) FILTER (WHERE "_uw_new_balance" IS DISTINCT FROM balance::bigint * 3)::int AS wrong FROM accounts`);
      expect(BigInt(sums[0].s)).toBe(initial + stats.delta);
      expect(sums[0].wrong).toBe(0);
      // A session on the table still fires the trigger.
      await sql.query(`UPDATE accounts SET balance = 5 WHERE id = 3`);
      expect((await sql.query(`SELECT "_uw_new_balance"::int AS b FROM accounts WHERE id = 3`)).rows[0].b).toBe(15);
      await migrator.complete();
    } finally {
      await accounts.end();
    }
  });
});

describe("the foreground guard on a real workload", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  const rows = 150_000;
  beforeAll(async () => {
    db = await freshDatabase("guard");
    sql = await accountsTable(db, rows);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  async function run(name: string, settings: { foregroundTarget?: number | null }) {
    const seen: BackfillProgress[] = [];
    // Read before the writer starts: what it commits from then on is its delta.
    const before = BigInt((await sql.query(`SELECT sum(balance)::text AS s FROM accounts`)).rows[0].s);
    const writer = new Writer(db.url, "public_01_accounts", rows);
    await writer.start();
    await new Promise((r) => setTimeout(r, 1500));
    const migrator = new Migrator({ databaseUrl: db.url, onEvent: (e) => void (e.type === "backfill" && seen.push(e.progress)) });
    const file = await migrationFile(name, [{ alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } }]);
    await migrator.start(file, { settings });
    const stats = await writer.stop();
    expect(stats.failures).toEqual([]);
    const { rows: check } = await sql.query(`SELECT sum(balance)::text AS s, count(*) FILTER (WHERE "_uw_new_balance" IS DISTINCT FROM balance::bigint * 3)::int AS wrong FROM accounts`);
    expect(check[0].wrong).toBe(0);
    expect(BigInt(check[0].s)).toBe(before + stats.delta);
    await migrator.rollback();
    return seen;
  }

  it("sees the application's writes and paces the batches to them by default; --foreground none does not", async () => {
    const paced = await run("02_paced", {});
    const measured = paced.filter((p) => p.foreground && p.foreground.tps > 5);
    expect(measured.length).toBeGreaterThan(0);
    // That the guard paced, from its reading. Whether a progress report lands while a worker
    // sleeps for it (throttledBy "foreground") depends on how long the sleeps are against the
    // report interval, which a busy machine changes; the simulation tests the sleeps' share.
    expect(paced.some((p) => p.foreground?.pacing === true && p.foreground.duty < 1)).toBe(true);

    const flat = await run("02_flat", { foregroundTarget: null });
    expect(flat.some((p) => p.throttledBy === "foreground")).toBe(false);
    expect(flat.every((p) => p.foreground?.pacing !== true)).toBe(true);
  });
});

describe("when the backfill computes the new columns itself", () => {
  const base: DualWriteTable = {
    schema: "public",
    table: "t",
    oldBindings: [
      { name: "id", physical: "id" },
      { name: "a", physical: "a" },
      { name: "b", physical: "b" },
    ],
    newBindings: [],
    up: [{ target: "_uw_new_a", expression: "a * 2", inputs: ["a"] }],
    down: [],
    pairs: [],
    backfillSkip: "underway.b_test",
  };
  const columns = ["id", "a", "b", "_uw_new_a", "_uw_new_b"];
  const reason = (spec: Partial<DualWriteTable>) => {
    const write = directBackfill({ ...base, ...spec }, columns);
    return write.kind === "trigger" ? write.reason : `direct: ${write.set}`;
  };

  it("writes an expression that names columns as stored as it is, and binds renamed names in a subquery of the row", () => {
    expect(reason({})).toBe('direct: "_uw_new_a" = (a * 2)');
    const renamed = reason({ up: [{ target: "_uw_new_a", expression: "title || '!'", inputs: ["b"], bindings: [{ name: "title", physical: "b" }] }] });
    expect(renamed).toContain('FROM (SELECT "public"."t"."b" AS "title"');
    expect(renamed).toContain("OFFSET 0");
  });

  it("keeps the trigger wherever the two could differ, saying why", () => {
    expect(reason({ backfillSkip: undefined })).toMatch(/earlier release/);
    expect(reason({ up: [] })).toMatch(/no up/);
    expect(reason({ up: [base.up[0]!, { target: "_uw_new_a", expression: "b", inputs: ["b"] }] })).toMatch(/two up expressions fill _uw_new_a/);
    // As the planner gives it: the second reads the first's column through its own bindings, its inputs expanded to the first's.
    expect(
      reason({ up: [base.up[0]!, { target: "_uw_new_b", expression: "a + 1", inputs: ["a"], bindings: [{ name: "a", physical: "_uw_new_a" }] }] }),
    ).toMatch(/reads a column another up fills/);
    expect(reason({ up: [{ target: "_uw_new_a", expression: "nextval('s')", inputs: [], backfillOnly: true }] })).toMatch(/volatile default/);
    expect(reason({ up: [{ target: "_uw_new_a", expression: "NEW.a", inputs: null }] })).toMatch(/cannot be told|names NEW/);
    expect(reason({ up: [{ target: "_uw_new_a", expression: "a || TG_OP", inputs: ["a"] }] })).toMatch(/trigger variable/);
    expect(reason({ up: [{ target: "_uw_new_a", expression: "a + _uw_new_b", inputs: ["a"] }] })).toMatch(/names the column _uw_new_b/);
  });
});
