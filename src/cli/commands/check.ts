/**
 * `underway check FILE [--privileges]`: builds the plan as `plan` does and reports, step by
 * step, the privileges it needs and which the connected role lacks. Changes nothing.
 */
import type { Command } from "commander";
import { UnderwayError } from "../../errors.js";
import { commandAction, type CommandContext } from "../command-action.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

export function registerCheck(program: Command): void {
  connectionOptions(
    program
      .command("check")
      .description("check that the connected role may run every planned step of a migration (read-only; --privileges is what check does)")
      .argument("<file>", "migration file")
      .option("--privileges", "report the privileges each planned step needs and whether the role has them (the default)"),
  ).action(commandAction({ stoppable: false }, check));
}

async function check(context: CommandContext, file: string, options: GlobalOptions): Promise<void> {
  if (options.databaseUrl === undefined) {
    throw new UnderwayError("INVALID_ARGUMENT", `check asks the database what the connected role may do and needs --database-url or DATABASE_URL`);
  }
  const [{ connect }, { displayIdent }, { loadMigrationFile }, { checkPrivileges, formatPrivilegeReport }, { databaseUrlFrom }, { migratorFor }, { print }] = await Promise.all([
    import("../../db/connection.js"),
    import("../../db/ident.js"),
    import("../../format/load.js"),
    import("../../run/privileges.js"),
    import("../database-url.js"),
    import("../migrator-for.js"),
    import("../output.js"),
  ]);
  const migration = await loadMigrationFile(file);
  const plan = await migratorFor(options, context).plan(migration);
  const client = await connect(databaseUrlFrom(options));
  let report;
  try {
    report = await checkPrivileges(client, plan, { schema: options.schema, stateSchema: options.stateSchema });
  } finally {
    await client.end();
  }
  print(options, report, formatPrivilegeReport(report));
  const first = report.steps.flatMap((s) => s.details.filter((d) => !d.granted).map((d) => ({ step: s, need: d })))[0];
  if (first) {
    const at = first.step.phase === "setup" ? first.step.step : `${first.step.phase} step "${first.step.step}"`;
    process.stderr.write(`underway: role ${displayIdent(report.role)} lacks ${first.need.privilege} (${at}); fix: ${first.need.fix}\n`);
    process.exitCode = 1;
  }
}
