/**
 * The linter's configuration file, `.underwaylintrc.json`, found in the working directory
 * or the nearest parent (or named with `--config`):
 *
 *     {
 *       "target": "postgres@16",
 *       "assumeInTransaction": true,
 *       "rules": { "missing-lock-timeout": "error", "drop-column": "off" }
 *     }
 *
 * `rules` turns rules off or changes their severity; command-line flags win over the file.
 */
import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

import { UnderwayError } from "../errors.js";
import type { RuleId, Severity } from "./rules.js";
import type { Target } from "./target.js";

export const CONFIG_FILE_NAME = ".underwaylintrc.json";

export type RuleSetting = Severity | "off";

export interface LintConfig {
  target?: Target;
  assumeInTransaction?: boolean;
  rules: Partial<Record<RuleId, RuleSetting>>;
  /** The file it came from, if any. */
  path?: string;
}

async function readConfig(path: string): Promise<LintConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new UnderwayError("INVALID_ARGUMENT", `${path}: cannot read the lint configuration (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UnderwayError("INVALID_ARGUMENT", `${path}: invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  // The schema (zod) loads only when there is a file to check: most lint runs have none.
  const { parseLintConfig } = await import("./config-schema.js");
  return parseLintConfig(value, path);
}

/**
 * Loads `explicitPath`, or the nearest `.underwaylintrc.json` from `cwd` upwards; an
 * empty configuration when there is none.
 *
 * @example
 * const config = await loadLintConfig({ cwd: process.cwd() });
 */
export async function loadLintConfig(options: { explicitPath?: string; cwd: string }): Promise<LintConfig> {
  if (options.explicitPath !== undefined) return readConfig(options.explicitPath);
  let dir = resolve(options.cwd);
  for (;;) {
    const candidate = join(dir, CONFIG_FILE_NAME);
    const found = await readFile(candidate, "utf8").then(
      () => true,
      () => false,
    );
    if (found) return readConfig(candidate);
    const parent = dirname(dir);
    if (parent === dir) return { rules: {} };
    dir = parent;
  }
}
