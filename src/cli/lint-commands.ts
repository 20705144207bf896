/**
 * `underway lint` and `underway convert`: the commands that read SQL without a database.
 * main.ts adds them with `registerLintCommands(program)`.
 */
import { createRequire } from "node:module";

import type { Command } from "commander";

import { convertFile } from "../convert/convert-file.js";
import { UnderwayError } from "../errors.js";
import { loadLintConfig } from "../lint/config.js";
import { formatGithub } from "../lint/format/github.js";
import { formatJson } from "../lint/format/json.js";
import { formatSarif } from "../lint/format/sarif.js";
import { formatText } from "../lint/format/text.js";
import { lintExitCode, lintPaths } from "../lint/lint.js";
import type { LintReport } from "../lint/lint.js";
import { DEFAULT_TARGET, parseTarget } from "../lint/target.js";

const FORMATS = ["text", "json", "sarif", "github"] as const;
type Format = (typeof FORMATS)[number];

function toolVersion(): string {
  const require = createRequire(import.meta.url);
  return (require("../../package.json") as { version: string }).version;
}

function render(report: LintReport, format: Format): string {
  switch (format) {
    case "text":
      return formatText(report);
    case "json":
      return formatJson(report);
    case "sarif":
      return formatSarif(report, toolVersion());
    case "github":
      return formatGithub(report);
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
      const config = await loadLintConfig({ explicitPath: flags.config, cwd: process.cwd() });
      const target = flags.target !== undefined ? parseTarget(flags.target) : (config.target ?? DEFAULT_TARGET);
      const report = await lintPaths(paths, {
        target,
        assumeInTransaction: flags.assumeInTransaction ?? config.assumeInTransaction ?? false,
        rules: config.rules,
      });
      process.stdout.write(render(report, flags.format as Format));
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
      const result = await convertFile(file, { dir: flags.dir, name: flags.name, write: !flags.stdout });
      if (result.findings.length > 0) {
        process.stderr.write(formatText({ findings: result.findings, files: [file], problems: [] }));
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
