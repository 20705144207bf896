import { UnderwayError } from "../errors.js";
import { Migrator } from "../run/migrator.js";
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
  constructor(private readonly where: { databaseUrl: string; schema: string; stateSchema: string }) {}

  async pause(from: ControlCaller = {}): Promise<ControlResult> {
    const migrator = this.migrator(from);
    const tables = await migrator.pause();
    return { migration: await this.activeName(migrator), tables };
  }

  async cancel(from: ControlCaller = {}): Promise<ControlResult> {
    const migrator = this.migrator(from);
    const tables = await migrator.cancel();
    return { migration: await this.activeName(migrator), tables };
  }

  /**
   * Sets the active migration's paused jobs running. Unlike `underway resume` it does not
   * take over: jobs whose process is gone stay interrupted until someone runs `resume`.
   */
  async resume(from: ControlCaller = {}): Promise<ControlResult> {
    return this.migrator(from).unpause();
  }

  async throttle(request: ThrottleRequest, from: ControlCaller = {}): Promise<ControlResult> {
    const settings = throttleSettings(request);
    const migrator = this.migrator(from);
    const tables = await migrator.throttle(settings);
    return { migration: await this.activeName(migrator), tables, settings };
  }

  /** A Migrator whose audit rows say the dashboard acted, and for whom. */
  private migrator(from: ControlCaller): Migrator {
    return new Migrator({
      databaseUrl: this.where.databaseUrl,
      schema: this.where.schema,
      stateSchema: this.where.stateSchema,
      actor: { source: "dashboard", detail: from.remote ? { remote: from.remote } : {} },
    });
  }

  private async activeName(migrator: Migrator): Promise<string | null> {
    const history = await migrator.history();
    return history.find((m) => m.phase !== "completed" && m.phase !== "rolled_back")?.name ?? null;
  }
}

/** Who sent a control: the address of the request, as the audit trail records it. */
export interface ControlCaller {
  remote?: string;
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
