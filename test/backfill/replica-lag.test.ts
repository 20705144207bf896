import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { connect } from "../../src/db/connection.js";
import { createDatabase } from "../../src/harness/local-server.js";
import { Migrator } from "../../src/run/migrator.js";
import type { JobSummary } from "../../src/backfill/job-store.js";
import { CLI } from "../support/cli.js";
import { pauseReplay, replicaLagBytes, resumeReplay, startCluster, waitForReplay, type Cluster } from "../support/cluster.js";
import { migrationFile } from "../support/migrations.js";

const MB = 1024 * 1024;
const MAX_LAG = 32 * MB;
/** 300k rows of ~220 bytes: rewriting them writes several times MAX_LAG of WAL. */
const ROWS = 300_000;
/** How long the test keeps replay paused once the job reports the hold. */
const HOLD_MS = 4000;
const SAMPLE_MS = 200;
/**
 * While a lag limit is set, the throttle monitor reads replica lag every 250 ms and
 * holds once the lag plus half a second of the WAL rate it measured would pass the
 * limit; a worker looks at the reading before each batch, whose duration the servo holds
 * near 200 ms (up to 1.5x before it cuts). So the peak lag lands within about a second
 * of the WAL rate on either side of the limit: the bounds allow 2 s above it (for a
 * loaded machine) and 1 s below it.
 */
const OVERSHOOT_SECONDS = 2;
const HEADROOM_SECONDS = 1;

const execFileAsync = promisify(execFile);
/** The run's PostgreSQL major; the cluster needs its system packages (for pg_basebackup). */
/** Replicas are made with the system packages' pg_basebackup, so this runs on the system PostgreSQL 15. */
const VERSION = 15;

interface Sample {
  at: number;
  lagBytes: number | null;
  walBytes: number;
  job: JobSummary | undefined;
}

/**
 * The check from the issue: a streaming replica stops replaying; `start --max-lag 32MB`
 * keeps the byte lag near 32MB, reports `throttledBy: "replica-lag"`, and finishes once
 * replay resumes. Through the library API and through the real CLI.
 */
describe("backfill held by a replica that stops replaying", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // Autovacuum off: while the job holds, the only WAL written should be its own heartbeats,
    // so the lag measured is what the backfill wrote, not a vacuum of its dead tuples.
    cluster = await startCluster({ version: VERSION, replicas: 1, settings: { autovacuum: "off" } });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  /** A database owned by a non-superuser who may read replica positions, with ROWS rows to widen. */
  async function itemsDatabase(name: string): Promise<string> {
    const owner = `${name}_owner`;
    const url = await createDatabase(cluster.primary, { name, owner });
    // pg_stat_replication shows replay_lsn only to superusers and members of pg_monitor
    // (or pg_read_all_stats); without it the job warns that --max-lag cannot be enforced.
    const admin = await connect(cluster.primary.url);
    await admin.query(`GRANT pg_monitor TO ${owner}`);
    await admin.end();
    const client = await connect(url);
    await client.query("CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, note text NOT NULL)");
    await client.query(
      `INSERT INTO items SELECT g, g % 1000, rpad(md5(g::text), 200, md5((g + 1)::text)) FROM generate_series(1, ${ROWS}) g`,
    );
    await client.end();
    await waitForReplay(cluster.primary, cluster.replicas[0]!);
    return url;
  }

  async function widenQty() {
    return migrationFile("01_widen_qty", [
      { alter_column: { table: "items", column: "qty", type: "bigint", up: "qty::bigint", down: "qty::integer" } },
    ]);
  }

  async function walPosition(): Promise<number> {
    const client = await connect(cluster.primary.url);
    try {
      const { rows } = await client.query<{ bytes: number }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS bytes");
      return rows[0]!.bytes;
    } finally {
      await client.end();
    }
  }

  async function sample(migrator: Migrator): Promise<Sample> {
    const [jobs, lagBytes, walBytes] = await Promise.all([migrator.jobs(), replicaLagBytes(cluster.primary), walPosition()]);
    return { at: Date.now(), lagBytes, walBytes, job: jobs.jobs[0] };
  }

  async function backfilled(url: string): Promise<number> {
    const client = await connect(url);
    try {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM items WHERE "_uw_new_qty" IS NOT NULL`);
      return rows[0]!.n;
    } finally {
      await client.end();
    }
  }

  /**
   * Samples the job and the lag every SAMPLE_MS while `running` is unsettled: until the job
   * reports the replica-lag hold, then for HOLD_MS more (checking that no row moves), then
   * resumes replay and samples until the end.
   */
  async function holdAndRelease(url: string, migrator: Migrator, running: Promise<unknown>, onHold?: () => Promise<void>) {
    let settled = false;
    void running.then(
      () => (settled = true),
      () => (settled = true),
    );
    const startedAt = Date.now();
    const samples: Sample[] = [];
    let heldAt: number | undefined;
    let held: { rows: number; backfilled: number } | undefined;
    let released: { at: number; rows: number; backfilled: number } | undefined;
    while (!settled) {
      const s = await sample(migrator);
      samples.push(s);
      if (heldAt === undefined && s.job?.state === "throttled" && s.job.throttledBy === "replica-lag") {
        heldAt = s.at;
        held = { rows: s.job.rowsDone, backfilled: await backfilled(url) };
      }
      if (heldAt !== undefined && !released && Date.now() - heldAt >= HOLD_MS) {
        await onHold?.();
        const last = await sample(migrator);
        samples.push(last);
        released = { at: Date.now(), rows: last.job?.rowsDone ?? -1, backfilled: await backfilled(url) };
        await resumeReplay(cluster.replicas[0]!);
      }
      if (Date.now() - startedAt > 150_000) break;
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    return {
      samples,
      heldAt,
      held,
      released,
    };
  }

  /** Checks the hold and returns the figures: max lag, the bound, time held, rows/s before the hold. */
  function checkHold(label: string, startedAt: number, finishedAt: number, result: Awaited<ReturnType<typeof holdAndRelease>>) {
    const { samples, heldAt, held, released } = result;
    expect(heldAt, `${label}: the job never reported throttledBy "replica-lag"`).toBeDefined();
    expect(released, `${label}: the run ended before replay was resumed`).toBeDefined();
    const heldSamples = samples.filter((s) => s.at >= heldAt! && s.at < released!.at);
    // Held the whole time replay was paused: the same reason, and not one row more.
    for (const s of heldSamples) {
      expect(s.job).toMatchObject({ state: "throttled", throttledBy: "replica-lag", rowsDone: held!.rows });
    }
    expect(released!.rows).toBe(held!.rows);
    expect(released!.backfilled).toBe(held!.backfilled);
    // And the lag stays where the hold left it: only heartbeats, reports and lease renewals
    // write meanwhile. From the second held sample on: the test's own first count of
    // backfilled rows prunes the pages the backfill left dead tuples in, which writes WAL.
    const heldLags = heldSamples.slice(1).map((s) => s.lagBytes ?? 0);
    const growth = Math.max(...heldLags) - Math.min(...heldLags);
    expect(growth).toBeLessThan(MB);

    // The fastest WAL rate over 1 s windows before the hold.
    const before = samples.filter((s) => s.at <= heldAt!);
    let peakRate = 0;
    for (const [i, s] of before.entries()) {
      const earlier = before.slice(0, i).reverse().find((e) => s.at - e.at >= 1000);
      if (earlier) peakRate = Math.max(peakRate, ((s.walBytes - earlier.walBytes) * 1000) / (s.at - earlier.at));
    }
    const bound = MAX_LAG + OVERSHOOT_SECONDS * peakRate;
    const maxLag = Math.max(...samples.filter((s) => s.at < released!.at).map((s) => s.lagBytes ?? 0));
    const rowsPerSecond = (held!.rows * 1000) / (heldAt! - startedAt);
    const heldSeconds = (released!.at - heldAt!) / 1000;
    const afterSeconds = (finishedAt - released!.at) / 1000;
    console.log(
      `${label}: max lag ${(maxLag / MB).toFixed(1)}MB (limit 32MB, allowed ${((MAX_LAG - HEADROOM_SECONDS * peakRate) / MB).toFixed(1)}-${(bound / MB).toFixed(1)}MB from a peak WAL rate ` +
        `of ${(peakRate / MB).toFixed(1)}MB/s), held ${heldSeconds.toFixed(1)}s at ${held!.rows} rows ` +
        `(${held!.backfilled} backfilled), ${Math.round(rowsPerSecond)} rows/s before the hold, ` +
        `lag at hold ${((samples.find((s) => s.at === heldAt)?.lagBytes ?? 0) / MB).toFixed(1)}MB, grew ${(growth / 1024).toFixed(0)}kB while held; ` +
        `finished ${afterSeconds.toFixed(1)}s after replay resumed (${Math.round((ROWS - held!.rows) / afterSeconds)} rows/s), ` +
        `${((finishedAt - startedAt) / 1000).toFixed(1)}s in all`,
    );
    // Near the limit: held neither long before it nor long after.
    expect(maxLag).toBeGreaterThan(MAX_LAG - HEADROOM_SECONDS * peakRate);
    expect(maxLag).toBeLessThan(bound);
    expect(held!.rows).toBeLessThan(ROWS);
    return { maxLag, bound, heldSeconds, rowsPerSecond };
  }

  async function checkRows(url: string): Promise<void> {
    const client = await connect(url);
    try {
      const { rows } = await client.query<{ n: number; wrong: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE "_uw_new_qty" IS DISTINCT FROM qty::bigint)::int AS wrong FROM items`,
      );
      expect(rows[0]).toEqual({ n: ROWS, wrong: 0 });
    } finally {
      await client.end();
    }
  }

  it("holds at the byte limit through the library API and finishes after replay resumes", { timeout: 240_000 }, async () => {
    const url = await itemsDatabase("lag_api");
    const migrator = new Migrator({ databaseUrl: url });
    await pauseReplay(cluster.replicas[0]!);
    const startedAt = Date.now();
    const running = migrator.start(await widenQty(), { settings: { maxLagBytes: MAX_LAG } });
    const result = await holdAndRelease(url, migrator, running);
    const record = await running;
    const finishedAt = Date.now();
    expect(record.phase).toBe("ready");
    const figures = checkHold("api", startedAt, finishedAt, result);
    expect(figures.heldSeconds).toBeGreaterThanOrEqual(HOLD_MS / 1000);
    const [job] = (await migrator.jobs()).jobs;
    // Each row once: a cursor that went back (the largest key as text, "999" < "1000") showed here first.
    expect(job).toMatchObject({ state: "done", rowsDone: ROWS, throttledBy: null });
    await checkRows(url);

    await migrator.complete();
    const client = await connect(url);
    const { rows } = await client.query(
      `SELECT format_type(atttypid, atttypmod) AS type, (SELECT sum(qty)::text FROM items) AS total
         FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'qty'`,
    );
    await client.end();
    // qty = id % 1000 over ids 1..ROWS, a whole number of thousands: 0 + 1 + ... + 999 per thousand.
    expect(rows[0]).toEqual({ type: "bigint", total: String((ROWS / 1000) * 499_500) });
  });

  it("holds through the CLI, and `status --json` from another process names replica-lag", { timeout: 240_000 }, async () => {
    const url = await itemsDatabase("lag_cli");
    const file = await widenQty();
    await pauseReplay(cluster.replicas[0]!);
    const startedAt = Date.now();
    const child = spawn(process.execPath, [CLI, "start", file.path, "--max-lag", "32MB", "--database-url", url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let closedAt = 0;
    const exited = new Promise<number | null>((resolvePromise, reject) => {
      child.once("error", reject);
      child.once("close", (code) => {
        closedAt = Date.now();
        resolvePromise(code);
      });
    });

    const migrator = new Migrator({ databaseUrl: url });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    let status: { jobs: { state: string; throttledBy: string | null; settings: { maxLagBytes: number | null } }[] } | undefined;
    const result = await holdAndRelease(url, migrator, exited, async () => {
      const { stdout: json } = await execFileAsync(process.execPath, [CLI, "status", "--json", "--database-url", url]);
      status = JSON.parse(json);
    });
    const code = await exited;
    const finishedAt = closedAt;
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("migration 01_widen_qty started");
    checkHold("cli", startedAt, finishedAt, result);
    expect(status?.jobs[0]).toMatchObject({ state: "throttled", throttledBy: "replica-lag", settings: { maxLagBytes: MAX_LAG } });
    expect(stderr).toContain("throttled by replica-lag");
    expect(stderr).not.toContain("warning:");
    expect((await migrator.jobs()).jobs[0]).toMatchObject({ state: "done", rowsDone: ROWS, throttledBy: null });
    await checkRows(url);
  });
});
