import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/connection.js";
import {
  pauseReplay,
  promote,
  replicaLagBytes,
  resumeReplay,
  startCluster,
  waitForReplay,
  type Cluster,
} from "../support/cluster.js";

/** The run's PostgreSQL major; the cluster needs its system packages (for pg_basebackup). */
/** Replicas are made with the system packages' pg_basebackup, so this runs on the system PostgreSQL 15. */
const VERSION = 15;

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = await connect(url);
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

async function count(url: string): Promise<number> {
  const [row] = await query<{ n: number }>(url, "SELECT count(*)::int AS n FROM notes");
  return row!.n;
}

/**
 * The harness itself: a primary streaming to two replicas through slots, replay paused
 * and resumed on one while the other keeps up, a replica killed and brought back, a
 * replica promoted, and nothing left behind after stop().
 */
describe("a primary with streaming replicas", () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await startCluster({ version: VERSION, replicas: 2 });
    await query(cluster.primary.url, "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)");
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it("streams every replica from its own slot and replicates writes", async () => {
    const senders = await query<{ application_name: string; state: string; slot_name: string }>(
      cluster.primary.url,
      `SELECT r.application_name, r.state, s.slot_name FROM pg_stat_replication r
         JOIN pg_replication_slots s ON s.active_pid = r.pid ORDER BY s.slot_name`,
    );
    expect(senders).toEqual([
      { application_name: "replica_1", state: "streaming", slot_name: "replica_1" },
      { application_name: "replica_2", state: "streaming", slot_name: "replica_2" },
    ]);
    expect(cluster.slots).toEqual(["replica_1", "replica_2"]);

    await query(cluster.primary.url, "INSERT INTO notes (body) SELECT 'n' || g FROM generate_series(1, 100) g");
    for (const replica of cluster.replicas) {
      await waitForReplay(cluster.primary, replica);
      expect(await count(replica.url)).toBe(100);
      const [recovery] = await query<{ standby: boolean }>(replica.url, "SELECT pg_is_in_recovery() AS standby");
      expect(recovery!.standby).toBe(true);
      await expect(query(replica.url, "INSERT INTO notes (body) VALUES ('x')")).rejects.toMatchObject({ code: "25006" });
    }
  });

  it("holds one replica's replay while the other keeps up, and catches up on resume", async () => {
    const [held, live] = cluster.replicas as [typeof cluster.primary, typeof cluster.primary];
    await pauseReplay(held);
    const before = await count(held.url);
    // About 4MB of WAL: the held replica receives it but does not apply it.
    await query(cluster.primary.url, "INSERT INTO notes (body) SELECT repeat(md5(g::text), 8) FROM generate_series(1, 10000) g");
    await waitForReplay(cluster.primary, live);

    const heldLag = await replicaLagBytes(cluster.primary, "replica_1");
    const liveLag = await replicaLagBytes(cluster.primary, "replica_2");
    expect(heldLag).toBeGreaterThan(2 * 1024 * 1024);
    expect(liveLag).toBeLessThan(64 * 1024);
    expect(await replicaLagBytes(cluster.primary)).toBe(heldLag === null ? null : Math.max(heldLag, liveLag ?? 0));
    expect(await count(held.url)).toBe(before);
    expect(await count(live.url)).toBe(before + 10_000);

    await resumeReplay(held);
    await waitForReplay(cluster.primary, held);
    expect(await count(held.url)).toBe(before + 10_000);
    expect(await replicaLagBytes(cluster.primary, "replica_1")).toBeLessThan(64 * 1024);
  });

  it("brings a replica killed with SIGKILL back, streaming from where it stopped", async () => {
    const replica = cluster.replicas[0]!;
    await replica.kill();
    await query(cluster.primary.url, "INSERT INTO notes (body) SELECT 'after kill ' || g FROM generate_series(1, 500) g");
    await replica.start();
    await waitForReplay(cluster.primary, replica);
    expect(await count(replica.url)).toBe(await count(cluster.primary.url));
  });

  it("promotes a replica to a primary that takes writes", async () => {
    const replica = cluster.replicas[1]!;
    await waitForReplay(cluster.primary, replica);
    await promote(replica);
    const [recovery] = await query<{ standby: boolean }>(replica.url, "SELECT pg_is_in_recovery() AS standby");
    expect(recovery!.standby).toBe(false);
    await query(replica.url, "INSERT INTO notes (body) VALUES ('written on the promoted node')");
    expect(await count(replica.url)).toBe((await count(cluster.primary.url)) + 1);
  });

  it("stops every node and removes every directory, once", async () => {
    const dirs = [cluster.primary.dataDir, ...cluster.replicas.map((r) => r.dataDir)];
    const urls = [cluster.primary.url, ...cluster.replicas.map((r) => r.url)];
    expect(dirs.every((dir) => existsSync(dir))).toBe(true);
    await cluster.stop();
    await cluster.stop();
    expect(dirs.filter((dir) => existsSync(dir))).toEqual([]);
    for (const url of urls) await expect(connect(url)).rejects.toMatchObject({ code: "CONNECTION" });
  });
});
