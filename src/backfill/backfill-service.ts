import type { Client } from "../db/connection.js";
import { UnderwayError, describeError } from "../errors.js";
import type { Backfill, BackfillContext, BackfillResult } from "./backfill.js";
import { BackfillJob, type BackfillJobOptions } from "./backfill-job.js";
import { JobStore, type JobSummary, type StoredJobState } from "./job-store.js";
import type { BackfillSettings } from "./settings.js";
import { runThrottleQuery } from "./throttle-monitor.js";

/** A migration's backfill jobs: where the state schema files them. */
export interface JobScope {
  stateSchema: string;
  schema: string;
  migration: string;
}

/**
 * Everything done to a migration's backfill: run it in this process, join a run of
 * another, pause, resume, cancel and retune its jobs, report them and drop them. The
 * methods that change jobs work on the caller's connection and open no transaction of
 * their own, so the migrator commits each change with its audit row, both or neither.
 */
export interface BackfillService {
  /**
   * Refuses, before anything changes, what a run could not honour: a throttle query that
   * fails, options the backfill does not take (exit 2).
   */
  checkRun(client: Client, options: BackfillJobOptions): Promise<void>;
  /** Refuses settings whose throttle query fails. Runs a transaction of its own: call it outside the caller's. */
  checkSettings(client: Client, settings: Partial<BackfillSettings> | undefined): Promise<void>;
  /** The backfill a phase's backfill steps run, with this run's options. */
  backfill(options: BackfillJobOptions): Backfill;
  /** Works on the free ranges of a table's job that another process runs (`resume --join`). */
  join(ctx: BackfillContext, options: BackfillJobOptions): Promise<BackfillResult>;
  /** Pauses the running jobs; their workers hold within a second. Returns the tables. */
  pause(client: Client, scope: JobScope): Promise<string[]>;
  /** Cancels the running and paused jobs: their workers stop. */
  cancel(client: Client, scope: JobScope): Promise<string[]>;
  /** Sets paused, cancelled and failed jobs running again, with `settings` changed if given. */
  resume(client: Client, scope: JobScope, settings?: Partial<BackfillSettings>): Promise<string[]>;
  /** Sets paused jobs running again, and nothing more. */
  unpause(client: Client, scope: JobScope): Promise<string[]>;
  /** Changes the limits of the unfinished jobs; running workers reload them. */
  throttle(client: Client, scope: JobScope, patch: Partial<BackfillSettings>): Promise<string[]>;
  /** The jobs as operators see them (`status`, `jobs`). */
  status(client: Client, scope: JobScope): Promise<JobSummary[]>;
  /** Drops the jobs and their ranges (after a rollback their cursors mean nothing). */
  remove(client: Client, scope: JobScope): Promise<void>;
}

/**
 * The backfill service over underway's own job (`BackfillJob`) and its tables
 * (`JobStore`). Given a custom backfill, its runs are the custom one's, and what only the
 * job understands (workers, settings, lease, join) is refused rather than dropped
 * silently; pause, cancel, throttle and status still act on any job rows there are.
 *
 * @example
 * const backfills = new BackfillJobService();
 * const tables = await backfills.pause(client, { stateSchema: "underway", schema: "public", migration: "02_widen" });
 */
export class BackfillJobService implements BackfillService {
  constructor(private readonly custom?: Backfill) {}

  async checkRun(client: Client, options: BackfillJobOptions): Promise<void> {
    this.refuseForCustom(options);
    await this.checkSettings(client, options.settings);
  }

  async checkSettings(client: Client, settings: Partial<BackfillSettings> | undefined): Promise<void> {
    if (!settings?.throttleQuery) return;
    try {
      await runThrottleQuery(client, settings.throttleQuery);
    } catch (error) {
      throw new UnderwayError("INVALID_ARGUMENT", `--throttle-query fails: ${describeError(error)}`);
    }
  }

  backfill(options: BackfillJobOptions): Backfill {
    if (!this.custom) return new BackfillJob(options);
    this.refuseForCustom(options);
    return this.custom;
  }

  async join(ctx: BackfillContext, options: BackfillJobOptions): Promise<BackfillResult> {
    this.refuseForCustom({ ...options, join: true });
    return new BackfillJob({ ...options, join: true }).run(ctx);
  }

  pause(client: Client, scope: JobScope): Promise<string[]> {
    return this.move(client, scope, ["running"], "paused", "no running backfill job to pause");
  }

  cancel(client: Client, scope: JobScope): Promise<string[]> {
    return this.move(client, scope, ["running", "paused"], "cancelled", "no running or paused backfill job to cancel");
  }

  async resume(client: Client, scope: JobScope, settings?: Partial<BackfillSettings>): Promise<string[]> {
    const store = new JobStore(client, scope.stateSchema);
    const resumed = await store.transition(scope.schema, scope.migration, ["paused", "cancelled", "failed"], "running");
    if (settings && Object.keys(settings).length > 0) await store.updateSettings(scope.schema, scope.migration, settings);
    return resumed;
  }

  unpause(client: Client, scope: JobScope): Promise<string[]> {
    return this.move(client, scope, ["paused"], "running", "no paused backfill job to resume");
  }

  async throttle(client: Client, scope: JobScope, patch: Partial<BackfillSettings>): Promise<string[]> {
    const tables = await new JobStore(client, scope.stateSchema).updateSettings(scope.schema, scope.migration, patch);
    if (tables.length === 0) throw new UnderwayError("INVALID_STATE", `migration "${scope.migration}" has no unfinished backfill job`);
    return tables;
  }

  status(client: Client, scope: JobScope): Promise<JobSummary[]> {
    return new JobStore(client, scope.stateSchema).summaries(scope.schema, scope.migration);
  }

  remove(client: Client, scope: JobScope): Promise<void> {
    return new JobStore(client, scope.stateSchema).remove(scope.schema, scope.migration);
  }

  private async move(client: Client, scope: JobScope, from: StoredJobState[], to: StoredJobState, none: string): Promise<string[]> {
    const tables = await new JobStore(client, scope.stateSchema).transition(scope.schema, scope.migration, from, to);
    if (tables.length === 0) throw new UnderwayError("INVALID_STATE", `${none} (migration "${scope.migration}")`);
    return tables;
  }

  /**
   * A custom backfill is only a `run`: it has no workers, stored settings, leases or job to
   * join. Options meant for underway's own job would be dropped without a word, so they
   * are refused instead, before anything changes.
   */
  private refuseForCustom(options: BackfillJobOptions): void {
    if (!this.custom) return;
    const given = [
      ...(options.workers !== undefined ? ["workers"] : []),
      ...Object.entries(options.settings ?? {}).flatMap(([key, value]) => (value === undefined ? [] : [`settings.${key}`])),
      ...(options.leaseSeconds !== undefined ? ["leaseSeconds"] : []),
      ...(options.join ? ["join"] : []),
    ];
    if (given.length === 0) return;
    throw new UnderwayError(
      "INVALID_ARGUMENT",
      `the custom backfill given as the Migrator's backfill option takes no ${given.join(", ")}: those are options of underway's own backfill job; configure the custom backfill where it is made, or leave them out`,
    );
  }
}
