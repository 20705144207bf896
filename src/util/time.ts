import { UnderwayError } from "../errors.js";

/** Parses a duration such as `500ms`, `2s`, `1min` or a bare number of milliseconds. */
export function parseDurationMs(text: string, what = "duration"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$/i.exec(text);
  if (!match) throw new UnderwayError("INVALID_ARGUMENT", `invalid ${what} "${text}" (use e.g. 500ms, 2s, 1min)`);
  const value = Number(match[1]);
  const unit = (match[2] ?? "ms").toLowerCase();
  const factor = unit === "ms" ? 1 : unit === "s" || unit === "sec" ? 1000 : unit === "h" ? 3_600_000 : 60_000;
  return Math.round(value * factor);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
