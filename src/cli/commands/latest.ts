/** `underway latest`: the newest version schema and the URL a client of it connects with. */
import type { Command } from "commander";
import { UnderwayError } from "../../errors.js";
import { commandAction, type CommandContext } from "../command-action.js";
import { connectionOptions, type GlobalOptions } from "../options.js";

export function registerLatest(program: Command): void {
  connectionOptions(program.command("latest").description("print the newest version schema and how to connect to it")).action(commandAction({ stoppable: false }, latest));
}

async function latest(context: CommandContext, options: GlobalOptions): Promise<void> {
  const [{ versionUrl }, { migratorFor }, { print, searchPathOf }] = await Promise.all([import("../../db/version-url.js"), import("../migrator-for.js"), import("../output.js")]);
  const latest = await migratorFor(options, context).latest();
  if (!latest) throw new UnderwayError("INVALID_STATE", `no migration has been started in schema "${options.schema}"`);
  const searchPath = searchPathOf(latest.versionSchema, options.schema);
  // The URL as given (migratorFor checked it), not as --connect-timeout rewrote it.
  const { url, passwordLeftOut } = versionUrl(options.databaseUrl!, latest.versionSchema, options.schema);
  const passwordNote = passwordLeftOut ? "the password is left out of this URL: give it with PGPASSWORD or ~/.pgpass; " : "";
  const note =
    passwordNote +
    "a transaction pooler (PgBouncer in transaction mode) does not pass this URL's options on: behind one, set search_path in each transaction (SELECT set_config('search_path', '" +
    searchPath +
    "', true)) or use withVersion/withKyselyVersion";
  print(
    options,
    { migration: latest.name, phase: latest.phase, versionSchema: latest.versionSchema, searchPath, url, note },
    `${latest.versionSchema}\n${url}`,
  );
  if (!options.json) context.printer.line(`note: ${note}`);
}
