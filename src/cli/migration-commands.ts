/**
 * What `init`, `new`, `start`, `resume`, ... `plan` and `demo` do. main.ts declares them
 * (names, arguments, flags, help) and imports this module only when one of them runs, so
 * `--help`, `--version` and `lint` never load the engine, the database driver or the
 * migration-file parsers.
 */
import { access, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InterruptedError, UnderwayError } from "../errors.js";
import { parseDurationMs } from "../util/time.js";
import { Migrator, describePhase, type MigrationRecord } from "../run/migrator.js";
import { loadMigrationDir, loadMigrationFile, migrationTemplate } from "../format/load.js";
import { connect, withUrlParameter, withoutPassword } from "../db/connection.js";
import { displayIdent, ident } from "../db/ident.js";
import { databaseUrlFrom } from "./database-url.js";
import { type ProgressPrinter, formatSeconds } from "../observe/progress-printer.js";
import { renderPlan } from "../lint/plan-report.js";
import { describeHolder, type GuardState } from "../run/migration-guard.js";
import type { JobSummary } from "../backfill/job-store.js";
import type { VerifyReport } from "../verify/verify.js";
import { parseForegroundTarget, parseMaxLag, parseMaxRate, type BackfillSettings } from "../backfill/settings.js";
import type { MigrationEvent } from "../run/step-runner.js";
import { withObservation, type ObserveFlags } from "./observe-commands.js";

/** The flags every database command has (main.ts's `connectionOptions`). */
export interface GlobalOptions {
  databaseUrl?: string;
  connectTimeout?: string;
  schema: string;
  stateSchema: string;
  lockTimeout: string;
  replicaWait?: string;
  json?: boolean;
  verbose?: boolean;
}

/** The flags that set a backfill job's limits (main.ts's `backfillFlags`). */
export interface BackfillFlags {
  workers?: string;
  lease?: string;
  maxLag?: string;
  maxRate?: string;
  foreground?: string;
  throttleQuery?: string;
  batchTime?: string;
}

export type StartFlags = GlobalOptions & BackfillFlags & ObserveFlags & { complete?: boolean; backfill: boolean; strictVersions?: boolean };
export type ResumeFlags = GlobalOptions & BackfillFlags & ObserveFlags & { join?: boolean };
export type CompleteFlags = GlobalOptions & ObserveFlags & { skipVerify?: boolean };
export interface NewFlags {
  dir: string;
  json?: boolean;
}
export interface DemoFlags {
  databaseUrl?: string;
  rows: string;
  clients: string;
  json?: boolean;
}

/** The settings the flags ask for (only those given). */
function settingsFrom(flags: BackfillFlags): Partial<BackfillSettings> {
  const settings: Partial<BackfillSettings> = {};
  if (flags.maxLag !== undefined) Object.assign(settings, parseMaxLag(flags.maxLag));
  if (flags.maxRate !== undefined) settings.maxRate = parseMaxRate(flags.maxRate);
  if (flags.foreground !== undefined) settings.foregroundTarget = parseForegroundTarget(flags.foreground);
  if (flags.throttleQuery !== undefined) settings.throttleQuery = /^\s*(none|off)\s*$/i.test(flags.throttleQuery) ? null : flags.throttleQuery;
  if (flags.batchTime !== undefined) settings.batchTargetMs = parseDurationMs(flags.batchTime, "--batch-time");
  return settings;
}

function leaseSecondsFrom(flags: BackfillFlags): number {
  const seconds = parseDurationMs(flags.lease ?? "15s", "--lease") / 1000;
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
      const g = j.foreground;
      const guard = j.throttledBy === "foreground" && g ? `: app ${Math.round(g.tps).toLocaleString("en-US")} writes/s, batches ${Math.round(g.duty * 100)}% of the time` : "";
      const why = j.throttledBy ? ` (${j.throttledBy}${guard})` : "";
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
    foreground: j.foreground,
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

/** The running command's stop signal (main.ts sets it for the commands that run a phase). */
let stopSignal: AbortSignal | undefined;

export function setStopSignal(signal: AbortSignal | undefined): void {
  stopSignal = signal;
}

function migratorFor(options: GlobalOptions, printer: ProgressPrinter, onEvent: (event: MigrationEvent) => void = printer.onEvent): Migrator {
  const databaseUrl = databaseUrlFrom(options);
  return new Migrator({
    databaseUrl,
    schema: options.schema,
    stateSchema: options.stateSchema,
    lockPolicy: { lockTimeoutMs: parseDurationMs(options.lockTimeout, "--lock-timeout") },
    ...(options.replicaWait !== undefined ? { replicaWaitMs: parseDurationMs(options.replicaWait, "--replica-wait") } : {}),
    onEvent,
    actor: { source: "cli" },
    ...(stopSignal ? { signal: stopSignal } : {}),
  });
}

/** The search_path a client of the new version sets: its version schema, then the schema for what is not in it. */
function searchPathOf(versionSchema: string, schema: string): string {
  return `${displayIdent(versionSchema)}, ${displayIdent(schema)}`;
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

function print(options: { json?: boolean | undefined }, json: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);
}

export async function init(printer: ProgressPrinter, options: GlobalOptions): Promise<void> {
  const migrator = migratorFor(options, printer);
  await migrator.init();
  print(options, { stateSchema: options.stateSchema, initialized: true }, `state schema "${options.stateSchema}" is ready`);
}

export async function newMigration(name: string, options: NewFlags): Promise<void> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_]*$/.test(name)) {
    throw new UnderwayError("INVALID_ARGUMENT", `invalid migration name "${name}": use letters, digits and underscores`);
  }
  const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const path = join(options.dir, `${stamp}_${name}.yaml`);
  await mkdir(options.dir, { recursive: true });
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new UnderwayError("INVALID_ARGUMENT", `${path} already exists`);
  await writeFile(path, migrationTemplate(`${stamp}_${name}`));
  print(options, { path }, path);
}

export async function start(printer: ProgressPrinter, file: string, options: StartFlags): Promise<void> {
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
}

export async function resume(printer: ProgressPrinter, options: ResumeFlags): Promise<void> {
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
    print(options, { outcome: outcome.kind, tables: outcome.tables }, `resumed ${outcome.tables.join(", ") || "nothing to resume"}; ${runningProcess(outcome.holder)} runs the migration and carries on`);
  }
}

/** "process 123 on host" from the guard's refusal, or a plain description when it names none. */
function runningProcess(refusal: string): string {
  const named = /: (process \d+ on [^\s(]+)/.exec(refusal);
  return named ? `the other underway process (${named[1]})` : "the other underway process";
}

export async function jobs(printer: ProgressPrinter, options: GlobalOptions): Promise<void> {
  const { migration, jobs } = await migratorFor(options, printer).jobs();
  print(options, { migration, jobs: jobs.map(jobJson) }, migration ? `${migration}\n${jobsText(jobs)}` : "no migrations yet");
}

/**
 * Where a control command's events go: with `--log-format json`, a JSON line on stderr for
 * each, its audit row among them; otherwise nowhere (it prints only its result).
 */
async function controlEvents(options: { logFormat?: string }): Promise<(event: MigrationEvent) => void> {
  const { EventLog, parseLogFormat } = await import("../observe/event-log.js");
  const format = parseLogFormat(options.logFormat ?? "text");
  return format === "json" ? new EventLog({ format }).onEvent : () => {};
}

export async function pause(printer: ProgressPrinter, options: GlobalOptions & { logFormat?: string }): Promise<void> {
  const tables = await migratorFor(options, printer, await controlEvents(options)).pause();
  print(options, { paused: tables }, `paused ${tables.join(", ")}`);
}

export async function cancel(printer: ProgressPrinter, options: GlobalOptions & { logFormat?: string }): Promise<void> {
  const tables = await migratorFor(options, printer, await controlEvents(options)).cancel();
  print(options, { cancelled: tables }, `cancelled ${tables.join(", ")}; run "underway resume" to continue or "underway rollback"`);
}

export async function throttle(printer: ProgressPrinter, options: GlobalOptions & BackfillFlags & { logFormat?: string }): Promise<void> {
  const settings = settingsFrom(options);
  if (Object.keys(settings).length === 0) {
    throw new UnderwayError("INVALID_ARGUMENT", "throttle: give at least one of --max-lag, --max-rate, --foreground, --throttle-query, --batch-time");
  }
  const tables = await migratorFor(options, printer, await controlEvents(options)).throttle(settings);
  print(options, { tables, settings }, `updated ${tables.join(", ")}: ${JSON.stringify(settings)}`);
}

export async function complete(printer: ProgressPrinter, options: CompleteFlags): Promise<void> {
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
}

export async function verify(printer: ProgressPrinter, options: GlobalOptions & ObserveFlags): Promise<void> {
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
}

export async function rollback(printer: ProgressPrinter, options: GlobalOptions & ObserveFlags): Promise<void> {
  const record = await withObservation(options, printer, {}, async (observation) =>
    observation.record(await migratorFor(options, printer, observation.onEvent).rollback()),
  );
  print(options, recordJson(record), `migration ${record.name} rolled back`);
}

export async function status(printer: ProgressPrinter, options: GlobalOptions): Promise<void> {
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
}

/** `underway history`: the audit trail, oldest first. */
export async function auditHistory(printer: ProgressPrinter, options: GlobalOptions & { migration?: string; limit?: string }): Promise<void> {
  let limit: number | undefined;
  if (options.limit !== undefined) {
    limit = Number(options.limit);
    if (!Number.isInteger(limit) || limit <= 0) throw new UnderwayError("INVALID_ARGUMENT", `invalid --limit "${options.limit}": give a whole number of entries above 0`);
  }
  const { auditLine } = await import("../state/audit.js");
  const entries = await migratorFor(options, printer).auditTrail({ ...(options.migration ? { migration: options.migration } : {}), ...(limit ? { limit } : {}) });
  print(
    options,
    { schema: options.schema, entries },
    entries.length > 0 ? entries.map(auditLine).join("\n") : `no audited actions in schema "${options.schema}"${options.migration ? ` for migration "${options.migration}"` : ""}`,
  );
}

export async function unlock(printer: ProgressPrinter, options: GlobalOptions & { force?: boolean; logFormat?: string }): Promise<void> {
  const state = await migratorFor(options, printer, await controlEvents(options)).unlock({ force: Boolean(options.force) });
  print(options, { cleared: state.held || state.kind !== null, guard: state }, state.held || state.kind ? `cleared: ${guardText(state)}` : "the guard is free; nothing to clear");
}

export async function latest(printer: ProgressPrinter, options: GlobalOptions): Promise<void> {
  const migrator = migratorFor(options, printer);
  const latest = await migrator.latest();
  if (!latest) throw new UnderwayError("INVALID_STATE", `no migration has been started in schema "${options.schema}"`);
  databaseUrlFrom(options);
  const searchPath = searchPathOf(latest.versionSchema, options.schema);
  // As given (not as --connect-timeout rewrote it), with the version's search path added.
  const given = options.databaseUrl ?? process.env.DATABASE_URL!;
  // Without its password: underway prints no password, ever. A client takes it from
  // PGPASSWORD or ~/.pgpass, as libpq does.
  const url = withSearchPath(withoutPassword(given), `${ident(latest.versionSchema)},${ident(options.schema)}`);
  const passwordNote = withoutPassword(given) !== given ? "the password is left out of this URL: give it with PGPASSWORD or ~/.pgpass; " : "";
  const note =
    passwordNote +
    "a transaction pooler (PgBouncer in transaction mode) does not pass this URL's options on: behind one, set search_path in each transaction (SELECT set_config('search_path', '" +
    searchPath +
    "', true)) or use withVersion/withKyselyVersion";
  print(
    options,
    { migration: latest.name, phase: latest.phase, versionSchema: latest.versionSchema, searchPath, url, note },
    `${latest.versionSchema}\n${url}`,
  );
  if (!options.json) printer.line(`note: ${note}`);
}

/** The URL as the user gave it, with `-c search_path=...` in its `options` (any search_path there replaced, the other options kept). */
export function withSearchPath(given: string, searchPath: string): string {
  return withUrlParameter(given, "options", (previous) => {
    const others = previous.join(" ").replace(/(^|\s)-c\s*search_path=\S+/g, "").trim();
    return `${others ? `${others} ` : ""}-c search_path=${searchPath}`;
  });
}

export type MigrateFlags = GlobalOptions & BackfillFlags & { dryRun?: boolean; allowOutOfOrder?: boolean };

export async function migrate(printer: ProgressPrinter, dir: string, options: MigrateFlags): Promise<void> {
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
  // A migration someone started and left for clients to move over to is completed too: say so.
  const active = pending.filter((f) => {
    const phase = known.get(f.name)?.phase;
    return phase === "started" || phase === "backfilling" || phase === "ready";
  });
  const activeNote = active.length ? ` (${active.map((f) => `${f.name} is active (${describePhase(known.get(f.name)!)}): migrate completes it, and its old version goes`).join("; ")})` : "";
  if (options.dryRun) {
    print(
      options,
      {
        dryRun: true,
        pending: pending.map((f) => ({ name: f.name, path: f.path, outOfOrder: early.includes(f), active: active.includes(f) })),
        applied: files.filter((f) => completed(f.name)).map((f) => f.name),
      },
      pending.length ? `would apply ${pending.length}, in this order: ${pending.map((f) => f.name).join(", ")}${activeNote}` : "nothing to apply",
    );
    return;
  }
  const applied: string[] = [];
  for (const file of pending) {
    printer.line(active.includes(file) ? `migrating ${file.name}: completing it (it was started and is ${describePhase(known.get(file.name)!)})` : `migrating ${file.name}`);
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
}

export async function plan(printer: ProgressPrinter, file: string, options: GlobalOptions): Promise<void> {
  if (options.databaseUrl === undefined && !process.env.DATABASE_URL) {
    throw new UnderwayError(
      "INVALID_ARGUMENT",
      `plan reads the database's catalog (the tables, their sizes and dependents, the lock each step takes) and needs --database-url or DATABASE_URL; to check a file without a database: underway validate ${file}`,
    );
  }
  const migrator = migratorFor(options, printer);
  const migration = await loadMigrationFile(file);
  const plan = await migrator.plan(migration);
  const { text, json } = await renderPlan(plan, { databaseUrl: databaseUrlFrom(options), schema: options.schema });
  print(options, json, text);
}

/**
 * `underway check FILE [--privileges]`: builds the plan as `plan` does and reports, step by
 * step, the privileges it needs and which the connected role lacks. Changes nothing.
 */
export async function check(printer: ProgressPrinter, file: string, options: GlobalOptions): Promise<void> {
  if (options.databaseUrl === undefined && !process.env.DATABASE_URL) {
    throw new UnderwayError("INVALID_ARGUMENT", `check asks the database what the connected role may do and needs --database-url or DATABASE_URL`);
  }
  const migration = await loadMigrationFile(file);
  const plan = await migratorFor(options, printer).plan(migration);
  const { checkPrivileges, formatPrivilegeReport } = await import("../run/privileges.js");
  const client = await connect(databaseUrlFrom(options));
  let report;
  try {
    report = await checkPrivileges(client, plan, { schema: options.schema, stateSchema: options.stateSchema });
  } finally {
    await client.end();
  }
  print(options, report, formatPrivilegeReport(report));
  const first = report.steps.flatMap((s) => s.details.filter((d) => !d.granted).map((d) => ({ step: s, need: d })))[0];
  if (first) {
    const at = first.step.phase === "setup" ? first.step.step : `${first.step.phase} step "${first.step.step}"`;
    process.stderr.write(`underway: role ${displayIdent(report.role)} lacks ${first.need.privilege} (${at}); fix: ${first.need.fix}\n`);
    process.exitCode = 1;
  }
}

export async function demo(options: DemoFlags): Promise<void> {
  const rows = Number(options.rows.replaceAll("_", ""));
  const clients = Number(options.clients);
  if (!Number.isInteger(rows) || rows < 1000) throw new UnderwayError("INVALID_ARGUMENT", `--rows must be a whole number >= 1000, got "${options.rows}"`);
  if (!Number.isInteger(clients) || clients < 1 || clients > 64) throw new UnderwayError("INVALID_ARGUMENT", `--clients must be 1-64, got "${options.clients}"`);
  // The demo brings an embedded PostgreSQL and a workload: loaded only for `underway demo`.
  const { runDemo } = await import("../demo/demo.js");
  const summary = await runDemo({ databaseUrl: options.databaseUrl ?? process.env.DATABASE_URL, rows, clients, log: (line) => process.stderr.write(`${line}\n`) });
  print(options, summary, summary.text);
  if (summary.failedQueries > 0 || summary.lostWrites > 0) process.exitCode = 1;
}
