/** `underway unlock`: clears the migration guard of a process that is gone. */
import type { Command } from "commander";
import { commandAction } from "../command-action.js";
import { connectionOptions, controlLogFormat, type GlobalOptions } from "../options.js";

export function registerUnlock(program: Command): void {
  controlLogFormat(
    connectionOptions(
      program
        .command("unlock")
        .description("clear the migration guard of a process that is gone (a lease, or a lock left on a pooled connection)")
        .option("--force", "clear it even if its holder may still be working"),
    ),
  ).action(
    commandAction({ stoppable: false }, async (context, options: GlobalOptions & { force?: boolean; logFormat?: string }) => {
      const [{ migratorFor }, { guardText, print }, { controlEvents }] = await Promise.all([import("../migrator-for.js"), import("../output.js"), import("../control-events.js")]);
      const state = await migratorFor(options, context, await controlEvents(options)).unlock({ force: Boolean(options.force) });
      print(options, { cleared: state.held || state.kind !== null, guard: state }, state.held || state.kind ? `cleared: ${guardText(state)}` : "the guard is free; nothing to clear");
    }),
  );
}
