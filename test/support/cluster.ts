/**
 * The multi-node harness for tests. It lives in src/rehearse/ because `underway rehearse`
 * builds the same throwaway cluster for users; tests import it from here.
 */
export {
  clusterBinDir,
  failover,
  pauseReplay,
  promote,
  replicaLagBytes,
  resumeReplay,
  startCluster,
  waitForReplay,
  type Cluster,
  type ClusterOptions,
  type Failover,
} from "../../src/harness/cluster.js";
export { TcpProxy } from "../../src/harness/tcp-proxy.js";
