/** `underway history`: the audit trail, oldest first: every action that changed a migration's state, who took it and when. */
import type { Command } from "commander";
import { UnderwayError } from "../../errors.js";
import { commandAction, type CommandContext } from "../command-action.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

type HistoryFlags = GlobalOptions & { migration?: string; limit?: string };

export function registerHistory(program: Command): void {
  connectionOptions(
    program
      .command("history")
      .description("show the audit trail: every action that changed a migration's state, who took it and when")
      .option("--migration <name>", "only this migration's entries")
      .option("--limit <n>", "only the newest n entries"),
  ).action(commandAction({ stoppable: false }, auditHistory));
}

async function auditHistory(context: CommandContext, options: HistoryFlags): Promise<void> {
  let limit: number | undefined;
  if (options.limit !== undefined) {
    limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit <= 0) throw new UnderwayError("INVALID_ARGUMENT", `invalid --limit "${options.limit}": give a whole number of entries above 0`);
  }
  const [{ auditLine }, { migratorFor }, { print }] = await Promise.all([import("../../state/audit.js"), import("../migrator-for.js"), import("../output.js")]);
  const entries = await migratorFor(options, context).auditTrail({ ...(options.migration ? { migration: options.migration } : {}), ...(limit ? { limit } : {}) });
  print(
    options,
    { schema: options.schema, entries },
    entries.length > 0 ? entries.map(auditLine).join("\n") : `no audited actions in schema "${options.schema}"${options.migration ? ` for migration "${options.migration}"` : ""}`,
  );
}
