import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { rehearse } from "../../src/rehearse/rehearsal.js";
import { formatReport } from "../../src/rehearse/report.js";
import { printFigures } from "../support/fault-workload.js";

/**
 * `underway rehearse --topology patroni --pooler pgbouncer` on a schema of its own (support
 * tickets, built from the migration history in the file's directory): two PostgreSQL 15
 * nodes under Patroni with etcd, HAProxy, PgBouncer in transaction mode in front, and
 * Patroni's own failovers. A host crash of the leader in the backfill, etcd gone for 8 s,
 * and another crash while `complete` waits for a lock inside its contract: the first run
 * of `start` and of `complete` must finish, the backfill must go on from its cursors, no
 * write may be lost, and the report must say what the topology saw.
 */
describe("underway rehearse on Patroni", () => {
  it("rides through Patroni's failovers and a quorum loss through PgBouncer, and reports them", { timeout: 400_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "underway-rehearse-patroni-"));
    await writeFile(
      join(dir, "01_tickets.yaml"),
      YAML.stringify({
        operations: [
          {
            create_table: {
              name: "tickets",
              columns: [
                { name: "id", type: "serial", pk: true },
                { name: "priority", type: "integer" },
                { name: "title", type: "text" },
                { name: "opened_at", type: "timestamptz", default: "now()" },
              ],
            },
          },
        ],
      }),
    );
    const file = join(dir, "02_priority_scale.yaml");
    await writeFile(
      file,
      YAML.stringify({
        operations: [
          { alter_column: { table: "tickets", column: "priority", type: "bigint", up: "priority::bigint * 100", down: "(priority / 100)::integer" } },
          { add_column: { table: "tickets", up: "length(title)", column: { name: "title_length", type: "integer", nullable: true } } },
        ],
      }),
    );
    const lines: string[] = [];
    const report = await rehearse({
      file,
      topology: "patroni",
      pooler: "pgbouncer",
      faults: ["failover", "etcd", "complete-failover"],
      rows: 40_000,
      backfillSeconds: 12,
      log: (line) => lines.push(line),
    });
    console.log(formatReport(report));
    const change = (fault: string) => report.leaderChanges.find((c) => c.fault === fault);
    printFigures("rehearse patroni", {
      ok: String(report.ok),
      failoverSeconds: change("failover")?.leaderChangeSeconds ?? "?",
      etcdWritesBackSeconds: change("etcd")?.writesBackSeconds ?? "?",
      completeFailoverSeconds: change("complete-failover")?.leaderChangeSeconds ?? "?",
      noWritesSeconds: report.faults.map((f) => `${f.fault}:${f.noWritesSeconds ?? "?"}`).join(","),
      failedQueries: report.failedQueries,
      outageErrors: report.outageErrors,
      lostWrites: report.lostWrites,
      ledgerWrites: report.ledgerWrites,
      acknowledgedWrites: report.acknowledgedWrites,
      seconds: report.durationSeconds,
    });

    expect(report.problems, lines.join("\n")).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.topology).toEqual({ kind: "patroni", description: "2 nodes under Patroni with etcd, behind HAProxy and PgBouncer (transaction mode)", pooler: "pgbouncer" });
    // Each phase finished on its first run, through every fault.
    expect(report.runs).toEqual([
      { command: "start", outcome: "finished" },
      { command: "complete", outcome: "finished" },
    ]);
    expect(report.faults.map((f) => [f.fault, f.injected])).toEqual([
      ["failover", true],
      ["etcd", true],
      ["complete-failover", true],
    ]);
    expect(report.faults.find((f) => f.fault === "complete-failover")!.detail).toMatch(/^in complete step \d+\/\d+, waiting for its lock: kill -9 of the leader's Patroni and postmaster: leader node\d -> node\d/);

    // Patroni moved the leader on each crash, and never let two nodes take writes.
    expect(change("failover")!.newLeader).not.toBe(change("failover")!.oldLeader);
    expect(change("complete-failover")!.newLeader).not.toBe(change("complete-failover")!.oldLeader);
    expect(change("failover")!.rejoinedSeconds).toBeGreaterThan(0);
    expect(change("etcd")!.maxPrimaries).toBeLessThanOrEqual(1);
    // The outage as the application saw it: a crash costs about the TTL (10 s) of writes.
    for (const fault of ["failover", "complete-failover"]) {
      const seen = report.faults.find((f) => f.fault === fault)!.noWritesSeconds;
      expect(seen, fault).toBeGreaterThan(5);
    }

    // The backfill went on from the cursors the new leader had, not from zero.
    expect(report.faults.find((f) => f.fault === "failover")!.backfillRowsDone).toBeGreaterThan(0);
    expect(report.backfill.resumedFromCursors).toBe(true);
    expect(report.backfill.rowsDone).toBeGreaterThanOrEqual(report.backfill.rows);
    expect(report.backfill.rowsDone).toBeLessThan(report.backfill.rows * 1.1);

    expect(report.lostWrites).toBe(0);
    expect(report.failedQueries).toBe(0);
    expect(report.ledgerWrites).toBeGreaterThan(500);
    expect(formatReport(report)).toMatch(/^leader changes:$/m);
  });
});
