/**
 * The linter's entry points: a SQL text, a file (`.sql`, or an underway migration file
 * whose `sql` operations are linted), or a list of files and directories.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";

import { UnderwayError } from "../errors.js";
import { migrationNameFromPath } from "../format/file-name.js";
import { checkStatement } from "./checks/statements.js";
import type { LintConfig } from "./config.js";
import { compareFindings } from "./finding.js";
import type { Finding } from "./finding.js";
import { LintContext } from "./lint-context.js";
import type { LintTextOptions } from "./lint-context.js";
import { SchemaKnowledge } from "./schema-knowledge.js";
import { loadSqlParser, parseSql, SqlSyntaxError, TextMap } from "./sql-parser.js";
import { isSuppressed, readSuppressions } from "./suppression.js";
import { DEFAULT_TARGET } from "./target.js";
import type { Target } from "./target.js";

export type { LintTextOptions } from "./lint-context.js";

/** Applies a configuration's rule settings: drops rules turned off, changes severities. */
export function applyRuleSettings(findings: Finding[], rules: LintConfig["rules"]): Finding[] {
  const out: Finding[] = [];
  for (const finding of findings) {
    const setting = rules[finding.rule];
    if (setting === "off") continue;
    out.push(setting === undefined ? finding : { ...finding, severity: setting });
  }
  return out;
}

/**
 * Lints one SQL text. The parser must be loaded (`loadSqlParser`).
 *
 * @throws SqlSyntaxError when the text does not parse.
 *
 * @example
 * await loadSqlParser();
 * const findings = lintSql("CREATE INDEX i ON users (email);", { file: "m.sql", target: DEFAULT_TARGET });
 * findings[0]?.rule; // "require-concurrent-index-creation"
 */
export function lintSql(text: string, options: LintTextOptions): Finding[] {
  const map = new TextMap(text);
  const statements = parseSql(text, map);
  const context = new LintContext(options, map);
  const suppressions = readSuppressions(text);
  for (const statement of statements) {
    const before = context.findings.length;
    context.beginStatement(statement);
    checkStatement(context, statement.node);
    if (suppressions.byLine.size > 0) {
      const added = context.findings.splice(before);
      for (const finding of added) if (!isSuppressed(suppressions, statement.line, finding.rule)) context.findings.push(finding);
    }
  }
  return context.findings;
}

export interface LintOptions {
  target?: Target;
  /** Treat each .sql file as one transaction (the migration tool wraps it in BEGIN/COMMIT). */
  assumeInTransaction?: boolean;
  rules?: LintConfig["rules"];
  /**
   * What the earlier migrations of a sequence did to the schema; the file adds to it.
   * `lintPaths` shares one across all the files it lints.
   */
  knowledge?: SchemaKnowledge;
}

/** A file that could not be linted: unreadable, not SQL, or an invalid migration file. */
export interface LintProblem {
  file: string;
  message: string;
}

export interface LintReport {
  findings: Finding[];
  /** Every file linted, in order. */
  files: string[];
  problems: LintProblem[];
}

export const LINTABLE_EXTENSIONS = [".sql", ".yaml", ".yml", ".json"] as const;

async function readText(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new UnderwayError("INVALID_ARGUMENT", `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new UnderwayError("INVALID_ARGUMENT", "not valid UTF-8 text", { cause: error });
  }
}

/**
 * Lints one file: a `.sql` file as a whole, or the `sql` operations of a `.yaml`, `.yml`
 * or `.json` migration file (which underway runs with a lock_timeout, each operation in
 * one transaction).
 *
 * @throws UnderwayError `INVALID_ARGUMENT` for an unreadable file or SQL that does not
 *   parse (`line:column: reason`), `INVALID_MIGRATION` for an invalid migration file.
 */
export async function lintFile(path: string, options: LintOptions = {}): Promise<Finding[]> {
  await loadSqlParser();
  const target = options.target ?? DEFAULT_TARGET;
  const text = await readText(path);
  let findings: Finding[];
  const knowledge = options.knowledge ?? new SchemaKnowledge();
  if (extname(path).toLowerCase() === ".sql") {
    findings = lintSql(text, { file: path, target, assumeInTransaction: options.assumeInTransaction, knowledge });
  } else {
    // The YAML and schema parsers load only for migration files: linting .sql files needs neither.
    const [{ loadMigrationFile }, { embeddedSql }] = await Promise.all([import("../format/load.js"), import("./migration-sql.js")]);
    await loadMigrationFile(path);
    findings = [];
    for (const embedded of embeddedSql(text)) {
      try {
        // Parsed once to count its statements, then linted (which parses again): cheap next to reading the file.
        const count = parseSql(embedded.sql).length;
        findings.push(
          ...lintSql(embedded.sql, {
            file: path,
            target,
            // One query string with several statements runs as one implicit transaction.
            assumeInTransaction: count > 1,
            lockTimeoutProvided: true,
            position: embedded.position,
            knowledge,
          }),
        );
      } catch (error) {
        if (error instanceof SqlSyntaxError) {
          const at = embedded.position({ line: error.line, column: error.column });
          throw new UnderwayError("INVALID_ARGUMENT", `${at.line}:${at.column}: ${embedded.path}: ${error.reason}`, { cause: error });
        }
        throw error;
      }
    }
  }
  return applyRuleSettings(findings, options.rules ?? {}).sort(compareFindings);
}

/**
 * Every .sql file, and the YAML and JSON files named like migrations (`01_add_users.yaml`):
 * a directory also holds package.json, CI workflows and the like, which are not migrations.
 */
function isLintable(path: string): boolean {
  const extension = extname(path).toLowerCase();
  if (extension === ".sql") return true;
  if (!(LINTABLE_EXTENSIONS as readonly string[]).includes(extension)) return false;
  try {
    migrationNameFromPath(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The order migration runners apply files in: by name, with runs of digits compared as
 * numbers, so `V2__x.sql` comes before `V10__x.sql` (Flyway, golang-migrate, goose) while
 * zero-padded and timestamped names (Rails, Prisma, Drizzle, node-pg-migrate) keep their
 * plain order.
 */
export function migrationOrder(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (i % 2 === 1) {
      // Digit runs: the longer number (without leading zeros) is the larger one.
      const nx = x.replace(/^0+(?=\d)/, "");
      const ny = y.replace(/^0+(?=\d)/, "");
      if (nx.length !== ny.length) return nx.length - ny.length;
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The lintable files of a directory and its subdirectories, in the order migrations run. */
export async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => migrationOrder(a.name, b.name))) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesIn(path)));
    else if (isLintable(path)) files.push(path);
  }
  return files;
}

/**
 * Lints files and directories (every .sql, .yaml, .yml and .json file below a directory)
 * as one sequence of migrations: the files in the order given, a directory's in the order
 * migrations run (`migrationOrder`), each file seeing what the earlier ones did to the schema
 * (the tables they created, the constraints they validated, the columns they made NOT NULL).
 * Transactions and session settings end with each file. A file that cannot be read or
 * parsed becomes a problem; the others are still linted.
 *
 * @example
 * const report = await lintPaths(["migrations"], { target: parseTarget("postgres@16") });
 * const failed = report.problems.length > 0 ? 2 : report.findings.some((f) => f.severity === "error") ? 1 : 0;
 */
export async function lintPaths(paths: string[], options: LintOptions = {}): Promise<LintReport> {
  const report: LintReport = { findings: [], files: [], problems: [] };
  const knowledge = options.knowledge ?? new SchemaKnowledge();
  for (const path of paths) {
    let files: string[];
    try {
      files = (await stat(path)).isDirectory() ? await filesIn(path) : [path];
    } catch (error) {
      report.problems.push({ file: path, message: `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
      continue;
    }
    for (const file of files) {
      report.files.push(file);
      try {
        report.findings.push(...(await lintFile(file, { ...options, knowledge })));
      } catch (error) {
        if (!(error instanceof UnderwayError)) throw error;
        // Migration-file errors already start with the path.
        report.problems.push({ file, message: error.message.startsWith(file) ? error.message.slice(file.length).replace(/^:\s*/, "") : error.message });
      }
    }
  }
  report.findings.sort(compareFindings);
  return report;
}

/** The exit code of a report: 2 when a file could not be linted, 1 on any error, else 0. */
export function lintExitCode(report: Pick<LintReport, "findings" | "problems">): 0 | 1 | 2 {
  if (report.problems.length > 0) return 2;
  return report.findings.some((f) => f.severity === "error") ? 1 : 0;
}

