/** The faults a rehearsal can inject, apart from the harness that injects them (the CLI lists them in its help). */
export const FAULTS = ["kill", "failover", "lag", "partition", "blocker", "complete-failover", "switchover", "patroni", "postmaster", "etcd"] as const;
export type Fault = (typeof FAULTS)[number];

/** Where a rehearsal runs: a primary with replicas failed over by the rehearsal itself, or Patroni with etcd and HAProxy. */
export const TOPOLOGIES = ["simple", "patroni"] as const;
export type TopologyKind = (typeof TOPOLOGIES)[number];

/** The faults each topology can inject; `all` means these. */
export const TOPOLOGY_FAULTS: Record<TopologyKind, readonly Fault[]> = {
  simple: ["kill", "failover", "lag", "partition", "blocker", "complete-failover"],
  patroni: FAULTS,
};

/** What `all` (and no `--faults`) means on a topology: the simple one fails over once, during the backfill. */
export function allFaults(kind: TopologyKind): Fault[] {
  return TOPOLOGY_FAULTS[kind].filter((f) => kind !== "simple" || f !== "complete-failover");
}
