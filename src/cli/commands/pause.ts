/** `underway pause`: pauses the active migration's backfill; its workers hold within a second. */
import type { Command } from "commander";
import { commandAction } from "../command-action.js";
import { connectionOptions, controlLogFormat, type GlobalOptions } from "../options.js";

export function registerPause(program: Command): void {
  controlLogFormat(connectionOptions(program.command("pause").description("pause the active migration's backfill (workers hold within a second)"))).action(
    commandAction({ stoppable: false }, async (context, options: GlobalOptions & { logFormat?: string }) => {
      const [{ migratorFor }, { print }, { controlEvents }] = await Promise.all([import("../migrator-for.js"), import("../output.js"), import("../control-events.js")]);
      const tables = await migratorFor(options, context, await controlEvents(options)).pause();
      print(options, { paused: tables }, `paused ${tables.join(", ")}`);
    }),
  );
}
