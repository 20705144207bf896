/**
 * A throwaway primary with streaming replicas on loopback, for `underway rehearse` and for
 * the tests that need real replication and faults: replica lag, kill -9 of a node, a
 * replica promoted in its place. Every node is a `startLocalServer` postmaster; replicas
 * are seeded with `pg_basebackup`, which only the system packages ship
 * (/usr/lib/postgresql/<major>/bin), not the embedded ones.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync, statSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type Client } from "../db/connection.js";
import { startLocalServer, type LocalServer } from "./local-server.js";
import { UnderwayError } from "../errors.js";

export interface ClusterOptions {
  /** Streaming replicas to start beside the primary (default 1). */
  replicas?: number;
  /** The system PostgreSQL major to run (default 15); its bin directory must hold pg_basebackup. */
  version?: number;
  /**
   * fsync, synchronous_commit and full_page_writes off on every node (default true). A
   * kill -9 of a node still loses nothing (the OS keeps its writes); only a machine crash would.
   */
  fast?: boolean;
  /** Extra settings for every node. */
  settings?: Record<string, string>;
  /** Receives each line a node prints, prefixed with the node's name. */
  log?: (line: string) => void;
}

/**
 * A running primary and its replicas. Replica `i` (0-based) streams from slot `replica_<i+1>`.
 * `failover()` changes `primary`, `replicas` and `slots` in place.
 */
export interface Cluster {
  primary: LocalServer;
  replicas: LocalServer[];
  /** The physical replication slot each replica streams from, in the order of `replicas`. */
  slots: string[];
  /** Nodes that are no longer part of the cluster (a primary that failed over), still stopped by `stop()`. */
  retired: LocalServer[];
  /** Stops every node (replicas first) and removes every directory. Calling it again does nothing. */
  stop(): Promise<void>;
}

const SYSTEM_ROOT = "/usr/lib/postgresql";
const BASEBACKUP_TIMEOUT_MS = 120_000;
const STREAMING_TIMEOUT_MS = 60_000;

/** The system bin directory of a major when it can seed replicas, else undefined. */
export function clusterBinDir(version = 15): string | undefined {
  const binDir = join(SYSTEM_ROOT, String(version), "bin");
  return existsSync(join(binDir, "pg_basebackup")) && existsSync(join(binDir, "postgres")) ? binDir : undefined;
}

/**
 * Starts a primary and `replicas` streaming replicas, and returns once every replica
 * streams (it shows in the primary's pg_stat_replication with a replay position).
 *
 * @example
 * const cluster = await startCluster({ replicas: 1 });
 * try {
 *   await pauseReplay(cluster.replicas[0]!);
 *   // ... write on cluster.primary.url; replicaLagBytes(cluster.primary) grows
 * } finally {
 *   await cluster.stop();
 * }
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const version = options.version ?? 15;
  const binDir = clusterBinDir(version);
  if (!binDir) {
    throw new UnderwayError(
      "INVALID_STATE",
      `a local cluster needs the system PostgreSQL ${version} (initdb, postgres, pg_basebackup under ${SYSTEM_ROOT}/${version}/bin): apt-get install postgresql-${version}`,
    );
  }
  const fast = options.fast ?? true;
  const log = options.log;
  const nodes: LocalServer[] = [];
  let root: string | undefined;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Replicas first: a primary stopping under a walsender waits for it to send the shutdown checkpoint.
    for (const node of [...nodes].reverse()) await node.stop().catch(() => undefined);
    nodes.length = 0;
    if (root) {
      await rm(root, { recursive: true, force: true, maxRetries: 3 });
      liveRoots.delete(root);
    }
  };

  try {
    const primary = await startLocalServer({
      binDir,
      fast,
      // Replicas need a sender and a slot each; a promoted replica needs the same on its side.
      settings: { wal_level: "replica", max_wal_senders: "16", max_replication_slots: "16", ...options.settings },
      log: log && ((line) => log(`primary: ${line}`)),
    });
    nodes.push(primary);

    // Replicas run as whoever runs the primary (the postgres OS user when we are root).
    const owner = dataDirOwner(primary.dataDir);
    root = await mkdtemp(join(tmpdir(), "underway-cluster-"));
    liveRoots.add(root);
    registerExitHook();
    if (owner) await chown(root, owner.uid, owner.gid);

    const slots: string[] = [];
    for (let i = 1; i <= (options.replicas ?? 1); i++) {
      const name = `replica_${i}`;
      const dataDir = join(root, name);
      await baseBackup({ binDir, primary, dataDir, slot: name, applicationName: name, owner, fast });
      const replica = await startLocalServer({
        binDir,
        dataDir,
        fast,
        // Same limits as the primary: a hot standby refuses to start with fewer senders or slots.
        settings: { wal_level: "replica", max_wal_senders: "16", max_replication_slots: "16", ...options.settings },
        log: log && ((line) => log(`${name}: ${line}`)),
      });
      nodes.push(replica);
      slots.push(name);
    }
    await waitForStreaming(primary, slots);
    return { primary, replicas: nodes.slice(1), slots, retired: [], stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Stops WAL replay on a replica and returns once it has stopped. The replica keeps
 * receiving WAL (the primary's sent and flushed positions move on), so replay lag grows
 * on the primary as it would behind a replica stuck on a long query or a slow disk.
 */
export async function pauseReplay(replica: Pick<LocalServer, "url">): Promise<void> {
  await withClient(replica.url, async (client) => {
    await client.query("SELECT pg_wal_replay_pause()");
    // The pause takes effect at the next record boundary; wait for it so callers measure from a stopped replica.
    await until(STREAMING_TIMEOUT_MS, "replay to pause", async () => {
      const { rows } = await client.query<{ state: string }>("SELECT pg_get_wal_replay_pause_state() AS state");
      return rows[0]!.state === "paused";
    });
  });
}

/** Lets a paused replica replay again. */
export async function resumeReplay(replica: Pick<LocalServer, "url">): Promise<void> {
  await withClient(replica.url, (client) => client.query("SELECT pg_wal_replay_resume()"));
}

/**
 * The replay lag in bytes as a backfill's throttle sees it: the primary's current WAL
 * position minus the replay position the replicas report in pg_stat_replication, the
 * largest over all replicas (or over the one streaming from `slot`). Null when none streams.
 */
export async function replicaLagBytes(primary: Pick<LocalServer, "url">, slot?: string): Promise<number | null> {
  return withClient(primary.url, async (client) => {
    const { rows } = await client.query<{ bytes: number | null }>(
      `SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn))::float8 AS bytes
         FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
        WHERE $1::text IS NULL OR s.slot_name = $1`,
      [slot ?? null],
    );
    return rows[0]!.bytes;
  });
}

/** Waits until a replica has replayed everything the primary had written when this was called. */
export async function waitForReplay(
  primary: Pick<LocalServer, "url">,
  replica: Pick<LocalServer, "url">,
  timeoutMs = STREAMING_TIMEOUT_MS,
): Promise<void> {
  const target = await withClient(primary.url, async (client) => {
    // The insert position, not pg_current_wal_lsn(): with synchronous_commit off a commit
    // record can sit in the WAL buffers, past the written position, for a moment.
    const { rows } = await client.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn");
    return rows[0]!.lsn;
  });
  await withClient(replica.url, (client) =>
    until(timeoutMs, `the replica to replay up to ${target}`, async () => {
      const { rows } = await client.query<{ done: boolean }>("SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done", [target]);
      return rows[0]!.done === true;
    }),
  );
}

/** Promotes a replica to a primary and returns once it accepts writes. */
export async function promote(replica: Pick<LocalServer, "url">): Promise<void> {
  await withClient(replica.url, async (client) => {
    const { rows } = await client.query<{ promoted: boolean }>("SELECT pg_promote(true, 60) AS promoted");
    if (!rows[0]!.promoted) throw new Error("the replica did not finish promotion within 60s");
  });
}

/** What a failover did, for reports. */
export interface Failover {
  /** The node that was the primary (killed with SIGKILL, kept stopped). */
  oldPrimary: LocalServer;
  newPrimary: LocalServer;
  /** WAL the new primary had not replayed when the old one died: what asynchronous replication lost. */
  unreplayedBytes: number | null;
  /** From the kill to the new primary accepting writes. */
  seconds: number;
}

/**
 * An unplanned failover: SIGKILLs the primary (its backends too, as a crashed host would
 * lose them) and promotes replica `replica` (default 0) in its place. The cluster's
 * `primary` becomes the promoted node; the old primary is kept, stopped, in `retired`.
 * Other replicas keep following the dead primary and are dropped from `replicas` (a
 * real cluster manager would repoint them; the rehearsal does not need them after this).
 * Clients that connect through a `TcpProxy` follow once it is `retarget`ed.
 */
export async function failover(cluster: Cluster, replica = 0): Promise<Failover> {
  const target = cluster.replicas[replica];
  if (!target) throw new UnderwayError("INVALID_STATE", `the cluster has no replica ${replica} to promote`);
  const oldPrimary = cluster.primary;
  // Read before the kill: how far the replica was behind is what the promotion loses.
  const unreplayedBytes = await replicaLagBytes(oldPrimary, cluster.slots[replica]).catch(() => null);
  const started = Date.now();
  await oldPrimary.kill();
  await promote(target);
  cluster.retired.push(oldPrimary, ...cluster.replicas.filter((r) => r !== target));
  cluster.primary = target;
  cluster.replicas = [];
  cluster.slots = [];
  return { oldPrimary, newPrimary: target, unreplayedBytes, seconds: (Date.now() - started) / 1000 };
}

interface OsUser {
  uid: number;
  gid: number;
}

/** When we are root, the OS user who owns a data directory (PostgreSQL refuses to run as root). */
function dataDirOwner(dataDir: string): OsUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const { uid, gid } = statSync(dataDir);
  return { uid, gid };
}

/**
 * Seeds a replica's data directory from the primary: `-X stream` ships the WAL written
 * during the copy, `-C -S` creates the slot that keeps the primary's WAL for the
 * replica, and `-R` writes standby.signal and primary_conninfo (with the replica's
 * application_name, so pg_stat_replication names it).
 */
async function baseBackup(options: {
  binDir: string;
  primary: LocalServer;
  dataDir: string;
  slot: string;
  applicationName: string;
  owner: OsUser | undefined;
  fast: boolean;
}): Promise<void> {
  const conninfo = `host=${options.primary.host} port=${options.primary.port} user=postgres application_name=${options.applicationName}`;
  const args = [
    "--pgdata", options.dataDir,
    "--dbname", conninfo,
    "--write-recovery-conf",
    "--wal-method=stream",
    "--create-slot",
    "--slot", options.slot,
    "--checkpoint=fast",
    ...(options.fast ? ["--no-sync"] : []),
  ];
  await run(join(options.binDir, "pg_basebackup"), args, options.owner, BASEBACKUP_TIMEOUT_MS);
}

/** Waits until a walsender streams from each slot with a visible replay position. */
async function waitForStreaming(primary: LocalServer, slots: string[]): Promise<void> {
  if (slots.length === 0) return;
  await withClient(primary.url, (client) =>
    until(STREAMING_TIMEOUT_MS, `replicas ${slots.join(", ")} to stream`, async () => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_replication r JOIN pg_replication_slots s ON s.active_pid = r.pid
          WHERE s.slot_name = ANY($1::text[]) AND r.state = 'streaming' AND r.replay_lsn IS NOT NULL`,
        [slots],
      );
      return rows[0]!.n === slots.length;
    }),
  );
}

/** Runs a PostgreSQL client program (as `owner` when given) and rejects with its output if it fails. */
function run(program: string, args: string[], owner: OsUser | undefined, timeoutMs: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    // PG* variables of the caller would steer the program to another server.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PG")));
    const child = spawn(program, args, { env: { ...env, LC_ALL: "C" }, stdio: ["ignore", "pipe", "pipe"], cwd: tmpdir(), ...(owner ?? {}) });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise();
      else reject(new Error(`${program} ${args.join(" ")} failed (${signal ?? `exit code ${String(code)}`}):\n${output}`));
    });
  });
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = await connect(url, { applicationName: "underway-test-cluster" });
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function until(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
  }
}

/** Cluster directories not yet removed by `stop()`. */
const liveRoots = new Set<string>();
let exitHookRegistered = false;

/**
 * A run that ends without `stop()` must not leave replica directories behind. The servers
 * themselves are killed by local-server's own exit hook, which was registered earlier
 * (when the first primary started), so it runs first.
 */
function registerExitHook(): void {
  if (exitHookRegistered) return;
  exitHookRegistered = true;
  process.on("exit", () => {
    for (const root of liveRoots) rmSync(root, { recursive: true, force: true, maxRetries: 3 });
  });
}
