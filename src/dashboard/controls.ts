import { connect, type Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import { UnderwayError } from "../errors.js";
import { Migrator } from "../engine/migrator.js";
import { stateSchemaExists } from "../engine/state-schema.js";
import { JobStore } from "../backfill/job-store.js";
import { parseMaxLag, parseMaxRate, type BackfillSettings } from "../backfill/settings.js";

/** What a control did: the tables whose jobs it changed. */
export interface ControlResult {
  migration: string | null;
  tables: string[];
  settings?: Partial<BackfillSettings>;
}

/** A throttle change as the page sends it: the same words as `underway throttle`. */
export interface ThrottleRequest {
  /** Rows per second, or "none". */
  maxRate?: string | number | null;
  /** A size (64MB) or a duration (5s), or "none". */
  maxLag?: string | null;
}

/**
 * The dashboard's controls. They act on the jobs in the state schema, exactly as the
 * `pause`, `cancel` and `throttle` commands do (through the Migrator), and the process
 * running the migration picks each change up within a second. The dashboard never runs
 * a backfill itself: its resume only sets paused jobs running again.
 */
export class DashboardControls {
  private readonly migrator: Migrator;

  constructor(private readonly where: { databaseUrl: string; schema: string; stateSchema: string }) {
    this.migrator = new Migrator({ databaseUrl: where.databaseUrl, schema: where.schema, stateSchema: where.stateSchema });
  }

  async pause(): Promise<ControlResult> {
    const tables = await this.migrator.pause();
    return { migration: await this.activeName(), tables };
  }

  async cancel(): Promise<ControlResult> {
    const tables = await this.migrator.cancel();
    return { migration: await this.activeName(), tables };
  }

  /**
   * Sets the active migration's paused jobs running. Unlike `underway resume` it does not
   * take over: jobs whose process is gone stay interrupted until someone runs `resume`.
   */
  async resume(): Promise<ControlResult> {
    const client = await connect(this.where.databaseUrl, { applicationName: "underway dashboard control" });
    try {
      const migration = await this.activeNameOn(client);
      if (!migration) throw new UnderwayError("INVALID_STATE", `no migration is active in schema "${this.where.schema}"`);
      const tables = await new JobStore(client, this.where.stateSchema).transition(this.where.schema, migration, ["paused"], "running");
      if (tables.length === 0) throw new UnderwayError("INVALID_STATE", `no paused backfill job to resume (migration "${migration}")`);
      return { migration, tables };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async throttle(request: ThrottleRequest): Promise<ControlResult> {
    const settings = throttleSettings(request);
    const tables = await this.migrator.throttle(settings);
    return { migration: await this.activeName(), tables, settings };
  }

  private async activeName(): Promise<string | null> {
    const client = await connect(this.where.databaseUrl, { applicationName: "underway dashboard control" });
    try {
      return await this.activeNameOn(client);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async activeNameOn(client: Client): Promise<string | null> {
    if (!(await stateSchemaExists(client, this.where.stateSchema))) return null;
    const { rows } = await client.query<{ name: string }>(
      `SELECT name FROM ${qualified(this.where.stateSchema, "migrations")} WHERE schema = $1 AND phase NOT IN ('completed', 'rolled_back')`,
      [this.where.schema],
    );
    return rows[0]?.name ?? null;
  }
}

/** The settings a throttle request asks for; at least one must be given. */
export function throttleSettings(request: ThrottleRequest): Partial<BackfillSettings> {
  const settings: Partial<BackfillSettings> = {};
  const text = (value: string | number | null) => (value === null ? "none" : String(value).trim());
  if (request.maxRate !== undefined && text(request.maxRate) !== "") settings.maxRate = parseMaxRate(text(request.maxRate));
  if (request.maxLag !== undefined && text(request.maxLag) !== "") Object.assign(settings, parseMaxLag(text(request.maxLag)));
  if (Object.keys(settings).length === 0) throw new UnderwayError("INVALID_ARGUMENT", "throttle: give max-rate or max-lag (or none to clear one)");
  return settings;
}
