/**
 * `underway convert`: a SQL migration to underway migration files doing the same change
 * safely. Statements with an operation become operations; the rest stay as `sql`
 * operations, each reported with an `untranslated-statement` warning (and whatever the
 * linter says about it). A start-time `sql` operation must be alone in its migration, so
 * a file mixing both becomes several migrations, numbered in the order they must run.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, extname, join } from "node:path";

import type YAML from "yaml";

import { UnderwayError } from "../errors.js";
import type { AlterColumnInput, SqlInput } from "../format/schema.js";
import type { Finding } from "../lint/finding.js";
import { lintSql } from "../lint/lint.js";
import { RULES } from "../lint/rules.js";
import { SchemaKnowledge } from "../lint/schema-knowledge.js";
import { learnStatement } from "../lint/schema-learning.js";
import { loadSqlParser, parseSql, SqlSyntaxError, TextMap } from "../lint/sql-parser.js";
import { DEFAULT_TARGET } from "../lint/target.js";
import type { Target } from "../lint/target.js";
import { translateStatement } from "./statement-operations.js";
import type { ConvertState, FileOperation } from "./statement-operations.js";

/** One migration the SQL file becomes. */
export interface ConvertedMigration {
  name: string;
  operations: FileOperation[];
  /** Per operation: the comment written above it (source line, notes). */
  comments: string[];
}

export interface ConvertedSql {
  migrations: ConvertedMigration[];
  /** `untranslated-statement` warnings, and the linter's findings on what stayed SQL. */
  findings: Finding[];
  /** What to review in the operations (also written as comments in the files). */
  notes: string[];
}

/** The alter_column an operation is, if it is one. */
function alterColumnOf(operation: FileOperation): AlterColumnInput | undefined {
  return "alter_column" in operation ? operation.alter_column : undefined;
}

/**
 * Folds an alter_column into an earlier one on the same column (SET NOT NULL, then SET
 * DEFAULT ...): one alter_column per column is what underway plans as one copy of the
 * column. Returns the index of the operation it was folded into, if any.
 */
function mergeAlterColumn(operations: FileOperation[], operation: FileOperation): number | undefined {
  const next = alterColumnOf(operation);
  if (next === undefined) return undefined;
  const index = operations.findIndex((o) => alterColumnOf(o)?.table === next.table && alterColumnOf(o)?.column === next.column);
  if (index === -1) return undefined;
  const earlier = alterColumnOf(operations[index]!)!;
  const column = next.column;
  const fields = Object.keys(next) as (keyof AlterColumnInput)[];
  for (const key of fields) {
    if (key === "table" || key === "column") continue;
    const value = next[key];
    // up/down that only name the column change nothing and give way to real conversions.
    if ((key === "up" || key === "down") && (value === column || earlier[key] === undefined || earlier[key] === column)) continue;
    if (key in earlier && earlier[key] !== value) return undefined;
  }
  for (const key of fields) {
    const value = next[key];
    if ((key === "up" || key === "down") && value === column && earlier[key] !== undefined) continue;
    Object.assign(earlier, { [key]: value });
  }
  return index;
}

/** The columns (`table.column`) an operation changes; `table.*` for the whole table. Tables it creates are left out. */
function changedColumns(operation: FileOperation): string[] {
  if ("add_column" in operation) return [`${operation.add_column.table}.${operation.add_column.column.name}`];
  if ("alter_column" in operation) return [`${operation.alter_column.table}.${operation.alter_column.column}`];
  if ("drop_column" in operation) return [`${operation.drop_column.table}.${operation.drop_column.column}`];
  if ("rename_column" in operation) {
    const { table, from, to } = operation.rename_column;
    return [`${table}.${from}`, `${table}.${to}`];
  }
  if ("create_index" in operation) {
    const { table, columns } = operation.create_index;
    const names = Array.isArray(columns) ? columns.map((c) => (typeof c === "string" ? c : c.column)) : [];
    return names.map((c) => `${table}.${c}`);
  }
  if ("create_constraint" in operation) {
    const { table, columns } = operation.create_constraint;
    return (columns ?? []).map((c) => `${table}.${c}`);
  }
  if ("rename_table" in operation) return [`${operation.rename_table.from}.*`, `${operation.rename_table.to}.*`];
  if ("drop_table" in operation) return [`${operation.drop_table.name}.*`];
  return [];
}

function touchesAgain(operations: FileOperation[], operation: FileOperation): boolean {
  const created = new Set(operations.flatMap((o) => ("create_table" in o ? [o.create_table.name] : [])));
  const earlier = new Set(operations.flatMap(changedColumns));
  return changedColumns(operation).some((key) => {
    const table = key.slice(0, key.lastIndexOf("."));
    if (created.has(table) && !earlier.has(key)) return false;
    return earlier.has(key) || earlier.has(`${table}.*`) || (key.endsWith(".*") && [...earlier].some((k) => k.startsWith(`${table}.`)));
  });
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0]!.trim();
  return line.length > 90 ? `${line.slice(0, 87)}...` : line;
}

/**
 * Converts a SQL text. The parser must be loaded (`loadSqlParser`).
 *
 * @throws SqlSyntaxError when the text does not parse.
 *
 * @example
 * await loadSqlParser();
 * const { migrations } = convertSql("ALTER TABLE users RENAME COLUMN name TO full_name;", { file: "m.sql", name: "02_rename" });
 * migrations[0]!.operations; // [{ rename_column: { table: "users", from: "name", to: "full_name" } }]
 */
export function convertSql(text: string, options: { file: string; name: string; target?: Target }): ConvertedSql {
  const map = new TextMap(text);
  const statements = parseSql(text, map);
  const target = options.target ?? DEFAULT_TARGET;
  const state: ConvertState = { createdTables: new Set(), convertedConstraints: new Set(), knowledge: new SchemaKnowledge(), target };
  const findings: Finding[] = [];
  const notes: string[] = [];
  // A group of kept SQL holds one sql operation, `raw.sql`, that statements able to share its transaction join.
  type Group = { operations: FileOperation[]; comments: string[]; raw?: { transactional: boolean; sql: SqlInput } };
  const groups: Group[] = [];
  let current: Group | undefined;

  for (const statement of statements) {
    const where = `line ${statement.line}: ${firstLine(statement.text)}`;
    // The linter learns what the SQL it lints does; what became operations is learned here.
    let learned = false;
    for (const part of translateStatement(statement.node, statement.text, state)) {
      if (part.kind === "dropped") continue;
      if (part.kind === "operations") {
        if (part.operations.length === 0) continue;
        part.operations.forEach((operation, i) => {
          const comment = i === 0 ? [where, ...part.notes].join("\n") : "";
          if (current !== undefined && current.raw === undefined) {
            const merged = mergeAlterColumn(current.operations, operation);
            if (merged !== undefined) {
              if (comment !== "") current.comments[merged] = `${current.comments[merged]!}\n${comment}`.replace(/^\n/, "");
              return;
            }
          }
          // A second operation on a column an operation of this migration already changes
          // starts the next migration: underway plans each column's change once.
          if (current === undefined || current.raw !== undefined || touchesAgain(current.operations, operation)) {
            if (groups.length > 0) state.knowledge.treatCreatedAsExisting();
            groups.push((current = { operations: [], comments: [] }));
          }
          current.operations.push(operation);
          current.comments.push(comment);
        });
        notes.push(...part.notes.map((n) => `${options.file}:${statement.line}: ${n}`));
        continue;
      }
      findings.push({
        rule: "untranslated-statement",
        severity: RULES["untranslated-statement"].severity,
        file: options.file,
        line: statement.line,
        column: statement.column,
        statement: firstLine(statement.text),
        message: `kept as a sql operation: ${part.reason}`,
        hint: RULES["untranslated-statement"].alternative,
      });
      // Statements that run in a transaction can share one sql operation; CONCURRENTLY and
      // the like must run alone. A new migration sees the tables earlier ones created as existing.
      const shares = current?.raw?.transactional === true && part.transactional;
      if (!shares && groups.length > 0) state.knowledge.treatCreatedAsExisting();
      findings.push(
        ...lintSql(part.sql, {
          file: options.file,
          target,
          lockTimeoutProvided: true,
          knowledge: state.knowledge,
          position: (at) => (at.line === 1 ? { line: statement.line, column: statement.column + at.column - 1 } : { line: statement.line + at.line - 1, column: at.column }),
        }),
      );
      learned ||= part.sql === statement.text;
      if (current?.raw !== undefined && shares) {
        current.raw.sql.up = `${current.raw.sql.up};\n${part.sql}`;
        current.comments[0] = `${current.comments[0]!}\n${where}`;
      } else {
        const sql: SqlInput = { up: part.sql };
        groups.push((current = { operations: [{ sql }], comments: [`${where}\nkept as SQL: ${part.reason}`], raw: { transactional: part.transactional, sql } }));
      }
    }
    if (!learned) learnStatement(state.knowledge, statement.node, statement.text);
  }

  const migrations = groups.map((group, i) => ({
    name: groups.length === 1 ? options.name : `${options.name}_p${String(i + 1).padStart(2, "0")}`,
    operations: group.operations,
    comments: group.comments,
  }));
  return { migrations, findings, notes };
}

const require = createRequire(import.meta.url);

/** Writes a migration as YAML with its comments. */
export function migrationYaml(migration: ConvertedMigration, source: string): string {
  // yaml (CommonJS) is required by the first conversion, not by `import "underway"`.
  const YAML = require("yaml") as typeof import("yaml");
  // YAML 1.1, as underway reads migration files: a column named n, y, on or off is then quoted, not read back as a boolean.
  const document = new YAML.Document({ operations: migration.operations }, { version: "1.1" });
  document.commentBefore = ` Converted by "underway convert" from ${source}.\n Review the comments marked TODO before running "underway start".`;
  const operations = document.get("operations", true);
  if (YAML.isSeq(operations)) {
    operations.items.forEach((item, i) => {
      const comment = migration.comments[i];
      if (comment) (item as YAML.Node).commentBefore = comment.split("\n").map((l) => ` ${l}`).join("\n");
    });
  }
  return document.toString({ lineWidth: 0 });
}

const MIGRATION_NAME = /^[0-9A-Za-z]+_[^\s/\\]+$/;

/** The migration name for a SQL file: its own name when it has a sortable prefix, else its directory's (Prisma), else a timestamped one. */
export function migrationNameFor(path: string, now: Date = new Date()): string {
  const stem = basename(path, extname(path));
  if (MIGRATION_NAME.test(stem)) return stem;
  const parent = basename(dirname(path));
  if (MIGRATION_NAME.test(parent)) return parent;
  const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `${stamp}_${stem.replace(/[^A-Za-z0-9_]+/g, "_") || "converted"}`;
}

export interface ConvertFileResult {
  files: { path: string; name: string; content: string }[];
  findings: Finding[];
  notes: string[];
}

/**
 * Converts a .sql file and writes the migration file(s) (unless `write` is false).
 *
 * @throws UnderwayError `INVALID_ARGUMENT` for an unreadable file, SQL that does not parse
 *   or a file with nothing to convert.
 *
 * @example
 * const { files } = await convertFile("db/20240101_add_index.sql", { dir: "migrations" });
 */
export async function convertFile(path: string, options: { dir?: string; name?: string; write?: boolean; target?: Target } = {}): Promise<ConvertFileResult> {
  await loadSqlParser();
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UnderwayError("INVALID_ARGUMENT", `${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  const name = options.name ?? migrationNameFor(path);
  if (!MIGRATION_NAME.test(name)) {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid migration name "${name}": use <sortable prefix>_<name>, such as 20240101_add_index`);
  }
  let converted: ConvertedSql;
  try {
    converted = convertSql(text, { file: path, name, target: options.target });
  } catch (error) {
    if (error instanceof SqlSyntaxError) throw new UnderwayError("INVALID_ARGUMENT", `${path}:${error.line}:${error.column}: ${error.reason}`, { cause: error });
    throw error;
  }
  if (converted.migrations.length === 0) throw new UnderwayError("INVALID_ARGUMENT", `${path}: nothing to convert (no statement changes the schema)`);
  const dir = options.dir ?? dirname(path);
  const files = converted.migrations.map((migration) => ({
    name: migration.name,
    path: join(dir, `${migration.name}.yaml`),
    content: migrationYaml(migration, basename(path)),
  }));
  if (options.write !== false) {
    await mkdir(dir, { recursive: true });
    for (const file of files) await writeFile(file.path, file.content);
  }
  return { files, findings: converted.findings, notes: converted.notes };
}
