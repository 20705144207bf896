import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/connection.js";
import { runDemo, type DemoSummary } from "../../src/demo/demo.js";
import { CLI, runUntil } from "../support/cli.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";

const ROWS = 20_000;
/** Short phases: the scenario is the same, only the waits are shorter. */
const QUICK = { rows: ROWS, clients: 2, baselineSeconds: 1, rolloutSeconds: 1, afterSeconds: 1 };

async function query<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = await connect(url);
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Every schema the demo could have made: underway_demo, its state schema, its version schemas. */
async function demoSchemas(url: string): Promise<string[]> {
  const rows = await query<{ name: string }>(url, `SELECT nspname::text AS name FROM pg_namespace WHERE nspname LIKE 'underway\\_demo%' ORDER BY 1`);
  return rows.map((r) => r.name);
}

/** Sessions the demo opened (its clients and its migrator) that are still connected. */
async function demoSessions(db: FreshDatabase): Promise<number> {
  const rows = await query<{ n: number }>(
    db.adminUrl,
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'underway%' AND pid <> pg_backend_pid()`,
    [db.name],
  );
  return rows[0]!.n;
}

async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  onStderr?: (stderr: string, child: ReturnType<typeof spawn>) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr, child);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function withoutDatabaseUrl(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return env;
}

function expectCleanRun(summary: DemoSummary): void {
  expect(summary.errors).toEqual([]);
  expect(summary.failedQueries).toBe(0);
  expect(summary.lostWrites).toBe(0);
  expect(summary.unexpectedRows).toBe(0);
  expect(summary.schemaProblems).toEqual([]);
  expect(summary.ok).toBe(true);
  expect(summary.writes).toBeGreaterThan(0);
  expect(summary.writes).toBe(summary.updates + summary.inserts);
  // Both versions wrote, and the audit covered every row either of them made.
  expect(summary.clients.old.updates + summary.clients.old.inserts).toBeGreaterThan(0);
  expect(summary.clients.new.updates + summary.clients.new.inserts).toBeGreaterThan(0);
  expect(summary.table.finalRows).toBe(ROWS + summary.inserts);
  expect(summary.table.expectedRows).toBe(summary.table.finalRows);
  expect(summary.balanceSum.actual).toBe(summary.balanceSum.expected);
  expect(summary.latencyMs.before.queries).toBeGreaterThan(0);
  expect(summary.latencyMs.during.queries).toBeGreaterThan(0);
  expect(summary.backfill.rows).toBeGreaterThanOrEqual(ROWS);
  expect(summary.database.superuser).toBe(false);
  expect(summary.text).toMatch(/failed queries\s+0\n/);
  expect(summary.text).toMatch(/lost writes\s+0 /);
  expect(summary.text).toMatch(/result\s+PASS/);
}

describe("underway demo on a given database", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("demo");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("applies the change under load with no failed query and no lost write, then removes what it made", async () => {
    const lines: string[] = [];
    let finalColumns: string[] = [];
    let leftovers: unknown[] = [];
    let versionSchemas: string[] = [];
    const summary = await runDemo({
      ...QUICK,
      databaseUrl: db.url,
      log: (line) => lines.push(line),
      beforeCleanup: async (url) => {
        // Looked at independently of the demo's own check, before its cleanup.
        const columns = await query<{ c: string }>(
          url,
          `SELECT attname || ' ' || format_type(atttypid, atttypmod) AS c FROM pg_attribute
            WHERE attrelid = 'underway_demo.accounts'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname`,
        );
        finalColumns = columns.map((r) => r.c);
        leftovers = await query(
          url,
          `SELECT 'trigger ' || tgname AS what FROM pg_trigger WHERE tgrelid = 'underway_demo.accounts'::regclass AND NOT tgisinternal
           UNION ALL
           SELECT 'column ' || attname FROM pg_attribute
            WHERE attrelid = 'underway_demo.accounts'::regclass AND attname LIKE '\\_uw\\_%' AND NOT attisdropped`,
        );
        versionSchemas = (await demoSchemas(url)).filter((s) => s !== "underway_demo" && s !== "underway_demo_state");
      },
    });

    expectCleanRun(summary);
    expect(finalColumns).toEqual(["balance bigint", "holder text", "id bigint", "updated_at timestamp with time zone"]);
    expect(leftovers).toEqual([]);
    expect(versionSchemas).toEqual(["underway_demo_02_rename_and_widen"]);
    expect(summary.database.kind).toBe("external");
    // The summary is plain data: what --json prints is the object itself.
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
    expect(lines.some((l) => l.startsWith("start 4/5: backfill accounts"))).toBe(true);

    expect(await demoSchemas(db.url)).toEqual([]);
    expect(await eventually(async () => (await demoSessions(db)) === 0)).toBe(true);
  });

  it("stops when aborted in the middle of the migration and still removes everything", async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const run = runDemo({
      ...QUICK,
      databaseUrl: db.url,
      signal: controller.signal,
      log: (line) => {
        lines.push(line);
        if (line.startsWith("start 4/5: backfill")) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/interrupted during start; everything it made was removed/);
    expect(await demoSchemas(db.url)).toEqual([]);
    expect(await eventually(async () => (await demoSessions(db)) === 0)).toBe(true);
  });

  it("refuses to touch a schema of the same name that it did not make", async () => {
    await query(db.url, "CREATE SCHEMA underway_demo");
    try {
      await expect(runDemo({ ...QUICK, databaseUrl: db.url, log: () => {} })).rejects.toThrow(
        /schema "underway_demo" already exists and was not made by underway demo/,
      );
      expect(await demoSchemas(db.url)).toEqual(["underway_demo"]);
    } finally {
      await query(db.url, "DROP SCHEMA underway_demo");
    }
  });
});

describe("the underway demo command", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("democli");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("runs on an embedded PostgreSQL without DATABASE_URL and prints the summary as JSON", async () => {
    const { code, stdout, stderr } = await runCli(["demo", "--rows", String(ROWS), "--clients", "2", "--json"], withoutDatabaseUrl());
    expect(stderr).toContain("starting an embedded PostgreSQL");
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as DemoSummary;
    expectCleanRun(summary);
    expect(summary.database.kind).toBe("embedded");
    expect(summary.database.role).toBe("underway_demo");
    expect(summary.table.columns.split(", ").sort()).toEqual(["balance bigint", "holder text", "id bigint", "updated_at timestamp with time zone"]);
  });

  it("cleans up on SIGINT and exits 1", async () => {
    const env = { ...process.env, DATABASE_URL: db.url };
    let sent = false;
    const { code, stderr } = await runCli(["demo", "--rows", String(ROWS), "--clients", "2"], env, (text, child) => {
      if (!sent && text.includes("start 4/5: backfill")) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    expect(sent).toBe(true);
    expect(stderr).toMatch(/SIGINT: stopping the demo/);
    expect(stderr).toMatch(/underway: demo interrupted during \w+; everything it made was removed/);
    expect(code).toBe(1);
    expect(await demoSchemas(db.url)).toEqual([]);
  });

  it("after a demo killed with SIGKILL, the next one removes what it left and runs", async () => {
    const killed = await runUntil(["demo", "--rows", String(ROWS), "--clients", "2", "--database-url", db.url], /start 4\/5: backfill/);
    expect(killed.killed).toBe(true);
    expect(await demoSchemas(db.url)).toContain("underway_demo");

    const { code, stdout, stderr } = await runCli(["demo", "--rows", String(ROWS), "--clients", "2", "--json", "--database-url", db.url], process.env);
    expect(stderr).toMatch(/removing what an interrupted earlier demo left: .*underway_demo/);
    expect(code, stderr).toBe(0);
    expectCleanRun(JSON.parse(stdout) as DemoSummary);
    expect(await demoSchemas(db.url)).toEqual([]);
  });
});
