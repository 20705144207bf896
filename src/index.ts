/**
 * underway's engine API: run migrations (the `Migrator`), read and check migration files,
 * the plan a migration makes, backfills, the client helpers that pin a version schema, and
 * the errors. Nothing else is public here; the other parts have entry points of their own,
 * so that running migrations never loads them:
 *
 * - `underway/lint`: the SQL linter and the plan report (the WebAssembly SQL parser)
 * - `underway/convert`: SQL files to migration files
 * - `underway/observe`: metrics, structured logs, the `/metrics` server
 * - `underway/dashboard`: the live web page
 * - `underway/rehearse`: rehearsals on a throwaway cluster
 * - `underway/mask`: the masking rules a rehearsal's copy applies
 *
 * @example
 * import { Migrator, loadMigrationFile } from "underway";
 * const migrator = new Migrator({ databaseUrl: process.env.DATABASE_URL! });
 * await migrator.start(await loadMigrationFile("migrations/02_rename.yaml"));
 */
export { Migrator, describePhase } from "./run/migrator.js";
export type {
  BackfillOptions,
  CompleteOptions,
  MigrationRecord,
  MigratorOptions,
  Phase,
  ResumeOptions,
  ResumeOutcome,
  StartOptions,
} from "./run/migrator.js";
export { migrateDirectory, directoryState } from "./run/migrate-directory.js";
export type { DirectoryState, MigrateDirectoryOptions, MigrateDirectoryResult, PendingMigration } from "./run/migrate-directory.js";
export { versionUrl, withSearchPath } from "./db/version-url.js";
export type { VersionUrl } from "./db/version-url.js";
export { verifyDualWrite } from "./verify/verify.js";
export type { VerifyReport, VerifyTableReport, MismatchRange } from "./verify/verify.js";
export type { MigrationEvent } from "./run/step-runner.js";
export type { AuditActor, AuditEntry, AuditOutcome } from "./state/audit.js";
export type { MigrationPlan, Step, Action } from "./plan/step.js";
export type { LockPolicy } from "./run/lock-retry.js";
export { loadMigrationFile, loadMigrationDir, migrationTemplate } from "./format/load.js";
export type { MigrationFile } from "./format/load.js";
export { parseMigration } from "./format/schema.js";
export type { Migration, Operation, OperationKind } from "./format/schema.js";
export type { Backfill, BackfillContext, BackfillProgress, BackfillResult } from "./backfill/backfill.js";
export { BackfillJob } from "./backfill/backfill-job.js";
export type { BackfillJobOptions } from "./backfill/backfill-job.js";
export type { BackfillSettings } from "./backfill/settings.js";
export type { JobSummary, JobState } from "./backfill/job-store.js";
export type { ThrottleReason } from "./backfill/throttle-monitor.js";
export { withVersion, pinVersionSql } from "./client/pg-version.js";
export type { VersionTarget } from "./client/pg-version.js";
export { withKyselyVersion } from "./client/kysely-version.js";
export { UnderwayError, exitCodeFor } from "./errors.js";
export type { UnderwayErrorCode } from "./errors.js";
