/** The backfill flags (options.ts's `backfillFlags`) as the Migrator takes them, each checked. */
import { UnderwayError } from "../errors.js";
import { parseDurationMs } from "../util/time.js";
import { parseForegroundTarget, parseMaxLag, parseMaxRate, type BackfillSettings } from "../backfill/settings.js";
import type { BackfillOptions } from "../run/migrator.js";
import type { BackfillFlags } from "./options.js";

/** The settings the flags ask for (only those given). */
export function settingsFrom(flags: BackfillFlags): Partial<BackfillSettings> {
  const settings: Partial<BackfillSettings> = {};
  if (flags.maxLag !== undefined) Object.assign(settings, parseMaxLag(flags.maxLag));
  if (flags.maxRate !== undefined) settings.maxRate = parseMaxRate(flags.maxRate);
  if (flags.foreground !== undefined) settings.foregroundTarget = parseForegroundTarget(flags.foreground);
  if (flags.throttleQuery !== undefined) settings.throttleQuery = /^\s*(none|off)\s*$/i.test(flags.throttleQuery) ? null : flags.throttleQuery;
  if (flags.batchTime !== undefined) settings.batchTargetMs = parseDurationMs(flags.batchTime, "--batch-time");
  return settings;
}

function leaseSecondsFrom(flags: BackfillFlags): number {
  const seconds = parseDurationMs(flags.lease ?? "15s", "--lease") / 1000;
  if (seconds < 1) throw new UnderwayError("INVALID_ARGUMENT", `--lease must be at least 1s, got "${flags.lease}"`);
  return seconds;
}

function workersFrom(flags: BackfillFlags): number {
  const workers = Number(flags.workers ?? "1");
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new UnderwayError("INVALID_ARGUMENT", `--workers must be a whole number from 1 to 64, got "${flags.workers}"`);
  }
  return workers;
}

/** Workers, lease and settings, in that order: the first bad flag is the one reported. */
export function backfillFrom(flags: BackfillFlags): Required<BackfillOptions> {
  return { workers: workersFrom(flags), leaseSeconds: leaseSecondsFrom(flags), settings: settingsFrom(flags) };
}
