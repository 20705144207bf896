import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import YAML from "yaml";
import { CLI } from "../support/cli.js";

/** What one run of the binary did. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The non-empty lines of stderr. */
  errorLines: string[];
}

const COMPILED_ENTRY = join(dirname(CLI), "../dist/cli/main.js");

/**
 * Runs the built binary, `node bin/underway.js ARGS`, as a user would. The tests never
 * build: `npm test` builds first, so a missing `dist/` means vitest was run on its own.
 *
 * `env` is the whole environment of the child apart from PATH and HOME, so a
 * DATABASE_URL of the calling shell cannot leak in; pass `DATABASE_URL` explicitly.
 */
export function underway(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliRun> {
  if (!existsSync(COMPILED_ENTRY)) {
    throw new Error(`${COMPILED_ENTRY} is missing: run "npm run build" (npm test does) before these tests`);
  }
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir(), ...options.env };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { env, cwd: options.cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") {
        reject(error);
        return;
      }
      resolve({
        code: error ? (error.code as number) : 0,
        stdout,
        stderr,
        errorLines: stderr.split("\n").filter((line) => line.trim() !== ""),
      });
    });
  });
}

/** Parses stdout as JSON, failing with the run's output when it is not. */
export function json<T = Record<string, unknown>>(run: CliRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${run.code}):\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

/** A new empty directory for migration files. */
export function scratchDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "underway-cli-"));
}

/** Writes a migration file: text as it is, or `{ operations }` as YAML. Returns its path. */
export async function writeMigration(dir: string, fileName: string, content: string | unknown[]): Promise<string> {
  const path = join(dir, fileName);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, typeof content === "string" ? content : YAML.stringify({ operations: content }));
  return path;
}

/** Runs one query on a short-lived connection. */
export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Rows of the state schema's migrations table (none when the state schema does not exist). */
export async function migrationRows(url: string, stateSchema = "underway"): Promise<{ name: string; phase: string }[]> {
  const [exists] = await query<{ ok: boolean }>(url, "SELECT to_regclass($1) IS NOT NULL AS ok", [`"${stateSchema}".migrations`]);
  if (!exists?.ok) return [];
  return query(url, `SELECT name, phase FROM "${stateSchema}".migrations ORDER BY id`);
}
