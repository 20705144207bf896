/**
 * The backfill benchmark (`npm run bench:backfill`). It starts its own PostgreSQL with
 * durable, production-like settings, loads `pgbench -i -s SCALE`, and measures in one run:
 *
 * 1. the unthrottled backfill of an int -> bigint `alter_column` (rows/s of the backfill
 *    step alone, `--workers` of them) against one `UPDATE ... SET new = old::bigint` on a
 *    fresh copy; 1b. the ETA printed at 10% against the time the rest took; 1c. the rate
 *    over the last fifth of the rows against the first fifth;
 * 2. pgbench TPS while a default-throttled backfill runs, against TPS just before it
 *    (dual-write trigger installed in both); 2c. pgbench's p99 latency, 2d. its worst second;
 * 3. pgbench TPS with the dual-write trigger installed against TPS without it;
 * 4. `verify` of the backfilled table against one scan hashing every row.
 *
 * `--breakdown` measures instead where a backfill's time goes (bench/support/breakdown.ts).
 * See bench/README.md for what each figure means and the figures of a reference run.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, release, tmpdir, totalmem, type } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { connect, type Client } from "../src/db/connection.js";
import { createDatabase, startLocalServer, type LocalServerOptions } from "../src/harness/local-server.js";
import { UnderwayError } from "../src/errors.js";
import type { BenchContext } from "./support/bench-context.js";
import { formatBreakdown, runBreakdown } from "./support/breakdown.js";
import { measureBackfill } from "./support/figure-backfill.js";
import { measureForeground } from "./support/figure-foreground.js";
import { pgbenchInit, pgbenchPath, type PgbenchTarget } from "./support/pgbench.js";
import { formatReport, type BenchReport } from "./support/report.js";
import { serverSettings, totalSize } from "./support/tables.js";

const USAGE = `usage: npm run bench:backfill -- [options]

  --rows N        rows of pgbench_accounts (default 5000000; rounded up to pgbench's 100000 per scale unit)
  --scale N       pgbench scale (overrides --rows; 50 = 5,000,000 rows)
  --seconds N     length of each pgbench measurement (default 30)
  --clients N     pgbench clients (default 4)
  --threads N     pgbench threads (default 2)
  --version V     PostgreSQL to run: 15 (system, default), 18 (embedded), system, embedded
  --workers N     figure 1's backfill workers (default 1; its target is 0.9 with one, 1.2 with more)
  --max-rate N    figure 2's backfill runs with maxRate N rows/s on top of the defaults (default: none)
  --breakdown     instead of the figures, measure where a backfill's time goes (trigger, batch statement, JIT)
  --json          print the report as JSON on stdout (progress still goes to stderr)
  --help          this text`;

/**
 * Durable (fsync, synchronous_commit and full_page_writes on) so the figures mean what
 * they would on a real server; buffers sized for the table; WAL allowed to grow so that
 * no checkpoint is forced in the middle of a measurement (each one starts after an
 * explicit CHECKPOINT instead).
 */
const SERVER_SETTINGS: Record<string, string> = {
  shared_buffers: "1GB",
  max_wal_size: "16GB",
  min_wal_size: "1GB",
  checkpoint_timeout: "30min",
  maintenance_work_mem: "256MB",
};

const REPORTED_SETTINGS = [
  "shared_buffers",
  "max_wal_size",
  "checkpoint_timeout",
  "wal_buffers",
  "fsync",
  "synchronous_commit",
  "full_page_writes",
  "wal_compression",
  "work_mem",
  "maintenance_work_mem",
  "effective_cache_size",
  "autovacuum",
  "max_connections",
];

const ROWS_PER_SCALE = 100_000;

interface BenchOptions {
  scale: number;
  seconds: number;
  clients: number;
  threads: number;
  version: NonNullable<LocalServerOptions["version"]>;
  /** maxRate for figure 2's backfill; null keeps the default settings. */
  maxRate: number | null;
  workers: number;
  breakdown: boolean;
  json: boolean;
}

function parseOptions(argv: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      rows: { type: "string" },
      scale: { type: "string" },
      seconds: { type: "string" },
      clients: { type: "string" },
      threads: { type: "string" },
      version: { type: "string" },
      "max-rate": { type: "string" },
      workers: { type: "string" },
      breakdown: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const positive = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text.replaceAll("_", ""));
    if (!Number.isInteger(value) || value <= 0) throw new UnderwayError("INVALID_ARGUMENT", `--${name} must be a positive integer, got "${text}"`);
    return value;
  };
  const rows = positive("rows", values.rows, 5_000_000);
  const scale = positive("scale", values.scale, Math.ceil(rows / ROWS_PER_SCALE));
  let version: BenchOptions["version"] = 15;
  if (values.version === "system" || values.version === "embedded") version = values.version;
  else if (values.version !== undefined) version = positive("version", values.version, 15);
  return {
    scale,
    seconds: positive("seconds", values.seconds, 30),
    clients: positive("clients", values.clients, 4),
    threads: positive("threads", values.threads, 2),
    version,
    maxRate: values["max-rate"] === undefined ? null : positive("max-rate", values["max-rate"], 0),
    workers: positive("workers", values.workers, 1),
    breakdown: values.breakdown,
    json: values.json,
  };
}

const began = performance.now();
const elapsed = () => (performance.now() - began) / 1000;
const log = (message: string) => process.stderr.write(`[${elapsed().toFixed(1).padStart(6)}s] ${message}\n`);

/** The first line of postmaster.pid; undefined when it cannot be read. */
async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions | "help";
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const rows = options.scale * ROWS_PER_SCALE;
  log(`load average before starting: ${loadavg().map((l) => l.toFixed(2)).join(" ")} on ${cpus().length} cores`);
  log(`starting PostgreSQL (${String(options.version)}) with ${Object.entries(SERVER_SETTINGS).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  const server = await startLocalServer({ version: options.version, fast: false, settings: SERVER_SETTINGS });
  const dir = await mkdtemp(join(tmpdir(), "underway-bench-"));
  const clients: Client[] = [];
  try {
    const url = await createDatabase(server, { name: "bench", owner: "app" });
    const db = await connect(url, { applicationName: "underway bench" });
    clients.push(db);
    const admin = await connect(`postgres://postgres@${server.host}:${server.port}/bench`, { applicationName: "underway bench admin" });
    clients.push(admin);
    const pgbench = pgbenchPath(server.binDir);
    const target: PgbenchTarget = { host: server.host, port: server.port, user: "app", database: "bench" };
    const postmasterPid = await readPostmasterPid(server.dataDir);
    const run = { clients: options.clients, threads: options.threads, seconds: options.seconds };
    const ctx: BenchContext = { url, db, admin, rows, pgbench, target, run, maxRate: options.maxRate, workers: options.workers, postmasterPid, dir, log };

    const { rows: versionRows } = await db.query<{ v: string }>("SELECT version() AS v");
    const settings = await serverSettings(db, REPORTED_SETTINGS);
    log(`PostgreSQL ${versionRows[0]!.v}`);
    log(`settings: ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(" ")}`);

    const details: BenchReport["details"] = {};
    log(`pgbench -i -s ${options.scale} (${rows.toLocaleString("en-US")} rows in pgbench_accounts)`);
    let t = performance.now();
    await pgbenchInit(pgbench, target, options.scale);
    details["pgbench -i seconds"] = (performance.now() - t) / 1000;
    details["pgbench_accounts size, MiB"] = (await totalSize(db, "pgbench_accounts")) / 2 ** 20;

    if (options.breakdown) {
      const cases = await runBreakdown(ctx);
      const facts = { date: new Date().toISOString(), cores: cpus().length, postgres: versionRows[0]!.v, settings, rows, durationSeconds: elapsed() };
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ benchmark: "underway backfill breakdown", ...facts, cases }, null, 2)}\n`
          : `underway backfill breakdown (${facts.date}), ${rows.toLocaleString("en-US")} rows, ${facts.cores} cores, ${facts.postgres}\n\n${formatBreakdown(cases)}\n\ntotal time: ${facts.durationSeconds.toFixed(0)} s\n`,
      );
      return 0;
    }

    const figures = [...(await measureBackfill(ctx, details)), ...(await measureForeground(ctx, details))];

    const cpuList = cpus();
    const report: BenchReport = {
      benchmark: "underway backfill benchmark",
      date: new Date().toISOString(),
      machine: {
        cores: cpuList.length,
        cpuModel: cpuList[0]?.model.trim() ?? "unknown",
        memoryGiB: totalmem() / 2 ** 30,
        loadAverageAtEnd: loadavg()[0] ?? 0,
        os: `${type()} ${release()}`,
        node: process.version,
      },
      postgres: { version: versionRows[0]!.v, settings },
      parameters: {
        rows,
        scale: options.scale,
        seconds: options.seconds,
        clients: options.clients,
        threads: options.threads,
        version: String(options.version),
        maxRate: options.maxRate === null ? "none" : options.maxRate,
        workers: options.workers,
      },
      figures,
      details,
      durationSeconds: elapsed(),
    };
    process.stdout.write(`${options.json ? JSON.stringify(report, null, 2) : formatReport(report)}\n`);
    return 0;
  } finally {
    for (const client of clients) await client.end().catch(() => undefined);
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const detail = error instanceof UnderwayError && error.detail ? `\n${error.detail}` : "";
    process.stderr.write(`bench:backfill failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}${detail}\n`);
    process.exitCode = 1;
  },
);
