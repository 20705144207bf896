import { describe, expect, it } from "vitest";
import { EventLog, createLogger, humanLine, parseLogFormat } from "../../src/observe/event-log.js";
import { UnderwayError } from "../../src/errors.js";
import type { MigrationEvent } from "../../src/run/step-runner.js";

function capture(): { lines: string[]; stream: { write(line: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (chunk: string) => lines.push(...chunk.split("\n").filter((l) => l !== "")) } };
}

const progress = (rowsDone: number, throttledBy: "max-rate" | null = null): MigrationEvent => ({
  type: "backfill",
  progress: { table: "accounts", rowsDone, rowsTotal: 1000, rowsPerSecond: 100, throttledBy, lagBytes: null, warning: null },
});

describe("structured logs", () => {
  it("writes JSON lines that all carry migration, phase, step and table", () => {
    const out = capture();
    let now = 0;
    const log = new EventLog({ format: "json", stream: out.stream, migration: "02_widen", now: () => now });
    log.onEvent({ type: "step", action: "start", index: 0, total: 3, description: "add column _uw_new_balance to accounts" });
    log.onEvent({ type: "retry", action: "start", description: "add column", attempt: 1, delayMs: 250, blockedBy: "pid 7: SELECT 1" });
    log.onEvent({ type: "step", action: "start", index: 1, total: 3, description: "backfill accounts" });
    log.onEvent(progress(100));
    now += 1000;
    log.onEvent(progress(200)); // within 5 s and the same throttle: not logged
    now += 1000;
    log.onEvent(progress(300, "max-rate")); // the throttle changed: logged
    log.onEvent({ type: "step", action: "start", index: 2, total: 3, description: "create version schema public_02_widen" });
    log.record({ name: "02_widen", phase: "ready", running: null, versionSchema: "public_02_widen" });
    log.failed(new UnderwayError("LOCK_TIMEOUT", "gave up"));

    const records = out.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toHaveLength(8);
    for (const record of records) {
      expect(Object.keys(record)).toEqual(expect.arrayContaining(["level", "time", "msg", "migration", "phase", "step", "table"]));
      expect(record.migration).toBe("02_widen");
      expect(record.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    }
    expect(records[0]).toMatchObject({ level: "info", phase: "started", step: "start 1/3: add column _uw_new_balance to accounts", table: null });
    // What a program reads instead of msg: what the line is, and the step as numbers.
    expect(records[0]).toMatchObject({ event: "step", action: "start", index: 0, total: 3 });
    expect(records[1]).toMatchObject({ level: "warn", event: "retry", action: "start", attempt: 1, delayMs: 250, blockedBy: "pid 7: SELECT 1" });
    expect(records[3]).toMatchObject({ phase: "backfilling", step: "start 2/3: backfill accounts", table: "accounts", rowsDone: 100, rowsTotal: 1000, etaSeconds: 9 });
    expect(records[4]).toMatchObject({ rowsDone: 300, throttledBy: "max-rate" });
    // The rest of the start phase is still the backfilling phase until the migration is ready.
    expect(records[5]).toMatchObject({ phase: "backfilling", step: "start 3/3: create version schema public_02_widen", table: null });
    expect(records[6]).toMatchObject({ event: "phase", phase: "ready", msg: "migration 02_widen is ready", versionSchema: "public_02_widen" });
    expect(records[7]).toMatchObject({ level: "error", event: "failed", code: "LOCK_TIMEOUT", connectionLost: false, msg: "gave up" });
  });

  it("names a table plainly even when the event gives it schema-qualified and quoted", () => {
    const out = capture();
    const log = new EventLog({ format: "json", stream: out.stream });
    log.onEvent({ type: "step", action: "start", index: 0, total: 1, description: "add column", table: '"public"."Odd ""name"""', migration: "03_odd" } as MigrationEvent);
    log.onEvent({ type: "step", action: "start", index: 0, total: 1, description: "add index", table: "plain", migration: "03_odd" } as MigrationEvent);
    expect(out.lines.map((l) => JSON.parse(l) as { table: string; migration: string })).toMatchObject([
      { table: 'Odd "name"', migration: "03_odd" },
      { table: "plain", migration: "03_odd" },
    ]);
  });

  it("writes lines for people in text format", () => {
    const out = capture();
    const logger = createLogger({ format: "text", stream: out.stream, context: () => ({ migration: "02_widen", phase: "backfilling", step: null, table: "accounts" }) });
    logger.warn({ attempt: 2 }, "lock not acquired");
    expect(out.lines).toHaveLength(1);
    expect(out.lines[0]).toMatch(/^\d\d:\d\d:\d\d WARN  lock not acquired \[migration=02_widen phase=backfilling table=accounts attempt=2\]$/);
    expect(humanLine({ level: "info", time: "2025-01-02T03:04:05.000Z", msg: "hello" })).toBe("03:04:05 INFO  hello");
  });

  it("accepts json and text only", () => {
    expect(parseLogFormat("JSON")).toBe("json");
    expect(() => parseLogFormat("yaml")).toThrow(/use json or text/);
  });
});
