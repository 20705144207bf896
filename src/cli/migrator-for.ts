/** The Migrator a database command runs, built from its connection flags. */
import { Migrator } from "../run/migrator.js";
import type { MigrationEvent } from "../run/step-runner.js";
import { parseDurationMs } from "../util/time.js";
import type { CommandContext } from "./command-action.js";
import { databaseUrlFrom } from "./database-url.js";
import type { GlobalOptions } from "./options.js";

/**
 * A Migrator for the command's flags: the checked database URL, the schemas, the lock and
 * replica timeouts, the command's stop signal; events go to the progress printer unless
 * `onEvent` takes them (a JSON log, metrics).
 */
export function migratorFor(options: GlobalOptions, context: CommandContext, onEvent: (event: MigrationEvent) => void = context.printer.onEvent): Migrator {
  const databaseUrl = databaseUrlFrom(options);
  return new Migrator({
    databaseUrl,
    schema: options.schema,
    stateSchema: options.stateSchema,
    lockPolicy: { lockTimeoutMs: parseDurationMs(options.lockTimeout, "--lock-timeout") },
    ...(options.replicaWait !== undefined ? { replicaWaitMs: parseDurationMs(options.replicaWait, "--replica-wait") } : {}),
    onEvent,
    actor: { source: "cli" },
    ...(context.signal ? { signal: context.signal } : {}),
  });
}
