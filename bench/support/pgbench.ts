/**
 * pgbench as the benchmark's foreground load: the TPC-B-like default script, which
 * updates `pgbench_accounts` by primary key in every transaction, so it meets both the
 * dual-write trigger and the backfill's row locks.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveBinDir } from "../../src/harness/local-server.js";

/** Where pgbench connects: the database owner's role, over TCP on loopback. */
export interface PgbenchTarget {
  host: string;
  port: number;
  user: string;
  database: string;
}

export interface PgbenchRun {
  clients: number;
  threads: number;
  seconds: number;
}

export interface PgbenchResult {
  /** Transactions per second, without the initial connection time. */
  tps: number;
  latencyMs: number;
  /** The 99th percentile of the transactions' latencies, from pgbench's per-transaction log. */
  p99Ms: number | null;
  /** Transactions per second in each second of the run (`-P 1`). */
  perSecond: number[];
  transactions: number;
  failed: number;
  seconds: number;
}

/**
 * The pgbench to use: the server's own, else the newest system one (the embedded
 * servers ship without client tools; pgbench 15 drives a PostgreSQL 18 server fine).
 */
export function pgbenchPath(serverBinDir: string): string {
  const own = join(serverBinDir, "pgbench");
  if (existsSync(own)) return own;
  const system = join(resolveBinDir("system"), "pgbench");
  if (existsSync(system)) return system;
  throw new Error(`no pgbench in ${serverBinDir} nor under /usr/lib/postgresql: install postgresql-client`);
}

/** `pgbench -i -s SCALE`: drop, create, COPY the rows, VACUUM, then the primary keys. */
export async function pgbenchInit(pgbench: string, target: PgbenchTarget, scale: number): Promise<void> {
  await runPgbench(pgbench, ["-i", "-s", String(scale), "-q", ...connectionArgs(target)]);
}

/**
 * One timed run of the default script with prepared statements, no vacuum beforehand, with
 * a progress line each second and a log of every transaction's latency (in a temporary
 * directory, read and removed).
 */
export async function pgbenchRun(pgbench: string, target: PgbenchTarget, run: PgbenchRun): Promise<PgbenchResult> {
  const logs = await mkdtemp(join(tmpdir(), "underway-pgbench-"));
  try {
    const output = await runPgbench(pgbench, [
      "-n",
      "-M", "prepared",
      "-c", String(run.clients),
      "-j", String(run.threads),
      "-T", String(run.seconds),
      "-P", "1",
      "-l", `--log-prefix=${join(logs, "tx")}`,
      ...connectionArgs(target),
    ]);
    const latencies: number[] = [];
    for (const name of await readdir(logs)) {
      for (const line of (await readFile(join(logs, name), "utf8")).split("\n")) {
        const micros = Number(line.split(" ")[2]);
        if (line !== "" && Number.isFinite(micros)) latencies.push(micros / 1000);
      }
    }
    latencies.sort((a, b) => a - b);
    const result = parsePgbenchOutput(output, run.seconds);
    return { ...result, p99Ms: latencies.length === 0 ? null : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))]! };
  } finally {
    await rm(logs, { recursive: true, force: true });
  }
}

/** Reads pgbench's summary: `tps = 1234.5 (without initial connection time)` and the rest. */
export function parsePgbenchOutput(output: string, seconds: number): PgbenchResult {
  const number = (pattern: RegExp): number | undefined => {
    const match = pattern.exec(output);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };
  const tps = number(/^tps = ([\d.]+) \(without initial connection time\)/m) ?? number(/^tps = ([\d.]+)/m);
  if (tps === undefined) throw new Error(`pgbench printed no tps:\n${output}`);
  const perSecond = [...output.matchAll(/^progress: [\d.]+ s, ([\d.]+) tps/gm)].map((m) => Number(m[1]));
  return {
    tps,
    p99Ms: null,
    perSecond,
    latencyMs: number(/^latency average = ([\d.]+) ms/m) ?? Number.NaN,
    transactions: number(/^number of transactions actually processed: (\d+)/m) ?? 0,
    failed: number(/^number of failed transactions: (\d+)/m) ?? 0,
    seconds,
  };
}

function connectionArgs(target: PgbenchTarget): string[] {
  return ["-h", target.host, "-p", String(target.port), "-U", target.user, target.database];
}

async function runPgbench(pgbench: string, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: "C" };
  // PG* variables would override the explicit flags' database and role.
  for (const name of Object.keys(env)) if (name.startsWith("PG")) delete env[name];
  const child = spawn(pgbench, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) throw new Error(`pgbench ${args.join(" ")} failed (exit code ${String(code)}):\n${output.trim()}`);
  return output;
}
