/**
 * The clusters a rehearsal runs on, behind one interface: what the application and
 * underway connect to, where the current primary is, and how each fault is injected.
 *
 * - `simple`: a primary and streaming replicas; a failover is a kill -9 of the primary and
 *   a promote of a replica by the rehearsal itself, with a TCP relay that stands for the
 *   primary's address and is pointed at the new primary.
 * - `patroni`: two PostgreSQL nodes under Patroni with etcd, HAProxy routing to the leader
 *   by Patroni's REST API, optionally PgBouncer in front; every failover is Patroni's own.
 *   The clients reach HAProxy (or PgBouncer) through a TCP relay that stands for the
 *   network between them and the cluster, which the `partition` fault cuts.
 */
import type { LocalServer } from "../harness/local-server.js";
import { UnderwayError } from "../errors.js";
import { startPatroniCluster, type LeaderChange, type PatroniCluster } from "../harness/patroni.js";
import { failover, pauseReplay, resumeReplay, startCluster, type Cluster } from "../harness/cluster.js";
import type { Fault, TopologyKind } from "./faults.js";
import { TcpProxy } from "../harness/tcp-proxy.js";

/** A leader change a fault caused, as the topology saw it. */
export interface LeaderChangeRecord {
  fault: Fault;
  oldLeader: string;
  newLeader: string;
  /** From the fault to a new leader in charge (the same one after a postmaster restart or a quorum loss). */
  leaderChangeSeconds: number;
  /** From the fault to a write succeeding on the cluster's address again. */
  writesBackSeconds: number;
  /** A quorum loss: the most nodes seen taking writes at once (more than 1 is a split brain). */
  maxPrimaries?: number;
  /** The old leader was brought back as a replica afterwards, in this many seconds. */
  rejoinedSeconds?: number;
  /** It could not follow after pg_rewind and was cloned afresh from the new leader (Patroni's reinit). */
  reinitialized?: boolean;
  /** Why it did not come back, when it did not. */
  rejoinFailed?: string;
}

/** A fault the topology injects itself: the cluster's own (the rest are the rehearsal's). */
export type ClusterFault = "failover" | "complete-failover" | "switchover" | "patroni" | "postmaster" | "etcd" | "lag";

export interface RehearsalTopology {
  kind: TopologyKind;
  version: number;
  /** For the report: what ran. */
  description: string;
  nodes: { primary: number; replicas: number };
  /** The superuser's address of the primary, for creating the rehearsal's database. */
  server: Pick<LocalServer, "url" | "host" | "port">;
  /** A URL made on `server` (any user and database), pointed at the current primary itself. */
  onPrimary(url: string): string;
  /** The same URL as the application and underway use it: through the relay (and the pooler). */
  appUrl(url: string): string;
  hasReplicas(): boolean;
  /** The partition fault: every connection through the relay is reset, and new ones refused until `heal`. */
  cut(): void;
  heal(): void;
  /** Injects a fault; `injected: false` when the cluster is in no state for it (no replica to fail over to). */
  inject(fault: ClusterFault): Promise<{ detail: string; change?: LeaderChangeRecord; injected?: false }>;
  stop(): Promise<void>;
}

export interface TopologyOptions {
  kind: TopologyKind;
  version: number;
  pooler?: "pgbouncer" | undefined;
  /** Replicas of the simple topology. */
  replicas: number;
  /** Users PgBouncer lets in. */
  users: string[];
  /** Seconds replay stops on a replica for the `lag` fault. */
  lagSeconds: number;
  /** Seconds etcd stops answering for the `etcd` fault. */
  quorumLossSeconds: number;
}

export async function startTopology(options: TopologyOptions): Promise<RehearsalTopology> {
  if (options.kind === "patroni") return startPatroniTopology(options);
  if (options.pooler) throw new UnderwayError("INVALID_ARGUMENT", "--pooler pgbouncer runs with --topology patroni");
  return startSimpleTopology(options);
}

async function startSimpleTopology(options: TopologyOptions): Promise<RehearsalTopology> {
  const cluster: Cluster = await startCluster({ version: options.version, replicas: options.replicas });
  let relay: TcpProxy;
  try {
    relay = await TcpProxy.start(cluster.primary);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return {
    kind: "simple",
    version: options.version,
    description: `a primary and ${cluster.replicas.length} replica(s)`,
    nodes: { primary: 1, replicas: cluster.replicas.length },
    server: cluster.primary,
    onPrimary: (url) => withPort(url, cluster.primary.port),
    appUrl: (url) => relay.url(url),
    hasReplicas: () => cluster.replicas.length > 0,
    cut: () => relay.cut("reset"),
    heal: () => relay.heal(),
    async inject(fault) {
      switch (fault) {
        case "failover":
        case "complete-failover": {
          const result = await failover(cluster, 0);
          relay.retarget(cluster.primary);
          return { detail: `primary killed, replica promoted in ${result.seconds.toFixed(1)}s (${result.unreplayedBytes ?? "?"} bytes not yet replayed)` };
        }
        case "lag": {
          const replica = cluster.replicas[cluster.replicas.length - 1];
          if (!replica) return { detail: "no replica left to lag" };
          await pauseReplay(replica);
          await sleep(options.lagSeconds * 1000);
          await resumeReplay(replica).catch(() => undefined);
          return { detail: `replica ${cluster.replicas.length} stopped replaying for ${options.lagSeconds}s` };
        }
        default:
          throw new UnderwayError("INVALID_ARGUMENT", `the simple topology cannot inject ${fault}: use --topology patroni`);
      }
    },
    async stop() {
      await relay.close();
      await cluster.stop();
    },
  };
}

async function startPatroniTopology(options: TopologyOptions): Promise<RehearsalTopology> {
  const cluster: PatroniCluster = await startPatroniCluster({
    nodes: 2,
    version: options.version,
    ...(options.pooler ? { pooler: options.pooler, poolerUsers: options.users } : {}),
  });
  let relay: TcpProxy;
  try {
    relay = await TcpProxy.start({ host: cluster.host, port: cluster.pooler?.port ?? cluster.port });
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const record = (fault: Fault, change: LeaderChange, extra: Partial<LeaderChangeRecord> = {}): LeaderChangeRecord => ({ fault, ...change, ...extra });
  const moved = (c: LeaderChange) => (c.newLeader === c.oldLeader ? `${c.oldLeader} stayed the leader` : `leader ${c.oldLeader} -> ${c.newLeader} in ${c.leaderChangeSeconds.toFixed(1)}s`);
  /** The old leader rejoins as a replica, so the next fault has a node to fail over to. */
  const rejoin = async (change: LeaderChange): Promise<{ extra: Partial<LeaderChangeRecord>; said: string }> => {
    if (change.newLeader === change.oldLeader) return { extra: {}, said: "" };
    try {
      const back = await cluster.rejoin(change.oldLeader);
      return {
        extra: { rejoinedSeconds: back.seconds, ...(back.reinitialized ? { reinitialized: true } : {}) },
        said: `; ${change.oldLeader} rejoined as a replica${back.reinitialized ? " after a reinit (pg_rewind left it unable to follow)" : ""}`,
      };
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return { extra: { rejoinFailed: why }, said: `; ${change.oldLeader} did not rejoin (${why})` };
    }
  };
  /**
   * A fault that moves the leader needs a replica the leader streams to: without one, a
   * failover would promote a stale node or none. A replica still catching up after the
   * fault before (a restarted leader, a switchover) is waited for, and one that cannot
   * follow is reinitialized, as `rejoin` does.
   */
  const leaderMoving = async (fault: Fault, run: () => Promise<{ detail: string; change: LeaderChangeRecord }>) => {
    if (!(await cluster.replicaStreams())) {
      const leader = await cluster.leader();
      try {
        for (const node of cluster.nodes) if (node.name !== leader.name) await cluster.rejoin(node.name);
      } catch (error) {
        return { detail: `not injected: no replica streams from the leader to fail over to (${error instanceof Error ? error.message : String(error)})`, injected: false as const };
      }
    }
    return run();
  };
  return {
    kind: "patroni",
    version: options.version,
    description: `2 nodes under Patroni with etcd, behind HAProxy${cluster.pooler ? " and PgBouncer (transaction mode)" : ""}`,
    nodes: { primary: 1, replicas: 1 },
    server: { url: cluster.url, host: cluster.host, port: cluster.port },
    // HAProxy's address is always the leader's.
    onPrimary: (url) => url,
    appUrl: (url) => relay.url(cluster.pooler ? withPort(url, cluster.pooler.port) : url),
    hasReplicas: () => true,
    cut: () => relay.cut("reset"),
    heal: () => relay.heal(),
    async inject(fault) {
      switch (fault) {
        case "failover":
        case "complete-failover":
          return leaderMoving(fault, async () => {
            const change = await cluster.killLeader();
            const back = await rejoin(change);
            return { detail: `kill -9 of the leader's Patroni and postmaster: ${moved(change)}, writes back after ${change.writesBackSeconds.toFixed(1)}s${back.said}`, change: record(fault, change, back.extra) };
          });
        case "patroni":
          return leaderMoving(fault, async () => {
            const change = await cluster.killLeaderPatroni();
            const back = await rejoin(change);
            return { detail: `kill -9 of the leader's Patroni (its PostgreSQL fenced once a replica took over): ${moved(change)}, writes back after ${change.writesBackSeconds.toFixed(1)}s${back.said}`, change: record(fault, change, back.extra) };
          });
        case "postmaster": {
          const change = await cluster.killLeaderPostmaster();
          const back = await rejoin(change);
          return { detail: `kill -9 of the leader's postmaster: ${moved(change)}, writes back after ${change.writesBackSeconds.toFixed(1)}s${back.said}`, change: record(fault, change, back.extra) };
        }
        case "switchover":
          return leaderMoving(fault, async () => {
            const change = await cluster.switchover();
            return { detail: `planned switchover: ${moved(change)}, writes back after ${change.writesBackSeconds.toFixed(1)}s`, change: record(fault, change) };
          });
        case "etcd": {
          const loss = await cluster.loseQuorum(options.quorumLossSeconds * 1000);
          const { maxPrimaries, demoted, ...change } = loss;
          return {
            detail: `etcd stopped answering for ${options.quorumLossSeconds}s: ${demoted ? `${loss.oldLeader} stopped taking writes` : `${loss.oldLeader} kept taking writes`}, at most ${maxPrimaries} node(s) taking writes at once, ${moved(change)}, writes back after ${change.writesBackSeconds.toFixed(1)}s`,
            change: record(fault, change, { maxPrimaries }),
          };
        }
        case "lag": {
          const members = await cluster.members();
          const replica = members.find((m) => m.role !== "leader" && m.role !== "master");
          const node = replica && cluster.nodes.find((n) => n.name === replica.name);
          if (!node) return { detail: "no replica to lag" };
          const target = { url: cluster.nodeUrl(node) };
          await pauseReplay(target);
          await sleep(options.lagSeconds * 1000);
          await resumeReplay(target).catch(() => undefined);
          return { detail: `replica ${node.name} stopped replaying for ${options.lagSeconds}s` };
        }
      }
    },
    async stop() {
      await relay.close();
      await cluster.stop();
    },
  };
}

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
