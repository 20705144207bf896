/** `underway cancel`: stops the active migration's backfill; the migration stays started. */
import type { Command } from "commander";
import { commandAction } from "../command-action.js";
import { connectionOptions, controlLogFormat, type GlobalOptions } from "../options.js";

export function registerCancel(program: Command): void {
  controlLogFormat(
    connectionOptions(program.command("cancel").description("stop the active migration's backfill; the migration stays started (resume or rollback)")),
  ).action(
    commandAction({ stoppable: false }, async (context, options: GlobalOptions & { logFormat?: string }) => {
      const [{ migratorFor }, { print }, { controlEvents }] = await Promise.all([import("../migrator-for.js"), import("../output.js"), import("../control-events.js")]);
      const tables = await migratorFor(options, context, await controlEvents(options)).cancel();
      print(options, { cancelled: tables }, `cancelled ${tables.join(", ")}; run "underway resume" to continue or "underway rollback"`);
    }),
  );
}
