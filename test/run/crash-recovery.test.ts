import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { runUntil } from "../support/cli.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";
import { Writer } from "../support/workload.js";
import { accountsTable } from "../support/accounts.js";

const ROWS = 30_000;

/**
 * kill -9 of `underway start` and `underway complete` at every step (and in the middle
 * of the backfill), each followed by the same command again or by rollback: the
 * migration finishes, rollback leaves the schema as it was, and the writes of a client
 * running all along are all there.
 */
describe("kill -9 during start and complete", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("crash");
    sql = await accountsTable(db, ROWS);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("re-running start finishes it, and rollback from any interrupted step restores the schema", async () => {
    const file = await migrationFile("02_widen", [
      { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 10", down: "(balance / 10)::integer" } },
      { add_column: { table: "accounts", column: { name: "note", type: "text", nullable: true }, up: "'note ' || owner" } },
    ]);
    const migrator = new Migrator({ databaseUrl: db.url });
    const steps = (await migrator.plan(file)).start.length;
    const before = await schemaSnapshot(db.url);
    const writer = new Writer(db.url, "public_01_accounts", ROWS);
    // Read before the writer starts: what it commits from then on is its delta.
    const initial = BigInt((await sql.query(`SELECT sum(balance)::text AS s FROM accounts`)).rows[0].s);
    await writer.start();

    const points = [...Array.from({ length: steps }, (_, k) => new RegExp(`start ${k + 1}/${steps}:`)), /backfill accounts: /];
    let killedCount = 0;
    for (const [i, point] of points.entries()) {
      const run = await runUntil(["start", file.path, "--database-url", db.url], point);
      if (run.killed) killedCount++;
      else expect(run.code, run.stderr).toBe(0);
      if (i % 2 === 0) {
        await migrator.start(file);
        const { rows } = await sql.query(
          `SELECT count(*)::int AS wrong FROM accounts WHERE "_uw_new_balance" IS DISTINCT FROM balance::bigint * 10 OR note IS DISTINCT FROM 'note ' || owner`,
        );
        expect(rows[0].wrong, `after kill at ${point}`).toBe(0);
      }
      await migrator.rollback();
      expect(await schemaSnapshot(db.url), `schema after kill at ${point} and rollback`).toEqual(before);
    }
    expect(killedCount).toBeGreaterThanOrEqual(steps - 1);
    const stats = await writer.stop();
    expect(stats.failures).toEqual([]);
    const { rows } = await sql.query(`SELECT count(*)::int AS n, sum(balance)::text AS s FROM accounts`);
    expect(rows[0]).toEqual({ n: ROWS + stats.inserts, s: (initial + stats.delta).toString() });
  });

  it("re-running complete after a kill at any of its steps finishes the contract", async () => {
    for (let round = 0; ; round++) {
      const type = round % 2 === 0 ? "bigint" : "integer";
      const file = await migrationFile(`1${round}_flip_${type}`, [
        { alter_column: { table: "accounts", column: "balance", type, up: `balance::${type}`, down: `balance::${type === "bigint" ? "integer" : "bigint"}` } },
      ]);
      const migrator = new Migrator({ databaseUrl: db.url });
      const total = (await migrator.plan(file)).complete.length;
      if (round >= total) break;
      const sumBefore = (await sql.query(`SELECT sum(balance)::text AS s FROM accounts`)).rows[0].s;
      await migrator.start(file);
      const run = await runUntil(["complete", "--database-url", db.url], new RegExp(`complete ${round + 1}/${total}:`));
      expect(run.killed || run.code === 0, run.stderr).toBe(true);
      const record = (await migrator.history()).find((m) => m.name === file.name)!;
      if (record.phase !== "completed") await migrator.complete();
      const { rows } = await sql.query(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'balance'`,
      );
      expect(rows[0].type).toBe(type);
      const { rows: leftovers } = await sql.query(
        `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname LIKE '\\_uw\\_%' AND NOT attisdropped`,
      );
      expect(leftovers[0].n).toBe(0);
      expect((await sql.query(`SELECT sum(balance)::text AS s FROM accounts`)).rows[0].s).toBe(sumBefore);
    }
  });
});
