/** `underway verify`: checks row by row that the active migration's old and new columns agree; exit 1 when not. */
import type { Command } from "commander";
import { commandAction, type CommandContext } from "../command-action.js";
import { observeOptions, withObservation, type ObserveFlags } from "../observe-commands.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

export function registerVerify(program: Command): void {
  const command = connectionOptions(program.command("verify").description("check row by row that the active migration's old and new columns agree"));
  observeOptions(command).action(commandAction({ stoppable: true }, verify));
}

async function verify(context: CommandContext, options: GlobalOptions & ObserveFlags): Promise<void> {
  const [{ migratorFor }, { print }] = await Promise.all([import("../migrator-for.js"), import("../output.js")]);
  const { migration, report } = await withObservation(options, context.printer, {}, async (observation) => {
    const result = await migratorFor(options, context, observation.onEvent).verify((p) =>
      observation.onEvent({ type: "notice", message: `  verified ${p.rowsChecked.toLocaleString("en-US")} rows of ${p.table}` }),
    );
    observation.verified(result.report, result.migration);
    return result;
  });
  const lines = report.tables.flatMap((t) => [
    `${t.table}: ${t.rowsChecked.toLocaleString("en-US")} rows checked, ${t.mismatches} mismatching`,
    ...t.ranges.map((r) => `  ${r.column}: keys ${r.from.join(",")}..${r.to.join(",")}: ${r.rows} row(s)`),
    ...t.unverifiable.map((u) => `  ${u.column}: not verifiable: ${u.reason}`),
    ...t.failures.map((f) => `  key ${f.key.join(",")}: up fails: ${f.error}`),
    ...(t.failuresTruncated ? ["  (more rows fail; verify stopped looking at this table)"] : []),
  ]);
  print(options, { migration, ...report }, `${migration}: ${report.ok ? "old and new agree" : "MISMATCH"}\n${lines.join("\n") || "nothing to verify"}`);
  if (!report.ok) process.exitCode = 1;
}
