import type { ForegroundReading } from "./foreground.js";
import type { DualWriteTable } from "../plan/dual-write.js";
import type { ThrottleReason } from "./throttle-monitor.js";

/** What a backfill reports while it runs. */
export interface BackfillProgress {
  table: string;
  rowsDone: number;
  /** An estimate from the planner's statistics, for the ETA. */
  rowsTotal: number;
  rowsPerSecond: number;
  /** "paused" while `underway pause` holds the job (its workers wait; the rate is 0). */
  state?: "running" | "paused";
  /** The signal holding the job back, if any. */
  throttledBy: ThrottleReason | null;
  /** The largest replica replay lag seen, when there are replicas and it is visible. */
  lagBytes: number | null;
  /** A limit that cannot be enforced, and why. */
  warning: string | null;
  /**
   * How the batches fill the new columns: `direct` (the batch's UPDATE computes them and
   * skips the trigger) or `trigger` (the dual-write trigger does, row by row), with why.
   */
  write?: { kind: "direct" | "trigger"; reason?: string };
  /** What the foreground guard sees: the application's write rate, the batches' impact on it, the share of time it lets them run. */
  foreground?: ForegroundReading;
}

/** Where a backfill runs. */
export interface BackfillContext {
  databaseUrl: string;
  stateSchema: string;
  schema: string;
  migration: string;
  /** Physical table name. */
  table: string;
  /** The table's dual-write plan, from which a batch computes the new columns itself. */
  dualWrite?: DualWriteTable | undefined;
  onProgress?: ((progress: BackfillProgress) => void) | undefined;
  /**
   * Stops the backfill at its next batch boundary: every committed batch's cursor is kept
   * and the ranges are released, so `resume` carries on at once from where it stopped.
   */
  signal?: AbortSignal | undefined;
}

export interface BackfillResult {
  rows: number;
  batches: number;
  seconds: number;
}

/**
 * Rewrites every row that existed when the dual-write trigger was installed, so the
 * trigger computes the new columns for it. Rows written later already went through the
 * trigger. Implementations must page (never rescan from the start) and keep
 * transactions short.
 */
export interface Backfill {
  run(ctx: BackfillContext): Promise<BackfillResult>;
}
