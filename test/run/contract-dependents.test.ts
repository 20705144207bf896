import { afterEach, beforeEach, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";

/**
 * complete never gets stuck on what depends on the columns it drops: objects it can carry
 * over are dropped and created again around the swap, in the contract's one transaction;
 * what it cannot carry is refused when the file is planned, before anything changes, each
 * object named. If something appears during the migration that cannot be carried, complete
 * stops with its name, nothing contracted, and rollback still works.
 */
describe("objects that depend on what complete drops", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  let migrator: Migrator;
  beforeEach(async () => {
    db = await freshDatabase("dependents");
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`CREATE TABLE items (id bigint PRIMARY KEY, name text, amount integer UNIQUE, legacy text, seq serial)`);
    await sql.query(`INSERT INTO items (id, name, amount, legacy) SELECT g, 'item ' || g, g, 'x' FROM generate_series(1, 500) g`);
    migrator = new Migrator({ databaseUrl: db.url });
  });
  afterEach(async () => {
    await sql?.end();
    await db?.drop();
  });

  const widen = () =>
    migrationFile("02_widen", [
      { alter_column: { table: "items", column: "amount", type: "bigint", up: "amount", down: "amount::integer" } },
      { alter_column: { table: "items", column: "seq", type: "bigint", up: "seq", down: "seq::integer" } },
      { rename_column: { table: "items", from: "name", to: "title" } },
    ]);

  it("carries views (and views on them), a foreign key of another table, a policy, a trigger, statistics, grants and a serial's sequence", async () => {
    await sql.query(`CREATE TABLE orders (id int PRIMARY KEY, item_amount int REFERENCES items (amount))`);
    await sql.query(`INSERT INTO orders VALUES (1, 5), (2, 7)`);
    await sql.query(`CREATE VIEW big_items AS SELECT id, name, amount FROM items WHERE amount > 100`);
    await sql.query(`CREATE VIEW biggest AS SELECT * FROM big_items WHERE amount > 400`);
    await sql.query(`COMMENT ON VIEW big_items IS 'the big ones'`);
    await sql.query(`GRANT SELECT ON big_items TO PUBLIC`);
    await sql.query(`ALTER TABLE items ENABLE ROW LEVEL SECURITY`);
    await sql.query(`CREATE POLICY positive ON items USING (amount >= 0)`);
    await sql.query(`CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
    await sql.query(`CREATE TRIGGER on_amount BEFORE UPDATE OF amount ON items FOR EACH ROW EXECUTE FUNCTION noop()`);
    await sql.query(`CREATE STATISTICS items_amount_name ON amount, name FROM items`);
    await sql.query(`GRANT SELECT (amount) ON items TO PUBLIC`);

    const plan = await migrator.plan(await widen());
    expect(plan.carried).toEqual(
      expect.arrayContaining(["view public.big_items", "policy positive on table public.items", "trigger on_amount on table public.items", "constraint orders_item_amount_fkey on table public.orders"]),
    );
    await migrator.start(await widen());
    await sql.query(`INSERT INTO public_02_widen.items (id, title, amount) VALUES (1000, 'new', 3000000000)`).catch(() => undefined);
    await migrator.complete();

    const { rows: view } = await sql.query(`SELECT count(*)::int AS n, max(amount)::text AS max FROM biggest`);
    expect(view[0]).toEqual({ n: 100, max: "500" });
    const { rows: types } = await sql.query(
      `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'big_items'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(types).toEqual([
      { attname: "id", type: "bigint" },
      { attname: "name", type: "text" },
      { attname: "amount", type: "bigint" },
    ]);
    const { rows: meta } = await sql.query(
      `SELECT obj_description('big_items'::regclass, 'pg_class') AS comment, has_table_privilege('public', 'big_items', 'SELECT') AS granted,
              has_column_privilege('public', 'items', 'amount', 'SELECT') AS column_granted`,
    );
    expect(meta[0]).toEqual({ comment: "the big ones", granted: true, column_granted: true });
    const { rows: fk } = await sql.query(
      `SELECT conname, convalidated, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'orders'::regclass AND contype = 'f'`,
    );
    expect(fk).toEqual([{ conname: "orders_item_amount_fkey", convalidated: true, def: "FOREIGN KEY (item_amount) REFERENCES items(amount)" }]);
    await expect(sql.query(`INSERT INTO orders VALUES (3, 99999)`)).rejects.toThrow(/violates foreign key constraint/);
    const { rows: others } = await sql.query(
      `SELECT (SELECT count(*)::int FROM pg_policy WHERE polrelid = 'items'::regclass) AS policies,
              (SELECT count(*)::int FROM pg_trigger WHERE tgrelid = 'items'::regclass AND tgname = 'on_amount') AS triggers,
              (SELECT count(*)::int FROM pg_statistic_ext WHERE stxname = 'items_amount_name') AS statistics,
              pg_get_serial_sequence('items', 'seq') AS sequence`,
    );
    expect(others[0]).toEqual({ policies: 1, triggers: 1, statistics: 1, sequence: "public.items_seq_seq" });
    // The serial still counts on from its sequence.
    await sql.query(`INSERT INTO items (id, title, amount) VALUES (2000, 'after', 2000)`);
    const { rows: seq } = await sql.query(`SELECT seq FROM items WHERE id = 2000`);
    expect(Number(seq[0].seq)).toBeGreaterThan(500);
    // Widened with its column: a serial made bigint counts on past 2^31 - 1.
    const { rows: widened } = await sql.query(`SELECT seqtypid::regtype::text AS type, seqmax::text AS max FROM pg_sequence WHERE seqrelid = 'items_seq_seq'::regclass`);
    expect(widened[0]).toEqual({ type: "bigint", max: "9223372036854775807" });
    await sql.query(`SELECT setval('items_seq_seq', 2147483647)`);
    await sql.query(`INSERT INTO items (id, title, amount) VALUES (2001, 'past int', 2001)`);
    const { rows: past } = await sql.query(`SELECT seq::text FROM items WHERE id = 2001`);
    expect(past[0].seq).toBe("2147483648");
  });

  it("refuses, before anything changes, what cannot be carried: each object named, exit 2", async () => {
    await sql.query(`CREATE VIEW with_legacy AS SELECT id, legacy FROM items`);
    await sql.query(`ALTER TABLE items ADD COLUMN double_amount bigint GENERATED ALWAYS AS (amount * 2) STORED`);
    await sql.query(`CREATE MATERIALIZED VIEW amounts AS SELECT amount FROM items`);
    const before = await schemaSnapshot(db.url);
    const file = await migrationFile("02_drop", [
      { drop_column: { table: "items", column: "legacy" } },
      { alter_column: { table: "items", column: "amount", type: "bigint", up: "amount", down: "amount::integer" } },
    ]);
    const refused = await migrator.start(file).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnderwayError);
    expect((refused as UnderwayError).code).toBe("INVALID_MIGRATION");
    const message = (refused as UnderwayError).message;
    expect(message).toContain("view public.with_legacy (it uses items.legacy, which complete drops)");
    expect(message).toContain("generated column public.items.double_amount");
    expect(message).toContain("materialized view public.amounts");
    expect(await schemaSnapshot(db.url)).toEqual(before);
  });

  it("stops complete with the object's name when one appears that cannot be carried, and rollback still works", async () => {
    await migrator.init();
    const untouched = await schemaSnapshot(db.url);
    await migrator.start(await widen());
    // Made during the migration, on the column complete drops: no copy of it exists.
    await sql.query(`CREATE INDEX items_amount_late ON items (amount)`);
    const refused = await migrator.complete().catch((error: unknown) => error);
    expect((refused as Error).message).toMatch(/cannot contract public\.items: index public\.items_amount_late .*nothing was changed/);
    // The contract did not happen: the old column, its copy and the trigger are all there.
    const { rows: columns } = await sql.query(
      `SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) AS cols FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 AND NOT attisdropped`,
    );
    expect(columns[0].cols).toContain("amount integer");
    expect(columns[0].cols).toContain("_uw_new_amount bigint");
    await sql.query(`DROP INDEX items_amount_late`);
    // Rollback is still open, and gives back the schema as it was before start.
    await migrator.rollback();
    expect(await schemaSnapshot(db.url)).toEqual(untouched);
  });
});
