import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, TcpProxy, type Cluster } from "../support/cluster.js";
import { accountsDatabase, backfillCoverage, backfillRowsDone, printFigures, underway, until, widenScore } from "../support/fault-workload.js";

const ROWS = 60_000;

/**
 * For a moment in a failover the primary's address can lead to a node that is not a
 * primary yet: Patroni 3.0's /primary answers 200 as soon as its node holds the leader
 * key, before PostgreSQL has finished promoting, and HAProxy routes there. Here the proxy
 * standing for the primary's address is pointed at the replica for 3 s in the middle of a
 * backfill (its connections cut), then back. underway must take the read-only refusals
 * it gets there for what they are, a failover still in progress, keep reconnecting, and
 * finish on its first run with every row backfilled and counted once.
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
});
