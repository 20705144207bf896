import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

/**
 * A broken `up` never makes the old application's writes fail: a row it cannot convert is
 * written anyway, with the new column empty, and remembered. The backfill stops on such a
 * row, naming its key and values and the way forward; verify and complete refuse while any
 * remains; fixing the rows through the old version (or deleting them) lets complete go on.
 */
describe("rows up cannot convert", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  let migrator: Migrator;
  const file = () =>
    migrationFile("02_numeric_code", [
      { alter_column: { table: "codes", column: "code", type: "integer", nullable: false, up: "trim(coalesce(code, '0'))::integer", down: "code::text" } },
    ]);
  beforeAll(async () => {
    db = await freshDatabase("upfail");
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`CREATE TABLE codes (id bigint PRIMARY KEY, code text)`);
    await sql.query(`INSERT INTO codes SELECT g, g::text FROM generate_series(1, 3000) g`);
    await sql.query(`UPDATE codes SET code = 'x17' WHERE id = 1700`);
    migrator = new Migrator({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("stops the backfill at the row, naming its key, its value and the way forward", async () => {
    const error = await migrator.start(await file()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnderwayError);
    expect((error as Error).message).toMatch(/up of public\.codes failed for key \(id\)=\(1700\) \(code='x17'\): invalid input syntax for type integer: "x17"/);
    expect((error as Error).message).toContain('run "underway resume", or run "underway rollback"');
  });

  it("keeps the old application writing, records what up cannot convert, and refuses complete until it is fixed", async () => {
    await sql.query(`UPDATE codes SET code = '1700' WHERE id = 1700`);
    await migrator.resume();
    // The old application writes values up cannot convert: the writes go through.
    await sql.query(`UPDATE codes SET code = 'abc' WHERE id = 5`);
    await sql.query(`INSERT INTO codes (id, code) VALUES (5000, 'not a number')`);
    const { rows } = await sql.query(`SELECT id, code, "_uw_new_code" AS new FROM codes WHERE id IN (5, 5000) ORDER BY id`);
    expect(rows).toEqual([
      { id: "5", code: "abc", new: null },
      { id: "5000", code: "not a number", new: null },
    ]);
    // A session that may write the table only through a group role records its failure too.
    const suffix = Math.random().toString(36).slice(2, 8);
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE writers_${suffix}; CREATE ROLE writer_${suffix} LOGIN IN ROLE writers_${suffix}; CREATE ROLE nobody_${suffix} LOGIN`);
      await admin.query(`GRANT SELECT, INSERT, UPDATE ON codes TO writers_${suffix}`);
    } finally {
      await admin.end();
    }
    const as = async (role: string, text: string) => {
      const url = new URL(db.url);
      url.username = role;
      const client = new pg.Client({ connectionString: url.toString() });
      await client.connect();
      try {
        return await client.query(text);
      } finally {
        await client.end();
      }
    };
    await as(`writer_${suffix}`, `UPDATE codes SET code = 'zz' WHERE id = 6`);
    // A role that can only log in cannot forge a failure that would hold complete up.
    await expect(
      as(`nobody_${suffix}`, `SELECT underway.record_up_failure('public', 'codes', '["7"]', '(id)=(7)', 'forged', '22000', 'forged')`),
    ).rejects.toThrow(/may not record it/);
    await expect(as(`nobody_${suffix}`, `SELECT underway.record_up_failure('public', 'codes', NULL, NULL, 'forged', '22000', 'forged')`)).rejects.toThrow(/may not record it/);

    // A new-version write still must hold the new version's NOT NULL.
    await expect(sql.query(`INSERT INTO public_02_numeric_code.codes (id, code) VALUES (6000, NULL)`)).rejects.toThrow(/violates check constraint/);

    const { report } = await migrator.verify();
    expect(report.ok).toBe(false);
    expect(report.tables[0]!.failures.map((f) => f.key)).toEqual([["5"], ["6"], ["5000"]]);
    const refused = await migrator.complete().catch((e: unknown) => e);
    expect((refused as UnderwayError).code).toBe("CHECKSUM_MISMATCH");
    expect((refused as Error).message).toMatch(/3 row\(s\) written during migration "02_numeric_code" could not be converted by up \(first: codes key \(id\)=\(5\), code='abc'/);
    const skip = await migrator.complete({ skipVerify: true }).catch((e: unknown) => e);
    expect((skip as Error).message).toMatch(/could not be converted by up/);

    // Fixed through the old version, or gone: complete goes through.
    await sql.query(`UPDATE codes SET code = '55' WHERE id = 5`);
    await sql.query(`UPDATE codes SET code = '66' WHERE id = 6`);
    await sql.query(`DELETE FROM codes WHERE id = 5000`);
    await migrator.complete();
    const { rows: after } = await sql.query(`SELECT code FROM codes WHERE id IN (5, 1700) ORDER BY id`);
    expect(after).toEqual([{ code: 55 }, { code: 1700 }]);
    const { rows: left } = await sql.query(`SELECT count(*)::int AS n FROM underway.up_failures`);
    expect(left[0].n).toBe(0);
  });
});
