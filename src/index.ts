/**
 * underway's public API. Nothing else is public.
 *
 * @example
 * import { Migrator, loadMigrationFile } from "underway";
 * const migrator = new Migrator({ databaseUrl: process.env.DATABASE_URL! });
 * await migrator.start(await loadMigrationFile("migrations/02_rename.yaml"));
 *
 * Importing it loads the engine and the migration-file parsers only: the SQL parser
 * (WebAssembly), the logger, the metrics library, HTTP servers and PostgreSQL binaries load
 * when a function that needs them is first called (`loadSqlParser`, `createLogger`,
 * `createMetrics`, `serveMetrics`, `startDashboard`, `rehearse`...).
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
export { lintSql, lintFile, lintPaths, lintExitCode } from "./lint/lint.js";
export type { LintOptions, LintReport } from "./lint/lint.js";
export { convertSql, convertFile } from "./convert/convert-file.js";
export { renderPlan } from "./lint/plan-report.js";
export { loadSqlParser } from "./lint/sql-parser.js";
export { parseTarget } from "./lint/target.js";
export type { Target } from "./lint/target.js";
export type { Finding } from "./lint/finding.js";
export type { RuleId } from "./lint/rules.js";
export { rehearse } from "./on-demand.js";
export { FAULTS, TOPOLOGIES, TOPOLOGY_FAULTS } from "./rehearse/faults.js";
export type { Fault, TopologyKind } from "./rehearse/faults.js";
export type { RehearsalOptions, RehearsalReport, RehearsalMask, FaultRecord } from "./rehearse/rehearsal.js";
export type { LeaderChangeRecord } from "./rehearse/topology.js";
export { resolveMasking, selectList, SALT_VARIABLE } from "./mask/masking-plan.js";
export type { MaskPlan } from "./mask/masking-plan.js";
export { loadMaskFile, parseMaskPolicy } from "./mask/rules-file.js";
export { MASK_RULES, FAKE_KINDS } from "./mask/policy.js";
export type { MaskPolicy, MaskRule } from "./mask/policy.js";
export { personalKind } from "./mask/detect.js";
export type { PersonalKind } from "./mask/detect.js";
export { createMetrics, MigrationMetrics } from "./observe/metrics.js";
export type { BackfillSample, MetricsOptions } from "./observe/metrics.js";
export { EventMetrics, metricsListener, chainListeners } from "./observe/event-metrics.js";
export { EventLog, createLogger } from "./observe/event-log.js";
export type { LogFormat, LogContext } from "./observe/event-log.js";
export { serveMetrics } from "./on-demand.js";
export type { ObservedPhase } from "./observe/phase.js";
export { startDashboard } from "./on-demand.js";
export type { Dashboard, DashboardOptions } from "./dashboard/dashboard.js";
export type { DashboardSnapshot } from "./dashboard/snapshot.js";
