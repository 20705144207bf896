import type { Client } from "../db/connection.js";
import { formatBytes } from "../backfill/settings.js";
import { formatMs } from "../db/connection.js";
import { serverProfile } from "../dialect/server-profile.js";

/** What waiting for the streaming replicas found. */
export type ReplicaWait =
  | { kind: "replayed"; replicas: number }
  /** No physical replica streams from this server: nothing to wait for. */
  | { kind: "none" }
  /** The role may not see replica positions (pg_monitor or pg_read_all_stats is needed). */
  | { kind: "hidden"; replicas: number }
  | { kind: "behind"; behind: { name: string; bytes: number }[] };

/**
 * Waits until every physical replica streaming from this server has flushed what this
 * server had written when the wait began (its WAL insert position), polling every
 * 100 ms for up to `timeoutMs` (or until `signal` aborts). Logical walsenders
 * (subscriptions, which connect to a database) and base backups are not waited for, nor
 * replicas that stream from another replica (this server does not see them).
 *
 * With asynchronous replication a commit is acknowledged before any replica has it: a
 * failover right then promotes a replica without it. A promoted replica replays all it
 * has flushed first, so after this wait what was committed before it survives a failover
 * to any replica that was streaming, a delayed one (`recovery_min_apply_delay`) too.
 */
export async function waitForReplicas(client: Client, timeoutMs: number, signal?: AbortSignal): Promise<ReplicaWait> {
  // An engine that replicates by consensus has a commit on a quorum when it returns: nothing to wait for.
  if (!(await serverProfile(client)).replicationView) return { kind: "none" };
  // The insert position: with synchronous_commit off, a commit record can sit in the WAL buffers past the written one.
  const { rows: target } = await client.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn");
  const lsn = target[0]!.lsn;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await client.query<{ name: string; behind: string | null }>(
      `SELECT coalesce(nullif(r.application_name, ''), r.client_addr::text, r.pid::text) AS name,
              pg_wal_lsn_diff($1::pg_lsn, r.flush_lsn)::text AS behind
         FROM pg_stat_replication r JOIN pg_stat_activity a ON a.pid = r.pid
        WHERE a.datname IS NULL AND r.state IN ('streaming', 'catchup')`,
      [lsn],
    );
    if (rows.length === 0) {
      // A role without pg_monitor sees no walsender's database either: ask in a way it can answer.
      const { rows: seen } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_replication WHERE state IS NULL");
      return seen[0]!.n > 0 ? { kind: "hidden", replicas: seen[0]!.n } : { kind: "none" };
    }
    if (rows.some((r) => r.behind === null)) return { kind: "hidden", replicas: rows.length };
    const behind = rows.filter((r) => Number(r.behind) > 0).map((r) => ({ name: r.name, bytes: Number(r.behind) }));
    if (behind.length === 0) return { kind: "replayed", replicas: rows.length };
    if (Date.now() >= deadline || signal?.aborted) return { kind: "behind", behind };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The notice for a wait that did not see every replica replay the phase's last commit; null when it did. */
export function describeReplicaWait(wait: ReplicaWait, what: string, timeoutMs: number): string | null {
  switch (wait.kind) {
    case "replayed":
    case "none":
      return null;
    case "hidden":
      return `${what} on the primary; this role cannot see whether its ${wait.replicas} replica(s) have it (GRANT pg_monitor to let underway wait for them): a failover now could lose it`;
    case "behind":
      return `${what} on the primary; after ${formatMs(timeoutMs)} replica(s) ${wait.behind.map((b) => `${b.name} (${formatBytes(b.bytes)} behind)`).join(", ")} did not have it yet: a failover now could lose it`;
  }
}
