import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { Writer } from "../support/workload.js";
import { accountsTable } from "../support/accounts.js";

const ROWS = 20_000;

/**
 * The check from the issue: clients keep writing through the old schema and through the
 * new version schema while a type change runs from start to complete, and no statement
 * fails and no write is lost.
 */
describe("a type change under continuous writes from both versions", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("livewrites");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("loses nothing and fails nothing from start to complete", async () => {
    const migrator = new Migrator({ databaseUrl: db.url });
    const setup = await accountsTable(db, ROWS, "1000");
    const initial = BigInt((await setup.query(`SELECT sum(balance)::text AS s FROM accounts`)).rows[0].s);

    // Old clients: the previous version schema, and one on the raw table.
    const oldWriters = [
      new Writer(db.url, "public_01_accounts", ROWS),
      new Writer(db.url, "public_01_accounts", ROWS),
      new Writer(db.url, "public", ROWS),
    ];
    await Promise.all(oldWriters.map((w) => w.start()));
    await new Promise((r) => setTimeout(r, 300));

    await migrator.start(
      await migrationFile("02_widen_balance", [
        { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint", down: "balance::integer" } },
        { rename_column: { table: "accounts", from: "owner", to: "holder" } },
      ]),
    );
    const newWriters = [
      new Writer(db.url, "public_02_widen_balance", ROWS, { owner: "holder", balance: "balance" }),
      new Writer(db.url, "public_02_widen_balance, public", ROWS, { owner: "holder", balance: "balance" }),
    ];
    await Promise.all(newWriters.map((w) => w.start()));
    await new Promise((r) => setTimeout(r, 500));
    // The rollout is over: the old version's clients stop before the contract.
    const oldStats = await Promise.all(oldWriters.map((w) => w.stop()));
    await migrator.complete();
    await new Promise((r) => setTimeout(r, 300));
    const newStats = await Promise.all(newWriters.map((w) => w.stop()));

    const all = [...oldStats, ...newStats];
    expect([...new Set(all.flatMap((s) => s.failures))]).toEqual([]);
    for (const s of all) expect(s.updates).toBeGreaterThan(0);
    const expectedSum = initial + all.reduce((sum, s) => sum + s.delta, 0n);
    const inserted = all.reduce((sum, s) => sum + s.inserts, 0);
    const { rows } = await setup.query(`SELECT count(*)::int AS n, sum(balance)::text AS s FROM accounts`);
    expect(rows[0]).toEqual({ n: ROWS + inserted, s: expectedSum.toString() });
    const { rows: shape } = await setup.query(
      `SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ',' ORDER BY attnum) AS cols
         FROM pg_attribute WHERE attrelid = 'public.accounts'::regclass AND attnum > 0 AND NOT attisdropped`,
    );
    expect(shape[0].cols).toBe("id:bigint,holder:text,balance:bigint");
    await setup.end();
  });
});
