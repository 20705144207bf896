/** `underway migrate DIR`: applies every pending migration file of a directory, in order (the library's `migrateDirectory`). */
import type { Command } from "commander";
import { commandAction, type CommandContext } from "../command-action.js";
import { backfillFlags, connectionOptions, type BackfillFlags, type GlobalOptions } from "../options.js";

type MigrateFlags = GlobalOptions & BackfillFlags & { dryRun?: boolean; allowOutOfOrder?: boolean };

export function registerMigrate(program: Command): void {
  connectionOptions(
    backfillFlags(
      program
        .command("migrate")
        .description("apply every pending migration file of a directory, in order (start then complete each)")
        .argument("<dir>", "directory of migration files")
        .option("--dry-run", "check the files and their order against what is applied, and list what would be applied; change nothing")
        .option("--allow-out-of-order", "apply a pending file that sorts before one already applied (refused by default)"),
    ),
  ).action(commandAction({ stoppable: true }, migrate));
}

async function migrate(context: CommandContext, dir: string, options: MigrateFlags): Promise<void> {
  const [{ backfillFrom }, { migrateDirectory }, { describePhase }, { migratorFor }, { print }] = await Promise.all([
    import("../backfill-flags.js"),
    import("../../run/migrate-directory.js"),
    import("../../run/migrator.js"),
    import("../migrator-for.js"),
    import("../output.js"),
  ]);
  const backfill = backfillFrom(options);
  const result = await migrateDirectory(migratorFor(options, context), dir, {
    ...backfill,
    dryRun: Boolean(options.dryRun),
    allowOutOfOrder: Boolean(options.allowOutOfOrder),
    onMigration: ({ file, active }) =>
      context.printer.line(active ? `migrating ${file.name}: completing it (it was started and is ${describePhase(active)})` : `migrating ${file.name}`),
  });
  if (options.dryRun) {
    const { pending } = result;
    // A migration someone started and left for clients to move over to is completed too: say so.
    const active = pending.filter((p) => p.active !== null);
    const activeNote = active.length
      ? ` (${active.map((p) => `${p.file.name} is active (${describePhase(p.active!)}): migrate completes it, and its old version goes`).join("; ")})`
      : "";
    print(
      options,
      {
        dryRun: true,
        pending: pending.map((p) => ({ name: p.file.name, path: p.file.path, outOfOrder: p.outOfOrder, active: p.active !== null })),
        applied: result.completed,
      },
      pending.length ? `would apply ${pending.length}, in this order: ${pending.map((p) => p.file.name).join(", ")}${activeNote}` : "nothing to apply",
    );
    return;
  }
  print(options, { applied: result.applied }, result.applied.length ? `applied ${result.applied.length}: ${result.applied.join(", ")}` : "nothing to apply");
}
