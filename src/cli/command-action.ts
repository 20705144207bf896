/**
 * The action of a database command, as commander calls it: a progress printer on stderr,
 * and for the commands that run a phase a stop signal that SIGINT and SIGTERM abort (see
 * signals.ts). The printer and the signal handling load when the command runs, not when
 * it is declared, so `--help` stays cheap.
 */
import type { ProgressPrinter } from "../observe/progress-printer.js";

/** What a command's action gets besides its arguments and flags. */
export interface CommandContext {
  /** Progress on stderr; quiet with `--json` or `--log-format json`. */
  readonly printer: ProgressPrinter;
  /** Aborted by SIGINT or SIGTERM, for a command that runs a phase; otherwise absent. */
  readonly signal?: AbortSignal;
}

/**
 * Wraps `run` as a commander action. `stoppable`: the command runs a phase, so the first
 * SIGINT or SIGTERM stops it at a safe point instead of killing it mid-step.
 *
 * @example
 * command.action(commandAction({ stoppable: true }, async (context, file: string, options: StartFlags) => { ... }));
 */
export function commandAction<A extends unknown[]>(
  settings: { stoppable: boolean },
  run: (context: CommandContext, ...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const [{ ProgressPrinter }, { stopOnSignals }] = await Promise.all([import("../observe/progress-printer.js"), import("./signals.js")]);
    // commander passes the command's flags, then the command itself, after its arguments.
    const options = args[args.length - 2] as { json?: boolean; logFormat?: string };
    const printer = new ProgressPrinter(process.stderr, Boolean(options.json) || options.logFormat === "json");
    const stop = settings.stoppable ? stopOnSignals(printer) : null;
    try {
      await run(stop ? { printer, signal: stop.signal } : { printer }, ...args);
    } finally {
      stop?.dispose();
      printer.end();
    }
  };
}
