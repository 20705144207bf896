/** `underway complete`: contracts the active migration, after verifying old against new. */
import type { Command } from "commander";
import { commandAction, type CommandContext } from "../command-action.js";
import { observeOptions, withObservation, type ObserveFlags } from "../observe-commands.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

type CompleteFlags = GlobalOptions & ObserveFlags & { skipVerify?: boolean };

export function registerComplete(program: Command): void {
  const command = connectionOptions(
    program
      .command("complete")
      .description("complete the active migration (contract), after verifying old against new")
      .option("--skip-verify", "contract without verifying first"),
  );
  observeOptions(command).action(commandAction({ stoppable: true }, complete));
}

async function complete(context: CommandContext, options: CompleteFlags): Promise<void> {
  const [{ migratorFor }, { print, recordJson, verifySummary }] = await Promise.all([import("../migrator-for.js"), import("../output.js")]);
  const record = await withObservation(options, context.printer, {}, async (observation) =>
    observation.record(
      await migratorFor(options, context, observation.onEvent).complete({
        skipVerify: Boolean(options.skipVerify),
        onVerified: (report) => {
          observation.verified(report);
          context.printer.line(`verified ${verifySummary(report)}`);
        },
      }),
    ),
  );
  print(options, recordJson(record), `migration ${record.name} completed`);
}
