import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failover, startCluster, TcpProxy, type Cluster } from "../support/cluster.js";
import { Migrator } from "../../src/run/migrator.js";
import { accountsDatabase, backfillCoverage, backfillRowsDone, completeAndAudit, printFigures, startWorkload, underway, until, widenScore } from "../support/fault-workload.js";

const ROWS = 120_000;

/**
 * The primary is SIGKILLed in the middle of a backfill and its replica promoted; the
 * proxy that stands for the primary's address follows it. underway and the application
 * connect through the proxy only. The backfill goes on on the new primary from the cursors
 * it had persisted (each row is counted once: not from zero), the migration finishes, and
 * the ledger holds every write the new primary has.
 */
describe("failover in the middle of a backfill", () => {
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

  it("resumes on the promoted replica from the persisted cursor and loses no write", async () => {
    const began = Date.now();
    const direct = await accountsDatabase(cluster.primary, "failover", ROWS);
    const url = proxy.url(direct);
    const { file } = await widenScore("02");
    const plan = await new Migrator({ databaseUrl: url }).plan(file);
    const app = await startWorkload(url, { oldVersion: "public_01_accounts", plan });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    app.histograms.phase = "during";

    const rowsDone = backfillRowsDone;
    const first = underway(["start", file.path, "--database-url", url, "--max-rate", "20000", "--lease", "2s"]);
    await until("a third of the backfill", async () => (await rowsDone(direct).catch(() => 0)) > ROWS / 3);

    const endOutage = app.workload.beginOutage();
    const switched = await failover(cluster);
    proxy.retarget(cluster.primary);
    endOutage();
    const newDirect = direct.replace(`:${switched.oldPrimary.port}/`, `:${cluster.primary.port}/`);
    const atPromotion = await rowsDone(newDirect);

    const firstRun = await first.exited;
    const reason = (run: { stderr: string }) => run.stderr.trim().split("\n").filter((l) => l.startsWith("underway:")).pop() ?? "";
    const runs = [`first run: ${firstRun.signal ?? `exit ${firstRun.code}`} ${reason(firstRun)}`];
    let last = firstRun;
    // A run that stopped on the lost connection is re-run, as an operator (or a deploy job) would.
    for (let attempt = 0; last.code !== 0 && attempt < 3; attempt++) {
      expect(last.stderr, "a run that stops says why").toMatch(/underway: .*(connect|terminat|lost|closed|ECONN)/i);
      last = await underway(["start", file.path, "--database-url", url]).exited;
      runs.push(`re-run: exit ${last.code}`);
    }
    expect(last.code, last.stderr).toBe(0);

    // Each row up to the job's upper bound was counted once over both primaries: the job
    // went on from the cursors the new primary had, it did not start again.
    const coverage = await backfillCoverage(newDirect);
    const finalRows = coverage.rowsDone;
    expect(atPromotion).toBeGreaterThan(0);
    expect(finalRows).toBe(coverage.covered);
    expect(coverage.wrong).toBe(0);

    const { complete, audit } = await completeAndAudit(app, url, plan, { settleMs: 500 });
    expect(complete.code, complete.stderr).toBe(0);

    const during = app.histograms.summary("during");
    printFigures("failover mid-backfill", {
      rows: ROWS,
      rowsDoneAtPromotion: atPromotion,
      rowsDoneFinal: finalRows,
      unreplayedBytes: switched.unreplayedBytes,
      promotionSeconds: switched.seconds,
      runs: runs.join(", "),
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
