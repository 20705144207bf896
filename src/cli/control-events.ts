/**
 * Where a control command's events go (pause, cancel, throttle, unlock): with
 * `--log-format json`, a JSON line on stderr for each, its audit row among them; otherwise
 * nowhere (it prints only its result). Loaded when one of them runs.
 */
import type { MigrationEvent } from "../run/step-runner.js";

export async function controlEvents(options: { logFormat?: string }): Promise<(event: MigrationEvent) => void> {
  const { EventLog, parseLogFormat } = await import("../observe/event-log.js");
  const format = parseLogFormat(options.logFormat ?? "text");
  return format === "json" ? new EventLog({ format }).onEvent : () => {};
}
