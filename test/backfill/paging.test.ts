import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { connectedClient } from "../support/accounts.js";


/**
 * The backfill pages by primary key (composite too), by a unique NOT NULL index when
 * there is no primary key, and by ctid block ranges when there is neither; each way every
 * row that existed gets its new value, and a stream of inserts cannot keep it running.
 */
describe("backfill paging", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("paging");
    sql = await connectedClient(db.url);
    await sql.query(`CREATE SCHEMA shop`);
    await sql.query(`CREATE TYPE shop.size AS ENUM ('s', 'm', 'l')`);
    await sql.query(`CREATE TABLE shop.composite (a int, b int, size shop.size NOT NULL DEFAULT 's', qty int NOT NULL, PRIMARY KEY (a, b))`);
    await sql.query(`INSERT INTO shop.composite (a, b, qty) SELECT g / 100, g % 100, g FROM generate_series(1, 6000) g`);
    await sql.query(`CREATE TABLE shop.unique_key (code text NOT NULL UNIQUE, qty int NOT NULL)`);
    await sql.query(`INSERT INTO shop.unique_key SELECT 'c' || g, g FROM generate_series(1, 6000) g`);
    await sql.query(`CREATE TABLE shop.heap (label text, qty int NOT NULL)`);
    await sql.query(`INSERT INTO shop.heap SELECT 'h' || g, g FROM generate_series(1, 6000) g`);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("fills every existing row by primary key, unique index or ctid, in a schema other than public", async () => {
    const migrator = new Migrator({ databaseUrl: db.url, schema: "shop" });
    const widen = (table: string) => ({
      alter_column: { table, column: "qty", type: "bigint", up: "qty::bigint * 2", down: "(qty / 2)::integer" },
    });
    await migrator.start(
      await migrationFile("01_widen_qty", [
        widen("composite"),
        widen("unique_key"),
        widen("heap"),
        { add_column: { table: "composite", column: { name: "big", type: "size", default: "'l'" } } },
      ]),
    );
    for (const table of ["composite", "unique_key", "heap"]) {
      const { rows } = await sql.query(`SELECT count(*)::int AS wrong FROM shop.${table} WHERE "_uw_new_qty" IS DISTINCT FROM qty::bigint * 2`);
      expect(rows[0].wrong, table).toBe(0);
    }
    await migrator.complete();
    for (const table of ["composite", "unique_key", "heap"]) {
      const { rows } = await sql.query(`SELECT count(*)::int AS n, sum(qty)::bigint::text AS s FROM shop.${table}`);
      expect(rows[0], table).toEqual({ n: 6000, s: String(6000 * 6001) });
    }
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM shop.composite WHERE big = 'l'`);
    expect(rows[0].n).toBe(6000);
  });

  it("rewrites each row exactly once, across key boundaries that sort differently as text, even with an ALWAYS identity key", async () => {
    await sql.query(`CREATE TABLE public.always (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, qty int NOT NULL, touches int NOT NULL DEFAULT 0)`);
    await sql.query(`INSERT INTO public.always (qty) SELECT g FROM generate_series(1, 25000) g`);
    // Counts how often each row is updated.
    await sql.query(`CREATE FUNCTION public.count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$`);
    await sql.query(`CREATE TRIGGER count_touch BEFORE UPDATE ON public.always FOR EACH ROW EXECUTE FUNCTION public.count_touch()`);
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_always_bigint", [
        { alter_column: { table: "always", column: "qty", type: "bigint", up: "qty::bigint", down: "qty::integer" } },
      ]),
    );
    const { rows } = await sql.query(`SELECT min(touches) AS lo, max(touches) AS hi, count(*)::int AS n FROM public.always`);
    expect(rows[0]).toEqual({ lo: 1, hi: 1, n: 25000 });
    await migrator.rollback();
  });

  it("by ctid, rewrites and counts each row once though its update moves it into free space of a later page", async () => {
    await sql.query(`CREATE TABLE public.loose (label text NOT NULL, qty int NOT NULL, touches int NOT NULL DEFAULT 0)`);
    await sql.query(`INSERT INTO public.loose (label, qty) SELECT 'row ' || g, g FROM generate_series(1, 40000) g`);
    // Free space in the later half of the table, which the free space map hands to the
    // new versions of rows updated on full pages before it.
    await sql.query(`DELETE FROM public.loose WHERE qty > 20000 AND qty % 2 = 0`);
    await sql.query(`VACUUM public.loose`);
    await sql.query(`CREATE FUNCTION public.count_loose_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.touches := OLD.touches + 1; RETURN NEW; END $$`);
    await sql.query(`CREATE TRIGGER count_touch BEFORE UPDATE ON public.loose FOR EACH ROW EXECUTE FUNCTION public.count_loose_touch()`);
    const progress: { rowsDone: number; rowsTotal: number }[] = [];
    const migrator = new Migrator({
      databaseUrl: db.url,
      onEvent: (event) => {
        if (event.type === "backfill") progress.push({ rowsDone: event.progress.rowsDone, rowsTotal: event.progress.rowsTotal });
      },
    });
    await migrator.start(
      await migrationFile("01_loose_bigint", [{ alter_column: { table: "loose", column: "qty", type: "bigint", up: "qty::bigint", down: "qty::integer" } }]),
    );
    const { rows } = await sql.query(
      `SELECT min(touches) AS lo, max(touches) AS hi, count(*)::int AS n, count(*) FILTER (WHERE "_uw_new_qty" IS DISTINCT FROM qty::bigint)::int AS wrong FROM public.loose`,
    );
    expect(rows[0]).toEqual({ lo: 1, hi: 1, n: 30000, wrong: 0 });
    expect(progress.at(-1)).toEqual({ rowsDone: 30000, rowsTotal: 30000 });
    const { jobs } = await migrator.jobs();
    expect(jobs.map((j) => ({ table: j.table, state: j.state, rowsDone: j.rowsDone, rowsTotal: j.rowsTotal }))).toEqual([
      { table: "loose", state: "done", rowsDone: 30000, rowsTotal: 30000 },
    ]);
    await migrator.rollback();
  });

  it("terminates while rows are inserted as fast as one client can, and misses none", async () => {
    await sql.query(`CREATE TABLE public.events (id bigserial PRIMARY KEY, payload int NOT NULL)`);
    await sql.query(`INSERT INTO public.events (payload) SELECT g FROM generate_series(1, 60000) g`);
    const inserter = await connectedClient(db.url);
    let inserting = true;
    let inserted = 0;
    const loop = (async () => {
      while (inserting) {
        await inserter.query(`INSERT INTO public.events (payload) SELECT g FROM generate_series(1, 50) g`);
        inserted += 50;
      }
    })();
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_events_bigint", [
        { alter_column: { table: "events", column: "payload", type: "bigint", up: "payload + 1", down: "(payload - 1)::integer" } },
      ]),
    );
    inserting = false;
    await loop;
    await inserter.end();
    expect(inserted).toBeGreaterThan(0);
    const { rows } = await sql.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE "_uw_new_payload" IS DISTINCT FROM payload + 1)::int AS wrong FROM public.events`);
    expect(rows[0]).toEqual({ n: 60000 + inserted, wrong: 0 });
    await migrator.rollback();
  });
});
