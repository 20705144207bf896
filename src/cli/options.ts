/**
 * The flags several commands share, declared once: the connection flags of every database
 * command and the flags that set a backfill job's limits. Declarations only (commander's
 * types), so a command file can add them without loading what its action runs.
 */
import type { Command } from "commander";

/** The flags every database command has (`connectionOptions`). */
export interface GlobalOptions {
  databaseUrl?: string;
  connectTimeout?: string;
  schema: string;
  stateSchema: string;
  lockTimeout: string;
  replicaWait?: string;
  json?: boolean;
  verbose?: boolean;
}

/** The flags that set a backfill job's limits (`backfillFlags`). */
export interface BackfillFlags {
  workers?: string;
  lease?: string;
  maxLag?: string;
  maxRate?: string;
  foreground?: string;
  throttleQuery?: string;
  batchTime?: string;
}

/** Adds the options every database command shares. */
export function connectionOptions(command: Command): Command {
  return command
    .option("--database-url <url>", "PostgreSQL connection URL (default: $DATABASE_URL)")
    .option("--connect-timeout <duration>", "how long to wait for the database to accept a connection (default: the URL's connect_timeout, else 10s)")
    .option("--schema <name>", "schema the migrations change", "public")
    .option("--state-schema <name>", "schema where underway keeps its state", "underway")
    .option("--lock-timeout <duration>", "lock_timeout for each DDL attempt", "500ms")
    .option("--replica-wait <duration>", "how long a finished phase waits for the streaming replicas to have its last commit (0: no wait)", "10s")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print error details");
}

/** Adds the flags that set a backfill job's limits; `throttle` changes them but runs no workers. */
export function backfillFlags(command: Command, withWorkers = true): Command {
  if (withWorkers) {
    command
      .option("--workers <n>", "backfill workers in this process", "1")
      .option("--lease <duration>", "how long a worker's claim on a range outlives the worker", "15s");
  }
  return command
    .option("--max-lag <limit>", "hold while replica lag is above a size (64MB) or a duration (5s); none to clear")
    .option("--max-rate <rows>", "at most this many rows per second for the whole job; none to clear")
    .option("--foreground <share>", "pace the backfill so the application keeps this share of its write throughput (default 0.9); none to run flat out")
    .option("--throttle-query <sql>", "hold while this query returns true; none to clear")
    .option("--batch-time <duration>", "target duration of one batch", undefined);
}

/** `--log-format` of the control commands (pause, cancel, throttle, unlock), which log their audit row with json. */
export function controlLogFormat(command: Command): Command {
  return command.option("--log-format <format>", "text prints only the result; json also logs the action's audit row as a JSON line on stderr", "text");
}
