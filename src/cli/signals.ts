import { signalExitCode } from "../errors.js";
import type { ProgressPrinter } from "../observe/progress-printer.js";

/** A running phase's stop button: SIGINT and SIGTERM abort `signal`; `dispose` puts the defaults back. */
export interface SignalStop {
  readonly signal: AbortSignal;
  dispose(): void;
}

/**
 * While a phase runs, the first SIGINT or SIGTERM asks it to stop at its next safe point
 * (a backfill batch, a step, a lock wait): it then releases what it holds and ends with
 * one line naming the command that carries on. A second signal exits at once, as an
 * operator pressing Ctrl-C twice expects; what it leaves (a lease, a half-built index)
 * the next command takes over or cleans up.
 */
export function stopOnSignals(printer: ProgressPrinter, exit: (code: number) => void = (code) => process.exit(code)): SignalStop {
  const controller = new AbortController();
  // Said even with --json: stderr is for people, and a stop must never be silent.
  const say = (line: string) => {
    printer.end();
    process.stderr.write(`${line}\n`);
  };
  const onSignal = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      say(`underway: ${name} received; stopping at the next safe point (send it again to stop at once)`);
      controller.abort(name);
      return;
    }
    say(`underway: ${name} received again; stopped at once: run "underway status" to see where it stopped`);
    exit(signalExitCode(name));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
