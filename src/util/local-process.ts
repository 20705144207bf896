import { hostname } from "node:os";

/**
 * What this host can tell of a process named by host and pid: "alive", "gone", or
 * "unknown" (another host, no pid, or this very process, which is never taken for another).
 */
export function localProcess(host: string, pid: number): "alive" | "gone" | "unknown" {
  if (host !== hostname() || pid <= 0 || pid === process.pid) return "unknown";
  try {
    process.kill(pid, 0);
    return "alive";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ESRCH" ? "gone" : code === "EPERM" ? "alive" : "unknown";
  }
}
