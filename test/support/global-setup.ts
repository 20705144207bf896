import { existsSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { startLocalServer, type LocalServerOptions } from "../../src/harness/local-server.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's PostgreSQL server: its superuser URL and major version. */
    underwayPostgres: { adminUrl: string; version: number };
  }
}

/**
 * Which PostgreSQL the run uses, from UNDERWAY_TEST_PG: "15" is the system's PostgreSQL 15,
 * "18" or "embedded" the bundled embedded binaries, another major its embedded alias
 * package. Without it: the system's 15 when installed, else the embedded binaries.
 */
function testedVersion(): LocalServerOptions["version"] {
  const wanted = process.env.UNDERWAY_TEST_PG?.trim();
  if (!wanted) return existsSync("/usr/lib/postgresql/15/bin") ? 15 : "embedded";
  if (wanted === "embedded" || wanted === "system") return wanted;
  const major = Number(wanted);
  if (!Number.isInteger(major)) throw new Error(`UNDERWAY_TEST_PG must be a major version, "system" or "embedded", not ${wanted}`);
  return major;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const version = testedVersion();
  const server = await startLocalServer({ version, fast: true });
  if (typeof version === "number" && server.version !== version) {
    await server.stop();
    throw new Error(`asked for PostgreSQL ${version}, got ${server.version} from ${server.binDir}`);
  }
  project.provide("underwayPostgres", { adminUrl: server.url, version: server.version });
  return () => server.stop();
}
