/**
 * `underway/rehearse`: a migration run on a throwaway local cluster under a workload with
 * injected faults (`underway rehearse`). The cluster, the workload and the PostgreSQL
 * binaries load when `rehearse` is called, not with this module.
 *
 * @example
 * import { rehearse } from "underway/rehearse";
 * const report = await rehearse({ file: "migrations/02_rename.yaml", faults: ["kill"] });
 * if (!report.ok) process.exitCode = 1;
 */
export { rehearse } from "./on-demand.js";
export { FAULTS, TOPOLOGIES, TOPOLOGY_FAULTS } from "./rehearse/faults.js";
export type { Fault, TopologyKind } from "./rehearse/faults.js";
export type { RehearsalOptions, RehearsalReport, RehearsalMask, FaultRecord } from "./rehearse/rehearsal.js";
export type { LeaderChangeRecord } from "./rehearse/topology.js";
