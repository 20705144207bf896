/**
 * The CLI: the program, its global options, and `main`, which runs a command and turns
 * what it throws into one line on stderr and an exit code. Each command declares itself
 * (arguments, flags, help) and its action in a file of its own under commands/; what an
 * action runs is imported when it runs, so `--help` loads commander and the declarations
 * only, and `lint` loads neither the engine nor an HTTP server.
 */
import { Command, CommanderError } from "commander";
import { exitCodeFor, toUnderwayError } from "../errors.js";
import { registerCancel } from "./commands/cancel.js";
import { registerCheck } from "./commands/check.js";
import { registerComplete } from "./commands/complete.js";
import { registerDemo } from "./commands/demo.js";
import { registerHistory } from "./commands/history.js";
import { registerInit } from "./commands/init.js";
import { registerJobs } from "./commands/jobs.js";
import { registerLatest } from "./commands/latest.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerNew } from "./commands/new.js";
import { registerPause } from "./commands/pause.js";
import { registerPlan } from "./commands/plan.js";
import { registerResume } from "./commands/resume.js";
import { registerRollback } from "./commands/rollback.js";
import { registerStart } from "./commands/start.js";
import { registerStatus } from "./commands/status.js";
import { registerThrottle } from "./commands/throttle.js";
import { registerUnlock } from "./commands/unlock.js";
import { registerValidate } from "./commands/validate.js";
import { registerVerify } from "./commands/verify.js";
import { registerLintCommands } from "./lint-commands.js";
import { registerObserveCommands } from "./observe-commands.js";
import { connectionOptions } from "./options.js";
import { registerRehearseCommand } from "./rehearse-command.js";
import { VERSION } from "./version.js";

/** The commands, in the order `--help` lists them. */
const COMMANDS: ReadonlyArray<(program: Command) => void> = [
  registerInit,
  registerNew,
  registerStart,
  registerResume,
  registerJobs,
  registerPause,
  registerCancel,
  registerThrottle,
  registerComplete,
  registerVerify,
  registerRollback,
  registerStatus,
  registerHistory,
  registerUnlock,
  registerLatest,
  registerMigrate,
  registerValidate,
  registerPlan,
  registerCheck,
  registerDemo,
  registerLintCommands,
  registerRehearseCommand,
  (program) => registerObserveCommands(program, connectionOptions),
];

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
  for (const register of COMMANDS) register(program);
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
