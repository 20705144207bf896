/** `underway rollback`: rolls back the active migration. */
import type { Command } from "commander";
import { commandAction } from "../command-action.js";
import { observeOptions, withObservation, type ObserveFlags } from "../observe-commands.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

export function registerRollback(program: Command): void {
  observeOptions(connectionOptions(program.command("rollback").description("roll back the active migration"))).action(
    commandAction({ stoppable: true }, async (context, options: GlobalOptions & ObserveFlags) => {
      const [{ migratorFor }, { print, recordJson }] = await Promise.all([import("../migrator-for.js"), import("../output.js")]);
      const record = await withObservation(options, context.printer, {}, async (observation) =>
        observation.record(await migratorFor(options, context, observation.onEvent).rollback()),
      );
      print(options, recordJson(record), `migration ${record.name} rolled back`);
    }),
  );
}
