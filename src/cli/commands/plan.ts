/** `underway plan FILE`: the steps of each phase, the lock each statement takes, the rows a backfill touches. */
import type { Command } from "commander";
import { UnderwayError } from "../../errors.js";
import { commandAction, type CommandContext } from "../command-action.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

export function registerPlan(program: Command): void {
  connectionOptions(
    program
      .command("plan")
      .description("show the steps of each phase, the lock each statement takes, and the rows a backfill touches")
      .argument("<file>", "migration file"),
  ).action(commandAction({ stoppable: false }, plan));
}

async function plan(context: CommandContext, file: string, options: GlobalOptions): Promise<void> {
  if (options.databaseUrl === undefined) {
    throw new UnderwayError(
      "INVALID_ARGUMENT",
      `plan reads the database's catalog (the tables, their sizes and dependents, the lock each step takes) and needs --database-url or DATABASE_URL; to check a file without a database: underway validate ${file}`,
    );
  }
  const [{ databaseUrlFrom }, { loadMigrationFile }, { renderPlan }, { migratorFor }, { print }] = await Promise.all([
    import("../database-url.js"),
    import("../../format/load.js"),
    import("../../lint/plan-report.js"),
    import("../migrator-for.js"),
    import("../output.js"),
  ]);
  const migrator = migratorFor(options, context);
  const migration = await loadMigrationFile(file);
  const { text, json } = await renderPlan(await migrator.plan(migration), { databaseUrl: databaseUrlFrom(options), schema: options.schema });
  print(options, json, text);
}
