import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { InterruptedError, UnderwayError } from "../../src/errors.js";
import type { Backfill, BackfillContext } from "../../src/backfill/backfill.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { accountsTable } from "../support/accounts.js";

const ROWS = 20_000;

/** A custom backfill that rewrites the whole table in one statement and remembers each call. */
class OneStatementBackfill implements Backfill {
  readonly calls: BackfillContext[] = [];
  constructor(private readonly sql: pg.Client) {}
  async run(ctx: BackfillContext) {
    this.calls.push(ctx);
    const { rowCount } = await this.sql.query(`UPDATE ${ctx.table} SET balance = balance`);
    return { rows: rowCount ?? 0, batches: 1, seconds: 0 };
  }
}

const widen = (name: string, factor: number) =>
  migrationFile(name, [
    { alter_column: { table: "accounts", column: "balance", type: "bigint", up: `balance::bigint * ${factor}`, down: `(balance / ${factor})::integer` } },
  ]);

describe("the backfill service", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("bfservice");
    sql = await accountsTable(db, ROWS);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("refuses workers, settings, a lease or join for a custom backfill before anything changes, and runs the custom one otherwise", async () => {
    const custom = new OneStatementBackfill(sql);
    const migrator = new Migrator({ databaseUrl: db.url, backfill: custom });
    const file = await widen("02_custom", 2);
    const history = (await migrator.history()).length;

    const refused = await migrator.start(file, { workers: 4, settings: { maxRate: 100 } }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UnderwayError);
    expect((refused as UnderwayError).code).toBe("INVALID_ARGUMENT");
    expect((refused as UnderwayError).message).toBe(
      "the custom backfill given as the Migrator's backfill option takes no workers, settings.maxRate: those are options of underway's own backfill job; configure the custom backfill where it is made, or leave them out",
    );
    expect(custom.calls).toEqual([]);
    expect((await migrator.history()).length).toBe(history);

    // Stopped before the backfill, the start is carried on by resume, which refuses the same.
    await migrator.start(file, { backfill: false });
    const onResume = await migrator.resume({ leaseSeconds: 5 }).catch((error: unknown) => error);
    expect((onResume as UnderwayError).code).toBe("INVALID_ARGUMENT");
    expect((onResume as UnderwayError).message).toMatch(/takes no leaseSeconds:/);
    expect(custom.calls).toEqual([]);

    const resumed = await migrator.resume();
    expect(resumed.kind).toBe("finished");
    expect(custom.calls.map((c) => [c.migration, c.table])).toEqual([["02_custom", "accounts"]]);
    const { rows } = await sql.query(`SELECT count(*)::int AS n FROM accounts WHERE "_uw_new_balance" IS DISTINCT FROM balance::bigint * 2`);
    expect(rows[0].n).toBe(0);
    // The custom backfill made no job rows: the jobs the service reports are none.
    expect((await migrator.jobs()).jobs).toEqual([]);
    await migrator.rollback();
  });

  it("has resume store new settings once, in its own transaction, not again when the run picks the job up", async () => {
    const controller = new AbortController();
    const starter = new Migrator({
      databaseUrl: db.url,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === "backfill" && event.progress.rowsDone > 0) controller.abort("SIGINT");
      },
    });
    const file = await widen("03_resumed", 3);
    const stopped = await starter.start(file, { settings: { maxRate: 2000 } }).catch((error: unknown) => error);
    expect(stopped).toBeInstanceOf(InterruptedError);

    // Every statement that sets the jobs' settings leaves a row here (UPDATE OF fires when
    // the column is a target of the UPDATE, whether or not its value changes).
    await sql.query(`CREATE TABLE settings_writes (job_id bigint, settings jsonb)`);
    await sql.query(`CREATE FUNCTION count_settings_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.settings_writes VALUES (NEW.id, NEW.settings); RETURN NULL; END $$`);
    await sql.query(`CREATE TRIGGER count_settings_write AFTER UPDATE OF settings ON underway.backfill_jobs
      FOR EACH ROW EXECUTE FUNCTION count_settings_write()`);

    const migrator = new Migrator({ databaseUrl: db.url });
    const resumed = await migrator.resume({ settings: { maxRate: 1_000_000 } });
    expect(resumed.kind).toBe("finished");
    const [job] = (await migrator.jobs()).jobs;
    expect(job).toMatchObject({ table: "accounts", state: "done", settings: { maxRate: 1_000_000 } });
    const { rows: writes } = await sql.query<{ max_rate: number }>(`SELECT (settings ->> 'maxRate')::int AS max_rate FROM settings_writes`);
    expect(writes).toEqual([{ max_rate: 1_000_000 }]);
    await migrator.rollback();
  });
});
