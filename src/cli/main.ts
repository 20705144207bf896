/**
 * The CLI: every command's arguments, flags and help, and `main`. What a command does lives
 * in modules imported when it runs (migration-commands.ts, the lint and convert actions, the
 * rehearsal, the dashboard), so `--help` loads commander and these declarations only, and
 * `lint` loads neither the engine nor an HTTP server.
 */
import { Command, CommanderError } from "commander";
import { exitCodeFor, toUnderwayError } from "../errors.js";
import { registerLintCommands } from "./lint-commands.js";
import { registerRehearseCommand } from "./rehearse-command.js";
import type { DemoFlags, GlobalOptions, NewFlags } from "./migration-commands.js";
import type { ProgressPrinter } from "../observe/progress-printer.js";
import { observeOptions, registerObserveCommands, type ObserveFlags } from "./observe-commands.js";
import { VERSION } from "./version.js";

type MigrationCommands = typeof import("./migration-commands.js");

/** Adds the options every database command shares. */
function connectionOptions(command: Command): Command {
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

/** Adds the flags that set a backfill job's limits. */
function backfillFlags(command: Command, withWorkers = true): Command {
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

/** Commands that run a phase: SIGINT and SIGTERM stop them at a safe point. */
const STOPPABLE = new Set(["start", "resume", "complete", "rollback", "migrate", "verify"]);

/** Builds the command tree. Exported for tests of argument handling. */
export function buildProgram(): Command {
  const program = new Command("underway")
    .description("Zero-downtime schema and data migrations for PostgreSQL")
    .version(VERSION)
    // Usage errors (an unknown command or option, a missing argument) read like every other
    // error: one line, with the same prefix.
    .configureOutput({ outputError: (text, write) => write(`${text.trim().replace(/^error: /, "underway: ").replace(/\s*\n\s*/g, " ")} (run "underway --help" for usage)\n`) })
    .exitOverride();

  // Settings the flags do not give come from UNDERWAY_* variables, then underway.config.json (see config.ts).
  program.hook("preAction", async (_program, command) => (await import("./config.js")).applyConfiguration(program, command));
  program.addHelpText(
    "after",
    "\nEvery option that takes a value can also be set as an UNDERWAY_* environment variable (--state-schema: UNDERWAY_STATE_SCHEMA)\n" +
      "or in underway.config.json (or .yaml), found upward from the working directory: flags first, then the environment, then the file.\n" +
      "The database URL also reads DATABASE_URL, after UNDERWAY_DATABASE_URL and before the file.",
  );

  /** The action of a command that `pick` finds in migration-commands.ts, run with a progress printer on stderr. */
  const action =
    <A extends unknown[]>(pick: (commands: MigrationCommands) => (printer: ProgressPrinter, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      const [commands, { ProgressPrinter }, { stopOnSignals }] = await Promise.all([import("./migration-commands.js"), import("../observe/progress-printer.js"), import("./signals.js")]);
      const options = args[args.length - 2] as GlobalOptions;
      const command = args[args.length - 1] as Command;
      const printer = new ProgressPrinter(process.stderr, Boolean(options.json) || (options as ObserveFlags).logFormat === "json");
      // A command that runs a phase stops at a safe point on SIGINT or SIGTERM (see signals.ts).
      const stop = STOPPABLE.has(command.name()) ? stopOnSignals(printer) : null;
      commands.setStopSignal(stop?.signal);
      try {
        await pick(commands)(printer, ...args);
      } finally {
        stop?.dispose();
        commands.setStopSignal(undefined);
        printer.end();
      }
    };

  connectionOptions(program.command("init").description("create the state schema (idempotent)")).action(action((c) => c.init));

  program
    .command("new")
    .description("write a new migration file from a template")
    .argument("<name>", "what the migration does, e.g. add_user_email")
    .option("--dir <dir>", "directory for migration files", "migrations")
    .option("--json", "print the result as JSON")
    .action(async (name: string, options: NewFlags) => (await import("./migration-commands.js")).newMigration(name, options));

  connectionOptions(
    program
      .command("start")
      .description("start a migration: expand the schema, install dual writes, backfill, create the version schema")
      .argument("<file>", "migration file (YAML or JSON)")
      .option("--complete", "complete right after starting")
      .option("--no-backfill", "stop before the backfill; run it later with resume")
      .option("--strict-versions", "refuse writes that name no version (underway.version) while the migration is active"),
  ).action(action((c) => c.start));
  backfillFlags(program.commands.find((c) => c.name() === "start")!);

  connectionOptions(
    backfillFlags(
      program
        .command("resume")
        .description("carry on with the active migration's start: resume its backfill from the saved cursors")
        .option("--join", "if another process runs it, add this process's workers to it"),
    ),
  ).action(action((c) => c.resume));

  connectionOptions(program.command("jobs").description("show the backfill jobs of the active migration")).action(action((c) => c.jobs));

  connectionOptions(program.command("pause").description("pause the active migration's backfill (workers hold within a second)")).action(action((c) => c.pause));

  connectionOptions(
    program.command("cancel").description("stop the active migration's backfill; the migration stays started (resume or rollback)"),
  ).action(action((c) => c.cancel));

  connectionOptions(
    backfillFlags(program.command("throttle").description("change the limits of the running backfill; workers pick them up within a second"), false),
  ).action(action((c) => c.throttle));

  connectionOptions(
    program
      .command("complete")
      .description("complete the active migration (contract), after verifying old against new")
      .option("--skip-verify", "contract without verifying first"),
  ).action(action((c) => c.complete));

  connectionOptions(
    program.command("verify").description("check row by row that the active migration's old and new columns agree"),
  ).action(action((c) => c.verify));

  connectionOptions(program.command("rollback").description("roll back the active migration")).action(action((c) => c.rollback));

  connectionOptions(program.command("status").description("show the migration history and the active migration")).action(action((c) => c.status));

  connectionOptions(
    program
      .command("history")
      .description("show the audit trail: every action that changed a migration's state, who took it and when")
      .option("--migration <name>", "only this migration's entries")
      .option("--limit <n>", "only the newest n entries"),
  ).action(action((c) => c.auditHistory));

  connectionOptions(
    program
      .command("unlock")
      .description("clear the migration guard of a process that is gone (a lease, or a lock left on a pooled connection)")
      .option("--force", "clear it even if its holder may still be working"),
  ).action(action((c) => c.unlock));

  connectionOptions(program.command("latest").description("print the newest version schema and how to connect to it")).action(action((c) => c.latest));

  connectionOptions(
    backfillFlags(
      program
        .command("migrate")
        .description("apply every pending migration file of a directory, in order (start then complete each)")
        .argument("<dir>", "directory of migration files")
        .option("--dry-run", "check the files and their order against what is applied, and list what would be applied; change nothing")
        .option("--allow-out-of-order", "apply a pending file that sorts before one already applied (refused by default)"),
    ),
  ).action(action((c) => c.migrate));

  program
    .command("validate")
    .description("check migration files without a database: format, fields, and the syntax of their SQL (for CI)")
    .argument("<paths...>", "migration files or directories of them")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print error details")
    .action(async (paths: string[], options: { json?: boolean }) => (await import("./validate-command.js")).validate(paths, options));

  connectionOptions(
    program
      .command("plan")
      .description("show the steps of each phase, the lock each statement takes, and the rows a backfill touches")
      .argument("<file>", "migration file"),
  ).action(action((c) => c.plan));

  connectionOptions(
    program
      .command("check")
      .description("check that the connected role may run every planned step of a migration (read-only; --privileges is what check does)")
      .argument("<file>", "migration file")
      .option("--privileges", "report the privileges each planned step needs and whether the role has them (the default)"),
  ).action(action((c) => c.check));

  program
    .command("demo")
    .description("run a live breaking change (rename + type change) under load on an embedded PostgreSQL")
    .option("--database-url <url>", "use this database instead of an embedded one (the demo keeps to its own schemas and removes them)")
    .option("--rows <n>", "rows in the demo table", "1000000")
    .option("--clients <n>", "concurrent clients per version", "4")
    .option("--json", "print the summary as JSON")
    .option("--verbose", "print error details")
    .action(async (options: DemoFlags) => (await import("./migration-commands.js")).demo(options));

  registerLintCommands(program);
  registerRehearseCommand(program);
  // The control commands log their audit row as a JSON line with --log-format json.
  for (const name of ["pause", "cancel", "throttle", "unlock"]) {
    program.commands.find((c) => c.name() === name)!.option("--log-format <format>", "text prints only the result; json also logs the action's audit row as a JSON line on stderr", "text");
  }
  // --metrics-port, --metrics-host and --log-format on every command that runs a phase or a verification.
  for (const name of ["start", "resume", "complete", "verify", "rollback"]) observeOptions(program.commands.find((c) => c.name() === name)!);
  registerObserveCommands(program, connectionOptions);

  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes("--verbose");
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    const failure = toUnderwayError(error);
    process.stderr.write(`underway: ${failure.message}\n`);
    if (verbose) {
      if (failure.detail) process.stderr.write(`${failure.detail}\n`);
      if (failure.cause instanceof Error && failure.cause.stack) process.stderr.write(`${failure.cause.stack}\n`);
    }
    return exitCodeFor(failure);
  }
}


