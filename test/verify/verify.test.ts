import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

/**
 * verify compares old and new representations on every row, on the server, in chunks:
 * it passes after a clean backfill whichever version wrote last, finds rows whose copy
 * disagrees and reports their key ranges, says which relations it cannot check, and
 * complete refuses to contract on a mismatch.
 */
describe("verify", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("verify");
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`CREATE TABLE items (id bigint PRIMARY KEY, price integer NOT NULL)`);
    await sql.query(`INSERT INTO items SELECT g, g FROM generate_series(1, 30000) g`);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("passes when old and new agree, finds the rows that do not, and stops complete", async () => {
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_cents", [
        { alter_column: { table: "items", column: "price", type: "bigint", up: "price::bigint * 100", down: "(price / 100)::integer" } },
        { add_column: { table: "items", column: { name: "lucky", type: "int", nullable: true }, up: "(random() * 10)::int" } },
      ]),
    );
    let { report } = await migrator.verify();
    expect(report.ok).toBe(true);
    expect(report.tables[0]!.rowsChecked).toBe(30000);
    expect(report.tables[0]!.unverifiable).toEqual([{ column: "lucky", reason: expect.stringContaining("not deterministic") }]);

    // A write through the new version is consistent through `down`, not `up`.
    await sql.query(`SET search_path TO public_01_cents`);
    await sql.query(`UPDATE items SET price = 12345 WHERE id = 7`);
    await sql.query(`RESET search_path`);
    ({ report } = await migrator.verify());
    expect(report.ok).toBe(true);

    // Rows the backfill would have missed: the copy disagrees with the original.
    await sql.query(`ALTER TABLE items DISABLE TRIGGER zz_uw_dual_write`);
    await sql.query(`UPDATE items SET "_uw_new_price" = -1 WHERE id BETWEEN 100 AND 120 OR id = 25000`);
    await sql.query(`ALTER TABLE items ENABLE TRIGGER zz_uw_dual_write`);
    ({ report } = await migrator.verify());
    expect(report.ok).toBe(false);
    expect(report.tables[0]!.mismatches).toBe(22);
    expect(report.tables[0]!.ranges).toEqual([
      { column: "price", from: ["1"], to: ["10000"], rows: 21 },
      { column: "price", from: ["20001"], to: ["30000"], rows: 1 },
    ]);

    const refused = await migrator.complete().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnderwayError);
    expect((refused as UnderwayError).code).toBe("CHECKSUM_MISMATCH");
    expect((refused as UnderwayError).message).toContain("22 row(s)");
    const { rows: still } = await sql.query(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = '_uw_new_price' AND NOT attisdropped`);
    expect(still[0].n).toBe(1);

    // A write that changes nothing recomputes nothing; rewriting the rows as the backfill
    // does (every new column from the old ones) repairs them, and complete goes through.
    await sql.query(`UPDATE items SET id = id WHERE id BETWEEN 100 AND 120 OR id = 25000`);
    expect((await migrator.verify()).report.tables[0]!.mismatches).toBe(22);
    await sql.query("BEGIN");
    await sql.query("SELECT set_config('underway.backfill', 'on', true)");
    await sql.query(`UPDATE items SET id = id WHERE id BETWEEN 100 AND 120 OR id = 25000`);
    await sql.query("COMMIT");
    await migrator.complete();
    const { rows } = await sql.query(`SELECT sum(price)::text AS s FROM items`);
    // Every price in cents, but row 7, which the new version set to 12345 directly.
    expect(BigInt(rows[0].s)).toBe(((30000n * 30001n) / 2n) * 100n - 700n + 12345n);
  });

  it("reports a bad row's key range on a table keyed by a uuid, which has no min or max", async () => {
    await sql.query(`CREATE TABLE tokens (id uuid PRIMARY KEY, qty integer NOT NULL)`);
    await sql.query(`INSERT INTO tokens SELECT ('00000000-0000-0000-0000-' || lpad(g::text, 12, '0'))::uuid, g FROM generate_series(1, 15000) g`);
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(await migrationFile("02_tokens", [{ alter_column: { table: "tokens", column: "qty", type: "bigint", up: "qty::bigint", down: "qty::integer" } }]));
    expect((await migrator.verify()).report).toMatchObject({ ok: true, tables: [{ rowsChecked: 15000, mismatches: 0 }] });
    await sql.query(`ALTER TABLE tokens DISABLE TRIGGER zz_uw_dual_write`);
    await sql.query(`UPDATE tokens SET "_uw_new_qty" = -1 WHERE qty = 12345`);
    await sql.query(`ALTER TABLE tokens ENABLE TRIGGER zz_uw_dual_write`);
    const { report } = await migrator.verify();
    expect(report.tables[0]!.ranges).toEqual([
      { column: "qty", from: ["00000000-0000-0000-0000-000000010001"], to: ["00000000-0000-0000-0000-000000015000"], rows: 1 },
    ]);
    await migrator.rollback();
  });
});
