import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPatroniCluster, type PatroniCluster } from "../../src/harness/patroni.js";
import { connect } from "../../src/db/connection.js";
import { Migrator } from "../../src/run/migrator.js";
import { backfillCoverage, backfillRowsDone, completeAndAudit, accountsDatabase, printFigures, queryOnce, startWorkload, underway, until, widenScore } from "../support/fault-workload.js";

const ROWS = 120_000;
const DATABASE = "patroni_failover";
const OWNER = `${DATABASE}_owner`;
const COMPLETE_DATABASE = "patroni_complete";
const COMPLETE_OWNER = `${COMPLETE_DATABASE}_owner`;

/**
 * The topology production clusters run: two PostgreSQL 15 nodes under Patroni with etcd,
 * reached through HAProxy, which routes to whichever node Patroni's REST API calls the
 * primary. In the middle of a backfill the leader's host "crashes" (kill -9 of its Patroni
 * and its postmaster); the leader key expires after the TTL and Patroni promotes the
 * replica. underway and the application know one address only: HAProxy's, or PgBouncer's
 * (transaction mode) in front of HAProxy. The first run of `start` must ride through:
 * reconnect, take its guard again on the new leader, go on from the cursors the new
 * leader has, and finish; the ledger must hold every write.
 */
describe.each([{ through: "HAProxy" }, { through: "PgBouncer" }] as const)("a Patroni failover in the middle of a backfill, through $through", ({ through }) => {
  let cluster: PatroniCluster;

  beforeAll(async () => {
    cluster = await startPatroniCluster({
      nodes: 2,
      version: 15,
      ...(through === "PgBouncer" ? { pooler: "pgbouncer" as const, poolerUsers: [OWNER, "postgres"] } : {}),
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("finishes on the first run on the new leader from the persisted cursors and loses no write", async () => {
    const began = Date.now();
    const viaHaproxy = await accountsDatabase(cluster, DATABASE, ROWS);
    const url = cluster.pooler ? cluster.pooler.url(DATABASE, OWNER) : viaHaproxy;
    const { file } = await widenScore("02");
    const plan = await new Migrator({ databaseUrl: url }).plan(file);
    const app = await startWorkload(url, { oldVersion: "public_01_accounts", plan });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    app.histograms.phase = "during";

    // The scenario's own reads go through HAProxy: they measure, they are not the application.
    const rowsDone = () => backfillRowsDone(viaHaproxy);
    const first = underway(["start", file.path, "--database-url", url, "--max-rate", "20000", "--lease", "2s"]);
    await until("a third of the backfill", async () => (await rowsDone().catch(() => 0)) > ROWS / 3);

    const endOutage = app.workload.beginOutage();
    const faultAt = Date.now();
    const change = await cluster.killLeader();
    // The harness saw a write through HAProxy; the clients' own address may come back later.
    await until("a write through the clients' address", () => queryOnce(url, "SELECT txid_current()").then(() => true, () => false), 60_000);
    const clientsBackSeconds = (Date.now() - faultAt) / 1000;
    endOutage();
    // Read on the new leader through the same address: what the old leader had not streamed is gone.
    const atFailover = await rowsDone();

    const firstRun = await first.exited;
    expect(firstRun.code, `the first run rides through the failover:\n${firstRun.stderr}`).toBe(0);
    expect(change.newLeader).not.toBe(change.oldLeader);
    expect((await cluster.leader()).name).toBe(change.newLeader);

    // Each row up to the job's upper bound was counted once over both leaders: the job went
    // on from the cursors the new leader had, it did not start again from zero.
    const coverage = await backfillCoverage(viaHaproxy);
    const finalRows = coverage.rowsDone;
    expect(atFailover).toBeGreaterThan(0);
    expect(finalRows).toBe(coverage.covered);
    expect(coverage.wrong).toBe(0);

    const { complete, audit } = await completeAndAudit(app, url, plan, { settleMs: 500 });
    expect(complete.code, complete.stderr).toBe(0);

    const during = app.histograms.summary("during");
    printFigures(`patroni failover mid-backfill through ${through}`, {
      rows: ROWS,
      rowsDoneAtFailover: atFailover,
      rowsDoneFinal: finalRows,
      oldLeader: change.oldLeader,
      newLeader: change.newLeader,
      leaderChangeSeconds: change.leaderChangeSeconds,
      writesBackSeconds: change.writesBackSeconds,
      clientsBackSeconds,
      firstRun: firstRun.code === 0 ? "exit 0" : `exit ${firstRun.code}`,
      reconnects: (firstRun.stderr.match(/reconnecting/g) ?? []).length,
      failedQueries: app.workload.failedQueries,
      outageErrors: app.workload.outageErrors,
      acknowledgedWrites: app.workload.acknowledgedWrites,
      ledgerWrites: audit.tables.reduce((n, t) => n + t.writes, 0),
      lostWrites: audit.lost,
      p50Ms: during.p50Ms,
      p99Ms: during.p99Ms,
      maxMs: during.maxMs,
      seconds: (Date.now() - began) / 1000,
    });
    expect(audit.lost, JSON.stringify(audit.tables)).toBe(0);
    expect(app.workload.failedQueries, JSON.stringify(app.workload.firstErrors)).toBe(0);
  });
});

/**
 * The same failover in the middle of `complete`: a report's transaction holds ACCESS SHARE
 * on `accounts` so complete waits (retrying its lock) inside a step that needs ACCESS
 * EXCLUSIVE, and the leader's host crashes then. The first run of `complete` must
 * reconnect to the new leader, take its guard again (an advisory lock through HAProxy, a
 * lease row through PgBouncer, whose client connection may outlive the server's), carry
 * on from its recorded step and finish.
 */
describe.each([{ through: "HAProxy" }, { through: "PgBouncer" }] as const)("a Patroni failover in the middle of complete, through $through", ({ through }) => {
  let cluster: PatroniCluster;

  beforeAll(async () => {
    cluster = await startPatroniCluster({
      nodes: 2,
      version: 15,
      ...(through === "PgBouncer" ? { pooler: "pgbouncer" as const, poolerUsers: [COMPLETE_OWNER, "postgres"] } : {}),
    });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("finishes complete on the first run on the new leader and loses no write", async () => {
    const began = Date.now();
    const viaHaproxy = await accountsDatabase(cluster, COMPLETE_DATABASE, 20_000);
    const url = cluster.pooler ? cluster.pooler.url(COMPLETE_DATABASE, COMPLETE_OWNER) : viaHaproxy;
    const { file } = await widenScore("02");
    const plan = await new Migrator({ databaseUrl: url }).plan(file);
    const app = await startWorkload(url, { oldVersion: "public_01_accounts", plan });
    const started = await underway(["start", file.path, "--database-url", url]).exited;
    expect(started.code, started.stderr).toBe(0);
    const version = await app.startNew(plan, 2);
    await app.workload.stop("old");
    app.histograms.phase = "during";

    const report = await connect(url, { applicationName: "long report" });
    report.on("error", () => undefined);
    await report.query("BEGIN");
    await report.query("SELECT count(*) FROM accounts");
    const complete = underway(["complete", "--database-url", url]);
    // complete is inside a step, waiting for the lock the report holds: the one session
    // asking for ACCESS EXCLUSIVE on accounts (the clients queued behind it ask for ROW
    // EXCLUSIVE). Asked of the server by lock mode, not by application_name, so it holds
    // whatever a pooler does with the session's parameters.
    await until("complete to wait for its lock", async () =>
      (await queryOnce<{ application: string }>(
        viaHaproxy,
        `SELECT a.application_name AS application FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.relation = 'public.accounts'::regclass`,
      ))[0],
    30_000);
    const stepBefore = /complete (\d+)\/\d+:/.exec(complete.stderr().split("\n").filter((l) => /complete \d+\//.test(l)).pop() ?? "")?.[1];

    const endOutage = app.workload.beginOutage();
    const faultAt = Date.now();
    const change = await cluster.killLeader();
    await until("a write through the clients' address", () => queryOnce(url, "SELECT txid_current()").then(() => true, () => false), 60_000);
    const clientsBackSeconds = (Date.now() - faultAt) / 1000;
    endOutage();
    await report.end().catch(() => undefined);

    const run = await complete.exited;
    expect(run.code, `the first run of complete rides through the failover:\n${run.stderr}`).toBe(0);
    expect(run.stderr, "complete saw the failover").toMatch(/reconnecting/);
    const [migration] = await queryOnce<{ phase: string }>(url, "SELECT phase FROM underway.migrations WHERE name = $1", [file.name]);
    expect(migration?.phase).toBe("completed");

    app.histograms.phase = "after";
    await new Promise((resolve) => setTimeout(resolve, 500));
    await app.workload.stop();
    const audit = await app.audit(version);
    const during = app.histograms.summary("during");
    printFigures(`patroni failover mid-complete through ${through}`, {
      stepAtFailover: stepBefore ?? "?",
      oldLeader: change.oldLeader,
      newLeader: change.newLeader,
      leaderChangeSeconds: change.leaderChangeSeconds,
      writesBackSeconds: change.writesBackSeconds,
      clientsBackSeconds,
      firstRun: `exit ${run.code}`,
      reconnects: (run.stderr.match(/reconnecting/g) ?? []).length,
      readOnlyRefusals: (run.stderr.match(/read-only[^\n]*reconnecting/g) ?? []).length,
      failedQueries: app.workload.failedQueries,
      outageErrors: app.workload.outageErrors,
      acknowledgedWrites: app.workload.acknowledgedWrites,
      ledgerWrites: audit.tables.reduce((n, t) => n + t.writes, 0),
      lostWrites: audit.lost,
      p50Ms: during.p50Ms,
      p99Ms: during.p99Ms,
      maxMs: during.maxMs,
      seconds: (Date.now() - began) / 1000,
    });
    expect(audit.lost, JSON.stringify(audit.tables)).toBe(0);
    expect(app.workload.failedQueries, JSON.stringify(app.workload.firstErrors)).toBe(0);
  });
});
