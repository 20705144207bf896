/** `underway validate PATH...`: checks migration files without a database (validate-command.ts does it). */
import type { Command } from "commander";

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description("check migration files without a database: format, fields, and the syntax of their SQL (for CI)")
    .argument("<paths...>", "migration files or directories of them")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print error details")
    .action(async (paths: string[], options: { json?: boolean }) => (await import("../validate-command.js")).validate(paths, options));
}
