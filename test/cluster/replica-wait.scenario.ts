import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failover, pauseReplay, resumeReplay, startCluster, TcpProxy, waitForReplay, type Cluster } from "../support/cluster.js";
import { connect } from "../../src/db/connection.js";
import { Migrator } from "../../src/run/migrator.js";
import type { MigrationEvent } from "../../src/run/step-runner.js";
import { accountsDatabase, queryOnce, until, widenScore } from "../support/fault-workload.js";

/**
 * With asynchronous replication a commit is acknowledged before a replica has it. A phase
 * of underway that returned at once could then be undone by a failover right after it:
 * the operator (and the deploy that switches to the new version) would act on a state the
 * new primary does not have. A phase returns once the streaming replicas have flushed
 * its last commit; if the primary fails over meanwhile to a replica that lacks it, the
 * phase runs again there, so what it returns is what the primary now serving holds.
 */
describe("a finished phase and the replicas", () => {
  let cluster: Cluster;
  let proxy: TcpProxy;

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 2 });
    proxy = await TcpProxy.start(cluster.primary);
  });

  afterAll(async () => {
    await proxy?.close();
    await cluster?.stop();
  });

  it("waits for a replica that has not received the phase's last commit, then says which one lacks it", async () => {
    const direct = await accountsDatabase(cluster.primary, "replica_wait", 2_000);
    // replica_2 stays connected, but its WAL receiver stops: the primary sees it streaming and not flushing.
    const resume = await stallReceiver(cluster.replicas[1]!);
    const notices: string[] = [];
    const { file } = await widenScore("02");
    const began = Date.now();
    let record;
    try {
      record = await new Migrator({ databaseUrl: direct, replicaWaitMs: 1500, onEvent: noticesInto(notices) }).start(file);
    } finally {
      resume();
    }
    const tookMs = Date.now() - began;
    expect(record.phase).toBe("ready");
    expect(tookMs).toBeGreaterThanOrEqual(1500);
    expect(notices.join("\n")).toMatch(/start of migration "02_score_bigint" is committed on the primary; after 1500ms replica\(s\) replica_2 \([\d.]+ ?[kMG]?B behind\) did not have it yet: a failover now could lose it/);

    // A replica that has the WAL and only applies it later (replay paused, as with
    // recovery_min_apply_delay) holds nothing up: promoted, it would replay it first.
    await pauseReplay(cluster.replicas[1]!);
    const quiet: string[] = [];
    try {
      const rolledBack = await new Migrator({ databaseUrl: direct, replicaWaitMs: 60_000, onEvent: noticesInto(quiet) }).rollback();
      expect(rolledBack.phase).toBe("rolled_back");
    } finally {
      await resumeReplay(cluster.replicas[1]!);
    }
    expect(quiet.filter((n) => /replica|primary/.test(n))).toEqual([]);
    const [flushed] = await queryOnce<{ behind: number }>(
      cluster.primary.url,
      "SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn))::float8 AS behind FROM pg_stat_replication",
    );
    // Only what was written after the wait (the session's end) can be missing.
    expect(flushed!.behind).toBeLessThan(64 * 1024);
  });

  it("runs the phase again when a failover promotes a replica that lacks its last commits", async () => {
    const direct = await accountsDatabase(cluster.primary, "lost_commits", 2_000);
    // replica_1 stops receiving WAL (it stays a standby); replica_2 stays connected with its WAL receiver stopped.
    const behind = cluster.replicas[0]!;
    await waitForReplay(cluster.primary, behind);
    const admin = await connect(behind.url);
    await admin.query("ALTER SYSTEM SET primary_conninfo = ''");
    await admin.query("SELECT pg_reload_conf()");
    await admin.end();
    await until("replica_1 to stop streaming", async () =>
      (await queryOnce<{ n: number }>(cluster.primary.url, "SELECT count(*)::int AS n FROM pg_stat_replication WHERE application_name = 'replica_1'"))[0]!.n === 0,
    );
    const resume = await stallReceiver(cluster.replicas[1]!);

    const notices: string[] = [];
    const { file } = await widenScore("03");
    const url = proxy.url(direct);
    const starting = new Migrator({ databaseUrl: url, replicaWaitMs: 120_000, onEvent: noticesInto(notices) }).start(file);
    // start is done on the primary and waits for replica_2; the primary dies, and replica_1, which lacks all of it, is promoted.
    await until("start to be ready on the primary", async () =>
      (await queryOnce<{ phase: string }>(direct, "SELECT phase FROM underway.migrations WHERE name = $1", [file.name]).catch(() => []))[0]?.phase === "ready",
    );
    await failover(cluster, 0);
    proxy.retarget(cluster.primary);
    resume();

    const record = await starting;
    expect(record.phase).toBe("ready");
    expect(notices.join("\n")).toMatch(/the primary now serving lacks the last commits of start .*: running start again from there/);
    // What start returned is what the new primary holds.
    const onNew = proxy.url(direct);
    const [migration] = await queryOnce<{ phase: string }>(onNew, "SELECT phase FROM underway.migrations WHERE name = $1", [file.name]);
    expect(migration?.phase).toBe("ready");
    const [column] = await queryOnce<{ n: number }>(onNew, "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts' AND column_name = '_uw_new_score'");
    expect(column!.n).toBe(1);
    const [converted] = await queryOnce<{ wrong: number }>(onNew, `SELECT count(*) FILTER (WHERE "_uw_new_score" IS DISTINCT FROM score::bigint * 10)::int AS wrong FROM accounts`);
    expect(converted!.wrong).toBe(0);
  });
});

/** Stops a replica's WAL receiver (SIGSTOP) while it stays connected; the returned function lets it go on. */
async function stallReceiver(replica: { url: string }): Promise<() => void> {
  const [receiver] = await queryOnce<{ pid: number }>(replica.url, "SELECT pid FROM pg_stat_wal_receiver");
  if (!receiver) throw new Error("the replica has no WAL receiver to stall");
  process.kill(receiver.pid, "SIGSTOP");
  return () => {
    try {
      process.kill(receiver.pid, "SIGCONT");
    } catch {
      // Gone with its server.
    }
  };
}

function noticesInto(notices: string[]): (event: MigrationEvent) => void {
  return (event) => {
    if (event.type === "notice") notices.push(event.message);
  };
}
