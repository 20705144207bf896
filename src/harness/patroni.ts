/**
 * A throwaway Patroni cluster on loopback, the topology production clusters run: a
 * single-member etcd as the consensus store, two or three PostgreSQL nodes each managed by
 * its own Patroni, HAProxy routing to whichever node Patroni's REST API calls the primary,
 * and optionally PgBouncer in front of HAProxy. Clients keep one address through a
 * failover; the failover itself is Patroni's (the leader key in etcd expires after the
 * TTL and a replica takes it), not a promote of our own. Everything comes from Debian's
 * packages: patroni, etcd-server, haproxy, pgbouncer and postgresql-<major>.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../db/connection.js";
import { serverOwner } from "./local-server.js";
import { UnderwayError } from "../errors.js";
import { startPgBouncer, type PgBouncer } from "./pgbouncer.js";
import { accepts, forEachLine, freePort } from "./local-net.js";

export const PATRONI_BINARY = "/usr/bin/patroni";
export const ETCD_BINARY = "/usr/bin/etcd";
export const HAPROXY_BINARY = "/usr/sbin/haproxy";

export interface PatroniClusterOptions {
  /** PostgreSQL nodes, each under its own Patroni (default 2). */
  nodes?: 2 | 3;
  /** The system PostgreSQL major to run (default 15), from /usr/lib/postgresql/<major>/bin. */
  version?: number;
  /** PgBouncer (transaction mode) in front of HAProxy; its address is then `pooler`. */
  pooler?: "pgbouncer";
  /** Users PgBouncer lets in (default `app` and `postgres`): it trusts only the users it lists. */
  poolerUsers?: string[];
  /** The leader key's time to live in seconds: an unplanned failover takes about this long (default 10). */
  ttl?: number;
  /** Receives each line a component prints, prefixed with its name. */
  log?: (line: string) => void;
}

/** One PostgreSQL node and the Patroni that manages it. */
export interface PatroniNode {
  name: string;
  /** The node's own PostgreSQL port (clients use the cluster's address instead). */
  pgPort: number;
  /** Patroni's REST API port. */
  restPort: number;
  dataDir: string;
  /** The Patroni process's pid while it runs. */
  patroniPid(): number | undefined;
  /** The postmaster's pid, from postmaster.pid, while it runs. */
  postmasterPid(): number | undefined;
}

/** A member as Patroni's `GET /cluster` describes it. */
export interface PatroniMember {
  name: string;
  role: string;
  state: string;
  port: number;
  timeline?: number;
  lag?: number | string;
}

/** What a fault did, for reports. */
export interface LeaderChange {
  oldLeader: string;
  newLeader: string;
  /**
   * From the fault to another node holding the leader key in a running state (Patroni's
   * `/cluster`); for a fault that moves no leader (`killLeaderPostmaster`), to the leader
   * taking writes again.
   */
  leaderChangeSeconds: number;
  /** From the fault to a write succeeding through HAProxy again: what clients see as the outage. */
  writesBackSeconds: number;
}

/** How a node came back. */
export interface Rejoin {
  seconds: number;
  /** It could not follow after a rewind and was cloned afresh from the leader. */
  reinitialized: boolean;
}

/** What `loseQuorum` saw. */
export interface QuorumLoss extends LeaderChange {
  /** The most nodes out of recovery (taking writes) at one poll: 1 or 0 in a sound cluster. */
  maxPrimaries: number;
  /** Whether the old leader stopped taking writes while etcd was gone (Patroni demotes it). */
  demoted: boolean;
}

export interface PatroniCluster {
  /** HAProxy's address: `postgres://postgres@127.0.0.1:PORT/postgres`, the bootstrap superuser, trusted on loopback. */
  url: string;
  host: string;
  /** HAProxy's port: always the current leader. */
  port: number;
  /** PgBouncer in front of HAProxy, when asked for. */
  pooler: PgBouncer | undefined;
  nodes: PatroniNode[];
  version: number;
  /** The node holding the leader key, from Patroni's REST API (any live node answers). */
  leader(): Promise<PatroniNode>;
  /** Every member as Patroni reports it. */
  members(): Promise<PatroniMember[]>;
  /**
   * kill -9 of the leader's postmaster (and its backends). Patroni, which still holds the
   * leader key, restarts PostgreSQL in place after crash recovery (within
   * `master_start_timeout`); no failover happens. Resolves once the leader accepts writes
   * through HAProxy again.
   */
  killLeaderPostmaster(): Promise<LeaderChange>;
  /**
   * kill -9 of the leader's Patroni only. Its PostgreSQL keeps running as a primary (no
   * watchdog here to fence it); HAProxy's check of the dead REST API marks it down and
   * shuts its sessions; after the TTL a replica takes the leader key and is promoted.
   * The old primary is then stopped by the harness (as a watchdog would) so nothing writes
   * to it. Resolves once writes succeed through HAProxy on the new leader.
   */
  killLeaderPatroni(): Promise<LeaderChange>;
  /** kill -9 of the leader's Patroni and postmaster together, as a crashed host: a failover after the TTL. */
  killLeader(): Promise<LeaderChange>;
  /** A planned switchover through `POST /switchover` to `candidate` (default: any replica). */
  switchover(candidate?: string): Promise<LeaderChange>;
  /**
   * The consensus store stops answering for `ms` (etcd is stopped with SIGSTOP, then
   * continued): with no quorum, the leader cannot renew its key and demotes itself, so no
   * node takes writes until etcd answers again and a leader is elected. Every node is
   * polled meanwhile; `maxPrimaries` is the most nodes seen out of recovery at once (more
   * than 1 is a split brain). Resolves once writes succeed through HAProxy again.
   */
  loseQuorum(ms: number): Promise<QuorumLoss>;
  /**
   * Brings a node whose Patroni (and postmaster) a fault killed back into the cluster: its
   * Patroni starts again, rewinds the old primary with pg_rewind where it diverged, and
   * follows the leader. A node that does not stream within 20 s is reinitialized (Patroni's
   * `POST /reinitialize`: its data directory cloned afresh from the leader). Resolves once
   * it streams.
   */
  rejoin(name: string): Promise<Rejoin>;
  /** Whether the leader streams WAL to at least one replica: a node a failover could promote without losing much. */
  replicaStreams(): Promise<boolean>;
  /** A node's own address as the bootstrap superuser (not through HAProxy). */
  nodeUrl(node: PatroniNode, database?: string): string;
  /** Waits until a node other than `from` holds the leader key and runs; returns it. */
  waitForLeaderChange(from: string, timeoutMs?: number): Promise<PatroniNode>;
  /** Waits until a write succeeds through HAProxy. */
  waitForWrites(timeoutMs?: number): Promise<void>;
  /** The last lines a component printed (`etcd`, `haproxy`, a node's name). */
  logTail(component: string): string;
  /** Kills everything and removes every directory. Calling it again does nothing. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const SYSTEM_ROOT = "/usr/lib/postgresql";
const START_TIMEOUT_MS = 90_000;
const FAILOVER_TIMEOUT_MS = 60_000;
const REJOIN_TIMEOUT_MS = 20_000;
const LOG_TAIL_LINES = 40;

/** Whether this machine has what a Patroni cluster needs; else the Debian packages missing. */
export function patroniMissing(version = 15): string[] {
  const missing: string[] = [];
  if (!existsSync(PATRONI_BINARY)) missing.push("patroni");
  if (!existsSync(ETCD_BINARY)) missing.push("etcd-server");
  if (!existsSync(HAPROXY_BINARY)) missing.push("haproxy");
  if (!existsSync(join(SYSTEM_ROOT, String(version), "bin", "postgres"))) missing.push(`postgresql-${version}`);
  return missing;
}

/**
 * Starts etcd, the Patroni nodes and HAProxy (and PgBouncer when asked), and returns once
 * one node leads, every replica streams, and a write succeeds through HAProxy.
 *
 * @example
 * const cluster = await startPatroniCluster({ nodes: 2 });
 * try {
 *   const url = await createDatabase(cluster, { name: "shop" }); // through HAProxy
 *   const change = await cluster.killLeader(); // a real Patroni failover
 * } finally {
 *   await cluster.stop();
 * }
 */
export async function startPatroniCluster(options: PatroniClusterOptions = {}): Promise<PatroniCluster> {
  const version = options.version ?? 15;
  const missing = patroniMissing(version);
  if (missing.length > 0) {
    throw new UnderwayError("INVALID_STATE", `a Patroni cluster needs Debian's ${missing.join(", ")}: apt-get install ${missing.join(" ")}`);
  }
  const harness = new PatroniHarness(options, version);
  try {
    await harness.start();
    return harness;
  } catch (error) {
    await harness.stop();
    throw error;
  }
}

interface Component {
  name: string;
  child: ChildProcess;
  tail: string[];
  exit: string | undefined;
}

class PatroniHarness implements PatroniCluster {
  readonly host = HOST;
  port = 0;
  url = "";
  pooler: PgBouncer | undefined;
  nodes: PatroniNode[] = [];
  readonly version: number;

  private readonly options: PatroniClusterOptions;
  private readonly owner = serverOwner();
  private readonly components = new Map<string, Component>();
  private readonly tails = new Map<string, string[]>();
  private root: string | undefined;
  private etcdPort = 0;
  private stopped = false;
  /** Postmasters a kill of their Patroni left running, stopped by `stop()`. */
  private readonly orphans = new Set<number>();

  constructor(options: PatroniClusterOptions, version: number) {
    this.options = options;
    this.version = version;
  }

  async start(): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), "underway-patroni-"));
    liveHarnesses.add(this);
    registerExitHook();
    if (this.owner) await chown(this.root, this.owner.uid, this.owner.gid);
    await this.startEtcd();
    const count = this.options.nodes ?? 2;
    for (let i = 1; i <= count; i++) this.nodes.push(await this.startNode(`node${i}`, i === 1));
    // The first node bootstraps alone, so it is the leader; the others join once it leads.
    await this.waitUntil(START_TIMEOUT_MS, "node1 to bootstrap and lead", "node1", async () => (await this.membersOrNone()).some((m) => m.name === "node1" && isLeader(m)));
    for (const node of this.nodes.slice(1)) this.launchPatroni(node);
    await this.waitUntil(START_TIMEOUT_MS, "every replica to stream", this.nodes.at(-1)!.name, async () => {
      const members = await this.membersOrNone();
      return members.length === count && members.filter((m) => !isLeader(m)).every((m) => m.state === "running" || m.state === "streaming");
    });
    await this.startHaproxy();
    await this.waitForWrites(START_TIMEOUT_MS);
    if (this.options.pooler === "pgbouncer") this.pooler = await startPgBouncer({
        host: HOST,
        port: this.port,
        poolSize: 8,
        ...(this.options.poolerUsers ? { users: this.options.poolerUsers } : {}),
        // PgBouncer's 15 s default would keep clients out that long after the new leader is back.
        serverLoginRetry: 1,
      });
  }

  async leader(): Promise<PatroniNode> {
    const member = (await this.members()).find(isLeader);
    if (!member) throw new UnderwayError("INVALID_STATE", "no Patroni member holds the leader key");
    return this.node(member.name);
  }

  async members(): Promise<PatroniMember[]> {
    let lastError: unknown;
    for (const node of this.nodes) {
      try {
        const response = await fetch(`http://${HOST}:${node.restPort}/cluster`, { signal: AbortSignal.timeout(2000) });
        if (!response.ok) continue;
        const body = (await response.json()) as { members?: PatroniMember[] };
        return body.members ?? [];
      } catch (error) {
        lastError = error;
      }
    }
    throw new UnderwayError("INVALID_STATE", `no Patroni REST API answers GET /cluster`, { cause: lastError });
  }

  async killLeaderPostmaster(): Promise<LeaderChange> {
    const leader = await this.leader();
    const started = Date.now();
    killPostmaster(leader);
    // Patroni restarts it in place; it may also hand over if a replica wins the race.
    await this.waitForWrites(FAILOVER_TIMEOUT_MS);
    const writesBack = Date.now();
    const now = await this.leader();
    return { oldLeader: leader.name, newLeader: now.name, leaderChangeSeconds: (writesBack - started) / 1000, writesBackSeconds: (writesBack - started) / 1000 };
  }

  async killLeaderPatroni(): Promise<LeaderChange> {
    const leader = await this.leader();
    const postmaster = leader.postmasterPid();
    const started = Date.now();
    this.killPatroni(leader);
    const next = await this.waitForLeaderChange(leader.name);
    const changed = Date.now();
    // No watchdog fences the old primary here: stop it as one would, so it takes no writes.
    if (postmaster !== undefined) {
      killPostmaster(leader);
      this.orphans.delete(postmaster);
    }
    await this.waitForWrites(FAILOVER_TIMEOUT_MS);
    return { oldLeader: leader.name, newLeader: next.name, leaderChangeSeconds: (changed - started) / 1000, writesBackSeconds: (Date.now() - started) / 1000 };
  }

  async killLeader(): Promise<LeaderChange> {
    const leader = await this.leader();
    const started = Date.now();
    this.killPatroni(leader);
    killPostmaster(leader);
    const next = await this.waitForLeaderChange(leader.name);
    const changed = Date.now();
    await this.waitForWrites(FAILOVER_TIMEOUT_MS);
    return { oldLeader: leader.name, newLeader: next.name, leaderChangeSeconds: (changed - started) / 1000, writesBackSeconds: (Date.now() - started) / 1000 };
  }

  async switchover(candidate?: string): Promise<LeaderChange> {
    const leader = await this.leader();
    const target = candidate ?? this.nodes.find((n) => n.name !== leader.name && n.patroniPid() !== undefined)?.name;
    if (!target) throw new UnderwayError("INVALID_STATE", "no replica to switch over to");
    const started = Date.now();
    const response = await fetch(`http://${HOST}:${leader.restPort}/switchover`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ leader: leader.name, candidate: target }),
      signal: AbortSignal.timeout(FAILOVER_TIMEOUT_MS),
    });
    if (!response.ok) {
      throw new UnderwayError("INVALID_STATE", `Patroni refused the switchover to ${target} (${response.status}): ${await response.text()}`, {
        detail: this.logTail(leader.name),
      });
    }
    const next = await this.waitForLeaderChange(leader.name);
    const changed = Date.now();
    await this.waitForWrites(FAILOVER_TIMEOUT_MS);
    return { oldLeader: leader.name, newLeader: next.name, leaderChangeSeconds: (changed - started) / 1000, writesBackSeconds: (Date.now() - started) / 1000 };
  }

  async loseQuorum(ms: number): Promise<QuorumLoss> {
    const leader = await this.leader();
    const etcd = this.components.get("etcd")!.child.pid;
    const started = Date.now();
    let maxPrimaries = 0;
    let demoted = false;
    const poll = async () => {
      const primaries = await this.primaries();
      maxPrimaries = Math.max(maxPrimaries, primaries.length);
      if (!primaries.includes(leader.name)) demoted = true;
    };
    signal(etcd, "SIGSTOP");
    try {
      while (Date.now() - started < ms) {
        await poll();
        await sleep(200);
      }
    } finally {
      signal(etcd, "SIGCONT");
    }
    const back = this.waitForWrites(FAILOVER_TIMEOUT_MS).then(() => Date.now());
    let writesBack: number | undefined;
    let failed: unknown;
    void back.then((at) => (writesBack = at), (error: unknown) => (failed = error ?? new Error("no write came back")));
    while (writesBack === undefined) {
      if (failed !== undefined) throw failed;
      await Promise.race([back.catch(() => undefined), sleep(200)]);
      await poll();
    }
    const now = await this.leader();
    return {
      oldLeader: leader.name,
      newLeader: now.name,
      leaderChangeSeconds: (writesBack - started) / 1000,
      writesBackSeconds: (writesBack - started) / 1000,
      maxPrimaries,
      demoted,
    };
  }

  async rejoin(name: string): Promise<Rejoin> {
    const node = this.node(name);
    const started = Date.now();
    if (node.patroniPid() === undefined) {
      // A postmaster left running without its Patroni would keep the data directory: stop it first.
      const postmaster = node.postmasterPid();
      if (postmaster !== undefined) {
        killPostmaster(node);
        this.orphans.delete(postmaster);
        await waitFor(() => node.postmasterPid() === undefined, 10_000);
        if (node.postmasterPid() !== undefined) throw new UnderwayError("INVALID_STATE", `the postmaster of ${name} (pid ${postmaster}) did not stop within 10s of kill -9`);
      }
      this.launchPatroni(node);
    }
    // Patroni calls a replica "running" once its PostgreSQL runs; it follows once the leader streams to it.
    const follows = async () => {
      const member = (await this.membersOrNone()).find((m) => m.name === name);
      if (member === undefined || isLeader(member)) return false;
      const leader = await this.leader().catch(() => undefined);
      return leader !== undefined && (await this.streamsTo(leader, name));
    };
    let reinitialized = false;
    try {
      await this.waitUntil(REJOIN_TIMEOUT_MS, `${name} to follow the leader again`, name, follows);
    } catch {
      // Seen after a quorum loss and a crash: the old leader restarts in recovery with no WAL receiver, and Patroni reports it as following.
      reinitialized = true;
      const response = await fetch(`http://${HOST}:${node.restPort}/reinitialize`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ force: true }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new UnderwayError("INVALID_STATE", `Patroni refused to reinitialize ${name} (${response.status}): ${await response.text()}`, { detail: this.logTail(name) });
      await this.waitUntil(START_TIMEOUT_MS, `${name} to follow the leader after a reinit`, name, follows);
    }
    return { seconds: (Date.now() - started) / 1000, reinitialized };
  }

  async replicaStreams(): Promise<boolean> {
    const leader = await this.leader().catch(() => undefined);
    if (!leader) return false;
    for (const node of this.nodes) if (node !== leader && (await this.streamsTo(leader, node.name))) return true;
    return false;
  }

  nodeUrl(node: PatroniNode, database = "postgres"): string {
    return `postgres://postgres@${HOST}:${node.pgPort}/${encodeURIComponent(database)}`;
  }

  /** Whether `leader` streams WAL to the replica `name` (Patroni names each replica's walreceiver after its node). */
  private async streamsTo(leader: PatroniNode, name: string): Promise<boolean> {
    try {
      const client = await connect(`${this.nodeUrl(leader)}?connect_timeout=1`, { applicationName: "underway-patroni-harness", queryTimeoutMs: 1000 });
      try {
        const { rows } = await client.query("SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'", [name]);
        return rows.length > 0;
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch {
      return false;
    }
  }

  /** The nodes out of recovery right now, each asked directly (a node that does not answer in 1 s is not counted). */
  private async primaries(): Promise<string[]> {
    const answers = await Promise.all(
      this.nodes.map(async (node) => {
        try {
          const client = await connect(`${this.nodeUrl(node)}?connect_timeout=1`, { applicationName: "underway-patroni-harness", queryTimeoutMs: 1000 });
          try {
            const { rows } = await client.query<{ primary: boolean }>("SELECT NOT pg_is_in_recovery() AS primary");
            return rows[0]!.primary ? node.name : null;
          } finally {
            await client.end().catch(() => undefined);
          }
        } catch {
          return null;
        }
      }),
    );
    return answers.filter((name): name is string => name !== null);
  }

  async waitForLeaderChange(from: string, timeoutMs = FAILOVER_TIMEOUT_MS): Promise<PatroniNode> {
    let found: PatroniNode | undefined;
    const others = this.nodes.filter((n) => n.name !== from).map((n) => n.name);
    await this.waitUntil(timeoutMs, `a node other than ${from} to lead`, others, async () => {
      const leader = (await this.membersOrNone()).find((m) => isLeader(m) && m.name !== from && m.state === "running");
      found = leader && this.node(leader.name);
      return found !== undefined;
    });
    return found!;
  }

  async waitForWrites(timeoutMs = FAILOVER_TIMEOUT_MS): Promise<void> {
    await this.waitUntil(timeoutMs, `a write to succeed through HAProxy on port ${this.port}`, ["haproxy", ...this.nodes.map((n) => n.name)], async () => {
      try {
        const client = await connect(this.url, { applicationName: "underway-patroni-harness" });
        try {
          // txid_current() needs a primary: a replica refuses to assign a transaction id.
          await client.query("SELECT txid_current()");
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      } catch {
        return false;
      }
    });
  }

  logTail(component: string): string {
    return (this.tails.get(component) ?? []).join("\n");
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.pooler?.stop().catch(() => undefined);
    this.abandon();
    for (const component of this.components.values()) await exited(component.child, 5000);
    if (this.root) await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
    liveHarnesses.delete(this);
  }

  /** SIGKILLs every process of the cluster; for `stop()` and the process exit hook, which cannot wait. */
  abandon(): void {
    for (const component of this.components.values()) signal(component.child.pid, "SIGKILL");
    for (const node of this.nodes) killPostmaster(node);
    for (const pid of this.orphans) killTree(pid);
  }

  /** For the exit hook: everything killed, then the directory removed. */
  abandonAndRemove(): void {
    this.abandon();
    if (this.root) rmSync(this.root, { recursive: true, force: true, maxRetries: 3 });
  }

  private node(name: string): PatroniNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new UnderwayError("INVALID_STATE", `Patroni reports an unknown member ${name}`);
    return node;
  }

  private async membersOrNone(): Promise<PatroniMember[]> {
    return this.members().catch(() => []);
  }

  private killPatroni(node: PatroniNode): void {
    const postmaster = node.postmasterPid();
    if (postmaster !== undefined) this.orphans.add(postmaster);
    signal(node.patroniPid(), "SIGKILL");
  }

  private async startEtcd(): Promise<void> {
    const dir = join(this.root!, "etcd");
    await this.ownedDir(dir);
    this.etcdPort = await freePort();
    const peerPort = await freePort();
    const client = `http://${HOST}:${this.etcdPort}`;
    const peer = `http://${HOST}:${peerPort}`;
    this.spawnComponent("etcd", ETCD_BINARY, [
      "--name", "etcd0",
      "--data-dir", join(dir, "data"),
      "--listen-client-urls", client,
      "--advertise-client-urls", client,
      "--listen-peer-urls", peer,
      "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `etcd0=${peer}`,
      "--initial-cluster-state", "new",
      "--initial-cluster-token", `underway-${process.pid}`,
    ]);
    await this.waitUntil(START_TIMEOUT_MS, `etcd to answer on ${client}/health`, "etcd", async () => {
      try {
        const response = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
        return response.ok && ((await response.json()) as { health?: string }).health === "true";
      } catch {
        return false;
      }
    });
  }

  /** Writes a node's configuration; node1 is launched at once, the others once it leads. */
  private async startNode(name: string, launch: boolean): Promise<PatroniNode> {
    const dir = join(this.root!, name);
    await this.ownedDir(dir);
    const pgPort = await freePort();
    const restPort = await freePort();
    const dataDir = join(dir, "data");
    const ttl = this.options.ttl ?? 10;
    const config = {
      scope: "underway",
      name,
      log: { level: "INFO" },
      restapi: { listen: `${HOST}:${restPort}`, connect_address: `${HOST}:${restPort}` },
      etcd3: { hosts: `${HOST}:${this.etcdPort}` },
      bootstrap: {
        dcs: {
          // Patroni requires loop_wait + 2 * retry_timeout <= ttl.
          ttl,
          loop_wait: 1,
          retry_timeout: Math.max(1, Math.floor((ttl - 1) / 2)),
          // The replica's last known position can trail a busy leader by more than the 1MB
          // default; a failover that refuses to promote would rehearse nothing.
          maximum_lag_on_failover: 256 * 1024 * 1024,
          // The default: a crashed primary is restarted in place (crash recovery) as long as
          // it recovers within 300 s, so a kill -9 of the postmaster alone fails nothing over.
          master_start_timeout: 300,
          synchronous_mode: false,
          postgresql: {
            use_pg_rewind: true,
            use_slots: true,
            parameters: {
              // pg_rewind needs hint bits in the WAL (or checksums) and full_page_writes on.
              wal_log_hints: "on",
              wal_level: "replica",
              hot_standby: "on",
              max_connections: 200,
              max_wal_senders: 10,
              max_replication_slots: 10,
              wal_keep_size: "128MB",
              fsync: "off",
              synchronous_commit: "off",
            },
          },
        },
        initdb: [{ encoding: "UTF8" }, { locale: "C" }, { auth: "trust" }],
      },
      postgresql: {
        listen: `${HOST}:${pgPort}`,
        connect_address: `${HOST}:${pgPort}`,
        data_dir: dataDir,
        // A rewound node that still cannot follow (its timeline forked past the leader's) is
        // cloned afresh from the leader, as an operator's reinit would, rather than left stuck.
        remove_data_directory_on_rewind_failure: true,
        remove_data_directory_on_diverged_timelines: true,
        bin_dir: join(SYSTEM_ROOT, String(this.version), "bin"),
        pgpass: join(dir, "pgpass"),
        authentication: {
          superuser: { username: "postgres", password: "postgres" },
          replication: { username: "replicator", password: "replicator" },
          rewind: { username: "postgres", password: "postgres" },
        },
        // Trusted on loopback, as the suite's other throwaway servers are.
        pg_hba: ["local all all trust", `host all all ${HOST}/32 trust`, `host replication all ${HOST}/32 trust`],
        parameters: { unix_socket_directories: dir, shared_buffers: "32MB" },
      },
    };
    const configFile = join(dir, "patroni.yml");
    // JSON is YAML: Patroni reads it as it is.
    await writeFile(configFile, JSON.stringify(config, null, 2));
    if (this.owner) await chown(configFile, this.owner.uid, this.owner.gid);
    const node: PatroniNode = {
      name,
      pgPort,
      restPort,
      dataDir,
      patroniPid: () => {
        const component = this.components.get(name);
        return component && component.exit === undefined ? component.child.pid : undefined;
      },
      postmasterPid: () => postmasterPid(dataDir),
    };
    if (launch) this.launchPatroni(node);
    return node;
  }

  private launchPatroni(node: PatroniNode): void {
    this.spawnComponent(node.name, PATRONI_BINARY, [join(this.root!, node.name, "patroni.yml")], { HOME: join(this.root!, node.name) }, true);
  }

  private async startHaproxy(): Promise<void> {
    this.port = await freePort();
    this.url = `postgres://postgres@${HOST}:${this.port}/postgres`;
    const config = [
      "global",
      "  maxconn 1000",
      "defaults",
      "  mode tcp",
      "  timeout connect 2s",
      "  timeout client 30m",
      "  timeout server 30m",
      "  timeout check 1s",
      "listen primary",
      `  bind ${HOST}:${this.port}`,
      // Patroni answers 200 on /primary only on the node that holds the leader key and runs as a primary.
      "  option httpchk",
      "  http-check send meth GET uri /primary",
      "  http-check expect status 200",
      // A node marked down has its sessions cut, so no client keeps writing to a demoted or fenced node.
      "  default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 1 on-marked-down shutdown-sessions",
      ...this.nodes.map((n) => `  server ${n.name} ${HOST}:${n.pgPort} maxconn 500 check port ${n.restPort}`),
      "",
    ].join("\n");
    const file = join(this.root!, "haproxy.cfg");
    await writeFile(file, config);
    // -db: stay in the foreground, so the harness owns the process and sees its output.
    this.spawnComponent("haproxy", HAPROXY_BINARY, ["-db", "-f", file]);
    await this.waitUntil(START_TIMEOUT_MS, `HAProxy to listen on ${this.port}`, "haproxy", () => accepts(this.port));
  }

  private spawnComponent(name: string, binary: string, args: string[], env: NodeJS.ProcessEnv = {}, asServerUser = false): void {
    // PG* variables of the caller would steer Patroni's PostgreSQL tools to another server.
    const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("PG")));
    const child = spawn(binary, args, {
      cwd: this.root,
      env: { ...base, LC_ALL: "C.UTF-8", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(asServerUser && this.owner ? { uid: this.owner.uid, gid: this.owner.gid } : {}),
    });
    const tail: string[] = this.tails.get(name) ?? [];
    this.tails.set(name, tail);
    const component: Component = { name, child, tail, exit: undefined };
    this.components.set(name, component);
    child.once("exit", (code, sig) => (component.exit = sig ? `signal ${sig}` : `exit code ${String(code)}`));
    child.once("error", (error) => (component.exit = error.message));
    const onLine = (line: string): void => {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      this.options.log?.(`${name}: ${line}`);
    };
    forEachLine(child.stdout, onLine, { unref: true });
    forEachLine(child.stderr, onLine, { unref: true });
    child.unref();
  }

  private async ownedDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (this.owner) await chown(dir, this.owner.uid, this.owner.gid);
  }

  /** Polls `check` every 100 ms; on timeout the error carries the tails of the named components' logs. */
  private async waitUntil(timeoutMs: number, what: string, components: string | string[], check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      const names = typeof components === "string" ? [components] : components;
      const dead = names.map((n) => this.components.get(n)).find((c) => c?.exit !== undefined && !c.name.startsWith("node"));
      if (Date.now() > deadline || dead) {
        const reason = dead ? `${dead.name} exited (${dead.exit})` : `timed out after ${timeoutMs / 1000}s`;
        throw new UnderwayError("INVALID_STATE", `${reason} waiting for ${what}`, {
          detail: names.map((n) => `${n} (last lines):\n${this.logTail(n)}`).join("\n"),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(100);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isLeader(member: PatroniMember): boolean {
  return member.role === "leader" || member.role === "master" || member.role === "standby_leader";
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 && procState(pid) !== undefined && procState(pid) !== "Z" ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGKILLs a node's postmaster and its backends, as a crash would. */
function killPostmaster(node: PatroniNode): void {
  const pid = node.postmasterPid();
  if (pid !== undefined) killTree(pid);
}

function killTree(pid: number): void {
  const children = childPids(pid);
  signal(pid, "SIGKILL");
  for (const child of children) signal(child, "SIGKILL");
}

function signal(pid: number | undefined, name: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

function childPids(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (/^\d+$/.test(entry) && procPpid(Number(entry)) === parent) pids.push(Number(entry));
  }
  return pids;
}

function procFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so cut at the last ")".
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

function procState(pid: number): string | undefined {
  return procFields(pid)?.[0];
}

function procPpid(pid: number): number | undefined {
  const ppid = procFields(pid)?.[1];
  return ppid === undefined ? undefined : Number(ppid);
}

function exited(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}




/** Harnesses of this process not yet stopped: a run that ends without `stop()` must not leave them behind. */
const liveHarnesses = new Set<PatroniHarness>();
let exitHookRegistered = false;

function registerExitHook(): void {
  if (exitHookRegistered) return;
  exitHookRegistered = true;
  process.on("exit", () => {
    for (const harness of liveHarnesses) harness.abandonAndRemove();
  });
}
