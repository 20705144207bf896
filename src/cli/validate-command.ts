/**
 * `underway validate FILE|DIR...`: what can be checked of migration files without a
 * database, for CI. Each file is read and validated as `start` reads it (name, YAML or
 * JSON, every operation's fields), and the SQL it carries is parsed with PostgreSQL's own
 * parser: `sql` statements, every `up`, `down`, default, check, predicate and generated
 * expression, and every column type. A directory is also checked for two files giving
 * the same migration name. What needs the catalog (that a table or column exists, that
 * `up` yields the column's type, what locks and how many rows) is for `plan` and `start`.
 */
import { stat } from "node:fs/promises";
import { UnderwayError } from "../errors.js";
import { loadMigrationFile, migrationPaths, migrationValue } from "../format/load.js";
import { loadSqlParser, parseSql } from "../lint/sql-parser.js";

export interface ValidateFlags {
  json?: boolean;
}

interface Problem {
  /** `operations[2].alter_column.up`; null for the file as a whole, whose message then names the file. */
  where: string | null;
  message: string;
}

interface FileResult {
  path: string;
  ok: boolean;
  problems: Problem[];
}

/** Keys whose string value is one SQL expression, wherever they stand in an operation. */
const EXPRESSION_KEYS = new Set(["up", "down", "default", "check", "expression", "predicate"]);
/** Operations whose `up` and `down` are whole statements, not expressions. */
const STATEMENT_OPERATIONS = new Set(["sql"]);
/** Operations whose own `type` is a column type (elsewhere `type` names a kind of constraint or identity). */
const TYPED_OPERATIONS = new Set(["alter_column", "change_type"]);

export async function validate(paths: string[], options: ValidateFlags): Promise<void> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info === null) throw new UnderwayError("INVALID_ARGUMENT", `${path}: no such file or directory`);
    const found = info.isDirectory() ? await migrationPaths(path) : [path];
    // A mistyped directory must not pass a CI step.
    if (found.length === 0) throw new UnderwayError("INVALID_ARGUMENT", `${path}: no migration files in it (.yaml, .yml or .json)`);
    files.push(...found);
  }
  await loadSqlParser();
  const results: FileResult[] = [];
  for (const path of files) results.push(await validateFile(path));
  const bad = results.filter((r) => !r.ok);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: bad.length === 0, files: results }, null, 2)}\n`);
  } else {
    const lines = bad.flatMap((r) => r.problems.map((p) => (p.where === null ? p.message : `${r.path}: ${p.where}: ${p.message}`)));
    lines.push(
      `checked ${results.length} file${results.length === 1 ? "" : "s"} without a database: ${bad.length === 0 ? "no problems" : `${bad.length} with problems`}` +
        " (plan checks them against the database's catalog)",
    );
    process.stdout.write(`${lines.join("\n")}\n`);
  }
  if (bad.length > 0) process.exitCode = 1;
}

async function validateFile(path: string): Promise<FileResult> {
  let raw: string;
  try {
    raw = (await loadMigrationFile(path)).raw;
  } catch (error) {
    if (!(error instanceof UnderwayError)) throw error;
    // The loader's message names the file (and the line, for YAML or JSON that does not parse).
    return { path, ok: false, problems: [{ where: null, message: error.message.startsWith(path) ? error.message : `${path}: ${error.message}` }] };
  }
  const value = (await migrationValue(raw, path)) as { operations?: unknown[] };
  const problems: Problem[] = [];
  (value.operations ?? []).forEach((operation, i) => {
    if (operation === null || typeof operation !== "object") return;
    for (const [kind, body] of Object.entries(operation)) walk(body, `operations[${i}].${kind}`, kind, null, true, problems);
  });
  return { path, ok: problems.length === 0, problems };
}

/**
 * Checks the SQL of one operation's fields, depth first; `parentKey` is the key `value`
 * stands under, `topLevel` whether `value` is the operation's own body.
 */
function walk(value: unknown, where: string, operation: string, parentKey: string | null, topLevel: boolean, problems: Problem[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(item, `${where}[${i}]`, operation, parentKey, false, problems));
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, field] of Object.entries(value)) {
    const at = `${where}.${key}`;
    if (typeof field === "string") {
      const problem = checkField(operation, parentKey, key, field, topLevel);
      if (problem) problems.push({ where: at, message: problem });
    } else if ((key === "up" || key === "down") && field !== null && typeof field === "object" && !Array.isArray(field)) {
      // A map of column to expression (create_constraint, drop_multicolumn_constraint).
      for (const [column, expression] of Object.entries(field)) {
        if (typeof expression === "string") {
          const problem = expressionProblem(expression);
          if (problem) problems.push({ where: `${at}.${column}`, message: problem });
        }
      }
    } else {
      walk(field, at, operation, key, false, problems);
    }
  }
}

function checkField(operation: string, parentKey: string | null, key: string, text: string, topLevel: boolean): string | null {
  if (STATEMENT_OPERATIONS.has(operation) && topLevel && (key === "up" || key === "down")) return statementsProblem(text);
  if (key === "type") {
    const isColumn = parentKey === "column" || parentKey === "columns" || (topLevel && TYPED_OPERATIONS.has(operation));
    return isColumn ? typeProblem(text) : null;
  }
  if (key === "constraint" && parentKey === "check") return expressionProblem(text);
  if (EXPRESSION_KEYS.has(key) && parentKey !== "identity") return expressionProblem(text);
  return null;
}

function parseProblem(text: string): { count: number } | string {
  try {
    return { count: parseSql(text).length };
  } catch (error) {
    return error instanceof Error ? error.message.replace(/^\d+:\d+: /, "") : String(error);
  }
}

function statementsProblem(text: string): string | null {
  const parsed = parseProblem(text);
  return typeof parsed === "string" ? `does not parse as SQL: ${parsed}` : null;
}

function expressionProblem(text: string): string | null {
  const parsed = parseProblem(`SELECT (${text}\n)`);
  if (typeof parsed === "string") return `is not an SQL expression: ${parsed}`;
  return parsed.count === 1 ? null : "is not one SQL expression (it closes the expression and goes on)";
}

function typeProblem(text: string): string | null {
  const parsed = parseProblem(`SELECT NULL::${text}\n`);
  if (typeof parsed === "string") return `is not an SQL type: ${parsed}`;
  return parsed.count === 1 ? null : "is not one SQL type";
}
