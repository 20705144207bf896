/**
 * What the fault scenarios share: a database on a cluster with an `accounts` table made
 * through underway (so an old version schema exists), the ledger workload of
 * src/rehearse running old- and new-version clients against it, the underway CLI as a
 * child process that can be SIGKILLed, and one line of figures per scenario.
 */
import { spawn, type ChildProcess } from "node:child_process";
import pg from "pg";
import { connect } from "../../src/db/connection.js";
import { createDatabase, type LocalServer } from "../../src/harness/local-server.js";
import { Migrator } from "../../src/run/migrator.js";
import type { MigrationPlan } from "../../src/plan/step.js";
import { LatencyHistograms } from "../../src/harness/latency.js";
import { auditTable, type TableAudit } from "../../src/harness/ledger.js";
import { LedgerWorkload } from "../../src/rehearse/workload.js";
import { chooseWorkloadTables, newVersionMapping, tableView, type AppVersion, type WorkloadTable } from "../../src/rehearse/workload-tables.js";
import { CLI } from "./cli.js";
import { migrationFile } from "./migrations.js";

export { LatencyHistograms, LedgerWorkload };

/**
 * A database owned by a non-superuser role that may read replica positions (pg_monitor:
 * pg_stat_replication hides replay_lsn from others, and a lag limit then cannot be
 * enforced), holding `accounts(id, owner, balance, score, note)` with `rows` rows,
 * created as migration `01_accounts` so `public_01_accounts` is the old version.
 */
export async function accountsDatabase(server: Pick<LocalServer, "url" | "host" | "port">, name: string, rows: number): Promise<string> {
  const owner = `${name}_owner`;
  const url = await createDatabase(server, { name, owner });
  const admin = await connect(server.url);
  await admin.query(`GRANT pg_monitor TO ${owner}`);
  await admin.end();
  await new Migrator({ databaseUrl: url }).start(
    await migrationFile("01_accounts", [
      {
        create_table: {
          name: "accounts",
          columns: [
            { name: "id", type: "bigserial", pk: true },
            { name: "owner", type: "text" },
            { name: "balance", type: "bigint", default: "0" },
            { name: "score", type: "integer" },
            { name: "note", type: "text", nullable: true },
          ],
        },
      },
    ]),
    { complete: true },
  );
  const client = await connect(url);
  await client.query(
    `INSERT INTO accounts (owner, balance, score, note) SELECT 'owner ' || g, g % 1000, g % 97, rpad(md5(g::text), 60, 'x') FROM generate_series(1, ${rows}) g`,
  );
  await client.query("ANALYZE accounts");
  await client.end();
  return url;
}

/**
 * A migration with a backfill on `accounts`: `score` widened to bigint (times 10), and
 * `owner` renamed for the new version. Named `<prefix>_...`; `flip` turns the type back
 * the other way (for a series of rounds on one table).
 */
export function widenScore(prefix: string, flip = false) {
  const [type, back, up, down] = flip ? ["integer", "bigint", "(score / 10)::integer", "score::bigint * 10"] : ["bigint", "integer", "score::bigint * 10", "(score / 10)::integer"];
  return migrationFile(`${prefix}_score_${type}`, [
    { alter_column: { table: "accounts", column: "score", type, up, down } },
  ]).then((file) => ({ file, back }));
}

/** The workload of a scenario: the ledger prepared, `old` clients running through `oldVersion`. */
export interface ScenarioWorkload {
  workload: LedgerWorkload;
  histograms: LatencyHistograms;
  tables: WorkloadTable[];
  /** Starts `count` clients of the version a plan's start creates, counted under `label` (default "new"). */
  startNew(plan: MigrationPlan, count: number, label?: AppVersion["label"]): Promise<AppVersion>;
  /** Audits the ledger through a version's views (the base schema when none is given). */
  audit(version?: AppVersion): Promise<{ lost: number; tables: TableAudit[] }>;
}

export async function startWorkload(
  url: string,
  options: { oldVersion: string | null; plan: MigrationPlan | null; clients?: number; rate?: number; workingSet?: number },
): Promise<ScenarioWorkload> {
  const histograms = new LatencyHistograms();
  const setup = await connect(url);
  let tables: WorkloadTable[];
  let workload: LedgerWorkload;
  try {
    ({ tables } = await chooseWorkloadTables(setup, "public", options.plan));
    workload = new LedgerWorkload({ url, tables, histograms, ratePerClient: options.rate ?? 50, workingSet: options.workingSet ?? 300 });
    await workload.prepare(setup);
  } finally {
    await setup.end();
  }
  await workload.startVersion({ label: "old", versionSchema: options.oldVersion }, "public", options.clients ?? 2);
  return {
    workload,
    histograms,
    tables,
    async startNew(plan, count, label = "new") {
      const next = newVersionMapping(plan)!;
      const version: AppVersion = { label, versionSchema: next.versionSchema, mapping: next.mapping };
      await workload.startVersion(version, "public", count);
      return version;
    },
    async audit(version) {
      const client = await connect(url);
      try {
        const audits: TableAudit[] = [];
        for (const t of tables) {
          const view = tableView(t, version ?? { label: "old", versionSchema: null });
          if (view) audits.push(await auditTable(client, view));
        }
        return { lost: audits.reduce((n, a) => n + a.lost, 0), tables: audits };
      } finally {
        await client.end();
      }
    },
  };
}

/** The underway CLI as a child process. */
export interface UnderwayProcess {
  child: ChildProcess;
  /** Everything it printed to stderr so far. */
  stderr(): string;
  stdout(): string;
  /** Resolves when it exits: its code (null when killed) and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>;
  /** Resolves when its stderr matches `pattern` (or rejects when it exits first). */
  waitFor(pattern: RegExp): Promise<void>;
  kill(): void;
}

export function underway(args: string[], env: NodeJS.ProcessEnv = {}, command: string[] = [process.execPath, CLI]): UnderwayProcess {
  const [program, ...prefix] = command;
  const child = spawn(program!, [...prefix, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  let stdout = "";
  const waiters: { pattern: RegExp; resolve: () => void; reject: (error: Error) => void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(stderr)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    check();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      for (const waiter of waiters.splice(0)) waiter.reject(new Error(`underway ${args.join(" ")} exited (${signal ?? code}) before printing ${waiter.pattern}:\n${stderr}`));
      resolve({ code, signal, stderr, stdout });
    });
  });
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    exited,
    waitFor(pattern) {
      if (pattern.test(stderr)) return Promise.resolve();
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`underway already exited:\n${stderr}`));
      return new Promise((resolve, reject) => waiters.push({ pattern, resolve, reject }));
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** Polls `probe` every 100 ms until it returns something truthy. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false | null>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One query on a fresh connection. */
export async function queryOnce<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = await connect(url);
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Prints a scenario's figures as one line, so a CI log shows them side by side. */
export function printFigures(scenario: string, figures: Record<string, string | number | null>): void {
  const text = Object.entries(figures)
    .map(([name, value]) => `${name}=${typeof value === "number" ? (Number.isInteger(value) ? value : value.toFixed(2)) : value}`)
    .join(" ");
  console.log(`[scenario] ${scenario}: ${text}`);
}

/** Rows the backfill's ranges have counted, over every job of the database at `url`. */
export async function backfillRowsDone(url: string): Promise<number> {
  return Number((await queryOnce<{ n: string }>(url, "SELECT coalesce(sum(rows_done), 0)::text AS n FROM underway.backfill_ranges"))[0]!.n);
}

/**
 * How the `widenScore` backfill covered `accounts`: the rows its ranges counted, the rows
 * up to the job's upper bound, and how many of those hold a wrong new value. Counted
 * equals covered when each row was counted once (a job that started again from zero
 * after a fault counts some twice; one that skipped rows counts fewer).
 */
export async function backfillCoverage(url: string): Promise<{ rowsDone: number; covered: number; wrong: number }> {
  const [row] = await queryOnce<{ n: number; wrong: number }>(
    url,
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE "_uw_new_score" IS DISTINCT FROM score::bigint * 10)::int AS wrong
       FROM accounts WHERE id <= (SELECT max((upper->>0)::bigint) FROM underway.backfill_ranges)`,
  );
  return { rowsDone: await backfillRowsDone(url), covered: row!.n, wrong: row!.wrong };
}

/**
 * The new version's clients started, the old ones retired, `underway complete` (exit 0
 * expected by the caller's assertion on the returned code), then the workload stopped and
 * its ledger audited through the new version. With `settleMs`, latencies after complete
 * are counted as phase "after" for that long before the workload stops.
 */
export async function completeAndAudit(
  app: ScenarioWorkload,
  url: string,
  plan: MigrationPlan,
  options: { settleMs?: number; command?: string[] } = {},
): Promise<{ complete: { code: number | null; stderr: string }; audit: { lost: number; tables: TableAudit[] }; version: AppVersion }> {
  const version = await app.startNew(plan, 2);
  await app.workload.stop("old");
  const complete = await underway(["complete", "--database-url", url], {}, options.command).exited;
  if (options.settleMs !== undefined) {
    app.histograms.phase = "after";
    await new Promise((resolve) => setTimeout(resolve, options.settleMs));
  }
  await app.workload.stop();
  return { complete, audit: await app.audit(version), version };
}
