import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/run/migrator.js";
import { STATE_SCHEMA_VERSION } from "../../src/state/state-schema.js";
import { PLAN_FORMAT_VERSION } from "../../src/state/plan-format.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { query } from "../cli/run-cli.js";

const WIDEN = [{ alter_column: { table: "items", column: "qty", type: "bigint", up: "qty::bigint", down: "qty::integer" } }];

/** The state schema's tables and columns, to tell that a refused command changed nothing. */
async function stateShape(url: string): Promise<unknown> {
  return query(
    url,
    `SELECT c.relname AS t, array_agg(a.attname ORDER BY a.attnum) AS cols FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = 'underway' AND c.relkind = 'r' GROUP BY c.relname ORDER BY c.relname`,
  );
}

describe("state schema and plan format versions", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("state_versions");
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.init();
    await migrator.start(await migrationFile("01_items", [{ create_table: { name: "items", columns: [{ name: "id", type: "bigserial", pk: true }, { name: "qty", type: "integer" }] } }]), { complete: true });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("records this release's state version and plan format", async () => {
    expect(await query(db.url, "SELECT version FROM underway.state_version")).toEqual([{ version: STATE_SCHEMA_VERSION }]);
    expect(await query(db.url, "SELECT plan_format FROM underway.migrations")).toEqual([{ plan_format: PLAN_FORMAT_VERSION }]);
  });

  it("refuses a state schema of a newer release in one line, for reads and phases alike, changing nothing", async () => {
    await query(db.adminUrl, "UPDATE underway.state_version SET version = $1", [STATE_SCHEMA_VERSION + 1]);
    try {
      const shape = await stateShape(db.url);
      const migrator = new Migrator({ databaseUrl: db.url });
      const newer = `the state schema "underway" was written by a newer underway (state version ${STATE_SCHEMA_VERSION + 1}, this release knows up to ${STATE_SCHEMA_VERSION}); nothing was changed: use that release or a newer one`;
      await expect(migrator.history()).rejects.toThrow(newer);
      await expect(migrator.start(await migrationFile("02_widen", WIDEN))).rejects.toMatchObject({ code: "INVALID_STATE", message: newer });
      await expect(migrator.init()).rejects.toThrow(newer);
      expect(await stateShape(db.url)).toEqual(shape);
      expect(await query(db.url, "SELECT count(*)::int AS n FROM underway.leases")).toEqual([{ n: 0 }]);
      expect(await query(db.url, "SELECT name FROM underway.migrations")).toEqual([{ name: "01_items" }]);
    } finally {
      await query(db.adminUrl, "UPDATE underway.state_version SET version = $1", [STATE_SCHEMA_VERSION]);
    }
  });

  it("refuses a migration whose plan a newer release wrote, and reads an older record as format 1", async () => {
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(await migrationFile("02_widen", WIDEN));
    await query(db.adminUrl, "UPDATE underway.migrations SET plan_format = $1 WHERE name = '02_widen'", [PLAN_FORMAT_VERSION + 1]);
    await expect(migrator.complete()).rejects.toMatchObject({
      code: "INVALID_STATE",
      message: `migration "02_widen" was planned by a newer underway (plan format ${PLAN_FORMAT_VERSION + 1}, this release reads up to ${PLAN_FORMAT_VERSION}); finish it with that release, or upgrade underway`,
    });
    expect(await query(db.url, "SELECT phase, complete_done FROM underway.migrations WHERE name = '02_widen'")).toEqual([{ phase: "ready", complete_done: 0 }]);
    await query(db.adminUrl, "UPDATE underway.migrations SET plan_format = 1 WHERE name = '02_widen'");
    expect((await migrator.complete()).phase).toBe("completed");
  });

  it("brings a state schema made before versions were recorded (version 1) up to this release's, keeping its records", async () => {
    // Version 1's shape: none of the later steps' tables and columns, no version table.
    await query(
      db.adminUrl,
      `DROP TABLE underway.state_version, underway.audit, underway.up_failures;
       ALTER TABLE underway.migrations DROP COLUMN carried, DROP COLUMN plan_format;
       ALTER TABLE underway.leases DROP COLUMN holder;
       ALTER TABLE underway.backfill_jobs DROP COLUMN foreground`,
    );
    const migrator = new Migrator({ databaseUrl: db.url });
    expect((await migrator.history()).map((m) => [m.name, m.phase])).toEqual([["01_items", "completed"], ["02_widen", "completed"]]);
    const record = await migrator.start(await migrationFile("03_narrow", [{ alter_column: { table: "items", column: "qty", type: "integer", up: "qty::integer", down: "qty::bigint" } }]));
    expect(record.phase).toBe("ready");
    expect(await query(db.url, "SELECT version FROM underway.state_version")).toEqual([{ version: STATE_SCHEMA_VERSION }]);
    expect(await query(db.url, "SELECT name, plan_format FROM underway.migrations ORDER BY id")).toEqual([
      { name: "01_items", plan_format: 1 },
      { name: "02_widen", plan_format: 1 },
      { name: "03_narrow", plan_format: PLAN_FORMAT_VERSION },
    ]);
    expect(await query(db.url, "SELECT to_regclass('underway.audit') IS NOT NULL AS audit, to_regclass('underway.up_failures') IS NOT NULL AS up")).toEqual([{ audit: true, up: true }]);
    expect((await migrator.rollback()).phase).toBe("rolled_back");
  });
});
