import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/run/migrator.js";
import { CLI } from "../support/cli.js";
import { startCluster, type Cluster } from "../support/cluster.js";
import { completeAndAudit, accountsDatabase, printFigures, queryOnce, startWorkload, underway, widenScore } from "../support/fault-workload.js";
import { netemAvailable, startNetnsLink, type NetnsLink } from "../support/netns.js";

/**
 * underway in a network namespace of its own, reaching the primary over a veth link (with
 * 2 ms of netem latency where the kernel has netem); the link goes down for 6 s during the
 * expand steps and again during the backfill. Nothing resets: TCP retransmits, and underway either carries on
 * when the link returns or stops with a reason; what it recorded is what it did, and a
 * re-run finishes. The application, on the primary's own network, is not affected.
 */
describe("a partition between underway and the primary (network namespaces)", () => {
  let cluster: Cluster;
  let link: NetnsLink;

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 0 });
    link = await startNetnsLink(cluster.primary);
  });

  afterAll(async () => {
    link?.close();
    await cluster?.stop();
  });

  it("rides out 6 s of dropped packets in expand and in the backfill", async () => {
    const netem = netemAvailable();
    const began = Date.now();
    const direct = await accountsDatabase(cluster.primary, "partition", 60_000);
    const url = link.url(direct);
    const { file } = await widenScore("02");
    const plan = await new Migrator({ databaseUrl: direct }).plan(file);
    const app = await startWorkload(direct, { oldVersion: "public_01_accounts", plan });
    app.histograms.phase = "during";
    if (netem) link.delay(2, 1);
    const command = [...link.exec, process.execPath, CLI];
    const run = underway(["start", file.path, "--database-url", url, "--max-rate", "15000"], {}, command);
    const outcomes: string[] = [];
    for (const at of [/start 2\/\d+:/, /backfill accounts: [1-9]/]) {
      await run.waitFor(at);
      link.cut();
      await new Promise((resolve) => setTimeout(resolve, 6000));
      link.heal();
      if (netem) link.delay(2, 1);
    }
    const result = await run.exited;
    outcomes.push(`first run: exit ${result.code}${result.code === 0 ? "" : ` ${result.stderr.split("\n").find((l) => l.startsWith("underway:"))}`}`);
    if (result.code !== 0) {
      expect(result.code).toBe(1);
      const again = await underway(["start", file.path, "--database-url", url], {}, command).exited;
      outcomes.push(`re-run: exit ${again.code}`);
      expect(again.code, again.stderr).toBe(0);
    }
    const [state] = await queryOnce<{ phase: string; wrong: number }>(
      direct,
      `SELECT (SELECT phase FROM underway.migrations WHERE name = $1) AS phase,
              (SELECT count(*)::int FROM accounts WHERE "_uw_new_score" IS DISTINCT FROM score::bigint * 10) AS wrong`,
      [file.name],
    );
    expect(state).toEqual({ phase: "ready", wrong: 0 });
    link.heal();
    const { complete, audit } = await completeAndAudit(app, url, plan, { command });
    expect(complete.code, complete.stderr).toBe(0);
    const during = app.histograms.summary("during");
    printFigures("partition (netns, link down)", {
      netem: String(netem),
      outcomes: outcomes.join("; "),
      failedQueries: app.workload.failedQueries,
      lostWrites: audit.lost,
      p99Ms: during.p99Ms,
      seconds: (Date.now() - began) / 1000,
    });
    expect(audit.lost).toBe(0);
    expect(app.workload.failedQueries, JSON.stringify(app.workload.firstErrors)).toBe(0);
  });
});
