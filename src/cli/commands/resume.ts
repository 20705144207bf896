/** `underway resume`: carries on with the active migration's start, its backfill from the saved cursors. */
import type { Command } from "commander";
import { commandAction, type CommandContext } from "../command-action.js";
import { observeOptions, withObservation, type ObserveFlags } from "../observe-commands.js";
import { backfillFlags, connectionOptions, type BackfillFlags, type GlobalOptions } from "../options.js";

type ResumeFlags = GlobalOptions & BackfillFlags & ObserveFlags & { join?: boolean };

export function registerResume(program: Command): void {
  const command = connectionOptions(
    backfillFlags(
      program
        .command("resume")
        .description("carry on with the active migration's start: resume its backfill from the saved cursors")
        .option("--join", "if another process runs it, add this process's workers to it"),
    ),
  );
  observeOptions(command).action(commandAction({ stoppable: true }, resume));
}

async function resume(context: CommandContext, options: ResumeFlags): Promise<void> {
  const [{ backfillFrom }, { migratorFor }, { print, recordJson, searchPathOf }] = await Promise.all([
    import("../backfill-flags.js"),
    import("../migrator-for.js"),
    import("../output.js"),
  ]);
  const outcome = await withObservation(options, context.printer, {}, async (observation) => {
    const result = await migratorFor(options, context, observation.onEvent).resume({ ...backfillFrom(options), join: Boolean(options.join) });
    if (result.kind === "finished") observation.record(result.record);
    return result;
  });
  if (outcome.kind === "finished") {
    print(
      options,
      { outcome: outcome.kind, migration: recordJson(outcome.record) },
      `migration ${outcome.record.name} started; new version: search_path=${searchPathOf(outcome.record.versionSchema, options.schema)} (run "underway complete" once every client uses it)`,
    );
  } else if (outcome.kind === "joined") {
    print(options, outcome, `helped finish the backfill of ${outcome.tables.join(", ")}`);
  } else {
    print(options, { outcome: outcome.kind, tables: outcome.tables }, `resumed ${outcome.tables.join(", ") || "nothing to resume"}; ${runningProcess(outcome.holder)} runs the migration and carries on`);
  }
}

/** "process 123 on host" from the guard's refusal, or a plain description when it names none. */
function runningProcess(refusal: string): string {
  const named = /: (process \d+ on [^\s(]+)/.exec(refusal);
  return named ? `the other underway process (${named[1]})` : "the other underway process";
}
