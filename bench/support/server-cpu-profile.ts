/**
 * Where a measurement's server CPU went, by process: the backfill worker's backend, the
 * WAL writer, the checkpointer, autovacuum... Read from /proc for each pid that
 * pg_stat_activity lists (sampled twice a second, so a process that lives less than
 * that is missed). Linux only; elsewhere the profile is empty.
 */
import { readFileSync } from "node:fs";
import type { Client } from "../../src/db/connection.js";

const TICKS_PER_SECOND = 100;

interface Tracked {
  label: string;
  first: number;
  last: number;
}

export class ServerCpuProfile {
  private readonly tracked = new Map<number, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();

  /** `admin` must see every session's application_name: a superuser connection. */
  constructor(private readonly admin: Client) {}

  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample()).catch(() => undefined);
    }, 500);
  }

  /** CPU seconds by process label, largest first. */
  async stop(): Promise<[string, number][]> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    const byLabel = new Map<string, number>();
    for (const { label, first, last } of this.tracked.values()) {
      byLabel.set(label, (byLabel.get(label) ?? 0) + (last - first) / TICKS_PER_SECOND);
    }
    return [...byLabel].filter(([, seconds]) => seconds > 0).sort((a, b) => b[1] - a[1]);
  }

  private async sample(): Promise<void> {
    const { rows } = await this.admin.query<{ pid: number; backend_type: string | null; application_name: string | null }>(
      `SELECT pid, backend_type, application_name FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
    );
    for (const row of rows) {
      const ticks = cpuTicks(row.pid);
      if (ticks === null) continue;
      const known = this.tracked.get(row.pid);
      if (known) known.last = ticks;
      else {
        const type = row.backend_type ?? "unknown";
        const label = type === "client backend" ? `backend "${row.application_name || "?"}"` : type;
        this.tracked.set(row.pid, { label, first: ticks, last: ticks });
      }
    }
  }
}

/** A profile as one line: `backend "underway backfill" 36.0 s, walwriter 0.3 s`. */
export function formatProfile(profile: [string, number][], limit = 5): string {
  if (profile.length === 0) return "unavailable";
  return profile
    .slice(0, limit)
    .map(([label, seconds]) => `${label} ${seconds.toFixed(1)} s`)
    .join(", ");
}

function cpuTicks(pid: number): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}
