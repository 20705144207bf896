/** `underway new NAME`: writes a migration file from the template, named to sort after the others. */
import type { Command } from "commander";
import { UnderwayError } from "../../errors.js";

interface NewFlags {
  dir: string;
  json?: boolean;
}

export function registerNew(program: Command): void {
  program
    .command("new")
    .description("write a new migration file from a template")
    .argument("<name>", "what the migration does, e.g. add_user_email")
    .option("--dir <dir>", "directory for migration files", "migrations")
    .option("--json", "print the result as JSON")
    .action(newMigration);
}

async function newMigration(name: string, options: NewFlags): Promise<void> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_]*$/.test(name)) {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid migration name "${name}": use letters, digits and underscores`);
  }
  const [{ access, mkdir, writeFile }, { join }, { migrationTemplate }, { print }] = await Promise.all([
    import("node:fs/promises"),
    import("node:path"),
    import("../../format/load.js"),
    import("../output.js"),
  ]);
  // A timestamp prefix sorts files in the order they were written, which is the order migrate applies them.
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const path = join(options.dir, `${stamp}_${name}.yaml`);
  await mkdir(options.dir, { recursive: true });
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new UnderwayError("INVALID_ARGUMENT", `${path} already exists`);
  await writeFile(path, migrationTemplate(`${stamp}_${name}`));
  print(options, { path }, path);
}
