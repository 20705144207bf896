/** `underway status`: the migration history, the active migration, its backfill and the migration guard. */
import type { Command } from "commander";
import { commandAction, type CommandContext } from "../command-action.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

export function registerStatus(program: Command): void {
  connectionOptions(program.command("status").description("show the migration history and the active migration")).action(commandAction({ stoppable: false }, status));
}

async function status(context: CommandContext, options: GlobalOptions): Promise<void> {
  const [{ describePhase }, { migratorFor }, { guardText, jobJson, jobsText, print, recordJson }] = await Promise.all([
    import("../../run/migrator.js"),
    import("../migrator-for.js"),
    import("../output.js"),
  ]);
  const migrator = migratorFor(options, context);
  const history = await migrator.history();
  const active = history.find((m) => m.phase !== "completed" && m.phase !== "rolled_back") ?? null;
  const jobs = active ? (await migrator.jobs()).jobs : [];
  const latest = [...history].reverse().find((m) => m.phase !== "rolled_back") ?? null;
  const lines = history.map((m) => `${m.name.padEnd(40)} ${describePhase(m)}`);
  const guard = await migrator.guard();
  print(
    options,
    {
      schema: options.schema,
      active: active ? recordJson(active) : null,
      latestVersionSchema: latest?.versionSchema ?? null,
      jobs: jobs.map(jobJson),
      migrations: history.map(recordJson),
      guard,
    },
    (lines.length ? lines.join("\n") : "no migrations yet") + (jobs.length ? `\n\nbackfill:\n${jobsText(jobs)}` : "") + (guard.held || guard.kind ? `\n\n${guardText(guard)}` : ""),
  );
}
