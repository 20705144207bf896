import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

/**
 * Version schemas: one view per table with logical names, the table's defaults in
 * effect through the view, a default-only change visible to the new version alone, and
 * the table's grants mirrored so roles that could use the table can use the view.
 */
describe("version schemas", () => {
  let db: FreshDatabase;
  let admin: pg.Client;
  let sql: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("versions");
    admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`CREATE TABLE tickets (id bigserial PRIMARY KEY, title text NOT NULL, status text NOT NULL DEFAULT 'open', price integer NOT NULL DEFAULT 0)`);
    await admin.query(`DROP ROLE IF EXISTS ticket_reader`);
    await admin.query(`CREATE ROLE ticket_reader LOGIN`);
    await sql.query(`GRANT SELECT ON tickets TO ticket_reader`);
  });
  afterAll(async () => {
    await sql?.end();
    await admin?.query(`DROP OWNED BY ticket_reader`);
    await admin?.query(`DROP ROLE ticket_reader`);
    await admin?.end();
    await db?.drop();
  });

  it("carries defaults, isolates a default-only change, and mirrors grants", async () => {
    const migrator = new Migrator({ databaseUrl: db.url });
    await migrator.start(
      await migrationFile("01_tickets_v2", [
        { alter_column: { table: "tickets", column: "status", default: "'new'" } },
        { alter_column: { table: "tickets", column: "price", type: "bigint", up: "price", down: "price::integer" } },
        { rename_column: { table: "tickets", from: "title", to: "subject" } },
      ]),
    );
    // No copy for a default-only change: the view carries the new default.
    const { rows: copies } = await sql.query(`SELECT attname FROM pg_attribute WHERE attrelid = 'tickets'::regclass AND attname LIKE '\\_uw%' AND NOT attisdropped ORDER BY 1`);
    expect(copies.map((r) => r.attname)).toEqual(["_uw_new_price"]);

    await sql.query(`INSERT INTO tickets (title) VALUES ('old client')`);
    await sql.query(`SET search_path TO public_01_tickets_v2`);
    await sql.query(`INSERT INTO tickets (subject) VALUES ('new client')`);
    const { rows } = await sql.query(`SELECT subject, status, price FROM tickets ORDER BY id`);
    expect(rows).toEqual([
      { subject: "old client", status: "open", price: "0" },
      { subject: "new client", status: "new", price: "0" },
    ]);
    await sql.query(`RESET search_path`);

    const reader = new pg.Client({ connectionString: db.adminUrl.replace(/\/\/[^@]*@/, "//ticket_reader@") });
    await reader.connect();
    try {
      const { rows: seen } = await reader.query(`SELECT count(*)::int AS n FROM public_01_tickets_v2.tickets`);
      expect(seen[0].n).toBe(2);
      await expect(reader.query(`INSERT INTO public_01_tickets_v2.tickets (subject) VALUES ('x')`)).rejects.toThrow(/permission denied/);
    } finally {
      await reader.end();
    }
    await migrator.complete();
    const { rows: after } = await sql.query(`SELECT column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'tickets' AND column_name = 'status'`);
    expect(after[0].column_default).toBe("'new'::text");
  });
});
