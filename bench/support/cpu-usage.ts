/**
 * How much of the machine's CPU went to processes outside the benchmark during a
 * measurement. On a shared machine (other test suites, other servers) a figure taken
 * while others used a large share of the cores says little; the report prints the
 * share so such a figure can be told apart. Linux only (/proc); elsewhere it is null.
 */
import { readFileSync, readdirSync } from "node:fs";

const TICKS_PER_SECOND = 100;

export interface CpuSample {
  /** Busy (non-idle, non-iowait) ticks of all CPUs. */
  busy: number;
  /** Ticks of all CPUs, busy or not. */
  total: number;
  /** Ticks used by the benchmark: this process, its server and their reaped children. */
  ours: number;
}

/**
 * Reads the counters. `postmasterPid` is the benchmark's own server; its backends are
 * its children, and those that exited are counted through its reaped-children times.
 */
export function sampleCpu(postmasterPid: number | undefined): CpuSample | null {
  let stat: string;
  try {
    stat = readFileSync("/proc/stat", "utf8");
  } catch {
    return null;
  }
  const fields = stat.split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  // A set: the postmaster is itself a child of this process, and counting it twice would
  // count every backend it has reaped (the backfill's, once it exits) twice too.
  const pids = new Set([process.pid]);
  if (postmasterPid !== undefined) pids.add(postmasterPid);
  for (const pid of childrenOf([...pids])) pids.add(pid);
  let ours = 0;
  for (const pid of pids) ours += processTicks(pid, true);
  return { busy: total - idle, total, ours };
}

/** The share of all CPUs that other processes used between two samples (0..1), or null. */
export function foreignShare(before: CpuSample | null, after: CpuSample | null): number | null {
  if (!before || !after) return null;
  const total = after.total - before.total;
  if (total <= 0) return null;
  const foreign = after.busy - before.busy - (after.ours - before.ours);
  return Math.max(0, foreign) / total;
}

/** CPU seconds the benchmark itself (this process, its server, pgbench) used between two samples, or null. */
export function ownCpuSeconds(before: CpuSample | null, after: CpuSample | null): number | null {
  if (!before || !after) return null;
  return (after.ours - before.ours) / TICKS_PER_SECOND;
}

function processTicks(pid: number, withChildren: boolean): number {
  const fields = statFields(pid);
  if (!fields) return 0;
  // Fields after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
  const own = Number(fields[11]) + Number(fields[12]);
  return withChildren ? own + Number(fields[13]) + Number(fields[14]) : own;
}

function childrenOf(parents: number[]): number[] {
  const wanted = new Set(parents);
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const fields = statFields(pid);
    if (fields && wanted.has(Number(fields[1]))) found.push(pid);
  }
  return found;
}

/** /proc/PID/stat after the parenthesised command name (which may hold spaces). */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).trim().split(" ");
  } catch {
    return null;
  }
}

/** What a measurement window cost in CPU: the benchmark's own, and other processes' share. */
export interface CpuWindow {
  /** CPU seconds of this process, its server and pgbench: unlike wall time, barely moved by other load. */
  ownSeconds: number | null;
  /** Share of the machine's CPU that other processes used (0..1). */
  foreign: number | null;
}

/** Starts a CPU window; the returned function ends it (null figures where /proc is missing). */
export function watchCpu(postmasterPid: number | undefined): () => CpuWindow {
  const before = sampleCpu(postmasterPid);
  return () => {
    const after = sampleCpu(postmasterPid);
    return { ownSeconds: ownCpuSeconds(before, after), foreign: foreignShare(before, after) };
  };
}

