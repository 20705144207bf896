import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";
import { json, query, scratchDir, underway, writeMigration } from "./run-cli.js";

interface CheckJson {
  role: string;
  ok: boolean;
  steps: { phase: string; step: string; needs: string[]; missing: string[]; details: { privilege: string; granted: boolean; fix?: string }[] }[];
  move: { needs: string[]; missing: string[] };
}

/** `underway check FILE --privileges` on a real database, as the tables' owner and as a role that is not. */
describe("check --privileges", () => {
  let db: FreshDatabase;
  let file: string;
  const other = `uw_other_${randomBytes(3).toString("hex")}`;
  let otherUrl: string;

  beforeAll(async () => {
    db = await freshDatabase("check_privileges");
    const dir = await scratchDir();
    await new Migrator({ databaseUrl: db.url }).init();
    await query(db.url, `CREATE TABLE items (id bigserial PRIMARY KEY, name text, price integer NOT NULL)`);
    await query(db.url, `INSERT INTO items (name, price) SELECT 'item ' || g, g FROM generate_series(1, 100) g`);
    file = await writeMigration(dir, "02_widen.yaml", [
      { alter_column: { table: "items", column: "price", type: "bigint", up: "price::bigint", down: "price::integer" } },
      { create_index: { name: "items_name_idx", table: "items", columns: ["name"] } },
    ]);
    // A role that may read and write the table and create schemas, but does not own the table.
    await query(db.adminUrl, `CREATE ROLE ${other} LOGIN`);
    await query(db.adminUrl, `GRANT CONNECT, CREATE ON DATABASE "${db.name}" TO ${other}`);
    await query(db.adminUrl, `GRANT USAGE ON SCHEMA public TO ${other}`);
    await query(db.adminUrl, `GRANT SELECT, UPDATE ON items TO ${other}`);
    const url = new URL(db.url);
    url.username = other;
    otherUrl = url.toString();
  });
  afterAll(async () => {
    await db?.drop();
    await query(db.adminUrl.replace(/\/[^/]*$/, "/postgres"), `DROP ROLE IF EXISTS ${other}`);
  });

  it("passes for the owner of the tables, per step in JSON, and changes nothing", async () => {
    const before = await schemaSnapshot(db.adminUrl);
    const run = await underway(["check", file, "--privileges", "--json", "--database-url", db.url]);
    expect(run.code, run.stderr).toBe(0);
    const report = json<CheckJson>(run);
    expect(report.role).toBe("app");
    expect(report.ok).toBe(true);
    for (const step of report.steps) {
      expect(Object.keys(step)).toEqual(expect.arrayContaining(["step", "needs", "missing"]));
      expect(step.missing).toEqual([]);
    }
    const start = report.steps.filter((s) => s.phase === "start");
    expect(start.flatMap((s) => s.needs)).toContain('owner of table public.items');
    expect(start.flatMap((s) => s.needs)).toContain("SELECT, UPDATE on table public.items");
    expect(report.steps.find((s) => s.phase === "setup" && s.step.startsWith("state schema"))?.needs).toEqual(["owner of schema underway"]);
    // A move's needs are reported, and the owner role (no REPLICATION) lacks one, without failing the check.
    expect(report.move.missing).toContain("REPLICATION attribute (a replication slot and the initial copy's snapshot)");
    expect(await schemaSnapshot(db.adminUrl)).toEqual(before);

    const text = await underway(["check", file, "--database-url", db.url]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^start:$/m);
    expect(text.stdout).toMatch(/ok +owner of table public\.items/);
    expect(text.stdout).toContain("every planned step is allowed");
  });

  it("fails for a role that does not own the table, naming the ALTER step's missing ownership and its fix", async () => {
    const before = await schemaSnapshot(db.adminUrl);
    // A state schema it may create (CREATE on the database), so the first thing missing is the table's ownership.
    const run = await underway(["check", file, "--privileges", "--state-schema", "underway_other", "--database-url", otherUrl]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.errorLines).toHaveLength(1);
    expect(run.errorLines[0]).toMatch(new RegExp(`^underway: role ${other} lacks owner of table public\\.items \\(start step ".*"\\); fix: ALTER TABLE "public"\\."items" OWNER TO "${other}", or GRANT "app" TO "${other}"$`));
    expect(run.stdout).toMatch(/MISSING +owner of table public\.items/);
    expect(run.stdout).toMatch(/ok +SELECT, UPDATE on table public\.items/);

    const report = json<CheckJson>(await underway(["check", file, "--json", "--state-schema", "underway_other", "--database-url", otherUrl]));
    expect(report.ok).toBe(false);
    const alter = report.steps.find((s) => s.phase === "start" && s.missing.length > 0)!;
    expect(alter.missing).toEqual(["owner of table public.items"]);
    expect(report.steps.find((s) => s.step.startsWith("state schema"))?.missing).toEqual([]);
    expect(await schemaSnapshot(db.adminUrl)).toEqual(before);

    // Membership in the owning role is ownership enough.
    await query(db.adminUrl, `GRANT app TO ${other}`);
    try {
      const member = await underway(["check", file, "--state-schema", "underway_other", "--database-url", otherUrl]);
      expect(member.code, member.stdout + member.stderr).toBe(0);
    } finally {
      await query(db.adminUrl, `REVOKE app FROM ${other}`);
    }
  });

  it("says in one line that the role may not use a state schema another role owns, and how to fix it", async () => {
    const before = await schemaSnapshot(db.adminUrl);
    for (const command of [["check", file], ["history"], ["status"]]) {
      const run = await underway([...command, "--database-url", otherUrl]);
      expect(run.code, run.stdout + run.stderr).toBe(1);
      expect(run.errorLines).toEqual([
        expect.stringMatching(new RegExp(`^underway: role ${other} may not use the state schema underway, which app owns \\(permission denied for .*\\): connect as app, or GRANT app TO ${other}$`)),
      ]);
    }
    expect(await schemaSnapshot(db.adminUrl)).toEqual(before);
  });

  it("is a usage error for an unreadable file, before touching the database", async () => {
    const run = await underway(["check", "no/such/01_file.yaml", "--database-url", db.url]);
    expect(run.code).toBe(2);
    expect(run.errorLines).toHaveLength(1);
  });
});
