/** `underway throttle`: changes the limits of the running backfill; its workers pick them up within a second. */
import type { Command } from "commander";
import { UnderwayError } from "../../errors.js";
import { commandAction } from "../command-action.js";
import { backfillFlags, connectionOptions, controlLogFormat, type BackfillFlags, type GlobalOptions } from "../options.js";

export function registerThrottle(program: Command): void {
  controlLogFormat(
    connectionOptions(backfillFlags(program.command("throttle").description("change the limits of the running backfill; workers pick them up within a second"), false)),
  ).action(
    commandAction({ stoppable: false }, async (context, options: GlobalOptions & BackfillFlags & { logFormat?: string }) => {
      const [{ settingsFrom }, { migratorFor }, { print }, { controlEvents }] = await Promise.all([
        import("../backfill-flags.js"),
        import("../migrator-for.js"),
        import("../output.js"),
        import("../control-events.js"),
      ]);
      const settings = settingsFrom(options);
      if (Object.keys(settings).length === 0) {
        throw new UnderwayError("INVALID_ARGUMENT", "throttle: give at least one of --max-lag, --max-rate, --foreground, --throttle-query, --batch-time");
      }
      const tables = await migratorFor(options, context, await controlEvents(options)).throttle(settings);
      print(options, { tables, settings }, `updated ${tables.join(", ")}: ${JSON.stringify(settings)}`);
    }),
  );
}
