import { hostname, userInfo } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntry } from "../../src/state/audit.js";
import { STATE_SCHEMA_VERSION } from "../../src/state/state-schema.js";
import { loadMigrationFile } from "../../src/format/load.js";
import { launch } from "../support/cli.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { json, query, scratchDir, underway, writeMigration } from "../cli/run-cli.js";
import { accountsTable, until } from "../dashboard/fixture.js";

async function trail(url: string, ...args: string[]): Promise<AuditEntry[]> {
  const run = await underway(["history", "--json", "--database-url", url, ...args]);
  expect(run.code, run.stderr).toBe(0);
  return json<{ entries: AuditEntry[] }>(run).entries;
}

/** The trail as `action outcome [source]`, steps left out, to compare with what the test did. */
function actions(entries: AuditEntry[]): string[] {
  return entries.filter((e) => !e.action.endsWith(" step")).map((e) => `${e.action} ${e.outcome} [${e.who.source}]`);
}

/**
 * The audit trail: every action that changes a migration's state, from the CLI and from
 * the dashboard, recorded with who, when, what and the file's checksum, kept after the
 * migration ends, shown by `underway history` and logged as JSON lines.
 */
describe("the audit trail", () => {
  let db: FreshDatabase;
  let role: string;
  beforeAll(async () => {
    db = await freshDatabase("audit");
    await accountsTable(db.url, 40_000);
    role = (await query<{ r: string }>(db.url, "SELECT current_user AS r"))[0]!.r;
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("records start with its steps, pause, throttle and resume from the CLI, a dashboard control, and rollback", async () => {
    const dir = await scratchDir();
    const file = await writeMigration(dir, "01_widen.yaml", [
      { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
    ]);
    const checksum = (await loadMigrationFile(file)).checksum;
    const url = db.url;

    const start = launch(["start", file, "--max-rate", "2000", "--foreground", "none", "--log-format", "json", "--json", "--database-url", url]);
    await until("the backfill to run", async () => {
      const rows = await query<{ state: string }>(url, "SELECT state FROM underway.backfill_jobs").catch(() => []);
      return rows[0]?.state === "running";
    }, 30_000);

    const pause = await underway(["pause", "--log-format", "json", "--database-url", url]);
    expect(pause.code, pause.stderr).toBe(0);
    // A control command logs its audit row as a JSON line with --log-format json.
    const pauseLog = pause.errorLines.map((line) => JSON.parse(line) as { audit?: { action: string; outcome: string; who: { source: string } } });
    expect(pauseLog.map((l) => l.audit && `${l.audit.action} ${l.audit.outcome} [${l.audit.who.source}]`)).toEqual(["pause done [cli]"]);
    const throttle = await underway(["throttle", "--max-rate", "1500", "--database-url", url]);
    expect(throttle.code, throttle.stderr).toBe(0);
    const resume = await underway(["resume", "--json", "--database-url", url]);
    expect(resume.code, resume.stderr).toBe(0);

    const dashboard = launch(["dashboard", "--port", "0", "--json", "--database-url", url]);
    try {
      const started = JSON.parse(await until("the dashboard's address", () => dashboard.lines[0], 20_000)) as { url: string; token: string };
      const headers = { authorization: `Bearer ${started.token}` };
      expect((await fetch(new URL("/api/pause", started.url), { method: "POST", headers })).status).toBe(200);
      expect((await fetch(new URL("/api/resume", started.url), { method: "POST", headers })).status).toBe(200);
      // A refused control changes nothing and writes no row.
      expect((await fetch(new URL("/api/resume", started.url), { method: "POST", headers })).status).toBe(409);
    } finally {
      dashboard.child.kill("SIGINT");
    }
    expect(await dashboard.exited).toBe(0);
    const faster = await underway(["throttle", "--max-rate", "none", "--database-url", url]);
    expect(faster.code, faster.stderr).toBe(0);
    expect(await start.exited).toBe(0);

    const rollback = await underway(["rollback", "--database-url", url]);
    expect(rollback.code, rollback.stderr).toBe(0);

    const entries = await trail(url, "--migration", "01_widen");
    expect(actions(entries)).toEqual([
      "start begun [cli]",
      "pause done [cli]",
      "throttle done [cli]",
      "resume done [cli]",
      "pause done [dashboard]",
      "resume done [dashboard]",
      "throttle done [cli]",
      "start done [cli]",
      "rollback begun [cli]",
      "rollback done [cli]",
    ]);
    // Every step of both phases has its row, in order, between its phase's begun and done.
    const record = (await query<{ plan: { start: unknown[]; rollback: unknown[] } }>(url, "SELECT plan FROM underway.migrations WHERE name = '01_widen'"))[0]!;
    const steps = entries.filter((e) => e.action.endsWith(" step"));
    expect(steps.filter((e) => e.action === "start step")).toHaveLength(record.plan.start.length);
    expect(steps.filter((e) => e.action === "rollback step")).toHaveLength(record.plan.rollback.length);
    expect(steps[0]!.detail.step).toMatch(/^start 1\//);

    const me = userInfo().username;
    for (const entry of entries) {
      expect(entry.checksum).toBe(checksum);
      expect(entry.who.databaseRole).toBe(role);
      expect(entry.who.sessionRole).toBe(role);
      expect(entry.who.osUser).toBe(me);
      expect(entry.who.host).toBe(hostname());
      expect(entry.who.pid).toBeGreaterThan(0);
      expect(entry.who.clientAddress).toBe("127.0.0.1");
      expect(new Date(entry.at).getTime()).toBeGreaterThan(Date.now() - 10 * 60_000);
    }
    // Times follow the order of the rows.
    const times = entries.map((e) => new Date(e.at).getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const byId = (action: string, source: string) => entries.find((e) => e.action === action && e.who.source === source)!;
    expect(byId("throttle", "cli").detail).toMatchObject({ tables: ["accounts"], settings: { maxRate: 1500 } });
    expect(byId("pause", "dashboard").detail).toMatchObject({ tables: ["accounts"], remote: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1:\d+$/) });
    // Each command is its own process: the pause's pid is not the start's.
    expect(byId("pause", "cli").who.pid).not.toBe(byId("start", "cli").who.pid);
    expect(byId("start", "cli").who.applicationName).toBe("underway");

    // The start's JSON log carries its rows as structured lines.
    const logged = start
      .stderr()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg: string; audit?: { action: string; outcome: string; who: { source: string } } })
      .filter((line) => line.audit);
    expect(logged.map((l) => `${l.audit!.action} ${l.audit!.outcome}`)).toEqual(expect.arrayContaining(["start begun", "start done"]));
    expect(logged.filter((l) => l.audit!.action === "start step").length).toBe(record.plan.start.length);
    expect(logged.every((l) => l.audit!.who.source === "cli")).toBe(true);
  });

  it("keeps the trail after the migration ends and when it is started again, and refuses to rewrite it", async () => {
    const dir = await scratchDir();
    const file = await writeMigration(dir, "01_widen.yaml", [
      { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
    ]);
    const before = (await trail(db.url)).length;
    // The rolled-back migration starts again (its record gives way) and completes, verified first.
    const run = await underway(["start", file, "--complete", "--foreground", "none", "--database-url", db.url]);
    expect(run.code, run.stderr).toBe(0);
    const entries = await trail(db.url, "--migration", "01_widen");
    expect(entries.length).toBeGreaterThan(before);
    expect(actions(entries).filter((a) => a === "start begun [cli]")).toHaveLength(2);
    expect(actions(entries).slice(-5)).toEqual(["start begun [cli]", "start done [cli]", "verify done [cli]", "complete begun [cli]", "complete done [cli]"]);
    expect(entries.find((e) => e.action === "verify")!.detail).toMatchObject({ before: "complete", rowsChecked: 40_000, mismatches: 0 });

    const newest = await trail(db.url, "--limit", "2");
    expect(newest.map((e) => e.id)).toEqual(entries.slice(-2).map((e) => e.id));

    const text = await underway(["history", "--migration", "01_widen", "--database-url", db.url]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`01_widen\\s+complete done\\s+${role} \\(cli, ${userInfo().username}@`));

    // Even its owner's UPDATE, DELETE and TRUNCATE are refused.
    const kept = await query(db.url, "SELECT * FROM underway.audit ORDER BY id");
    for (const statement of ["UPDATE underway.audit SET action = 'x'", "DELETE FROM underway.audit", "TRUNCATE underway.audit"]) {
      await expect(query(db.url, statement)).rejects.toThrow(/append-only/);
    }
    expect(await query(db.url, "SELECT * FROM underway.audit ORDER BY id")).toEqual(kept);
  });

  it("refuses a bad --limit as a usage error and says when there is nothing to show", async () => {
    const bad = await underway(["history", "--limit", "0", "--database-url", db.url]);
    expect(bad.code).toBe(2);
    expect(bad.errorLines).toEqual([expect.stringContaining('invalid --limit "0"')]);
    const before = await query(db.url, "SELECT * FROM underway.backfill_jobs ORDER BY id");
    const badFormat = await underway(["pause", "--log-format", "xml", "--database-url", db.url]);
    expect(badFormat.code).toBe(2);
    expect(badFormat.errorLines).toEqual([expect.stringContaining('invalid --log-format "xml"')]);
    expect(await query(db.url, "SELECT * FROM underway.backfill_jobs ORDER BY id")).toEqual(before);
    const other = await freshDatabase("audit_empty");
    try {
      const empty = await underway(["history", "--database-url", other.url]);
      expect(empty.code, empty.stderr).toBe(0);
      expect(empty.stdout.trim()).toBe('no audited actions in schema "public"');
      // Reading the trail created nothing.
      expect(await query(other.url, "SELECT 1 FROM pg_namespace WHERE nspname = 'underway'")).toHaveLength(0);
    } finally {
      await other.drop();
    }
  });

  it("gives a state schema of the previous release its trail: a pause of a migration started before it is recorded", async () => {
    const other = await freshDatabase("audit_upgrade");
    try {
      await accountsTable(other.url, 20_000);
      const dir = await scratchDir();
      const file = await writeMigration(dir, "01_widen.yaml", [
        { alter_column: { table: "accounts", column: "balance", type: "bigint", up: "balance::bigint * 3", down: "(balance / 3)::integer" } },
      ]);
      // A start killed during its backfill leaves the job running, without a process.
      const start = launch(["start", file, "--max-rate", "500", "--foreground", "none", "--database-url", other.url]);
      await until("the backfill to run", async () => {
        const rows = await query<{ done: string }>(other.url, "SELECT sum(rows_done) AS done FROM underway.backfill_ranges").catch(() => []);
        return Number(rows[0]?.done ?? 0) > 0;
      }, 30_000);
      start.child.kill("SIGKILL");
      await start.exited;
      // As the previous release left it: no trail, state version 2.
      await query(other.adminUrl, "DROP TABLE underway.audit; DROP FUNCTION underway.audit_append_only(); UPDATE underway.state_version SET version = 2");
      const pause = await underway(["pause", "--database-url", other.url]);
      expect(pause.code, pause.stderr).toBe(0);
      expect(actions(await trail(other.url))).toEqual(["pause done [cli]"]);
      // A guarded action brings the rest of the state schema up to date.
      const rollback = await underway(["rollback", "--database-url", other.url]);
      expect(rollback.code, rollback.stderr).toBe(0);
      expect((await query<{ version: number }>(other.url, "SELECT max(version) AS version FROM underway.state_version"))[0]!.version).toBe(STATE_SCHEMA_VERSION);
      expect(actions(await trail(other.url))).toEqual(["pause done [cli]", "rollback begun [cli]", "rollback done [cli]"]);
    } finally {
      await other.drop();
    }
  });
});
