import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, TcpProxy, waitForReplay, type Cluster } from "../support/cluster.js";
import { connect } from "../../src/db/connection.js";
import { accountsDatabase, backfillCoverage, backfillRowsDone, printFigures, queryOnce, underway, until, widenScore } from "../support/fault-workload.js";

const ROWS = 60_000;

/**
 * For a moment in a failover the primary's address can lead to a node that is not a
 * primary yet: Patroni 3.0's /primary answers 200 as soon as its node holds the leader
 * key, before PostgreSQL has finished promoting, and HAProxy routes there. Here the proxy
 * standing for the primary's address is pointed at the replica for 3 s in the middle of a
 * backfill (its connections cut), then back. underway must take the read-only refusals
 * it gets there for what they are, a failover still in progress, keep reconnecting, and
 * finish on its first run with every row backfilled and counted once. The same holds for
 * a guarded phase's own connection: `complete`, waiting for a lock inside its first step
 * when the address moves, must carry on once it leads to the primary again. An address
 * that leads to a replica from the start is a mistake, not a failover: an error at once.
 */
describe("the primary's address leading to a read-only node for a moment", () => {
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

  it("keeps reconnecting through the read-only refusals and finishes on the first run", async () => {
    const began = Date.now();
    const direct = await accountsDatabase(cluster.primary, "read_only_address", ROWS);
    const url = proxy.url(direct);
    const { file } = await widenScore("02");
    const rowsDone = () => backfillRowsDone(direct);
    const first = underway(["start", file.path, "--database-url", url, "--max-rate", "20000", "--lease", "2s"]);
    await until("a third of the backfill", async () => (await rowsDone().catch(() => 0)) > ROWS / 3);

    proxy.retarget(cluster.replicas[0]!);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.retarget(cluster.primary);

    const run = await first.exited;
    expect(run.code, `the first run rides through the read-only moment:\n${run.stderr}`).toBe(0);
    const coverage = await backfillCoverage(direct);
    expect(coverage.rowsDone).toBe(coverage.covered);
    expect(coverage.wrong).toBe(0);
    printFigures("read-only address mid-backfill", {
      rows: ROWS,
      firstRun: `exit ${run.code}`,
      reconnects: (run.stderr.match(/reconnecting/g) ?? []).length,
      seconds: (Date.now() - began) / 1000,
    });
  });

  it("complete waiting for its lock rides through the read-only moment and finishes on the first run", async () => {
    const began = Date.now();
    const direct = await accountsDatabase(cluster.primary, "read_only_complete", 20_000);
    const url = proxy.url(direct);
    const { file } = await widenScore("02");
    const started = await underway(["start", file.path, "--database-url", url]).exited;
    expect(started.code, started.stderr).toBe(0);

    // A report on the primary itself (the proxy's cut would end it) holds ACCESS SHARE on accounts.
    const report = await connect(direct, { applicationName: "long report" });
    report.on("error", () => undefined);
    await report.query("BEGIN");
    await report.query("SELECT count(*) FROM accounts");
    const complete = underway(["complete", "--database-url", url]);
    await until("complete to wait for its lock", async () =>
      (await queryOnce<{ n: number }>(
        direct,
        `SELECT count(*)::int AS n FROM pg_locks
          WHERE NOT granted AND locktype = 'relation' AND mode = 'AccessExclusiveLock' AND relation = 'public.accounts'::regclass`,
      ))[0]!.n > 0,
    30_000);

    proxy.retarget(cluster.replicas[0]!);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    proxy.retarget(cluster.primary);
    await report.end();

    const run = await complete.exited;
    expect(run.code, `the first run of complete rides through the read-only moment:\n${run.stderr}`).toBe(0);
    expect(run.stderr).toMatch(/read-only.*reconnecting/);
    const [migration] = await queryOnce<{ phase: string }>(direct, "SELECT phase FROM underway.migrations WHERE name = $1", [file.name]);
    expect(migration?.phase).toBe("completed");
    printFigures("read-only address mid-complete", {
      firstRun: `exit ${run.code}`,
      reconnects: (run.stderr.match(/reconnecting/g) ?? []).length,
      readOnlyRefusals: (run.stderr.match(/read-only[^\n]*reconnecting/g) ?? []).length,
      seconds: (Date.now() - began) / 1000,
    });
  });

  it("a replica's address given from the start is an error at once, in one line, changing nothing", async () => {
    const direct = await accountsDatabase(cluster.primary, "read_only_mistake", 100);
    await waitForReplay(cluster.primary, cluster.replicas[0]!);
    const onReplica = new URL(direct);
    onReplica.port = String(cluster.replicas[0]!.port);
    const { file } = await widenScore("02");
    const before = await queryOnce(direct, "SELECT name, phase, start_done, updated_at FROM underway.migrations ORDER BY id");
    const began = Date.now();
    const run = await underway(["start", file.path, "--database-url", onReplica.toString()]).exited;
    const seconds = (Date.now() - began) / 1000;
    expect(run.code, run.stderr).toBe(1);
    const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/leads to a standby \(the server is in recovery\) and underway needs to write: give the primary's address/);
    expect(seconds).toBeLessThan(10);
    expect(await queryOnce(direct, "SELECT name, phase, start_done, updated_at FROM underway.migrations ORDER BY id")).toEqual(before);
  });
});
