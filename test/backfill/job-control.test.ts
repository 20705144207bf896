import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { CLI, runUntil } from "../support/cli.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { migrationFile } from "../support/migrations.js";
import { Writer } from "../support/workload.js";
import { accountsTable } from "../support/accounts.js";

const run = promisify(execFile);
const ROWS = 100_000;

async function underway(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function jobs(url: string): Promise<{ table: string; state: string; rowsDone: number; rowsTotal: number; throttledBy: string | null; owners: string[]; settings: { maxRate: number | null } }[]> {
  const { stdout, code, stderr } = await underway(["jobs", "--json", "--database-url", url]);
  if (code !== 0) throw new Error(stderr);
  return JSON.parse(stdout).jobs;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const widen = () =>
  migrationFile("02_widen", [
    { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
  ]);

async function wrongRows(sql: pg.Client): Promise<number> {
  const { rows } = await sql.query(`SELECT count(*)::int AS n FROM accounts WHERE "_uw_new_balance" IS DISTINCT FROM balance::bigint * 3`);
  return rows[0].n;
}

describe("the backfill job", () => {
  let db: FreshDatabase;
  let sql: pg.Client;
  beforeAll(async () => {
    db = await freshDatabase("jobs");
    sql = await accountsTable(db, ROWS);
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it("survives kill -9 mid-backfill: status shows the saved progress, resume goes on from it, nothing is lost", async () => {
    const file = await widen();
    const writer = new Writer(db.url, "public_01_accounts", ROWS);
    // Read before the writer starts: what it commits from then on is its delta.
    const initial = BigInt((await sql.query(`SELECT sum(balance)::text AS s FROM accounts`)).rows[0].s);
    await writer.start();
    const killed = await runUntil(
      ["start", file.path, "--database-url", db.url, "--max-rate", "20000", "--lease", "2s"],
      /backfill accounts: [1-9][\d,]*\/[\s\S]*backfill accounts: /,
    );
    expect(killed.killed, killed.stderr).toBe(true);

    const interrupted = await until("the job to show as interrupted", async () => {
      const [job] = await jobs(db.url);
      return job?.state === "interrupted" ? job : undefined;
    });
    expect(interrupted.rowsDone).toBeGreaterThan(0);
    expect(interrupted.rowsDone).toBeLessThan(ROWS);
    const status = JSON.parse((await underway(["status", "--json", "--database-url", db.url])).stdout);
    expect(status.active.phase).toBe("backfilling");
    expect(status.jobs[0]).toMatchObject({ table: "accounts", state: "interrupted", rowsDone: interrupted.rowsDone });

    const migrator = new Migrator({ databaseUrl: db.url });
    const resumed = await migrator.resume({ settings: { maxRate: null } });
    expect(resumed.kind).toBe("finished");
    expect(await wrongRows(sql)).toBe(0);
    // Resumed from the saved cursors, not from the start: every row up to the job's upper
    // bound (the largest key when it began) was rewritten exactly once over both runs.
    const [done] = (await migrator.jobs()).jobs;
    expect(done!.state).toBe("done");
    const { rows: covered } = await sql.query(
      `SELECT count(*)::int AS n FROM accounts WHERE id <= (SELECT max((upper->>0)::bigint) FROM underway.backfill_ranges)`,
    );
    expect(done!.rowsDone).toBe(covered[0].n);

    // Old clients stop before the contract, as they would once the new version is rolled out.
    const stats = await writer.stop();
    await migrator.complete();
    expect(stats.failures).toEqual([]);
    const { rows } = await sql.query(`SELECT count(*)::int AS n, sum(balance)::text AS s FROM accounts`);
    expect(rows[0].n).toBe(ROWS + stats.inserts);
    // The migration tripled every balance written through the old version; deltas came through it too.
    expect(BigInt(rows[0].s)).toBe((initial + stats.delta) * 3n);
    // Put the table back to plain integer balances for the next test.
    await sql.query(`UPDATE accounts SET balance = balance / 3`);
    await new Migrator({ databaseUrl: db.url }).start(
      await migrationFile("03_narrow", [{ alter_column: { table: "accounts", column: "balance", type: "integer", up: "balance::integer", down: "balance::bigint" } }]),
      { complete: true },
    );
  });

  it("is paused, resumed, retuned and cancelled from other processes, and picks each change up", async () => {
    const file = await migrationFile("04_widen_again", [
      { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
    ]);
    const states: (string | undefined)[] = [];
    const migrator = new Migrator({ databaseUrl: db.url, onEvent: (event) => event.type === "backfill" && states.push(event.progress.state) });
    const started = migrator.start(file, { settings: { maxRate: 8000 } }).then(
      () => null,
      (error: unknown) => error,
    );
    await until("rows to be backfilled", async () => ((await jobs(db.url))[0]?.rowsDone ?? 0) > 0);

    expect((await underway(["pause", "--database-url", db.url])).code).toBe(0);
    const paused = await until("the job to pause", async () => {
      const [job] = await jobs(db.url);
      return job?.state === "paused" ? job : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500));
    const stillPaused = (await jobs(db.url))[0]!;
    expect(stillPaused.state).toBe("paused");
    expect(stillPaused.rowsDone - paused.rowsDone).toBeLessThanOrEqual(8000);
    // The running process's own progress says so too.
    expect(states.at(-1)).toBe("paused");

    const resumed = await underway(["resume", "--json", "--database-url", db.url]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).outcome).toBe("resumed-elsewhere");
    await until("rows to move again", async () => ((await jobs(db.url))[0]?.rowsDone ?? 0) > stillPaused.rowsDone);

    expect((await underway(["throttle", "--max-rate", "500", "--database-url", db.url])).code).toBe(0);
    const retuned = await until("the new limit to hold the job", async () => {
      const [job] = await jobs(db.url);
      return job?.settings.maxRate === 500 && job.throttledBy === "max-rate" ? job : undefined;
    });
    expect(retuned.state).toBe("throttled");

    // A second process cannot run the same migration.
    const second = await underway(["start", file.path, "--database-url", db.url]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another underway process is working on schema "public"/);

    expect((await underway(["cancel", "--database-url", db.url])).code).toBe(0);
    const error = await started;
    expect(error).toBeInstanceOf(UnderwayError);
    expect((error as UnderwayError).code).toBe("BACKFILL_ABORTED");
    const status = JSON.parse((await underway(["status", "--json", "--database-url", db.url])).stdout);
    expect(status.active.name).toBe("04_widen_again");
    expect(status.jobs[0].state).toBe("cancelled");

    // Cancelled is not lost: resume finishes from where it stopped, and complete contracts.
    const finish = await underway(["resume", "--max-rate", "none", "--json", "--database-url", db.url]);
    expect(finish.code, finish.stderr).toBe(0);
    expect(JSON.parse(finish.stdout).outcome).toBe("finished");
    expect(await wrongRows(sql)).toBe(0);
    await migrator.complete();
  });

  it("splits the work between workers of several processes and takes over a killed worker's range", async () => {
    await sql.query(`UPDATE accounts SET balance = balance / 3`);
    const file = await migrationFile("05_widen_parallel", [
      { alter_column: { table: "accounts", column: "balance", type: "numeric", up: "balance::numeric * 3", down: "(balance / 3)::bigint" } },
    ]);
    const migrator = new Migrator({ databaseUrl: db.url });
    // Slow enough that the joining process finds ranges nobody holds yet.
    const started = migrator.start(file, { workers: 2, leaseSeconds: 2, settings: { maxRate: 6000 } });
    await until("the job to exist", async () => (await jobs(db.url)).length > 0);

    const helper = spawn(process.execPath, [CLI, "resume", "--join", "--workers", "2", "--lease", "2s", "--database-url", db.url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const helperPid = helper.pid!;
    let helperOutput = "";
    helper.stderr.on("data", (chunk: Buffer) => (helperOutput += chunk.toString()));
    helper.stdout.on("data", (chunk: Buffer) => (helperOutput += chunk.toString()));
    const exited = new Promise<void>((resolve) => helper.on("close", () => resolve()));
    await until("the joining process to hold a range", async () => {
      const [job] = await jobs(db.url);
      return job?.owners.some((o) => o.includes(`:${helperPid}:`));
    }).catch((error: Error) => {
      throw new Error(`${error.message}; the joining process said: ${helperOutput}`);
    });
    helper.kill("SIGKILL");
    await exited;

    await started;
    const { rows } = await sql.query(`SELECT count(*) FILTER (WHERE "_uw_new_balance" IS DISTINCT FROM balance::numeric * 3)::int AS wrong, count(*)::int AS n FROM accounts`);
    expect(rows[0].wrong).toBe(0);
    const [job] = (await migrator.jobs()).jobs;
    expect(job!.state).toBe("done");
    expect(job!.rangesDone).toBe(job!.ranges);
    expect(job!.ranges).toBeGreaterThan(2);
    await migrator.rollback();
  });
});
