/**
 * Where a command's settings come from, first found wins: its flags, then `UNDERWAY_*`
 * environment variables (`--state-schema` is `UNDERWAY_STATE_SCHEMA`), then a
 * configuration file found upward from the working directory (`underway.config.json`,
 * `.yaml` or `.yml`), then the flag's default. The database URL also keeps `DATABASE_URL`,
 * after `UNDERWAY_DATABASE_URL` and before the file. Every option that takes a value can be
 * set this way; on/off flags (`--json`, `--complete`) are given on the command line only.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command, Option } from "commander";
import { UnderwayError } from "../errors.js";

export const CONFIG_FILE_NAMES = ["underway.config.json", "underway.config.yaml", "underway.config.yml"] as const;

/** The option names a setting may be given as in the file: `stateSchema` or `state-schema`. */
function attribute(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function envName(option: Option): string {
  return `UNDERWAY_${option.long!.replace(/^--/, "").replace(/-/g, "_").toUpperCase()}`;
}

/** The nearest configuration file from `cwd` upward, or null. Two in one directory is an error. */
export function findConfigFile(cwd: string): string | null {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const found = CONFIG_FILE_NAMES.map((name) => join(dir, name)).filter((path) => existsSync(path));
    if (found.length > 1) throw new UnderwayError("INVALID_ARGUMENT", `${found.join(" and ")} both configure underway; keep one`);
    if (found.length === 1) return found[0]!;
    if (dirname(dir) === dir) return null;
  }
}

/** The settings of a configuration file, each as the string a flag would give. */
export async function readConfigFile(path: string, known: Set<string>): Promise<Map<string, string>> {
  let value: unknown;
  try {
    const text = readFileSync(path, "utf8");
    if (path.endsWith(".json")) value = JSON.parse(text);
    else {
      const { default: YAML } = await import("yaml");
      value = YAML.parse(text, { version: "1.1" });
    }
  } catch (error) {
    throw new UnderwayError("INVALID_ARGUMENT", `${path}: cannot read the configuration (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
  }
  if (value === null || value === undefined) return new Map();
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new UnderwayError("INVALID_ARGUMENT", `${path}: the configuration must be a map of settings, such as { "schema": "app" }`);
  }
  const settings = new Map<string, string>();
  for (const [key, setting] of Object.entries(value)) {
    const name = attribute(key);
    if (!known.has(name)) {
      throw new UnderwayError("INVALID_ARGUMENT", `${path}: unknown setting "${key}" (settings are the options that take a value: ${[...known].sort().join(", ")})`);
    }
    if (typeof setting !== "string" && typeof setting !== "number") {
      throw new UnderwayError("INVALID_ARGUMENT", `${path}: "${key}" must be a string or a number, as on the command line`);
    }
    settings.set(name, String(setting));
  }
  return settings;
}

/** Every option that takes a value, in any command: what a configuration file may set. */
function settingNames(program: Command): Set<string> {
  const names = new Set<string>();
  const visit = (command: Command) => {
    for (const option of command.options) if (option.long && !option.isBoolean()) names.add(option.attributeName());
    command.commands.forEach(visit);
  };
  visit(program);
  return names;
}

/**
 * Fills the options of `command` that its flags did not give from the environment, then
 * from the configuration file; run before the command's action. Where the database URL
 * came from is kept as `databaseUrlSource`, for messages that name where a bad one was given.
 */
export async function applyConfiguration(program: Command, command: Command, cwd = process.cwd(), env = process.env): Promise<void> {
  const options = command.options.filter((o) => o.long && !o.isBoolean());
  if (options.length === 0) return;
  // Read even when the flags give everything: a file with an unknown setting is an error for every command.
  const path = findConfigFile(cwd);
  const config = path === null ? null : { path, settings: await readConfigFile(path, settingNames(program)) };
  for (const option of options) {
    const key = option.attributeName();
    const source = command.getOptionValueSource(key);
    if (source === "cli") {
      if (key === "databaseUrl") command.setOptionValueWithSource("databaseUrlSource", "--database-url", "implied");
      continue;
    }
    const fromEnv = env[envName(option)];
    if (fromEnv !== undefined && fromEnv !== "") {
      command.setOptionValueWithSource(key, fromEnv, "env");
      if (key === "databaseUrl") command.setOptionValueWithSource("databaseUrlSource", envName(option), "implied");
      continue;
    }
    // DATABASE_URL, as every PostgreSQL tool reads it, comes before the file. Read here
    // only: every command takes its database URL from its options.
    if (key === "databaseUrl" && env.DATABASE_URL) {
      command.setOptionValueWithSource(key, env.DATABASE_URL, "env");
      command.setOptionValueWithSource("databaseUrlSource", "DATABASE_URL", "implied");
      continue;
    }
    const value = config?.settings.get(key);
    if (config && value !== undefined) {
      command.setOptionValueWithSource(key, value, "config");
      if (key === "databaseUrl") command.setOptionValueWithSource("databaseUrlSource", `databaseUrl in ${config.path}`, "implied");
    }
  }
}
