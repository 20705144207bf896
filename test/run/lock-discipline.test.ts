import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { connectedClient } from "../support/accounts.js";


/**
 * A long transaction holds a lock on the table: underway's DDL gives up after
 * lock_timeout and retries, so application queries queued behind the DDL wait at most
 * that long instead of until the long transaction ends; when retries run out, the
 * error names the blocking process and its query.
 */
describe("lock discipline", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("locks");
    const c = await connectedClient(db.url);
    await c.query(`CREATE TABLE orders (id bigint PRIMARY KEY, total integer NOT NULL)`);
    await c.query(`INSERT INTO orders SELECT g, g FROM generate_series(1, 100) g`);
    await c.end();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("retries, lets application queries through meanwhile, and names the blocker when it gives up", async () => {
    const blocker = await connectedClient(db.url);
    const blockerPid = (await blocker.query(`SELECT pg_backend_pid() AS pid`)).rows[0].pid;
    await blocker.query(`BEGIN`);
    await blocker.query(`SELECT count(*) FROM orders /* the long report */`);

    const retries: number[] = [];
    const migrator = new Migrator({
      databaseUrl: db.url,
      lockPolicy: { lockTimeoutMs: 200, maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300 },
      onEvent: (e) => {
        if (e.type === "retry") retries.push(e.attempt);
      },
    });
    const file = await migrationFile("01_note", [
      { add_column: { table: "orders", column: { name: "note", type: "text", nullable: true } } },
    ]);
    const started = migrator.start(file).then(
      () => null,
      (error: unknown) => error,
    );
    // While underway keeps trying, the application still gets its writes through.
    const app = await connectedClient(db.url);
    let appWrites = 0;
    for (let i = 0; i < 5; i++) {
      await app.query(`UPDATE orders SET total = total + 1 WHERE id = $1`, [i + 1]);
      appWrites++;
    }
    const error = await started;
    expect(appWrites).toBe(5);
    expect(retries).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(UnderwayError);
    expect((error as UnderwayError).code).toBe("LOCK_TIMEOUT");
    expect((error as UnderwayError).message).toContain(`pid ${blockerPid}`);
    expect((error as UnderwayError).message).toContain("the long report");
    const { rows: columns } = await app.query(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'note'`);
    expect(columns[0].n).toBe(0);

    // Once the long transaction ends, running start again goes through.
    await blocker.query(`COMMIT`);
    await migrator.start(file);
    await migrator.complete();
    const { rows: after } = await app.query(`SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'note'`);
    expect(after[0].n).toBe(1);
    await blocker.end();
    await app.end();
  });

  it("waits past deadlock_timeout when the blocker holds only SHARE UPDATE EXCLUSIVE, so an autovacuum can give way", async () => {
    // Stands in for autovacuum, which yields to DDL only after the DDL has waited deadlock_timeout (1 s).
    const vacuum = await connectedClient(db.url);
    await vacuum.query(`BEGIN`);
    await vacuum.query(`LOCK TABLE orders IN SHARE UPDATE EXCLUSIVE MODE`);
    const released = new Promise((resolve) => setTimeout(resolve, 900)).then(() => vacuum.query(`COMMIT`));
    const migrator = new Migrator({ databaseUrl: db.url, lockPolicy: { lockTimeoutMs: 200, maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 50 } });
    // Two short attempts would be over well before the holder lets go; the second one waits past deadlock_timeout.
    await migrator.start(await migrationFile("02_flag", [{ add_column: { table: "orders", column: { name: "flag", type: "boolean", nullable: true } } }]));
    await released;
    await migrator.rollback();
    await vacuum.end();
  });
});
