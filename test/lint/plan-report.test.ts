import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/run/migrator.js";
import { describePlan, renderPlan } from "../../src/lint/plan-report.js";
import { loadSqlParser } from "../../src/lint/sql-parser.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

/** `underway plan` as main.ts prints it, on a real database. */
describe("plan with locks", () => {
  let db: FreshDatabase;
  let migrator: Migrator;
  beforeAll(async () => {
    db = await freshDatabase("plan_locks");
    migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_items", [
        { create_table: { name: "items", columns: [{ name: "id", type: "bigserial", pk: true }, { name: "name", type: "text", nullable: true }, { name: "price", type: "integer" }] } },
      ]),
      { complete: true },
    );
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query(`INSERT INTO items (name, price) SELECT 'item ' || g, g FROM generate_series(1, 3000) g`);
    await client.end();
  });
  afterAll(() => db?.drop());

  it("shows each statement's lock and effect, the backfill's row count, and keeps the plan's JSON shape", async () => {
    const file = await migrationFile("02_widen", [
      { alter_column: { table: "items", column: "price", type: "bigint", up: "price::bigint", down: "price::integer" } },
      { create_index: { name: "items_name_idx", table: "items", columns: ["name"] } },
      { add_column: { table: "items", column: { name: "sku", type: "text", nullable: true } } },
    ]);
    const plan = await migrator.plan(file);
    const { text, json } = await renderPlan(plan, { databaseUrl: db.url, schema: "public" });
    expect(text).toMatch(/^start:\n {2}1\. /m);
    expect(text).toMatch(/backfill items \(~3,000 rows\)/);
    expect(text).toContain("[SHARE UPDATE EXCLUSIVE, builds concurrently] CREATE INDEX CONCURRENTLY");
    expect(text).toMatch(/\[ACCESS EXCLUSIVE, brief\] ALTER TABLE/);
    expect(json.start.map((s) => s.kind)).toContain("backfill");
    expect(json.start.find((s) => s.kind === "backfill")?.estimatedRows).toBe(3000);
    expect(json.backfill).toEqual([{ table: "items", estimatedRows: 3000 }]);
    // Nothing underway runs at start holds a strong lock for long.
    // Its own steps raise no alarms: dropping a version schema at rollback drops only underway's views.
    const findings = [...json.start, ...json.complete, ...json.rollback].flatMap((s) => s.locks.flatMap((l) => (l as { findings?: { rule: string }[] }).findings ?? []));
    expect(findings.filter((f) => f.rule === "drop-schema")).toEqual([]);
    expect(text).not.toMatch(/error \[drop-schema\]/);
    const startEffects = json.start.flatMap((s) => s.locks).filter((l) => l.lock === "ACCESS EXCLUSIVE").map((l) => l.effect);
    expect(startEffects.every((e) => e === "brief"), JSON.stringify(json.start.flatMap((s) => s.locks), null, 2)).toBe(true);
  });

  it("flags a step whose statements hold a strong lock while they scan (one step is one transaction)", async () => {
    await loadSqlParser();
    const report = describePlan({
      start: [
        {
          kind: "ddl",
          description: "add and validate a check in one go",
          statements: [`ALTER TABLE items ADD CONSTRAINT c CHECK (price > 0) NOT VALID`, `ALTER TABLE items VALIDATE CONSTRAINT c`],
        },
        { kind: "ddl", description: "set not null", statements: [`ALTER TABLE items ALTER COLUMN name SET NOT NULL`] },
      ],
      complete: [],
      rollback: [],
      backfillTables: [],
      dualWrite: [],
    });
    const [first, second] = report.phases.start;
    expect(first!.statements[1]!.findings.map((f) => f.rule)).toEqual(["validate-in-same-transaction"]);
    expect(second!.statements[0]).toMatchObject({ lock: "ACCESS EXCLUSIVE", effect: "scans" });
  });
});
