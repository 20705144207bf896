/**
 * `underway demo`: a breaking change (a column rename plus a type change) applied to a
 * large table while clients of the old and the new application version keep reading and
 * writing, followed by an audit of every acknowledged write.
 *
 * The story, as a real rollout would run it:
 * 1. setup: a database (an embedded PostgreSQL unless one is given) and a role that is
 *    not a superuser; migration 01 creates `accounts`; the table is filled.
 * 2. before: old-version clients only, for a baseline latency.
 * 3. during: `start` of migration 02 (expand, dual write, backfill, version schema) while
 *    the old clients run; then new-version clients join (the rollout); then the old
 *    clients stop and `complete` contracts the schema.
 * 4. after: new-version clients only, on the final schema.
 * 5. verify and clean up: the ledger audit, the final schema, and removal of everything
 *    the demo made, also when it fails or is interrupted.
 */
import { connect, type Client } from "../db/connection.js";
import { UnderwayError, toUnderwayError } from "../errors.js";
import { Migrator } from "../run/migrator.js";
import type { MigrationFile } from "../format/load.js";
import { ProgressPrinter } from "../observe/progress-printer.js";
import { auditAccounts, fillAccounts, type AccountsAudit } from "./accounts.js";
import { openEmbeddedDatabase, openExternalDatabase, type DemoDatabase, type DemoSchemas } from "./demo-database.js";
import { DEMO_TABLE, writeDemoMigrations, type DemoMigrations } from "./demo-migrations.js";
import { inspectFinalSchema, type FinalSchema } from "./final-schema.js";
import { LatencyHistograms } from "../harness/latency.js";
import { MigrationTimeline } from "./migration-timeline.js";
import { summaryText, type DemoSummary } from "./summary.js";
import { AccountsWorkload, type AppVersion } from "./workload.js";

export type { DemoSummary } from "./summary.js";

export interface DemoOptions {
  /** A database to run in, instead of an embedded PostgreSQL. The demo keeps to schemas of its own. */
  databaseUrl?: string | undefined;
  /** Rows in the demo table. */
  rows: number;
  /** Clients per application version. */
  clients: number;
  /** Receives progress lines (the CLI sends them to stderr). */
  log: (line: string) => void;
  /** Statements per second per client; 0 runs each client flat out. Default 100. */
  ratePerClient?: number;
  /** Seconds of old-version load before the migration starts. Default 5. */
  baselineSeconds?: number;
  /** Seconds both versions run side by side between start and complete. Default 3. */
  rolloutSeconds?: number;
  /** Seconds the new version runs after complete. Default 2. */
  afterSeconds?: number;
  /** Stops the demo early; it still cleans up, then throws. SIGINT and SIGTERM do the same while it runs. */
  signal?: AbortSignal;
  /**
   * Called once the demo has verified its result, before it removes what it made, with
   * a URL for the demo's database (as the demo's role): a chance to look at the final
   * schema.
   */
  beforeCleanup?: (databaseUrl: string) => Promise<void>;
}

export const DEMO_SCHEMA = "underway_demo";
export const DEMO_STATE_SCHEMA = "underway_demo_state";

const TICK_MS = 5000;
const SETTLE_MS = 15_000;

/**
 * Runs the demo and returns its summary; throws (after cleaning up) when the demo could
 * not run to the end. Failed queries and lost writes are reported, not thrown.
 *
 * @example
 * const summary = await runDemo({ rows: 100_000, clients: 2, log: console.error });
 * console.log(summary.text);
 * if (summary.failedQueries > 0 || summary.lostWrites > 0) process.exitCode = 1;
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  return new DemoRun(options).run();
}

type DemoStage = "setup" | "load" | "before" | "start" | "rollout" | "complete" | "after" | "verify" | "cleanup";

interface Outcome {
  audit: AccountsAudit;
  finalSchema: FinalSchema;
}

class DemoRun {
  private readonly log: (line: string) => void;
  private readonly controller = new AbortController();
  private readonly recorder = new LatencyHistograms();
  private readonly printer: ProgressPrinter;
  private readonly timeline: MigrationTimeline;
  private readonly stageStarted = new Map<DemoStage, number>();
  private readonly stageEnded = new Map<DemoStage, number>();
  private readonly background: Promise<unknown>[] = [];
  private stage: DemoStage = "setup";
  private migrations: DemoMigrations | undefined;
  private database: DemoDatabase | undefined;
  private control: Client | undefined;
  private workload: AccountsWorkload | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private rowsAtStart = 0;
  private readonly ratePerClient: number;

  constructor(private readonly options: DemoOptions) {
    this.log = options.log;
    this.ratePerClient = options.ratePerClient ?? 100;
    this.printer = new ProgressPrinter(lineStream(options.log));
    this.timeline = new MigrationTimeline(this.recorder, this.printer.onEvent);
  }

  async run(): Promise<DemoSummary> {
    const t0 = performance.now();
    const stopSignals = this.handleSignals();
    let outcome: Outcome | undefined;
    let failure: unknown;
    try {
      outcome = await this.scenario();
    } catch (error) {
      failure = error;
    }
    const failedStage = this.stage;
    this.enter("cleanup");
    await this.cleanup(failure !== undefined);
    this.leave("cleanup");
    stopSignals();
    if (failure !== undefined || outcome === undefined) {
      if (this.controller.signal.aborted) {
        throw new UnderwayError("INVALID_STATE", `demo interrupted during ${failedStage}; everything it made was removed`);
      }
      const error = toUnderwayError(failure);
      throw new UnderwayError(error.code, `demo failed during ${failedStage}: ${error.message}`, {
        cause: error,
        ...(error.detail === undefined ? {} : { detail: error.detail }),
      });
    }
    return this.summary(outcome, (performance.now() - t0) / 1000);
  }

  private async scenario(): Promise<Outcome> {
    const { rows, clients } = this.options;
    const signal = this.controller.signal;

    this.enter("setup");
    this.migrations = await writeDemoMigrations();
    const { createAccounts, renameAndWiden } = this.migrations;
    const { db, migrator } = await this.openDatabase([createAccounts, renameAndWiden]);
    this.log(`${db.server} ready; working as role ${db.role}${db.superuser ? " (a superuser)" : " (not a superuser)"}`);
    const oldVersion: AppVersion = { label: "old", versionSchema: migrator.versionSchemaName(createAccounts), schema: DEMO_SCHEMA, nameColumn: "owner" };
    const newVersion: AppVersion = { label: "new", versionSchema: migrator.versionSchemaName(renameAndWiden), schema: DEMO_SCHEMA, nameColumn: "holder" };

    this.log(`migration ${createAccounts.name}: create table ${DEMO_TABLE}`);
    await this.untilStopped(migrator.start(createAccounts, { complete: true }));
    this.timeline.finishStep();
    this.leave("setup");

    this.enter("load");
    this.control = await connect(db.url, { applicationName: "underway-demo" });
    const control = this.control;
    this.log(`loading ${rows.toLocaleString("en-US")} rows into ${DEMO_SCHEMA}.${DEMO_TABLE}...`);
    const loadStarted = performance.now();
    let lastReport = 0;
    await this.untilStopped(
      fillAccounts(
        control,
        DEMO_SCHEMA,
        rows,
        (done) => {
          if (performance.now() - lastReport < 2000 && done < rows) return;
          lastReport = performance.now();
          this.log(`  ${done.toLocaleString("en-US")}/${rows.toLocaleString("en-US")} rows (${((performance.now() - loadStarted) / 1000).toFixed(1)} s)`);
        },
        signal,
      ),
    );
    this.leave("load");

    this.enter("before");
    this.workload = new AccountsWorkload(db.url, rows, this.recorder, this.ratePerClient);
    const workload = this.workload;
    await this.untilStopped(workload.startVersion(oldVersion, clients));
    this.log(`workload: ${clients} old-version clients (search_path ${oldVersion.versionSchema}) for a ${this.baselineSeconds}s baseline`);
    this.startTicker();
    await this.pause(this.baselineSeconds);
    this.leave("before");

    this.enter("start");
    this.recorder.phase = "during";
    // Every acknowledged insert is committed, so this is the table's row count as start begins.
    this.rowsAtStart = rows + workload.ledger.inserted.size;
    this.log(`migration ${renameAndWiden.name}: rename owner -> holder, balance integer -> bigint, while the old clients keep going`);
    await this.untilStopped(migrator.start(renameAndWiden));
    this.timeline.finishStep("rollout: both versions");
    this.leave("start");

    this.enter("rollout");
    await this.untilStopped(workload.startVersion(newVersion, clients));
    this.log(`workload: ${clients} old + ${clients} new-version clients (search_path ${newVersion.versionSchema}) side by side`);
    await this.pause(this.rolloutSeconds);
    this.log("rollout done: the old-version clients stop");
    await this.untilStopped(workload.stop("old"));
    this.leave("rollout");

    this.enter("complete");
    this.log(`completing ${renameAndWiden.name} while the new clients keep going`);
    await this.untilStopped(migrator.complete());
    this.timeline.finishStep("after complete");
    this.recorder.phase = "after";
    this.leave("complete");

    this.enter("after");
    await this.pause(this.afterSeconds);
    this.stopTicker();
    await this.untilStopped(workload.stop());
    this.leave("after");

    this.enter("verify");
    this.log("auditing every row against the clients' ledger...");
    const audit = await this.untilStopped(auditAccounts(control, DEMO_SCHEMA, rows, workload.ledger));
    const finalSchema = await this.untilStopped(inspectFinalSchema(control, DEMO_SCHEMA, oldVersion.versionSchema, newVersion.versionSchema));
    if (this.options.beforeCleanup) await this.untilStopped(this.options.beforeCleanup(db.url));
    this.leave("verify");
    return { audit, finalSchema };
  }

  /** The given database, else an embedded one, and a migrator for the demo's schema in it. */
  private async openDatabase(files: MigrationFile[]): Promise<{ db: DemoDatabase; migrator: Migrator }> {
    const schemas: DemoSchemas = { schema: DEMO_SCHEMA, stateSchema: DEMO_STATE_SCHEMA, versionSchemas: [] };
    // Assigned as soon as it opens, even when the demo stopped waiting, so cleanup removes it.
    const opened = (db: DemoDatabase) => (this.database = db);
    const url = this.options.databaseUrl;
    if (url !== undefined) {
      const migrator = this.migrator(url);
      schemas.versionSchemas = files.map((file) => migrator.versionSchemaName(file));
      this.log(`using the given database; the demo keeps to schemas ${DEMO_SCHEMA}, ${DEMO_STATE_SCHEMA} and its version schemas`);
      return { db: await this.untilStopped(openExternalDatabase(url, schemas, this.log).then(opened)), migrator };
    }
    this.log("starting an embedded PostgreSQL...");
    const db = await this.untilStopped(openEmbeddedDatabase(schemas).then(opened));
    return { db, migrator: this.migrator(db.url) };
  }

  /**
   * Stops the clients, ends migration work an interruption or failure left running, and
   * removes the database or the demo's schemas. Never throws: a cleanup failure is logged.
   */
  private async cleanup(failed: boolean): Promise<void> {
    this.stopTicker();
    const stopping = this.workload?.stop() ?? Promise.resolve();
    if (failed && this.database) {
      this.log("cleaning up...");
      await this.database.interrupt().catch((error: unknown) => this.log(`cleanup: ${message(error)}`));
    }
    await stopping.catch(() => {});
    // A migrator call the demo stopped waiting for ends once its connection is gone.
    await withTimeout(Promise.allSettled(this.background), SETTLE_MS);
    await this.control?.end().catch(() => {});
    await this.database?.close().catch((error: unknown) =>
      this.log(
        `cleanup failed: ${message(error)}; ` +
          (this.database?.kind === "external"
            ? `remove the demo's schemas by hand: DROP SCHEMA IF EXISTS ${DEMO_SCHEMA}, ${DEMO_STATE_SCHEMA} CASCADE (and its version schemas)`
            : "the embedded server is removed when this process exits"),
      ),
    );
    await this.migrations?.remove().catch(() => {});
  }

  private summary(outcome: Outcome, totalSeconds: number): DemoSummary {
    const workload = this.workload!;
    const db = this.database!;
    const { audit, finalSchema } = outcome;
    const [o, n] = [workload.summaryCounts("old"), workload.summaryCounts("new")];
    const seconds = (stage: DemoStage) => round1((this.stageEnded.get(stage) ?? 0) - (this.stageStarted.get(stage) ?? 0));
    const failedQueries = workload.failedQueries;
    const body: Omit<DemoSummary, "text"> = {
      ok: failedQueries === 0 && audit.lostWrites === 0 && audit.unexpectedRows === 0 && finalSchema.problems.length === 0,
      failedQueries,
      lostWrites: audit.lostWrites,
      unexpectedRows: audit.unexpectedRows,
      writes: o.updates + o.inserts + n.updates + n.inserts,
      updates: o.updates + n.updates,
      inserts: o.inserts + n.inserts,
      reads: o.reads + n.reads,
      database: { kind: db.kind, server: db.server, role: db.role, superuser: db.superuser },
      table: {
        name: `${DEMO_SCHEMA}.${DEMO_TABLE}`,
        initialRows: this.options.rows,
        finalRows: audit.actualRows,
        expectedRows: audit.expectedRows,
        columns: finalSchema.columns,
      },
      change: "rename owner -> holder; balance integer -> bigint",
      clients: { perVersion: this.options.clients, ratePerClient: this.ratePerClient, old: o, new: n },
      latencyMs: {
        before: this.recorder.summary("before"),
        during: this.recorder.summary("during"),
        after: this.recorder.summary("after"),
        slowest: this.recorder.slowest,
      },
      balanceSum: { expected: audit.expectedBalanceSum, actual: audit.actualBalanceSum },
      backfill: this.timeline.backfill(this.rowsAtStart),
      lockRetries: this.timeline.lockRetries,
      steps: this.timeline.steps,
      schemaProblems: finalSchema.problems,
      errors: workload.summaryErrors,
      durationsSeconds: {
        setup: seconds("setup"),
        load: seconds("load"),
        before: seconds("before"),
        migration: round1(seconds("start") + seconds("rollout") + seconds("complete")),
        start: seconds("start"),
        rollout: seconds("rollout"),
        complete: seconds("complete"),
        after: seconds("after"),
        verify: seconds("verify"),
        cleanup: seconds("cleanup"),
        total: round1(totalSeconds),
      },
    };
    return { text: summaryText(body), ...body };
  }

  private migrator(databaseUrl: string): Migrator {
    return new Migrator({ databaseUrl, schema: DEMO_SCHEMA, stateSchema: DEMO_STATE_SCHEMA, onEvent: this.timeline.onEvent, actor: { source: "demo" } });
  }

  private get baselineSeconds(): number {
    return this.options.baselineSeconds ?? 5;
  }

  private get rolloutSeconds(): number {
    return this.options.rolloutSeconds ?? 3;
  }

  private get afterSeconds(): number {
    return this.options.afterSeconds ?? 2;
  }

  private enter(stage: DemoStage): void {
    this.stage = stage;
    this.stageStarted.set(stage, performance.now() / 1000);
  }

  private leave(stage: DemoStage): void {
    this.stageEnded.set(stage, performance.now() / 1000);
  }

  /**
   * Waits for `work` unless the demo is stopped first. Stopping does not cancel the work
   * (a Migrator call cannot be cancelled); cleanup ends it by closing its connection,
   * and waits for it to settle.
   */
  private untilStopped<T>(work: Promise<T>): Promise<T> {
    this.background.push(work.catch(() => {}));
    const signal = this.controller.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      work.then(
        (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      );
    });
  }

  private pause(seconds: number): Promise<void> {
    return this.untilStopped(new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000)));
  }

  /** A line every few seconds while clients run: throughput, latency, failures. */
  private startTicker(): void {
    let last = { writes: 0, reads: 0, at: performance.now() };
    this.recorder.takeWindow();
    this.ticker = setInterval(() => {
      const workload = this.workload;
      if (!workload) return;
      const { old: o, new: n } = workload.counts;
      const writes = o.updates + o.inserts + n.updates + n.inserts;
      const reads = o.reads + n.reads;
      const now = performance.now();
      const rate = (writes + reads - last.writes - last.reads) / ((now - last.at) / 1000);
      last = { writes, reads, at: now };
      const window = this.recorder.takeWindow();
      const running = workload.running;
      this.printer.line(
        `  clients: ${running.old} old + ${running.new} new, ${Math.round(rate).toLocaleString("en-US")} statements/s, ` +
          `p50 ${window.p50Ms.toFixed(1)} ms, p99 ${window.p99Ms.toFixed(1)} ms, ${writes.toLocaleString("en-US")} writes, ` +
          `${workload.failedQueries} failed`,
      );
    }, TICK_MS);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /**
   * SIGINT or SIGTERM stops the demo, which then cleans up; a second one exits at once
   * (the embedded server is still killed and removed by local-server's exit hook).
   */
  private handleSignals(): () => void {
    const external = this.options.signal;
    const onExternalAbort = () => this.controller.abort(new Error("stopped"));
    if (external?.aborted) onExternalAbort();
    external?.addEventListener("abort", onExternalAbort, { once: true });
    const onSignal = (name: NodeJS.Signals) => {
      if (this.controller.signal.aborted) process.exit(130);
      this.printer.line(`${name}: stopping the demo and removing what it made (again to quit at once)`);
      this.controller.abort(new Error(name));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    return () => {
      external?.removeEventListener("abort", onExternalAbort);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    };
  }
}

/** A stream for ProgressPrinter that hands each complete line to `log`. */
function lineStream(log: (line: string) => void): NodeJS.WriteStream {
  let pending = "";
  const stream = {
    isTTY: false,
    write(chunk: string): boolean {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) log(line);
      return true;
    },
  };
  return stream as unknown as NodeJS.WriteStream;
}

function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
