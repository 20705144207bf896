/** `underway jobs`: the backfill jobs of the active migration. */
import type { Command } from "commander";
import { commandAction } from "../command-action.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

export function registerJobs(program: Command): void {
  connectionOptions(program.command("jobs").description("show the backfill jobs of the active migration")).action(
    commandAction({ stoppable: false }, async (context, options: GlobalOptions) => {
      const [{ migratorFor }, { jobJson, jobsText, print }] = await Promise.all([import("../migrator-for.js"), import("../output.js")]);
      const { migration, jobs } = await migratorFor(options, context).jobs();
      print(options, { migration, jobs: jobs.map(jobJson) }, migration ? `${migration}\n${jobsText(jobs)}` : "no migrations yet");
    }),
  );
}
