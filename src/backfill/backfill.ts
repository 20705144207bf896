import type { Client } from "../db/connection.js";

/** What a backfill reports while it runs. */
export interface BackfillProgress {
  table: string;
  rowsDone: number;
  /** An estimate from the planner's statistics, for the ETA. */
  rowsTotal: number;
  batchSize: number;
  rowsPerSecond: number;
}

export interface BackfillTarget {
  schema: string;
  /** Physical table name. */
  table: string;
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
  run(client: Client, target: BackfillTarget, onProgress?: (progress: BackfillProgress) => void): Promise<BackfillResult>;
}
