import { execFile, spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATE_SCHEMA_VERSION } from "../../src/state/state-schema.js";
import { PLAN_FORMAT_VERSION } from "../../src/state/plan-format.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { PREVIOUS_RELEASE, previousReleaseCli } from "../support/previous-release.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";
import { query, scratchDir, underway, writeMigration, type CliRun } from "../cli/run-cli.js";

const ROWS = 20_000;

const ACCOUNTS = [
  {
    create_table: {
      name: "accounts",
      columns: [
        { name: "id", type: "bigserial", pk: true },
        { name: "owner", type: "text" },
        { name: "balance", type: "integer" },
      ],
    },
  },
];

const WIDEN = [
  { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 10", down: "(balance / 10)::integer" } },
  { add_column: { table: "accounts", column: { name: "note", type: "text", nullable: true }, up: "'note ' || owner" } },
];

let oldCli: string;

/** Runs the previous release's CLI, as `underway` runs this build's. */
function previous(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [oldCli, ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr, errorLines: stderr.split("\n").filter((l) => l.trim() !== "") });
    });
  });
}

/** The accounts table made and filled by the previous release, and the migration files. */
async function previousReleaseHistory(db: FreshDatabase): Promise<{ widen: string }> {
  const dir = await scratchDir();
  const accounts = await writeMigration(dir, "01_accounts.yaml", ACCOUNTS);
  const widen = await writeMigration(dir, "02_widen.yaml", WIDEN);
  const created = await previous(["start", accounts, "--complete", "--database-url", db.url]);
  expect(created.code, created.stderr).toBe(0);
  await query(db.url, `INSERT INTO accounts (owner, balance) SELECT 'owner ' || g, g % 1000 FROM generate_series(1, ${ROWS}) g`);
  return { widen };
}

async function stateVersion(url: string): Promise<number> {
  return (await query<{ version: number }>(url, "SELECT max(version) AS version FROM underway.state_version"))[0]!.version;
}

async function record(url: string, name: string): Promise<Record<string, unknown>> {
  return (await query(url, "SELECT to_jsonb(m) AS r FROM underway.migrations m WHERE name = $1", [name]))[0]!.r as Record<string, unknown>;
}

/**
 * A migration in flight while underway itself is upgraded: started by the release before
 * the state schema's versioned upgrades (built from this clone's history), then finished
 * or rolled back by this build. The state schema is brought up to this build's version on
 * the way, and the result is the schema this build alone would have made.
 */
describe(`a migration started by the release at ${PREVIOUS_RELEASE}`, () => {
  const dbs: FreshDatabase[] = [];
  const fresh = async (prefix: string) => {
    const db = await freshDatabase(prefix);
    dbs.push(db);
    return db;
  };
  beforeAll(async () => {
    oldCli = await previousReleaseCli();
  }, 600_000);
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it("is completed by this build: the state schema is upgraded and the schema is the one this build makes", async () => {
    const db = await fresh("upgrade_complete");
    const { widen } = await previousReleaseHistory(db);
    const started = await previous(["start", widen, "--database-url", db.url]);
    expect(started.code, started.stderr).toBe(0);
    // What the previous release left: its state version, no plan format column.
    expect(await stateVersion(db.url)).toBeLessThan(STATE_SCHEMA_VERSION);
    expect(await record(db.url, "02_widen")).not.toHaveProperty("plan_format");

    // A read first: status of this build reads the old records before any upgrade.
    const status = await underway(["status", "--database-url", db.url]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/02_widen\s+ready/);

    const complete = await underway(["complete", "--database-url", db.url]);
    expect(complete.code, complete.stderr).toBe(0);
    expect(await stateVersion(db.url)).toBe(STATE_SCHEMA_VERSION);
    const done = await record(db.url, "02_widen");
    expect({ phase: done.phase, running: done.running, last_error: done.last_error, plan_format: done.plan_format }).toEqual({
      phase: "completed",
      running: null,
      last_error: null,
      plan_format: 1,
    });
    const wrong = await query<{ n: number }>(
      db.url,
      `SELECT count(*)::int AS n FROM accounts WHERE balance IS DISTINCT FROM (id % 1000) * 10 OR note IS DISTINCT FROM 'note ' || owner`,
    );
    expect(wrong[0]!.n).toBe(0);

    // The same two migrations with this build alone: the same schema.
    const control = await fresh("upgrade_control");
    const dir = await scratchDir();
    for (const [name, ops] of [["01_accounts.yaml", ACCOUNTS], ["02_widen.yaml", WIDEN]] as const) {
      const run = await underway(["start", await writeMigration(dir, name, ops), "--complete", "--database-url", control.url]);
      expect(run.code, run.stderr).toBe(0);
    }
    expect(await schemaSnapshot(db.url)).toEqual(await schemaSnapshot(control.url));
    expect(await record(control.url, "02_widen")).toMatchObject({ plan_format: PLAN_FORMAT_VERSION });
  });

  it("is rolled back by this build from the middle of its backfill: the schema is as it was before", async () => {
    const db = await fresh("upgrade_rollback");
    const { widen } = await previousReleaseHistory(db);
    const before = await schemaSnapshot(db.url);
    // The previous release is killed during its backfill: the migration is left started, its job running with no process.
    const start = spawn(process.execPath, [oldCli, "start", widen, "--max-rate", "500", "--foreground", "none", "--database-url", db.url], { stdio: "ignore" });
    const exited = new Promise((resolve) => start.on("close", resolve));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const rows = await query<{ done: string | null }>(db.url, "SELECT sum(rows_done)::text AS done FROM underway.backfill_ranges").catch(() => []);
      if (Number(rows[0]?.done ?? 0) > 0) break;
      if (Date.now() > deadline) throw new Error("the previous release's backfill did not begin within 60 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    start.kill("SIGKILL");
    await exited;
    expect(await record(db.url, "02_widen")).toMatchObject({ phase: "backfilling", running: "start" });

    const rollback = await underway(["rollback", "--database-url", db.url]);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(await stateVersion(db.url)).toBe(STATE_SCHEMA_VERSION);
    expect(await record(db.url, "02_widen")).toMatchObject({ phase: "rolled_back", running: null, last_error: null, plan_format: 1 });
    expect(await schemaSnapshot(db.url)).toEqual(before);

    // And this build starts it afresh, to the end.
    const again = await underway(["start", widen, "--complete", "--database-url", db.url]);
    expect(again.code, again.stderr).toBe(0);
    expect(await record(db.url, "02_widen")).toMatchObject({ phase: "completed", plan_format: PLAN_FORMAT_VERSION });
  });
});
