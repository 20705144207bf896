import { createRequire } from "node:module";
import type { DestinationStream, Logger } from "pino";
import { UnderwayError, toUnderwayError } from "../errors.js";
import { isConnectionLoss } from "../db/connection.js";
import type { MigrationRecord } from "../run/migrator.js";
import type { MigrationEvent } from "../run/step-runner.js";
import { eventMigration } from "./event-metrics.js";
import { observedPhase, phaseOfStep, type ObservedPhase } from "./phase.js";

const require = createRequire(import.meta.url);

/** `--log-format`: JSON lines for machines, or lines for people. */
export type LogFormat = "json" | "text";

/** What every log line of a migration carries. */
export interface LogContext {
  migration: string | null;
  phase: ObservedPhase | null;
  step: string | null;
  table: string | null;
}

export interface LoggerOptions {
  format: LogFormat;
  /** Where lines go (default: stderr, written synchronously so nothing is lost at exit). */
  stream?: DestinationStream;
  /** Fields added to every line, read as each line is written. */
  context?: () => object;
  level?: "debug" | "info" | "warn" | "error";
}

/** Parses `--log-format`. */
export function parseLogFormat(text: string): LogFormat {
  const format = text.trim().toLowerCase();
  if (format === "json" || format === "text") return format;
  throw new UnderwayError("INVALID_ARGUMENT", `invalid --log-format "${text}": use json or text`);
}

/**
 * A pino logger. `json` writes one JSON object a line (`level` as a word, `time` in ISO
 * 8601, `msg`, and the context's fields); `text` writes the same records as short lines
 * for a person: `12:00:01 INFO  backfill accounts: ... [migration=02_widen phase=backfilling]`.
 *
 * @example
 * const log = createLogger({ format: "json", context: () => ({ migration: "02_widen" }) });
 * log.info({ table: "accounts" }, "paused from the dashboard");
 */
export function createLogger(options: LoggerOptions): Logger {
  // pino (CommonJS) is required by the first logger made, not by `import "underway"`.
  const { pino } = require("pino") as typeof import("pino");
  const stream = options.stream ?? pino.destination({ dest: 2, sync: true });
  const context = options.context;
  return pino(
    {
      level: options.level ?? "info",
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...(context ? { mixin: () => ({ ...context() }) } : {}),
    },
    options.format === "json" ? stream : humanStream(stream),
  );
}

const HUMAN_SKIP = new Set(["level", "time", "msg", "migration", "phase", "step", "table"]);

/** Rewrites pino's JSON lines into lines for a person. */
function humanStream(target: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      target.write(`${humanLine(JSON.parse(line) as Record<string, unknown>)}\n`);
    },
  };
}

/** One pino record as a line for a person. */
export function humanLine(record: Record<string, unknown>): string {
  const time = typeof record.time === "string" ? record.time.slice(11, 19) : "";
  const level = String(record.level ?? "info").toUpperCase().padEnd(5);
  const where = ["migration", "phase", "table"]
    .filter((key) => record[key] !== null && record[key] !== undefined)
    .map((key) => `${key}=${String(record[key])}`);
  const extra = Object.entries(record)
    .filter(([key, value]) => !HUMAN_SKIP.has(key) && value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === "object" ? JSON.stringify(value) : String(value)}`);
  const tail = [...where, ...extra];
  return `${time} ${level} ${String(record.msg ?? "")}${tail.length ? ` [${tail.join(" ")}]` : ""}`;
}

export interface EventLogOptions extends Omit<LoggerOptions, "context"> {
  /** The migration the events are about, when the events do not say. */
  migration?: string;
  /** A backfill's progress is logged at most this often per table, and when its throttle changes (default 5000). */
  progressEveryMs?: number;
  now?: () => number;
}

/**
 * Logs a migration's events (the Migrator's `onEvent`) with pino, every line carrying the
 * migration, its phase, the current step and the table. `event` says what a line is, so a
 * program reads the fields instead of `msg`: `step` and `step-skipped` (with `action`,
 * `index` from 0 and `total`), `retry`, `backfill`, `notice`, `audit`, `phase` (where an
 * action left the migration) and `failed` (its `code`, and `connectionLost` when the
 * database went away rather than the migration failing).
 *
 * @example
 * const log = new EventLog({ format: "json", migration: file.name });
 * const migrator = new Migrator({ databaseUrl, onEvent: log.onEvent });
 * log.record(await migrator.start(file));
 */
export class EventLog {
  readonly logger: Logger;
  private readonly context: LogContext;
  private readonly progressEveryMs: number;
  private readonly now: () => number;
  private readonly lastProgress = new Map<string, { at: number; throttledBy: string | null }>();
  private readonly warned = new Set<string>();

  constructor(options: EventLogOptions) {
    this.context = { migration: options.migration ?? null, phase: null, step: null, table: null };
    this.progressEveryMs = options.progressEveryMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.logger = createLogger({ ...options, context: () => this.context });
  }

  readonly onEvent = (event: MigrationEvent): void => {
    const migration = eventMigration(event);
    if (migration !== undefined) this.context.migration = migration;
    switch (event.type) {
      case "step": {
        this.context.phase = phaseOfStep(event, this.context.phase);
        this.context.step = `${event.action} ${event.index + 1}/${event.total}: ${event.description}`;
        this.context.table = eventTable(event);
        this.logger.info({ event: "step", action: event.action, index: event.index, total: event.total }, this.context.step);
        return;
      }
      case "step-skipped":
        this.context.step = `${event.action} ${event.index + 1}/${event.total}: ${event.description}`;
        this.context.table = eventTable(event);
        this.logger.info({ event: "step-skipped", action: event.action, index: event.index, total: event.total, reason: event.reason }, `skipped ${this.context.step} (${event.reason})`);
        return;
      case "retry":
        this.logger.warn(
          { event: "retry", action: event.action, attempt: event.attempt, delayMs: event.delayMs, blockedBy: event.blockedBy },
          `lock not acquired for "${event.description}" (attempt ${event.attempt}); retrying in ${event.delayMs}ms${event.blockedBy ? `; held by ${event.blockedBy}` : ""}`,
        );
        return;
      case "backfill": {
        const p = event.progress;
        this.context.phase = "backfilling";
        this.context.table = p.table;
        if (p.warning && !this.warned.has(p.warning)) {
          this.warned.add(p.warning);
          this.logger.warn({ event: "backfill" }, p.warning);
        }
        const now = this.now();
        const last = this.lastProgress.get(p.table);
        if (last && last.throttledBy === p.throttledBy && now - last.at < this.progressEveryMs && p.rowsDone < p.rowsTotal) return;
        this.lastProgress.set(p.table, { at: now, throttledBy: p.throttledBy });
        const remaining = Math.max(0, p.rowsTotal - p.rowsDone);
        const etaSeconds = remaining === 0 ? 0 : p.rowsPerSecond > 0 ? Math.round(remaining / p.rowsPerSecond) : null;
        this.logger.info(
          {
            event: "backfill",
            rowsDone: p.rowsDone,
            rowsTotal: p.rowsTotal,
            rowsPerSecond: Math.round(p.rowsPerSecond),
            etaSeconds,
            throttledBy: p.throttledBy,
            lagBytes: p.lagBytes,
          },
          `backfill ${p.table}: ${p.rowsDone}/${p.rowsTotal} rows${p.throttledBy ? `, throttled by ${p.throttledBy}` : ""}`,
        );
        return;
      }
      case "notice":
        this.logger.info({ event: "notice" }, event.message.trim());
        return;
      case "audit": {
        const { entry } = event;
        this.logger.info(
          { event: "audit", audit: { id: entry.id, at: entry.at, schema: entry.schema, action: entry.action, outcome: entry.outcome, checksum: entry.checksum, detail: entry.detail, who: entry.who } },
          `audit: ${entry.action} ${entry.outcome}${typeof entry.detail.step === "string" ? ` (${entry.detail.step})` : ""}`,
        );
        return;
      }
    }
  };

  /** Logs where an action left the migration. */
  record(record: Pick<MigrationRecord, "name" | "phase" | "running" | "versionSchema">): void {
    this.context.migration = record.name;
    this.context.phase = observedPhase(record);
    this.context.step = null;
    this.context.table = null;
    this.logger.info({ event: "phase", versionSchema: record.versionSchema }, `migration ${record.name} is ${this.context.phase.replace("_", " ")}`);
  }

  /** Logs the failure that ends the command. */
  failed(error: unknown): void {
    const failure = toUnderwayError(error);
    this.logger.error({ event: "failed", code: failure.code, connectionLost: isConnectionLoss(error) }, failure.message);
  }
}

/** The table an event names, as a plain name (a DDL step names it schema-qualified and quoted). */
function eventTable(event: MigrationEvent): string | null {
  if (!("table" in event) || typeof event.table !== "string") return null;
  const last = /(?:^|\.)("(?:[^"]|"")*"|[^."]+)$/.exec(event.table)?.[1] ?? event.table;
  return last.startsWith('"') ? last.slice(1, -1).replaceAll('""', '"') : last;
}
