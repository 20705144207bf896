/** `underway start FILE`: expands the schema, installs dual writes, backfills and creates the version schema. */
import type { Command } from "commander";
import { commandAction, type CommandContext } from "../command-action.js";
import { observeOptions, withObservation, type ObserveFlags } from "../observe-commands.js";
import { backfillFlags, connectionOptions, type BackfillFlags, type GlobalOptions } from "../options.js";

type StartFlags = GlobalOptions & BackfillFlags & ObserveFlags & { complete?: boolean; backfill: boolean; strictVersions?: boolean };

export function registerStart(program: Command): void {
  const command = connectionOptions(
    program
      .command("start")
      .description("start a migration: expand the schema, install dual writes, backfill, create the version schema")
      .argument("<file>", "migration file (YAML or JSON)")
      .option("--complete", "complete right after starting")
      .option("--no-backfill", "stop before the backfill; run it later with resume")
      .option("--strict-versions", "refuse writes that name no version (underway.version) while the migration is active"),
  );
  observeOptions(backfillFlags(command)).action(commandAction({ stoppable: true }, start));
}

async function start(context: CommandContext, file: string, options: StartFlags): Promise<void> {
  const [{ backfillFrom }, { databaseUrlFrom }, { loadMigrationFile }, { migratorFor }, { print, recordJson, searchPathOf }] = await Promise.all([
    import("../backfill-flags.js"),
    import("../database-url.js"),
    import("../../format/load.js"),
    import("../migrator-for.js"),
    import("../output.js"),
  ]);
  // Flags first, then the file: a bad flag is said before anything is read.
  const backfill = backfillFrom(options);
  databaseUrlFrom(options);
  const migration = await loadMigrationFile(file);
  const record = await withObservation(options, context.printer, { migration: migration.name }, async (observation) =>
    observation.record(
      await migratorFor(options, context, observation.onEvent).start(migration, {
        complete: Boolean(options.complete),
        backfill: options.backfill,
        strictVersions: Boolean(options.strictVersions),
        ...backfill,
      }),
    ),
  );
  print(
    options,
    recordJson(record),
    record.phase === "completed"
      ? `migration ${record.name} completed; schema "${record.versionSchema}" is the current version`
      : record.phase === "ready"
        ? `migration ${record.name} started; new version: search_path=${searchPathOf(record.versionSchema, options.schema)} (run "underway complete" once every client uses it)`
        : `migration ${record.name} expanded; backfill not run yet: run "underway resume" to backfill and finish the start`,
  );
}
