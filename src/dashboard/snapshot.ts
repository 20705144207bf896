import type { Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import { JobStore, type JobSummary } from "../backfill/job-store.js";
import { stateSchemaExists } from "../state/state-schema.js";
import type { Phase } from "../state/phase.js";
import { isActivePhase } from "../state/phase.js";
import { migrationOverviews, planOutline, type MigrationOverview } from "../state/read-model.js";
import type { Action } from "../plan/step.js";
import { observedPhase, type ObservedPhase } from "../observe/phase.js";

/** A migration as the dashboard lists it. */
export interface MigrationView {
  name: string;
  phase: ObservedPhase;
  storedPhase: Phase;
  running: Action | null;
  versionSchema: string;
  steps: Record<Action, { done: number; total: number }>;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/** One phase on the way of the current migration, with when it was reached (when known). */
export interface TimelineEntry {
  phase: ObservedPhase;
  at: string | null;
  state: "done" | "current" | "pending" | "skipped";
}

export interface StepView {
  index: number;
  description: string;
  state: "done" | "current" | "pending";
}

/** The active migration (or, when none is, the newest), in detail. */
export interface CurrentMigrationView extends MigrationView {
  active: boolean;
  /** The action whose steps `stepList` shows. */
  action: Action;
  stepList: StepView[];
  timeline: TimelineEntry[];
}

/** Everything the page shows, read in one consistent look at the state schema. */
export interface DashboardSnapshot {
  at: string;
  schema: string;
  stateSchema: string;
  /** Whether the state schema exists yet. */
  initialized: boolean;
  /** Newest first, at most `HISTORY_LIMIT`. */
  migrations: MigrationView[];
  current: CurrentMigrationView | null;
  /** The current migration's backfill jobs. */
  jobs: JobSummary[];
  replicaLagBytes: number | null;
  replicas: number;
  /** Why the last look failed, if it did (the rest is then the last good look). */
  error: string | null;
}

export const HISTORY_LIMIT = 50;

/** When the poller first saw a migration in each phase, for phases the state schema does not date. */
export type PhaseSightings = Map<string, Partial<Record<ObservedPhase, string>>>;

const FORWARD: ObservedPhase[] = ["started", "backfilling", "ready", "completing", "completed"];
const BACKWARD: ObservedPhase[] = ["started", "backfilling", "rolling_back", "rolled_back"];

/**
 * Reads the snapshot in one read-only, repeatable-read transaction, so the history, the
 * jobs and the timeline agree with each other.
 */
export async function readSnapshot(
  client: Client,
  where: { schema: string; stateSchema: string },
  sightings: PhaseSightings = new Map(),
): Promise<DashboardSnapshot> {
  const at = new Date().toISOString();
  const lag = await replicaLag(client);
  const empty: DashboardSnapshot = { at, ...where, initialized: false, migrations: [], current: null, jobs: [], ...lag, error: null };
  if (!(await stateSchemaExists(client, where.stateSchema))) return empty;
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const migrations = (await migrationOverviews(client, where, HISTORY_LIMIT)).map(toView);
    const newest = migrations.find((m) => isActivePhase(m.storedPhase)) ?? migrations[0];
    let current: CurrentMigrationView | null = null;
    let jobs: JobSummary[] = [];
    if (newest) {
      jobs = await new JobStore(client, where.stateSchema).summaries(where.schema, newest.name);
      const action = shownAction(newest);
      const outline = (await planOutline(client, where, newest.name, action)) ?? { steps: [], backfills: 0 };
      // The backfill service's tables: when its jobs began and ended.
      const { rows: jobDates } = await client.query<{ jobs_started: Date | null; jobs_finished: Date | null; all_done: boolean | null }>(
        `SELECT min(created_at) AS jobs_started, max(finished_at) AS jobs_finished, bool_and(state = 'done') AS all_done
           FROM ${qualified(where.stateSchema, "backfill_jobs")} WHERE schema = $1 AND migration = $2`,
        [where.schema, newest.name],
      );
      const d = { ...outline, ...jobDates[0]! };
      const done = newest.steps[action].done;
      const seen = sightings.get(newest.name) ?? {};
      current = {
        ...newest,
        active: isActivePhase(newest.storedPhase),
        action,
        stepList: d.steps.map((description, index) => ({
          index,
          description,
          state: index < done ? "done" : index === done && newest.running === action ? "current" : "pending",
        })),
        timeline: phaseTimeline(newest, {
          hasBackfill: d.backfills > 0,
          backfillStarted: d.jobs_started?.toISOString() ?? null,
          backfillFinished: d.all_done ? (d.jobs_finished?.toISOString() ?? null) : null,
          seen,
        }),
      };
    }
    await client.query("COMMIT");
    return { ...empty, initialized: true, migrations, current, jobs };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** The phases the migration went (or goes) through, with when each was reached. */
export function phaseTimeline(
  migration: Pick<MigrationView, "phase" | "createdAt" | "completedAt">,
  known: { hasBackfill: boolean; backfillStarted: string | null; backfillFinished: string | null; seen: Partial<Record<ObservedPhase, string>> },
): TimelineEntry[] {
  const path = migration.phase === "rolling_back" || migration.phase === "rolled_back" ? BACKWARD : FORWARD;
  const reached = path.indexOf(migration.phase);
  const dated: Partial<Record<ObservedPhase, string | null>> = {
    started: migration.createdAt,
    backfilling: known.backfillStarted,
    ready: known.backfillFinished,
    completed: migration.completedAt,
  };
  return path.map((phase, i) => {
    const skipped = phase === "backfilling" && !known.hasBackfill && !known.backfillStarted;
    const state = skipped ? "skipped" : i < reached ? "done" : i === reached ? "current" : "pending";
    const at = state === "pending" || state === "skipped" ? null : (dated[phase] ?? known.seen[phase] ?? null);
    return { phase, at, state };
  });
}

/** Whose steps to show: the running action's, else the one that brought the migration where it is. */
function shownAction(m: MigrationView): Action {
  if (m.running) return m.running;
  if (m.storedPhase === "completed") return "complete";
  if (m.storedPhase === "rolled_back") return "rollback";
  return "start";
}

async function replicaLag(client: Client): Promise<{ replicaLagBytes: number | null; replicas: number }> {
  // On a standby pg_current_wal_lsn() raises; its own replicas are not this dashboard's business.
  const { rows } = await client.query<{ replicas: number; bytes: number | null }>(
    `SELECT count(*)::int AS replicas,
            CASE WHEN pg_is_in_recovery() THEN NULL ELSE max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn))::float8 END AS bytes
       FROM pg_stat_replication`,
  );
  const r = rows[0]!;
  return { replicas: r.replicas, replicaLagBytes: r.bytes === null ? null : Math.max(0, r.bytes) };
}

function toView(m: MigrationOverview): MigrationView {
  return {
    name: m.name,
    phase: observedPhase({ phase: m.phase, running: m.running }),
    storedPhase: m.phase,
    running: m.running,
    versionSchema: m.versionSchema,
    steps: m.steps,
    lastError: m.lastError,
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
    completedAt: m.completedAt ? m.completedAt.toISOString() : null,
  };
}
