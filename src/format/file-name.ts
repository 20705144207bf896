/**
 * The naming rule of migration files, `<sortable prefix>_<name>.(yaml|yml|json)`, apart from
 * reading them: the linter tells migration files from other files with it, without loading
 * the YAML and schema parsers.
 */
import { basename, extname } from "node:path";

import { UnderwayError } from "../errors.js";

export const MIGRATION_EXTENSIONS = [".yaml", ".yml", ".json"] as const;

/**
 * A sortable prefix, an underscore, then the rest: `01_create_tables`, `20250114093000_add_index`.
 * Kept loose on purpose; what matters is that names sort in the order they must run.
 */
const FILE_NAME = /^[0-9A-Za-z]+_[^\s/\\]+$/;

/** Checks a file name against the naming rule and returns the migration name, or throws. */
export function migrationNameFromPath(path: string): string {
  const file = basename(path);
  const extension = extname(file);
  if (!(MIGRATION_EXTENSIONS as readonly string[]).includes(extension)) {
    throw new UnderwayError("INVALID_MIGRATION", `${path}: a migration file ends in .yaml, .yml or .json`);
  }
  const name = file.slice(0, -extension.length);
  if (!FILE_NAME.test(name)) {
    throw new UnderwayError("INVALID_MIGRATION", `${path}: a migration file is named <sortable prefix>_<name>${extension}, such as 01_create_users${extension}`);
  }
  return name;
}
