/**
 * `underway lint` and `underway convert`: the commands that read SQL without a database.
 * main.ts adds them with `registerLintCommands(program)`. Their actions import the linter,
 * the converter and the SQL parser when they run, so declaring them (for `--help`) is cheap.
 */
import type { Command } from "commander";

import { UnderwayError } from "../errors.js";
import type { LintReport } from "../lint/lint.js";
import { VERSION } from "./version.js";

const FORMATS = ["text", "json", "sarif", "github"] as const;
type Format = (typeof FORMATS)[number];


/** The report in the format asked for; only that format's module is loaded. */
async function render(report: LintReport, format: Format): Promise<string> {
  switch (format) {
    case "text":
      return (await import("../lint/format/text.js")).formatText(report);
    case "json":
      return (await import("../lint/format/json.js")).formatJson(report);
    case "sarif":
      return (await import("../lint/format/sarif.js")).formatSarif(report, VERSION);
    case "github":
      return (await import("../lint/format/github.js")).formatGithub(report);
  }
}

interface LintFlags {
  format: string;
  target?: string;
  config?: string;
  assumeInTransaction?: boolean;
}

interface ConvertFlags {
  dir?: string;
  name?: string;
  stdout?: boolean;
  json?: boolean;
}

/**
 * Adds `lint` and `convert` to the program.
 *
 * @example
 * const program = new Command("underway");
 * registerLintCommands(program);
 */
export function registerLintCommands(program: Command): void {
  program
    .command("lint")
    .description("check SQL migrations (.sql files, and the sql operations of migration files) for statements that lock, rewrite or break the running application")
    .argument("<paths...>", "files or directories (.sql, .yaml, .yml, .json)")
    .option("--format <format>", `output format: ${FORMATS.join(", ")}`, "text")
    .option("--target <target>", "postgres@14 ... postgres@18, cockroachdb or yugabytedb (default: postgres@14, or the config file's)")
    .option("--config <file>", "lint configuration (default: the nearest .underwaylintrc.json)")
    .option("--assume-in-transaction", "each .sql file runs in one transaction (the migration tool wraps it)")
    .option("--verbose", "print error details")
    .action(async (paths: string[], flags: LintFlags) => {
      if (!(FORMATS as readonly string[]).includes(flags.format)) {
        throw new UnderwayError("INVALID_ARGUMENT", `--format must be one of ${FORMATS.join(", ")}, got "${flags.format}"`);
      }
      const [{ loadLintConfig }, { DEFAULT_TARGET, parseTarget }, { lintExitCode, lintPaths }] = await Promise.all([
        import("../lint/config.js"),
        import("../lint/target.js"),
        import("../lint/lint.js"),
      ]);
      const config = await loadLintConfig({ explicitPath: flags.config, cwd: process.cwd() });
      const target = flags.target !== undefined ? parseTarget(flags.target) : (config.target ?? DEFAULT_TARGET);
      const report = await lintPaths(paths, {
        target,
        assumeInTransaction: flags.assumeInTransaction ?? config.assumeInTransaction ?? false,
        rules: config.rules,
      });
      process.stdout.write(await render(report, flags.format as Format));
      process.exitCode = lintExitCode(report);
    });

  program
    .command("convert")
    .description("write an underway migration file that makes the same change as a SQL migration, safely")
    .argument("<file>", "a .sql migration")
    .option("--dir <dir>", "where to write the migration file(s) (default: beside the .sql file)")
    .option("--name <name>", "migration name (default: from the file name, e.g. 20240101_add_index)")
    .option("--stdout", "print the migration instead of writing it (single-file results only)")
    .option("--json", "print what was written as JSON")
    .option("--verbose", "print error details")
    .action(async (file: string, flags: ConvertFlags) => {
      const { convertFile } = await import("../convert/convert-file.js");
      const result = await convertFile(file, { dir: flags.dir, name: flags.name, write: !flags.stdout });
      if (result.findings.length > 0) {
        process.stderr.write(await render({ findings: result.findings, files: [file], problems: [] }, "text"));
      }
      if (flags.stdout) {
        if (result.files.length > 1) {
          throw new UnderwayError("INVALID_ARGUMENT", `${file} converts to ${result.files.length} migrations (a raw sql operation must run alone); use --dir instead of --stdout`);
        }
        process.stdout.write(result.files[0]?.content ?? "");
        return;
      }
      if (flags.json) process.stdout.write(`${JSON.stringify({ files: result.files.map((f) => f.path), findings: result.findings }, null, 2)}\n`);
      else process.stdout.write(`${result.files.map((f) => f.path).join("\n")}\n`);
    });
}
