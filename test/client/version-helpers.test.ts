import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Kysely, PostgresDialect } from "kysely";
import { Migrator, withKyselyVersion, withVersion } from "../../src/index.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

describe("client helpers pin a version per transaction", () => {
  let db: FreshDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    db = await freshDatabase("client");
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_people", [
        { create_table: { name: "people", columns: [{ name: "id", type: "int", pk: true }, { name: "name", type: "text" }] } },
      ]),
      { complete: true },
    );
    await migrator.start(
      await migrationFile("02_full_name", [{ rename_column: { table: "people", from: "name", to: "full_name" } }]),
    );
    // A pool of one connection, so every transaction reuses the same server session, as behind PgBouncer.
    pool = new pg.Pool({ connectionString: db.url, max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it("node-postgres: each transaction sees its own version, and nothing leaks into the next one", async () => {
    await withVersion(pool, { versionSchema: "public_02_full_name" }, (c) =>
      c.query(`INSERT INTO people (id, full_name) VALUES (1, 'Ada Lovelace')`),
    );
    const old = await withVersion(pool, { versionSchema: "public_01_people" }, (c) => c.query(`SELECT name FROM people WHERE id = 1`));
    expect(old.rows).toEqual([{ name: "Ada Lovelace" }]);
    const { rows } = await pool.query(`SELECT current_setting('underway.version', true) AS v, current_setting('search_path') AS p`);
    expect(rows[0].v === "" || rows[0].v === null).toBe(true);
    expect(rows[0].p).not.toContain("public_0");
  });

  it("fail closed once the pinned version is gone: a client pinned to the old version gets an error after complete", async () => {
    const db2 = await freshDatabase("client_after");
    const pool2 = new pg.Pool({ connectionString: db2.url, max: 1 });
    try {
      const migrator = new Migrator({ databaseUrl: db2.url });
      await migrator.start(
        await migrationFile("01_people", [{ create_table: { name: "people", columns: [{ name: "id", type: "int", pk: true }, { name: "name", type: "text" }] } }]),
        { complete: true },
      );
      await migrator.start(await migrationFile("02_full_name", [{ rename_column: { table: "people", from: "name", to: "full_name" } }]));
      await withVersion(pool2, { versionSchema: "public_01_people" }, (c) => c.query(`INSERT INTO people (id, name) VALUES (1, 'Ada')`));
      await migrator.complete();
      // Without the check, search_path would fall through to public and the write would go to the new shape.
      await expect(withVersion(pool2, { versionSchema: "public_01_people" }, (c) => c.query(`SELECT * FROM people`))).rejects.toThrow(
        /schema "public_01_people" does not exist/,
      );
      const k2 = new Kysely<{ people: { id: number; name: string } }>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db2.url, max: 1 }) }) });
      try {
        await expect(withKyselyVersion(k2, { versionSchema: "public_01_people" }, (trx) => trx.selectFrom("people").selectAll().execute())).rejects.toThrow(
          /schema "public_01_people" does not exist/,
        );
      } finally {
        await k2.destroy();
      }
      const rows = await withVersion(pool2, { versionSchema: "public_02_full_name" }, (c) => c.query(`SELECT id, full_name FROM people`));
      expect(rows.rows).toEqual([{ id: 1, full_name: "Ada" }]);
    } finally {
      await pool2.end();
      await db2.drop();
    }
  });

  it("Kysely: the same through a transaction", async () => {
    const kysely = new Kysely<{ people: { id: number; full_name: string } }>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url, max: 1 }) }) });
    try {
      await withKyselyVersion(kysely, { versionSchema: "public_02_full_name" }, (trx) =>
        trx.insertInto("people").values({ id: 2, full_name: "Grace Hopper" }).execute(),
      );
      const rows = await withKyselyVersion(kysely, { versionSchema: "public_02_full_name" }, (trx) =>
        trx.selectFrom("people").select(["id", "full_name"]).orderBy("id").execute(),
      );
      expect(rows).toEqual([
        { id: 1, full_name: "Ada Lovelace" },
        { id: 2, full_name: "Grace Hopper" },
      ]);
    } finally {
      await kysely.destroy();
    }
  });
});
