/** `underway init`: creates the state schema (idempotent). */
import type { Command } from "commander";
import { commandAction } from "../command-action.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

export function registerInit(program: Command): void {
  connectionOptions(program.command("init").description("create the state schema (idempotent)")).action(
    commandAction({ stoppable: false }, async (context, options: GlobalOptions) => {
      const [{ migratorFor }, { print }] = await Promise.all([import("../migrator-for.js"), import("../output.js")]);
      await migratorFor(options, context).init();
      print(options, { stateSchema: options.stateSchema, initialized: true }, `state schema "${options.stateSchema}" is ready`);
    }),
  );
}
