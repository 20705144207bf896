/**
 * What every measurement of the backfill benchmark works with: the server, its database
 * as the owner and as the superuser, pgbench, and the migration it applies.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Client } from "../../src/db/connection.js";
import { loadMigrationFile, type MigrationFile } from "../../src/format/load.js";
import type { PgbenchRun, PgbenchTarget } from "./pgbench.js";

export interface BenchContext {
  /** The database owner's URL (a non-superuser role, as underway requires). */
  url: string;
  /** Connected as the owner. */
  db: Client;
  /** Connected as the superuser: CHECKPOINT, WAL positions, every session's activity. */
  admin: Client;
  /** Rows of pgbench_accounts. */
  rows: number;
  pgbench: string;
  target: PgbenchTarget;
  /** Each pgbench measurement's clients, threads and length. */
  run: PgbenchRun;
  /** maxRate for figure 2's backfill; null keeps the default settings. */
  maxRate: number | null;
  /** Backfill workers for figure 1 (`--workers`). */
  workers: number;
  /** The benchmark's own postmaster, so its CPU can be told from other processes'. */
  postmasterPid: number | undefined;
  /** A temporary directory for migration files. */
  dir: string;
  /** Progress, on stderr. */
  log: (message: string) => void;
}

/** An `alter_column` int -> bigint of `abalance`, written and loaded as a user's file would be. */
export async function bigintMigration(dir: string, name: string, table: string): Promise<MigrationFile> {
  const path = join(dir, `${name}.json`);
  const operations = [{ alter_column: { table, column: "abalance", type: "bigint", up: "abalance::bigint", down: "abalance::integer" } }];
  await writeFile(path, JSON.stringify({ operations }, null, 2));
  return loadMigrationFile(path);
}
