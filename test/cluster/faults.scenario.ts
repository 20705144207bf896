import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import { UnderwayError } from "../../src/errors.js";
import { pauseReplay, replicaLagBytes, resumeReplay, startCluster, TcpProxy, type Cluster } from "../support/cluster.js";
import { accountsDatabase, completeAndAudit, printFigures, queryOnce, startWorkload, underway, widenScore, type ScenarioWorkload } from "../support/fault-workload.js";

const MB = 1024 * 1024;

/** The new version's clients, the old ones retired, complete, and the ledger audited through the new version. */
async function finish(app: ScenarioWorkload, url: string, plan: Awaited<ReturnType<Migrator["plan"]>>) {
  const { complete, audit } = await completeAndAudit(app, url, plan);
  expect(complete.code, complete.stderr).toBe(0);
  return audit;
}

/**
 * The other faults of the issue, each on its own database of one cluster (a primary and a
 * replica), under old- and new-version clients with the ledger: a replica that stops
 * replaying, the network between underway and the database cut, a long transaction
 * holding a lock on the table, and a second underway process on the same migration.
 */
describe("faults around a running migration", () => {
  let cluster: Cluster;
  let proxy: TcpProxy;

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 1 });
    proxy = await TcpProxy.start(cluster.primary);
  });

  afterAll(async () => {
    await proxy?.close();
    await cluster?.stop();
  });

  it("holds replica lag near --max-lag while a replica does not replay, and finishes once it does", async () => {
    const began = Date.now();
    const rows = 200_000;
    const limit = 16 * MB;
    const url = await accountsDatabase(cluster.primary, "lag", rows);
    const { file } = await widenScore("02");
    const plan = await new Migrator({ databaseUrl: url }).plan(file);
    const app = await startWorkload(url, { oldVersion: "public_01_accounts", plan });
    app.histograms.phase = "during";
    const replica = cluster.replicas[0]!;
    await pauseReplay(replica);
    const run = underway(["start", file.path, "--database-url", url, "--max-lag", "16MB"]);
    let maxLag = 0;
    let heldAt = 0;
    // WAL position samples before the hold, for the fastest WAL rate over 1 s windows.
    const wal: { at: number; bytes: number }[] = [];
    let peakRate = 0;
    let resumed = false;
    let settled = false;
    void run.exited.then(() => (settled = true));
    const migrator = new Migrator({ databaseUrl: url });
    while (!settled) {
      maxLag = Math.max(maxLag, (await replicaLagBytes(cluster.primary)) ?? 0);
      if (!heldAt) {
        const [position] = await queryOnce<{ bytes: number }>(cluster.primary.url, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS bytes");
        const now = { at: Date.now(), bytes: position!.bytes };
        const earlier = [...wal].reverse().find((w) => now.at - w.at >= 1000);
        if (earlier) peakRate = Math.max(peakRate, ((now.bytes - earlier.bytes) * 1000) / (now.at - earlier.at));
        wal.push(now);
      }
      const [job] = (await migrator.jobs()).jobs;
      if (!heldAt && job?.throttledBy === "replica-lag") heldAt = Date.now();
      // Held for three seconds: let the replica replay again.
      if (heldAt && !resumed && Date.now() - heldAt > 3000) {
        resumed = true;
        await resumeReplay(replica);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (!resumed) await resumeReplay(replica);
    const result = await run.exited;
    expect(result.code, result.stderr).toBe(0);
    const audit = await finish(app, url, plan);
    const during = app.histograms.summary("during");
    printFigures("replica stops replaying", {
      limitMB: limit / MB,
      maxLagMB: maxLag / MB,
      peakWalMBps: peakRate / MB,
      heldSeconds: heldAt ? 3 : 0,
      failedQueries: app.workload.failedQueries,
      lostWrites: audit.lost,
      p99Ms: during.p99Ms,
      seconds: (Date.now() - began) / 1000,
    });
    expect(heldAt, "the job never held for replica-lag").toBeGreaterThan(0);
    expect(result.stderr).not.toContain("warning:");
    // The throttle reads lag four times a second and holds half a second of WAL before the
    // limit; a batch in flight still lands. The bound of test/backfill/replica-lag.test.ts:
    // within two seconds of the fastest WAL rate (the workload and the test's samples add to it).
    expect(maxLag).toBeLessThan(limit + 2 * peakRate);
    expect(audit.lost).toBe(0);
    expect(app.workload.failedQueries, JSON.stringify(app.workload.firstErrors)).toBe(0);
  });

  it("rides out a network cut between underway and the database, or stops cleanly and finishes on a re-run", async () => {
    const began = Date.now();
    const rows = 60_000;
    const direct = await accountsDatabase(cluster.primary, "cut", rows);
    const url = proxy.url(direct);
    const { file } = await widenScore("02");
    const plan = await new Migrator({ databaseUrl: direct }).plan(file);
    // The application reaches the database directly: only underway's network is cut.
    const app = await startWorkload(direct, { oldVersion: "public_01_accounts", plan });
    app.histograms.phase = "during";
    const outcomes: string[] = [];
    const state = async () =>
      (await queryOnce<{ phase: string; start_done: number; running: string | null }>(direct, "SELECT phase, start_done, running FROM underway.migrations WHERE name = $1", [file.name]))[0];

    // 1. Packets dropped (a stalled link) for 4 s during the expand steps and the backfill.
    const stalled = underway(["start", file.path, "--database-url", url, "--max-rate", "20000"]);
    await stalled.waitFor(/start 2\/\d+:/);
    proxy.cut("stall");
    await new Promise((resolve) => setTimeout(resolve, 4000));
    proxy.heal();
    await stalled.waitFor(/backfill accounts: [1-9]/);
    proxy.cut("stall");
    await new Promise((resolve) => setTimeout(resolve, 4000));
    proxy.heal();
    const afterStall = await stalled.exited;
    outcomes.push(`stall: exit ${afterStall.code}`);
    expect(afterStall.code, afterStall.stderr).toBe(0);
    expect((await state())!.phase).toBe("ready");
    await new Migrator({ databaseUrl: direct }).rollback();

    // 2. Every connection reset, and new ones refused, for 4 s in the middle of the expand
    // steps, then during the backfill: either underway rides it out or it stops with a
    // one-line reason, and what it recorded is what it did: a re-run finishes.
    for (const [label, at] of [["expand", /start 2\/\d+:/], ["backfill", /backfill accounts: [1-9]/]] as const) {
      const run = underway(["start", file.path, "--database-url", url, "--max-rate", "20000"]);
      await run.waitFor(at);
      proxy.cut("reset");
      await new Promise((resolve) => setTimeout(resolve, 4000));
      proxy.heal();
      const result = await run.exited;
      const reason = result.stderr.split("\n").find((l) => l.startsWith("underway:")) ?? "";
      outcomes.push(`reset during ${label}: exit ${result.code} ${reason}`);
      if (result.code !== 0) {
        expect(result.code).toBe(1);
        expect(reason).toMatch(/connect|terminat|lost|ECONN|not queryable/i);
        const stopped = (await state())!;
        expect(stopped.running).toBe("start");
        const again = await underway(["start", file.path, "--database-url", url]).exited;
        expect(again.code, again.stderr).toBe(0);
      }
      const [wrong] = await queryOnce<{ n: number }>(direct, `SELECT count(*)::int AS n FROM accounts WHERE "_uw_new_score" IS DISTINCT FROM score::bigint * 10`);
      expect(wrong!.n).toBe(0);
      if (label === "expand") await new Migrator({ databaseUrl: direct }).rollback();
    }
    const audit = await finish(app, direct, plan);
    const during = app.histograms.summary("during");
    printFigures("network cut between underway and the database", {
      outcomes: outcomes.join("; "),
      dropped: proxy.stats.dropped,
      failedQueries: app.workload.failedQueries,
      lostWrites: audit.lost,
      p99Ms: during.p99Ms,
      seconds: (Date.now() - began) / 1000,
    });
    expect(audit.lost).toBe(0);
    expect(app.workload.failedQueries, JSON.stringify(app.workload.firstErrors)).toBe(0);
  });

  it("retries DDL behind a long transaction without blocking the application, and names the blocker when it gives up", async () => {
    const began = Date.now();
    const url = await accountsDatabase(cluster.primary, "blocker", 20_000);
    const { file } = await widenScore("02");
    const plan = await new Migrator({ databaseUrl: url }).plan(file);
    const app = await startWorkload(url, { oldVersion: "public_01_accounts", plan, rate: 100 });
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // A report left open in a transaction: it holds ACCESS SHARE on accounts until it ends.
    const blocker = new pg.Client({ connectionString: url, application_name: "long report" });
    await blocker.connect();
    await blocker.query("BEGIN");
    await blocker.query("SELECT count(*) FROM accounts /* nightly report */");
    const blockerPid = (await blocker.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;

    app.histograms.phase = "during";
    const run = underway(["start", file.path, "--database-url", url, "--lock-timeout", "200ms"]);
    await run.waitFor(/lock not acquired .*attempt 2/);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await blocker.query("COMMIT");
    const result = await run.exited;
    app.histograms.phase = "after";
    expect(result.code, result.stderr).toBe(0);
    const retries = (result.stderr.match(/lock not acquired/g) ?? []).length;
    expect(result.stderr).toContain(`held by pid ${blockerPid}`);
    const during = app.histograms.summary("during");

    // Now one that never ends, and a policy that gives up after three attempts.
    const migrator = new Migrator({ databaseUrl: url, lockPolicy: { lockTimeoutMs: 200, maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 300 } });
    await migrator.rollback();
    await blocker.query("BEGIN");
    await blocker.query("SELECT count(*) FROM accounts /* nightly report */");
    const failure = await migrator.start(file).then(
      () => null,
      (error: unknown) => error,
    );
    await blocker.query("COMMIT");
    await blocker.end();
    expect(failure).toBeInstanceOf(UnderwayError);
    expect((failure as UnderwayError).code).toBe("LOCK_TIMEOUT");
    expect((failure as UnderwayError).message).toContain(`blocked by pid ${blockerPid}`);
    expect((failure as UnderwayError).message).toContain("nightly report");
    await migrator.rollback();
    await migrator.start(file);
    const audit = await finish(app, url, plan);
    printFigures("long transaction holding a lock", {
      retries,
      failedQueries: app.workload.failedQueries,
      lostWrites: audit.lost,
      p99Ms: during.p99Ms,
      maxMs: during.maxMs,
      error: (failure as UnderwayError).message.slice(0, 160),
      seconds: (Date.now() - began) / 1000,
    });
    // A query queued behind a waiting ALTER waits at most its lock_timeout (200ms), not the report's lifetime.
    expect(during.maxMs).toBeLessThan(1500);
    expect(audit.lost).toBe(0);
    expect(app.workload.failedQueries, JSON.stringify(app.workload.firstErrors)).toBe(0);
  });

  it("refuses a second underway process on the same migration, and the first one finishes", async () => {
    const began = Date.now();
    const url = await accountsDatabase(cluster.primary, "second", 40_000);
    const { file } = await widenScore("02");
    // About 13 s of backfill: the second processes are refused while it runs.
    const first = underway(["start", file.path, "--database-url", url, "--max-rate", "3000"]);
    await first.waitFor(/backfill accounts: /);
    const refusals: string[] = [];
    const seconds = await Promise.all(
      [["start", file.path], ["complete"], ["rollback"]].map(async (argv) => ({ argv, result: await underway([...argv, "--database-url", url]).exited })),
    );
    expect(first.child.exitCode, "the first process finished before the others were refused").toBeNull();
    for (const { argv, result: second } of seconds) {
      expect(second.code, `${argv[0]}: ${second.stderr}`).toBe(1);
      // start names the guard's holder; complete and rollback, refused while its backfill runs, say to cancel it first.
      expect(second.stderr).toMatch(
        argv[0] === "start"
          ? /another underway process is working on schema "public": process \d+ on .*server pid \d+/
          : /migration "02_\w+" is backfilling accounts in another process \(process \d+ on .+\).*"underway cancel" first/,
      );
      refusals.push(`${argv[0]}: exit ${second.code}`);
    }
    const result = await first.exited;
    expect(result.code, result.stderr).toBe(0);
    const [wrong] = await queryOnce<{ n: number }>(url, `SELECT count(*)::int AS n FROM accounts WHERE "_uw_new_score" IS DISTINCT FROM score::bigint * 10`);
    expect(wrong!.n).toBe(0);
    printFigures("second underway process", { refusals: refusals.join(", "), seconds: (Date.now() - began) / 1000 });
  });
});
