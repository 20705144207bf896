import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";

/**
 * The user's own BEFORE ROW triggers keep working during a migration: what they change
 * reaches the new columns (the dual-write trigger that fills them fires after every user
 * trigger, whatever its name), and for a write of the new version they see the old columns
 * already filled from `down`. `plan` names them.
 */
describe("user triggers on a table being migrated", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  let migrator: Migrator;
  beforeAll(async () => {
    db = await freshDatabase("usertrig");
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    await sql.query(`CREATE TABLE people (id bigint PRIMARY KEY, email text, email_lower text, touched int NOT NULL DEFAULT 0)`);
    // Named to sort after "_uw..." and before "zz...": PostgreSQL fires BEFORE ROW triggers in name order.
    await sql.query(`CREATE FUNCTION tidy_email() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.email := trim(NEW.email); NEW.email_lower := lower(NEW.email); NEW.touched := NEW.touched + 1; RETURN NEW; END $$`);
    await sql.query(`CREATE TRIGGER tidy_email BEFORE INSERT OR UPDATE ON people FOR EACH ROW EXECUTE FUNCTION tidy_email()`);
    // And one whose name sorts before underway's.
    await sql.query(`CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
    await sql.query(`CREATE TRIGGER "AAA_audit" BEFORE UPDATE ON people FOR EACH ROW EXECUTE FUNCTION audit()`);
    await sql.query(`INSERT INTO people (id, email) SELECT g, ' User' || g || '@Example.com ' FROM generate_series(1, 50) g`);
    migrator = new Migrator({ databaseUrl: db.url });
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("plan names them and says the dual-write trigger fires after them", async () => {
    const plan = await migrator.plan(
      await migrationFile("01_email", [
        { alter_column: { table: "people", column: "email", name: "address", type: "varchar(100)", up: "email", down: "address" } },
      ]),
    );
    expect(plan.userTriggers).toEqual([{ table: "people", triggers: ["AAA_audit (BEFORE UPDATE ROW)", "tidy_email (BEFORE INSERT/UPDATE ROW)"], early: true }]);
  });

  it("what they change reaches the new column, from both versions", async () => {
    const file = await migrationFile("01_email", [
      { alter_column: { table: "people", column: "email", name: "address", type: "varchar(100)", up: "email", down: "address" } },
    ]);
    await migrator.start(file);
    const { rows: names } = await sql.query(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'people'::regclass AND NOT tgisinternal ORDER BY tgname`);
    const ordered = names.map((r) => r.tgname as string);
    // The first dual-write trigger sorts before every user trigger, the last after them.
    expect(ordered[0]).toMatch(/uw_dual_write_first/);
    expect(ordered[ordered.length - 1]).toMatch(/uw_dual_write$/);

    // An old-version write: the user trigger trims the old column, the new one gets the trimmed value.
    await sql.query(`UPDATE people SET email = '  Old@Example.com  ' WHERE id = 1`);
    const { rows: old } = await sql.query(`SELECT p.email, p.email_lower, v.address FROM people p JOIN public_01_email.people v USING (id) WHERE id = 1`);
    expect(old[0]).toEqual({ email: "Old@Example.com", email_lower: "old@example.com", address: "Old@Example.com" });

    // A new-version write: the old column is filled from down before the user trigger runs,
    // so the trigger works on the value written; what it changes reaches the new column.
    await sql.query(`INSERT INTO public_01_email.people (id, address) VALUES (100, '  New@Example.com ')`);
    const { rows: fresh } = await sql.query(`SELECT p.email, p.email_lower, v.address, p.touched FROM people p JOIN public_01_email.people v USING (id) WHERE id = 100`);
    expect(fresh[0]).toEqual({ email: "New@Example.com", email_lower: "new@example.com", address: "New@Example.com", touched: 1 });
    await sql.query(`UPDATE public_01_email.people SET address = ' Changed@Example.com' WHERE id = 100`);
    const { rows: changed } = await sql.query(`SELECT p.email, v.address, p.touched FROM people p JOIN public_01_email.people v USING (id) WHERE id = 100`);
    expect(changed[0]).toEqual({ email: "Changed@Example.com", address: "Changed@Example.com", touched: 2 });

    const { report } = await migrator.verify();
    expect(report.ok).toBe(true);
    await migrator.complete();
    const { rows: after } = await sql.query(`SELECT address FROM people WHERE id IN (1, 100) ORDER BY id`);
    expect(after).toEqual([{ address: "Old@Example.com" }, { address: "Changed@Example.com" }]);
  });
});
