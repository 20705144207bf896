import { UnderwayError } from "../errors.js";
import { parseDurationMs } from "../util/time.js";

/**
 * Limits a backfill job runs under. Stored with the job, so `underway throttle` (or the
 * dashboard) changes them for the running workers, which reload them about once a second.
 */
export interface BackfillSettings {
  /** Rows per second for the whole job; null: no limit. */
  maxRate: number | null;
  /** Replica replay lag in bytes above which the job holds; null: no limit. */
  maxLagBytes: number | null;
  /** Replica lag in seconds (from heartbeats) above which the job holds; null: no limit. */
  maxLagSeconds: number | null;
  /** SQL whose first value, when true, holds the job. */
  throttleQuery: string | null;
  /** Hold while other sessions wait for a lock on the table or on a worker's rows. */
  lockWait: boolean;
  /**
   * The share of its write throughput the application keeps while the backfill runs: the
   * foreground guard paces the batches to it (foreground.ts). null: no guard.
   */
  foregroundTarget: number | null;
  /** The batch duration the batch size servoes toward. */
  batchTargetMs: number;
  batchMin: number;
  batchMax: number;
}

export const defaultBackfillSettings: BackfillSettings = {
  maxRate: null,
  maxLagBytes: null,
  maxLagSeconds: null,
  throttleQuery: null,
  lockWait: true,
  foregroundTarget: 0.9,
  batchTargetMs: 200,
  batchMin: 50,
  batchMax: 50_000,
};

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3, tb: 1024 ** 4 };

/** Parses a size such as `64MB`, `512kB` or a bare number of bytes. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b)?\s*$/i.exec(text);
  if (!match) throw new UnderwayError("INVALID_ARGUMENT", `invalid size "${text}" (use e.g. 64MB, 512kB)`);
  return Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? "b").toLowerCase()]!);
}

/**
 * `--max-lag` takes a size (`64MB`: replay lag in bytes) or a duration (`5s`: lag in time);
 * `none` or `off` clears both.
 */
export function parseMaxLag(text: string): Pick<BackfillSettings, "maxLagBytes" | "maxLagSeconds"> {
  if (/^\s*(none|off)\s*$/i.test(text)) return { maxLagBytes: null, maxLagSeconds: null };
  if (/^\s*\d+(?:\.\d+)?\s*[kmgt]?b\s*$/i.test(text)) return { maxLagBytes: parseSize(text), maxLagSeconds: null };
  if (/^\s*\d+(?:\.\d+)?\s*(ms|s|sec|m|min|h)\s*$/i.test(text)) return { maxLagBytes: null, maxLagSeconds: parseDurationMs(text) / 1000 };
  throw new UnderwayError("INVALID_ARGUMENT", `invalid --max-lag "${text}": give a size (64MB) or a duration (5s)`);
}

/** `--foreground 0.9`: the share of its write throughput the application keeps; `none` or `off`: no guard. */
export function parseForegroundTarget(text: string): number | null {
  if (/^\s*(none|off)\s*$/i.test(text)) return null;
  const percent = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  const value = percent ? Number(percent[1]) / 100 : Number(text);
  if (!Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid --foreground "${text}": a share above 0 and below 1 (0.9 or 90%), or none`);
  }
  return value;
}

/** `--max-rate 20000`, or `none`. */
export function parseMaxRate(text: string): number | null {
  if (/^\s*(none|off)\s*$/i.test(text)) return null;
  const value = Number(text.replaceAll("_", ""));
  if (!Number.isFinite(value) || value <= 0) {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid --max-rate "${text}": rows per second, a positive number (or none)`);
  }
  return value;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes}B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)}${units[unit]}`;
}
