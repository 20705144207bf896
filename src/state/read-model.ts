import type { Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import type { Action } from "../plan/step.js";
import type { StateWhere } from "./migration-store.js";
import type { Phase } from "./phase.js";
import { stateSchemaExists } from "./state-schema.js";

/**
 * What the dashboard and rehearse read of the migration records: only the columns they
 * show, without loading whole plans, and without the checks a phase needs. Phases read
 * and write records through migration-store.ts.
 */

/** A migration as a list of them shows it: where it stands, and how many steps each action has. */
export interface MigrationOverview {
  name: string;
  phase: Phase;
  running: Action | null;
  versionSchema: string;
  steps: Record<Action, { done: number; total: number }>;
  lastError: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

/** The schema's newest `limit` migrations, newest first; none when there is no state schema. */
export async function migrationOverviews(client: Client, where: StateWhere, limit: number): Promise<MigrationOverview[]> {
  if (!(await stateSchemaExists(client, where.stateSchema))) return [];
  const { rows } = await client.query(
    `SELECT name, phase, running, version_schema, start_done, complete_done, rollback_done,
            jsonb_array_length(plan->'start') AS start_total, jsonb_array_length(plan->'complete') AS complete_total,
            jsonb_array_length(plan->'rollback') AS rollback_total, last_error, created_at, updated_at, completed_at
       FROM ${qualified(where.stateSchema, "migrations")} WHERE schema = $1 ORDER BY id DESC LIMIT $2`,
    [where.schema, limit],
  );
  return rows.map((row) => ({
    name: row.name as string,
    phase: row.phase as Phase,
    running: (row.running as Action | null) ?? null,
    versionSchema: row.version_schema as string,
    steps: {
      start: { done: row.start_done as number, total: (row.start_total as number | null) ?? 0 },
      complete: { done: row.complete_done as number, total: (row.complete_total as number | null) ?? 0 },
      rollback: { done: row.rollback_done as number, total: (row.rollback_total as number | null) ?? 0 },
    },
    lastError: (row.last_error as string | null) ?? null,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
    completedAt: (row.completed_at as Date | null) ?? null,
  }));
}

/** One action's steps of a migration's plan, by description, and how many tables its start backfills. */
export async function planOutline(client: Client, where: StateWhere, name: string, action: Action): Promise<{ steps: string[]; backfills: number } | null> {
  const { rows } = await client.query<{ steps: string[]; backfills: number }>(
    `SELECT (SELECT coalesce(jsonb_agg(s->>'description'), '[]') FROM jsonb_array_elements(m.plan->$3::text) s) AS steps,
            coalesce(jsonb_array_length(m.plan->'backfillTables'), 0) AS backfills
       FROM ${qualified(where.stateSchema, "migrations")} m WHERE m.schema = $1 AND m.name = $2`,
    [where.schema, name, action],
  );
  return rows[0] ?? null;
}

/** The phase of one migration, or null when it (or the state schema) is not there. */
export async function migrationPhase(client: Client, where: StateWhere, name: string): Promise<Phase | null> {
  if (!(await stateSchemaExists(client, where.stateSchema))) return null;
  const { rows } = await client.query<{ phase: Phase }>(`SELECT phase FROM ${qualified(where.stateSchema, "migrations")} WHERE schema = $1 AND name = $2`, [where.schema, name]);
  return rows[0]?.phase ?? null;
}
