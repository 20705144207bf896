import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

/** A client pinned to one version through search_path, the way applications select one. */
async function versionClient(url: string, searchPath: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`SET search_path TO ${searchPath}`);
  return client;
}

describe("dual write through version schemas", () => {
  let db: FreshDatabase;
  let migrator: Migrator;
  beforeAll(async () => {
    db = await freshDatabase("dualwrite");
    migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_items", [
        {
          create_table: {
            name: "items",
            columns: [
              { name: "id", type: "bigserial", pk: true },
              { name: "name", type: "text" },
              { name: "amount", type: "integer", default: "0" },
            ],
          },
        },
      ]),
      { complete: true },
    );
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`INSERT INTO items (name, amount) SELECT 'item ' || g, g FROM generate_series(1, 5000) g`);
    await admin.end();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("keeps old and new versions in step for every write, and chooses the version by parsed search_path", async () => {
    await migrator.start(
      await migrationFile("02_rename_widen", [
        { rename_column: { table: "items", from: "name", to: "title" } },
        { alter_column: { table: "items", column: "amount", type: "bigint", up: "amount::bigint", down: "least(amount, 2147483647)::integer" } },
      ]),
    );
    const old = await versionClient(db.url, "public_01_items");
    // pgroll compares search_path as a string and takes this for an old client; it is the new version.
    const young = await versionClient(db.url, "public_02_rename_widen, public");
    try {
      // The backfill filled the new column for every existing row.
      const { rows: backfilled } = await young.query(`SELECT count(*)::int AS n, sum(amount)::text AS total FROM items`);
      expect(backfilled[0]).toEqual({ n: 5000, total: String((5000 * 5001) / 2) });

      await old.query(`INSERT INTO items (name, amount) VALUES ('from old', 7)`);
      const { rows: seenByNew } = await young.query(`SELECT title, amount FROM items WHERE title = 'from old'`);
      expect(seenByNew).toEqual([{ title: "from old", amount: "7" }]);

      await young.query(`INSERT INTO items (title, amount) VALUES ('from new', 5000000000)`);
      const { rows: seenByOld } = await old.query(`SELECT name, amount FROM items WHERE name = 'from new'`);
      expect(seenByOld).toEqual([{ name: "from new", amount: 2147483647 }]);

      await old.query(`UPDATE items SET amount = amount + 1 WHERE id = 1`);
      await young.query(`UPDATE items SET amount = amount + 10 WHERE id = 1`);
      const { rows: one } = await old.query(`SELECT amount FROM items WHERE id = 1`);
      const { rows: oneNew } = await young.query(`SELECT amount FROM items WHERE id = 1`);
      expect(one[0].amount).toBe(12);
      expect(oneNew[0].amount).toBe("12");

      // The session setting wins over search_path; an unknown version is refused, not guessed.
      await old.query(`BEGIN`);
      await old.query(`SET LOCAL underway.version = '02_rename_widen'`);
      await old.query(`SET LOCAL search_path TO public_02_rename_widen`);
      await old.query(`UPDATE items SET amount = 100 WHERE id = 2`);
      await old.query(`COMMIT`);
      const { rows: two } = await old.query(`SELECT amount FROM items WHERE id = 2`);
      expect(two[0].amount).toBe(100);
      await old.query(`SET underway.version = 'no_such_version'`);
      await expect(old.query(`UPDATE items SET amount = 1 WHERE id = 3`)).rejects.toThrow(/unknown version "no_such_version"/);
      await old.query(`RESET underway.version`);
    } finally {
      await old.end();
      await young.end();
    }
    await migrator.complete();
    const check = await versionClient(db.url, "public");
    try {
      const { rows: columns } = await check.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'items' ORDER BY ordinal_position`,
      );
      expect(columns.map((c) => `${c.column_name} ${c.data_type}`)).toEqual(["id bigint", "title text", "amount bigint"]);
      const { rows: triggers } = await check.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'items'::regclass AND NOT tgisinternal`);
      expect(triggers).toEqual([]);
      const { rows: total } = await check.query(`SELECT count(*)::int AS n, sum(amount)::text AS s FROM items`);
      expect(total[0].n).toBe(5002);
    } finally {
      await check.end();
    }
  });
});
