import { mkdir, writeFile, access } from "node:fs/promises";
import { join } from "node:path";
import { Command, CommanderError } from "commander";
import { InterruptedError, UnderwayError, exitCodeFor, toUnderwayError } from "../errors.js";
import { stopOnSignals } from "./signals.js";
import { parseDurationMs } from "../engine/lock-retry.js";
import { Migrator, describePhase, type MigrationRecord } from "../engine/migrator.js";
import { loadMigrationDir, loadMigrationFile, migrationTemplate } from "../migration/load.js";
import { redactUrl } from "../db/connection.js";
import { databaseUrlFrom } from "./database-url.js";
import { displayIdent, ident } from "../db/ident.js";
import { ProgressPrinter, formatSeconds } from "./output.js";
import { registerLintCommands } from "./lint-commands.js";
import { registerRehearseCommand } from "./rehearse-command.js";
import { renderPlan } from "../lint/plan-report.js";
import { describeHolder, type GuardState } from "../engine/migration-guard.js";
import type { JobSummary } from "../backfill/job-store.js";
import type { VerifyReport } from "../verify/verify.js";
import { parseMaxLag, parseMaxRate, type BackfillSettings } from "../backfill/settings.js";
import { runDemo } from "../demo/demo.js";
import type { MigrationEvent } from "../engine/step-runner.js";
import { observeOptions, registerObserveCommands, withObservation, type ObserveFlags } from "./observe-commands.js";

interface GlobalOptions {
  databaseUrl?: string;
  connectTimeout?: string;
  schema: string;
  stateSchema: string;
  lockTimeout: string;
  json?: boolean;
  verbose?: boolean;
}

const VERSION = "0.1.0";

/** Adds the options every database command shares. */
function connectionOptions(command: Command): Command {
  return command
    .option("--database-url <url>", "PostgreSQL connection URL (default: $DATABASE_URL)")
    .option("--connect-timeout <duration>", "how long to wait for the database to accept a connection (default: the URL's connect_timeout, else 10s)")
    .option("--schema <name>", "schema the migrations change", "public")
    .option("--state-schema <name>", "schema where underway keeps its state", "underway")
    .option("--lock-timeout <duration>", "lock_timeout for each DDL attempt", "500ms")
    .option("--json", "print the result as JSON")
    .option("--verbose", "print error details");
}

interface BackfillFlags {
  workers?: string;
  lease?: string;
  maxLag?: string;
  maxRate?: string;
  throttleQuery?: string;
  batchTime?: string;
}

/** Adds the flags that set a backfill job's limits. */
function backfillFlags(command: Command, withWorkers = true): Command {
  if (withWorkers) {
    command
      .option("--workers <n>", "backfill workers in this process", "1")
      .option("--lease <duration>", "how long a worker's claim on a range outlives the worker", "15s");
  }
  return command
    .option("--max-lag <limit>", "hold while replica lag is above a size (64MB) or a duration (5s); none to clear")
    .option("--max-rate <rows>", "at most this many rows per second for the whole job; none to clear")
    .option("--throttle-query <sql>", "hold while this query returns true; none to clear")
    .option("--batch-time <duration>", "target duration of one batch", undefined);
}

/** The settings the flags ask for (only those given). */
function settingsFrom(flags: BackfillFlags): Partial<BackfillSettings> {
  const settings: Partial<BackfillSettings> = {};
  if (flags.maxLag !== undefined) Object.assign(settings, parseMaxLag(flags.maxLag));
  if (flags.maxRate !== undefined) settings.maxRate = parseMaxRate(flags.maxRate);
  if (flags.throttleQuery !== undefined) settings.throttleQuery = /^\s*(none|off)\s*$/i.test(flags.throttleQuery) ? null : flags.throttleQuery;
  if (flags.batchTime !== undefined) settings.batchTargetMs = parseDurationMs(flags.batchTime);
  return settings;
}

function leaseSecondsFrom(flags: BackfillFlags): number {
  const seconds = parseDurationMs(flags.lease ?? "15s") / 1000;
  if (seconds < 1) throw new UnderwayError("INVALID_ARGUMENT", `--lease must be at least 1s, got "${flags.lease}"`);
  return seconds;
}

function workersFrom(flags: BackfillFlags): number {
  const workers = Number(flags.workers ?? "1");
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new UnderwayError("INVALID_ARGUMENT", `--workers must be a whole number from 1 to 64, got "${flags.workers}"`);
  }
  return workers;
}

function jobsText(jobs: JobSummary[]): string {
  if (jobs.length === 0) return "no backfill jobs";
  return jobs
    .map((j) => {
      const pct = j.rowsTotal > 0 ? ((100 * j.rowsDone) / j.rowsTotal).toFixed(1) : "100.0";
      const moving = j.state === "running" || j.state === "throttled";
      const eta = j.etaSeconds !== null ? `, ETA ${formatSeconds(j.etaSeconds)}` : moving ? ", ETA unknown" : "";
      const rate = j.rowsPerSecond > 0 ? `, ${Math.round(j.rowsPerSecond).toLocaleString("en-US")} rows/s` : "";
      const why = j.throttledBy ? ` (${j.throttledBy})` : "";
      const error = j.lastError ? `: ${j.lastError}` : "";
      return `${j.table.padEnd(30)} ${j.state}${why} ${j.rowsDone.toLocaleString("en-US")}/${j.rowsTotal.toLocaleString("en-US")} (${pct}%)${rate}${eta}${error}`;
    })
    .join("\n");
}

/** A job as `status --json` and `jobs --json` show it. */
function jobJson(j: JobSummary) {
  return {
    table: j.table,
    state: j.state,
    rowsDone: j.rowsDone,
    rowsTotal: j.rowsTotal,
    rowsPerSecond: Math.round(j.rowsPerSecond),
    etaSeconds: j.etaSeconds,
    throttledBy: j.throttledBy,
    ranges: j.ranges,
    rangesDone: j.rangesDone,
    owners: j.owners,
    settings: j.settings,
    lastError: j.lastError,
  };
}

function guardText(guard: GuardState): string {
  if (!guard.held && guard.kind === null) return "guard: free";
  const who = guard.holder
    ? describeHolder(guard.holder)
    : guard.backend
      ? `server pid ${guard.backend.pid} (${guard.backend.application || "no application name"}, ${guard.backend.state ?? "?"}, since ${guard.backend.since})`
      : "unknown";
  const lease = guard.kind === "lease" && guard.holder?.expiresAt ? `, lease until ${guard.holder.expiresAt}` : "";
  return `guard: ${guard.kind === "lease" ? "lease" : "session lock"} held by ${who}${lease}${guard.gone ? ` (its holder is gone: "underway unlock" clears it)` : ""}`;
}

function verifySummary(report: VerifyReport): string {
  const rows = report.tables.reduce((n, t) => n + t.rowsChecked, 0);
  const bad = report.tables.reduce((n, t) => n + t.mismatches, 0);
  const skipped = report.tables.reduce((n, t) => n + t.unverifiable.length, 0);
  return `${rows.toLocaleString("en-US")} rows: ${bad} mismatching${skipped ? `, ${skipped} relation(s) not verifiable` : ""}`;
}

/** Commands that run a phase: SIGINT and SIGTERM stop them at a safe point (see signals.ts). */
const STOPPABLE = new Set(["start", "resume", "complete", "rollback", "migrate", "verify"]);
/** The running command's stop signal, if it is one of STOPPABLE. */
let stopSignal: AbortSignal | undefined;

function migratorFor(options: GlobalOptions, printer: ProgressPrinter, onEvent: (event: MigrationEvent) => void = printer.onEvent): Migrator {
  const databaseUrl = databaseUrlFrom(options);
  return new Migrator({
    databaseUrl,
    schema: options.schema,
    stateSchema: options.stateSchema,
    lockPolicy: { lockTimeoutMs: parseDurationMs(options.lockTimeout) },
    onEvent,
    ...(stopSignal ? { signal: stopSignal } : {}),
  });
}

/** The record as `status --json` shows it. */
export function recordJson(record: MigrationRecord) {
  return {
    name: record.name,
    schema: record.schema,
    parent: record.parent,
    phase: record.phase,
    running: record.running,
    versionSchema: record.versionSchema,
    steps: {
      start: { done: record.startDone, total: record.plan.start.length },
      complete: { done: record.completeDone, total: record.plan.complete.length },
      rollback: { done: record.rollbackDone, total: record.plan.rollback.length },
    },
    lastError: record.lastError,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    completedAt: record.completedAt,
  };
}

/** The search_path a client of the new version sets: its version schema, then the schema for what is not in it. */
function searchPathOf(versionSchema: string, schema: string): string {
  return `${displayIdent(versionSchema)}, ${displayIdent(schema)}`;
}

function print(options: { json?: boolean | undefined }, json: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
}

/** Builds the command tree. Exported for tests of argument handling. */
export function buildProgram(): Command {
  const program = new Command("underway")
    .description("Zero-downtime schema and data migrations for PostgreSQL")
    .version(VERSION)
    // Usage errors (an unknown command or option, a missing argument) read like every other
    // error: one line, with the same prefix.
    .configureOutput({ outputError: (text, write) => write(`${text.trim().replace(/^error: /, "underway: ").replace(/\s*\n\s*/g, " ")} (run "underway --help" for usage)\n`) })
    .exitOverride();

  const action =
    <A extends unknown[]>(fn: (printer: ProgressPrinter, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      const options = args[args.length - 2] as GlobalOptions;
      const command = args[args.length - 1] as Command;
      const printer = new ProgressPrinter(process.stderr, Boolean(options.json) || (options as ObserveFlags).logFormat === "json");
      const stop = STOPPABLE.has(command.name()) ? stopOnSignals(printer) : null;
      stopSignal = stop?.signal;
      try {
        await fn(printer, ...args);
      } finally {
        stop?.dispose();
        stopSignal = undefined;
        printer.end();
      }
    };

  connectionOptions(program.command("init").description("create the state schema (idempotent)")).action(
    action(async (_p, options: GlobalOptions) => {
      const migrator = migratorFor(options, _p);
      await migrator.init();
      print(options, { stateSchema: options.stateSchema, initialized: true }, `state schema "${options.stateSchema}" is ready`);
    }),
  );

  program
    .command("new")
    .description("write a new migration file from a template")
    .argument("<name>", "what the migration does, e.g. add_user_email")
    .option("--dir <dir>", "directory for migration files", "migrations")
    .option("--json", "print the result as JSON")
    .action(async (name: string, options: { dir: string; json?: boolean }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9_]*$/.test(name)) {
        throw new UnderwayError("INVALID_ARGUMENT", `invalid migration name "${name}": use letters, digits and underscores`);
      }
      const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
      const path = join(options.dir, `${stamp}_${name}.yaml`);
      await mkdir(options.dir, { recursive: true });
      const exists = await access(path).then(() => true, () => false);
      if (exists) throw new UnderwayError("INVALID_ARGUMENT", `${path} already exists`);
      await writeFile(path, migrationTemplate(`${stamp}_${name}`));
      print(options, { path }, path);
    });

  connectionOptions(
    program
      .command("start")
      .description("start a migration: expand the schema, install dual writes, backfill, create the version schema")
      .argument("<file>", "migration file (YAML or JSON)")
      .option("--complete", "complete right after starting")
      .option("--no-backfill", "stop before the backfill; run it later with resume")
      .option("--strict-versions", "refuse writes that name no version (underway.version) while the migration is active"),
  ).action(
    action(async (printer, file: string, options: GlobalOptions & BackfillFlags & ObserveFlags & { complete?: boolean; backfill: boolean; strictVersions?: boolean }) => {
      // Flags first, then the file: a bad flag is said before anything is read.
      const backfill = { workers: workersFrom(options), leaseSeconds: leaseSecondsFrom(options), settings: settingsFrom(options) };
      databaseUrlFrom(options);
      const migration = await loadMigrationFile(file);
      const record = await withObservation(options, printer, { migration: migration.name }, async (observation) =>
        observation.record(
          await migratorFor(options, printer, observation.onEvent).start(migration, {
            complete: Boolean(options.complete),
            backfill: options.backfill,
            strictVersions: Boolean(options.strictVersions),
            ...backfill,
          }),
        ),
      );
      print(
        options,
        recordJson(record),
        record.phase === "completed"
          ? `migration ${record.name} completed; schema "${record.versionSchema}" is the current version`
          : record.phase === "ready"
            ? `migration ${record.name} started; new version: search_path=${searchPathOf(record.versionSchema, options.schema)} (run "underway complete" once every client uses it)`
            : `migration ${record.name} expanded; backfill not run yet: run "underway resume" to backfill and finish the start`,
      );
    }),
  );
  backfillFlags(program.commands.find((c) => c.name() === "start")!);

  connectionOptions(
    backfillFlags(
      program
        .command("resume")
        .description("carry on with the active migration's start: resume its backfill from the saved cursors")
        .option("--join", "if another process runs it, add this process's workers to it"),
    ),
  ).action(
    action(async (printer, options: GlobalOptions & BackfillFlags & ObserveFlags & { join?: boolean }) => {
      const outcome = await withObservation(options, printer, {}, async (observation) => {
        const result = await migratorFor(options, printer, observation.onEvent).resume({
          workers: workersFrom(options),
          leaseSeconds: leaseSecondsFrom(options),
          settings: settingsFrom(options),
          join: Boolean(options.join),
        });
        if (result.kind === "finished") observation.record(result.record);
        return result;
      });
      if (outcome.kind === "finished") {
        print(options, { outcome: outcome.kind, migration: recordJson(outcome.record) }, `migration ${outcome.record.name} started; new version: search_path=${searchPathOf(outcome.record.versionSchema, options.schema)} (run "underway complete" once every client uses it)`);
      } else if (outcome.kind === "joined") {
        print(options, outcome, `helped finish the backfill of ${outcome.tables.join(", ")}`);
      } else {
        print(options, { outcome: outcome.kind, tables: outcome.tables }, `resumed ${outcome.tables.join(", ") || "nothing to resume"}; the process running the migration carries on (${outcome.holder})`);
      }
    }),
  );

  connectionOptions(program.command("jobs").description("show the backfill jobs of the active migration")).action(
    action(async (printer, options: GlobalOptions) => {
      const { migration, jobs } = await migratorFor(options, printer).jobs();
      print(options, { migration, jobs: jobs.map(jobJson) }, migration ? `${migration}\n${jobsText(jobs)}` : "no migrations yet");
    }),
  );

  connectionOptions(program.command("pause").description("pause the active migration's backfill (workers hold within a second)")).action(
    action(async (printer, options: GlobalOptions) => {
      const tables = await migratorFor(options, printer).pause();
      print(options, { paused: tables }, `paused ${tables.join(", ")}`);
    }),
  );

  connectionOptions(
    program.command("cancel").description("stop the active migration's backfill; the migration stays started (resume or rollback)"),
  ).action(
    action(async (printer, options: GlobalOptions) => {
      const tables = await migratorFor(options, printer).cancel();
      print(options, { cancelled: tables }, `cancelled ${tables.join(", ")}; run "underway resume" to continue or "underway rollback"`);
    }),
  );

  connectionOptions(
    backfillFlags(program.command("throttle").description("change the limits of the running backfill; workers pick them up within a second"), false),
  ).action(
    action(async (printer, options: GlobalOptions & BackfillFlags) => {
      const settings = settingsFrom(options);
      if (Object.keys(settings).length === 0) {
        throw new UnderwayError("INVALID_ARGUMENT", "throttle: give at least one of --max-lag, --max-rate, --throttle-query, --batch-time");
      }
      const tables = await migratorFor(options, printer).throttle(settings);
      print(options, { tables, settings }, `updated ${tables.join(", ")}: ${JSON.stringify(settings)}`);
    }),
  );

  connectionOptions(
    program
      .command("complete")
      .description("complete the active migration (contract), after verifying old against new")
      .option("--skip-verify", "contract without verifying first"),
  ).action(
    action(async (printer, options: GlobalOptions & ObserveFlags & { skipVerify?: boolean }) => {
      const record = await withObservation(options, printer, {}, async (observation) =>
        observation.record(
          await migratorFor(options, printer, observation.onEvent).complete({
            skipVerify: Boolean(options.skipVerify),
            onVerified: (report) => {
              observation.verified(report);
              printer.line(`verified ${verifySummary(report)}`);
            },
          }),
        ),
      );
      print(options, recordJson(record), `migration ${record.name} completed`);
    }),
  );

  connectionOptions(
    program.command("verify").description("check row by row that the active migration's old and new columns agree"),
  ).action(
    action(async (printer, options: GlobalOptions & ObserveFlags) => {
      const { migration, report } = await withObservation(options, printer, {}, async (observation) => {
        const result = await migratorFor(options, printer, observation.onEvent).verify((p) =>
          observation.onEvent({ type: "notice", message: `  verified ${p.rowsChecked.toLocaleString("en-US")} rows of ${p.table}` }),
        );
        observation.verified(result.report, result.migration);
        return result;
      });
      const lines = report.tables.flatMap((t) => [
        `${t.table}: ${t.rowsChecked.toLocaleString("en-US")} rows checked, ${t.mismatches} mismatching`,
        ...t.ranges.map((r) => `  ${r.column}: keys ${r.from.join(",")}..${r.to.join(",")}: ${r.rows} row(s)`),
        ...t.unverifiable.map((u) => `  ${u.column}: not verifiable: ${u.reason}`),
        ...t.failures.map((f) => `  key ${f.key.join(",")}: up fails: ${f.error}`),
        ...(t.failuresTruncated ? ["  (more rows fail; verify stopped looking at this table)"] : []),
      ]);
      print(options, { migration, ...report }, `${migration}: ${report.ok ? "old and new agree" : "MISMATCH"}\n${lines.join("\n") || "nothing to verify"}`);
      if (!report.ok) process.exitCode = 1;
    }),
  );

  connectionOptions(program.command("rollback").description("roll back the active migration")).action(
    action(async (printer, options: GlobalOptions & ObserveFlags) => {
      const record = await withObservation(options, printer, {}, async (observation) =>
        observation.record(await migratorFor(options, printer, observation.onEvent).rollback()),
      );
      print(options, recordJson(record), `migration ${record.name} rolled back`);
    }),
  );

  connectionOptions(program.command("status").description("show the migration history and the active migration")).action(
    action(async (printer, options: GlobalOptions) => {
      const migrator = migratorFor(options, printer);
      const history = await migrator.history();
      const active = history.find((m) => m.phase !== "completed" && m.phase !== "rolled_back") ?? null;
      const jobs = active ? (await migrator.jobs()).jobs : [];
      const latest = [...history].reverse().find((m) => m.phase !== "rolled_back") ?? null;
      const lines = history.map((m) => `${m.name.padEnd(40)} ${describePhase(m)}`);
      const guard = await migrator.guard();
      print(
        options,
        {
          schema: options.schema,
          active: active ? recordJson(active) : null,
          latestVersionSchema: latest?.versionSchema ?? null,
          jobs: jobs.map(jobJson),
          migrations: history.map(recordJson),
          guard,
        },
        (lines.length ? lines.join("\n") : "no migrations yet") + (jobs.length ? `\n\nbackfill:\n${jobsText(jobs)}` : "") + (guard.held || guard.kind ? `\n\n${guardText(guard)}` : ""),
      );
    }),
  );

  connectionOptions(
    program
      .command("unlock")
      .description("clear the migration guard of a process that is gone (a lease, or a lock left on a pooled connection)")
      .option("--force", "clear it even if its holder may still be working"),
  ).action(
    action(async (printer, options: GlobalOptions & { force?: boolean }) => {
      const state = await migratorFor(options, printer).unlock({ force: Boolean(options.force) });
      print(options, { cleared: state.held || state.kind !== null, guard: state }, state.held || state.kind ? `cleared: ${guardText(state)}` : "the guard is free; nothing to clear");
    }),
  );

  connectionOptions(program.command("latest").description("print the newest version schema and how to connect to it")).action(
    action(async (printer, options: GlobalOptions) => {
      const migrator = migratorFor(options, printer);
      const latest = await migrator.latest();
      if (!latest) throw new UnderwayError("INVALID_STATE", `no migration has been started in schema "${options.schema}"`);
      const url = new URL(databaseUrlFrom(options));
      url.searchParams.delete("options");
      const searchPath = searchPathOf(latest.versionSchema, options.schema);
      // libpq percent-decodes URI parameters but does not read "+" as a space, so encode by hand.
      const pin = encodeURIComponent(`-c search_path=${ident(latest.versionSchema)},${ident(options.schema)}`);
      url.search = url.search ? `${url.search}&options=${pin}` : `?options=${pin}`;
      // As printed it connects: the password stays (this is the command's answer, on stdout).
      const note =
        "a transaction pooler (PgBouncer in transaction mode) does not pass this URL's options on: behind one, set search_path in each transaction (SELECT set_config('search_path', '" +
        searchPath +
        "', true)) or use withVersion/withKyselyVersion";
      print(
        options,
        { migration: latest.name, phase: latest.phase, versionSchema: latest.versionSchema, searchPath, url: url.toString(), note },
        `${latest.versionSchema}\n${url.toString()}`,
      );
      if (!options.json) printer.line(`note: ${note}`);
    }),
  );

  connectionOptions(
    backfillFlags(
      program
        .command("migrate")
        .description("apply every pending migration file of a directory, in order (start then complete each)")
        .argument("<dir>", "directory of migration files")
        .option("--dry-run", "check the files and their order against what is applied, and list what would be applied; change nothing")
        .option("--allow-out-of-order", "apply a pending file that sorts before one already applied (refused by default)"),
    ),
  ).action(
    action(async (printer, dir: string, options: GlobalOptions & BackfillFlags & { dryRun?: boolean; allowOutOfOrder?: boolean }) => {
      const backfill = { workers: workersFrom(options), leaseSeconds: leaseSecondsFrom(options), settings: settingsFrom(options) };
      const migrator = migratorFor(options, printer);
      const files = await loadMigrationDir(dir);
      const history = await migrator.history().catch((error: unknown) => {
        if (error instanceof UnderwayError && error.code === "INVALID_STATE") return [] as MigrationRecord[];
        throw error;
      });
      const known = new Map(history.map((m) => [m.name, m]));
      const completed = (name: string) => known.get(name)?.phase === "completed";
      for (const file of files) {
        const record = known.get(file.name);
        if (record?.phase === "completed" && record.checksum !== file.checksum) {
          throw new UnderwayError(
            "CHECKSUM_MISMATCH",
            `${file.path} changed after migration "${file.name}" was completed (checksum ${record.checksum.slice(0, 12)} then, ${file.checksum.slice(0, 12)} now)`,
          );
        }
      }
      const pending = files.filter((f) => !completed(f.name));
      // As node-pg-migrate and Flyway: a file that sorts before one already applied was
      // probably merged late, and applying it now puts changes in an order no one tested.
      const lastApplied = files.findLastIndex((f) => completed(f.name));
      const early = pending.filter((f) => files.indexOf(f) < lastApplied);
      if (early.length > 0 && !options.allowOutOfOrder) {
        throw new UnderwayError(
          "INVALID_STATE",
          `${early[0]!.path} is pending but sorts before "${files[lastApplied]!.name}", which is already applied${early.length > 1 ? ` (and ${early.length - 1} more)` : ""}: rename it to sort after, or pass --allow-out-of-order to apply it anyway`,
        );
      }
      if (options.dryRun) {
        print(
          options,
          { dryRun: true, pending: pending.map((f) => ({ name: f.name, path: f.path, outOfOrder: early.includes(f) })), applied: files.filter((f) => completed(f.name)).map((f) => f.name) },
          pending.length ? `would apply ${pending.length}, in this order: ${pending.map((f) => f.name).join(", ")}` : "nothing to apply",
        );
        return;
      }
      const applied: string[] = [];
      for (const file of pending) {
        printer.line(`migrating ${file.name}`);
        try {
          await migrator.start(file, { complete: true, ...backfill });
        } catch (error) {
          if (error instanceof InterruptedError) {
            throw error.withNext(
              /contracted/.test(error.next)
                ? `migration "${file.name}" is contracted: run "underway migrate ${dir}" again to finish`
                : `migration "${file.name}" stays started: run "underway migrate ${dir}" again to carry on, or "underway rollback"`,
            );
          }
          throw error;
        }
        applied.push(file.name);
      }
      print(options, { applied }, applied.length ? `applied ${applied.length}: ${applied.join(", ")}` : "nothing to apply");
    }),
  );

  connectionOptions(
    program
      .command("plan")
      .description("show the steps of each phase, the lock each statement takes, and the rows a backfill touches")
      .argument("<file>", "migration file"),
  ).action(
    action(async (printer, file: string, options: GlobalOptions) => {
      const migrator = migratorFor(options, printer);
      const migration = await loadMigrationFile(file);
      const plan = await migrator.plan(migration);
      const { text, json } = await renderPlan(plan, { databaseUrl: databaseUrlFrom(options), schema: options.schema });
      print(options, json, text);
    }),
  );

  program
    .command("demo")
    .description("run a live breaking change (rename + type change) under load on an embedded PostgreSQL")
    .option("--database-url <url>", "use this database instead of an embedded one (the demo keeps to its own schemas and removes them)")
    .option("--rows <n>", "rows in the demo table", "1000000")
    .option("--clients <n>", "concurrent clients per version", "4")
    .option("--json", "print the summary as JSON")
    .option("--verbose", "print error details")
    .action(async (options: { databaseUrl?: string; rows: string; clients: string; json?: boolean }) => {
      const rows = Number(options.rows.replaceAll("_", ""));
      const clients = Number(options.clients);
      if (!Number.isInteger(rows) || rows < 1000) throw new UnderwayError("INVALID_ARGUMENT", `--rows must be a whole number >= 1000, got "${options.rows}"`);
      if (!Number.isInteger(clients) || clients < 1 || clients > 64) throw new UnderwayError("INVALID_ARGUMENT", `--clients must be 1-64, got "${options.clients}"`);
      const summary = await runDemo({ databaseUrl: options.databaseUrl ?? process.env.DATABASE_URL, rows, clients, log: (line) => process.stderr.write(`${line}\n`) });
      print(options, summary, summary.text);
      if (summary.failedQueries > 0 || summary.lostWrites > 0) process.exitCode = 1;
    });

  registerLintCommands(program);
  registerRehearseCommand(program);
  // --metrics-port, --metrics-host and --log-format on every command that runs a phase or a verification.
  for (const name of ["start", "resume", "complete", "verify", "rollback"]) observeOptions(program.commands.find((c) => c.name() === name)!);
  registerObserveCommands(program, connectionOptions);

  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes("--verbose");
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    const failure = toUnderwayError(error);
    process.stderr.write(`underway: ${failure.message}\n`);
    if (verbose) {
      if (failure.detail) process.stderr.write(`${failure.detail}\n`);
      if (failure.cause instanceof Error && failure.cause.stack) process.stderr.write(`${failure.cause.stack}\n`);
    }
    return exitCodeFor(failure);
  }
}


