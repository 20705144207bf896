import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/run/migrator.js";
import { connectedClient } from "../support/accounts.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

/** Several operations of one migration on the same column, each seeing the others' result. */
describe("operations combined on one column", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("combined");
    const sql = await connectedClient(db.url);
    await sql.query(`CREATE TABLE orders (id bigint PRIMARY KEY, total integer, note text)`);
    await sql.query(`INSERT INTO orders SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE g END, 'n' FROM generate_series(1, 3000) g`);
    await sql.end();
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function columns(): Promise<string[]> {
    const sql = await connectedClient(db.url);
    try {
      const { rows } = await sql.query(
        `SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') AS c
           FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = 'orders'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      );
      return rows.map((r) => r.c);
    } finally {
      await sql.end();
    }
  }

  it("sets NOT NULL through a copy and then a default on that copy", async () => {
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_total_required", [
        { alter_column: { table: "orders", column: "total", nullable: false, up: "COALESCE(total, 0)", down: "total" } },
        { alter_column: { table: "orders", column: "total", default: "1" } },
      ]),
      { complete: true },
    );
    expect(await columns()).toEqual(["id bigint not null", "note text", "total integer not null default 1"]);
  });

  it("indexes a column and changes its type in the same migration", async () => {
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("02_total_bigint", [
        { create_index: { name: "orders_total_idx", table: "orders", columns: ["total"] } },
        { alter_column: { table: "orders", column: "total", type: "bigint", up: "total::bigint", down: "total::integer" } },
      ]),
      { complete: true },
    );
    expect(await columns()).toEqual(["id bigint not null", "note text", "total bigint not null default 1"]);
    const sql = await connectedClient(db.url);
    const { rows } = await sql.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'orders' AND indexname = 'orders_total_idx'`);
    await sql.end();
    expect(rows).toEqual([{ indexdef: "CREATE INDEX orders_total_idx ON public.orders USING btree (total)" }]);
  });
});
