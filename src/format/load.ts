/**
 * Reading migration files from disk: YAML or JSON, named `<sortable prefix>_<name>.<ext>`,
 * parsed the way pgroll parses them and validated by `parseMigration`.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";

import { UnderwayError } from "../errors.js";
import { MIGRATION_EXTENSIONS, migrationNameFromPath } from "./file-name.js";
import { parseMigration } from "./schema.js";
import type { Migration } from "./schema.js";

export { migrationNameFromPath } from "./file-name.js";

export interface MigrationFile {
  /** The file name without its extension; also the migration's name. */
  name: string;
  path: string;
  /** sha256 of the file's bytes, hex. */
  checksum: string;
  migration: Migration;
  /** The file's text (UTF-8, without a byte order mark). */
  raw: string;
}

function invalid(message: string, cause?: unknown): UnderwayError {
  return new UnderwayError("INVALID_MIGRATION", message, cause === undefined ? {} : { cause });
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0]!.trim();
}

function lineAndColumn(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return { line, col };
}

/**
 * YAML is read as YAML 1.1, which is what pgroll's Go decoder speaks: `yes`, `no`, `on` and
 * `off` are booleans there, and a file must mean the same thing to both tools. Timestamps stay
 * strings, as they do when pgroll decodes them into its string fields. Duplicate keys are an
 * error rather than a silent last-one-wins.
 *
 * The YAML parser is imported here, on the first YAML file, so that importing underway (or
 * loading a JSON migration) does not load it.
 */
async function parseYaml(text: string, path: string): Promise<unknown> {
  const { default: YAML } = await import("yaml");
  const lineCounter = new YAML.LineCounter();
  const document = YAML.parseDocument(text, {
    version: "1.1",
    prettyErrors: false,
    uniqueKeys: true,
    lineCounter,
    customTags: (tags) => tags.filter((tag) => typeof tag === "string" || tag.tag !== "tag:yaml.org,2002:timestamp"),
  });
  const error = document.errors[0];
  if (error !== undefined) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    throw invalid(`${path}:${line}:${col}: invalid YAML: ${firstLine(error.message)}`, error);
  }
  return document.toJS({ maxAliasCount: 100 });
}

function parseJson(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message);
    const where = position === null ? lineAndColumn(text, text.length) : lineAndColumn(text, Number(position[1]));
    const reason = firstLine(message.replace(/\s*in JSON at position \d+.*$/, "").replace(/\s*\(line \d+ column \d+\)$/, ""));
    throw invalid(`${path}:${where.line}:${where.col}: invalid JSON: ${reason}`, error);
  }
}

/** A migration file's text as plain data (YAML 1.1 or JSON by the extension), before validation. */
export async function migrationValue(raw: string, path: string): Promise<unknown> {
  return extname(path) === ".json" ? parseJson(raw, path) : parseYaml(raw, path);
}

/**
 * Reads, parses and validates one migration file.
 *
 * @throws UnderwayError `INVALID_MIGRATION` (CLI exit 2) for a bad name, an unreadable file,
 *   YAML or JSON that does not parse (with line and column), or an invalid migration.
 *
 * @example
 * const file = await loadMigrationFile("migrations/01_create_tables.yaml");
 * console.log(file.name, file.checksum, file.migration.operations.length);
 */
export async function loadMigrationFile(path: string): Promise<MigrationFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // What is wrong with the path comes first: a missing file is not a naming problem.
    if (code === "ENOENT") throw invalid(`${path}: no such file`, error);
    if (code === "EISDIR") throw invalid(`${path} is a directory; give a migration file (for a directory of them: underway migrate DIR)`, error);
    const reason = code ?? (error instanceof Error ? error.message : String(error));
    throw invalid(`${path}: cannot read the file (${reason})`, error);
  }
  const name = migrationNameFromPath(path);

  // The decoder drops a leading byte order mark; the checksum still covers it.
  let raw: string;
  try {
    raw = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw invalid(`${path}: not valid UTF-8 text`, error);
  }

  const value = await migrationValue(raw, path);
  const migration = parseMigration(value, { name, file: path });
  const checksum = createHash("sha256").update(bytes).digest("hex");
  return { name, path, checksum, migration, raw };
}

/**
 * Loads every `.yaml`, `.yml` and `.json` file of a directory (not its subdirectories),
 * sorted by file name, which is the order they are applied in. Other files are ignored.
 *
 * @throws UnderwayError `INVALID_MIGRATION` for the first invalid file, or when two files
 *   give the same migration name (`01_x.yaml` and `01_x.json`).
 *
 * @example
 * for (const file of await loadMigrationDir("migrations")) console.log(file.name);
 */
export async function loadMigrationDir(dir: string): Promise<MigrationFile[]> {
  const files: MigrationFile[] = [];
  for (const path of await migrationPaths(dir)) files.push(await loadMigrationFile(path));
  return files;
}

/**
 * The migration files of a directory in the order they apply, checked to give distinct
 * names; nothing is read but the directory.
 */
export async function migrationPaths(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw invalid(`${dir}: cannot read the migrations directory (${reason})`, error);
  }

  // Code-point order, as pgroll's strings.Compare: the same on every machine and locale.
  const names = entries
    .filter((entry) => !entry.isDirectory() && (MIGRATION_EXTENSIONS as readonly string[]).includes(extname(entry.name)))
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  const paths: string[] = [];
  const seen = new Map<string, string>();
  for (const fileName of names) {
    const path = join(dir, fileName);
    const name = migrationNameFromPath(path);
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw invalid(`${path}: migration "${name}" is also defined by ${earlier}; migration names must be unique`);
    }
    seen.set(name, path);
    paths.push(path);
  }
  return paths;
}

/**
 * The starter file `underway new NAME` writes: commented examples of the common operations
 * and an empty operations list, which is refused until an operation is added.
 *
 * @example
 * await writeFile(`migrations/${prefix}_${name}.yaml`, migrationTemplate(name));
 */
export function migrationTemplate(name: string): string {
  return `# Migration ${name}
#
# A list of operations in pgroll's format; underway runs it in two phases:
# \`underway start\` expands the schema (old and new versions both work), and
# \`underway complete\` contracts it once every client uses the new version.
# The migration's name is the file name. Field reference: docs/file-format.md
#
# Examples (uncomment and adapt; one key per operation):
#
#  - create_table:
#      name: users
#      columns:
#        - name: id
#          type: bigint
#          pk: true
#          generated:
#            identity:
#              user_specified_values: BY DEFAULT
#        - name: email
#          type: text            # columns are NOT NULL unless nullable: true
#          unique: true
#
#  - add_column:
#      table: users
#      column:
#        name: plan
#        type: text
#        default: "'free'"       # SQL: string literals keep their own quotes
#      up: "'free'"               # value for existing rows and old-version writes
#
#  - alter_column:
#      table: users
#      column: email
#      nullable: false
#      up: COALESCE(email, id || '@unknown.invalid')   # old -> new
#      down: email                                      # new -> old
#
#  - rename_column:
#      table: users
#      from: plan
#      to: tier
#
#  - create_index:
#      name: users_email_idx
#      table: users
#      columns:
#        - column: email
#
#  - drop_column:
#      table: users
#      column: legacy_flag
#      down: "false"             # value for the old version when the new one writes
#
#  - sql:
#      up: CREATE EXTENSION IF NOT EXISTS citext
#      down: DROP EXTENSION IF EXISTS citext

operations: []
`;
}
