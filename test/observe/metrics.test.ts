import { describe, expect, it } from "vitest";
import { EventMetrics, chainListeners } from "../../src/observe/event-metrics.js";
import { createMetrics } from "../../src/observe/metrics.js";
import type { MigrationEvent } from "../../src/run/step-runner.js";
import type { BackfillProgress } from "../../src/backfill/backfill.js";
import { sample } from "./prometheus-text.js";

const progress = (p: Partial<BackfillProgress>): MigrationEvent => ({
  type: "backfill",
  progress: { table: "accounts", rowsDone: 0, rowsTotal: 1000, rowsPerSecond: 0, throttledBy: null, lagBytes: null, warning: null, ...p },
});

describe("metrics from a migration's events", () => {
  it("counts rows, rate, remaining, throttled time by reason, lag, phase and lock retries", async () => {
    const metrics = createMetrics();
    let now = 1_000_000;
    const observed = new EventMetrics(metrics, { migration: "02_widen", now: () => now });
    const job = { migration: "02_widen", table: "accounts" };

    observed.onEvent({ type: "step", action: "start", index: 0, total: 4, description: "add column _uw_new_balance" });
    now += 600;
    observed.onEvent({ type: "retry", action: "start", description: "add column", attempt: 1, delayMs: 300, blockedBy: "pid 42: SELECT" });
    now += 300 + 500;
    observed.onEvent({ type: "retry", action: "start", description: "add column", attempt: 2, delayMs: 700, blockedBy: null });
    observed.onEvent({ type: "step", action: "start", index: 2, total: 4, description: "backfill accounts" });

    observed.onEvent(progress({ rowsDone: 100, rowsPerSecond: 100 }));
    now += 1000;
    observed.onEvent(progress({ rowsDone: 250, rowsPerSecond: 150, throttledBy: "max-rate", lagBytes: 4096 }));
    now += 2000;
    observed.onEvent(progress({ rowsDone: 300, rowsPerSecond: 50, throttledBy: "replica-lag", lagBytes: 9000 }));
    now += 1500;
    observed.onEvent(progress({ rowsDone: 400, rowsPerSecond: 80, throttledBy: "foreground", foreground: { tps: 1200, impact: 0.5, duty: 0.2, pacing: true } }));
    now += 500;
    observed.onEvent(progress({ rowsDone: 420, rowsPerSecond: 80 }));

    const text = await metrics.text();
    expect(sample(text, "underway_backfill_rows_total", job)).toBe(420);
    expect(sample(text, "underway_backfill_rows_per_second", job)).toBe(80);
    expect(sample(text, "underway_backfill_rows_remaining", job)).toBe(580);
    expect(sample(text, "underway_backfill_rows_estimated", job)).toBe(1000);
    expect(sample(text, "underway_backfill_eta_seconds", job)).toBe(7.25);
    // What the foreground guard saw, and the time it held the job.
    expect(sample(text, "underway_foreground_write_tps", job)).toBe(1200);
    expect(sample(text, "underway_foreground_impact_ratio", job)).toBe(0.5);
    expect(sample(text, "underway_backfill_duty_ratio", job)).toBe(0.2);
    expect(sample(text, "underway_backfill_throttled_seconds_total", { ...job, reason: "foreground" })).toBe(0.5);
    // Throttled time is counted from each reading to the next, by the reason in force.
    expect(sample(text, "underway_backfill_throttled_seconds_total", { ...job, reason: "max-rate" })).toBe(2);
    expect(sample(text, "underway_backfill_throttled_seconds_total", { ...job, reason: "replica-lag" })).toBe(1.5);
    expect(sample(text, "underway_backfill_throttled_seconds_total", { ...job, reason: "lock-wait" })).toBe(0);
    expect(sample(text, "underway_backfill_throttled", { ...job, reason: "replica-lag" })).toBe(0);
    expect(sample(text, "underway_replica_lag_bytes")).toBe(9000);
    expect(sample(text, "underway_migration_phase", { migration: "02_widen", phase: "backfilling" })).toBe(1);
    expect(sample(text, "underway_migration_phase", { migration: "02_widen", phase: "started" })).toBe(0);
    expect(sample(text, "underway_migration_steps_done", { migration: "02_widen", action: "start" })).toBe(2);
    expect(sample(text, "underway_ddl_lock_retries_total", { migration: "02_widen", action: "start" })).toBe(2);
    // The first attempt waited 0.6s; the second began after the 0.3s backoff and waited 0.5s.
    expect(sample(text, "underway_ddl_lock_wait_seconds_count", { action: "start" })).toBe(2);
    expect(sample(text, "underway_ddl_lock_wait_seconds_sum", { action: "start" })).toBeCloseTo(1.1, 5);
    expect(sample(text, "underway_ddl_lock_wait_seconds_bucket", { action: "start", le: "0.5" })).toBe(1);
    for (const line of text.split("\n").filter((l) => l.startsWith("# TYPE"))) expect(line).toMatch(/^# TYPE underway_/);
  });

  it("takes the migration an event names, and the phase and steps an action returned", async () => {
    const metrics = createMetrics();
    const observed = new EventMetrics(metrics);
    observed.onEvent({ type: "step", action: "complete", index: 0, total: 3, description: "drop old column", migration: "07_named" } as MigrationEvent);
    let text = await metrics.text();
    expect(sample(text, "underway_migration_phase", { migration: "07_named", phase: "completing" })).toBe(1);

    // A resumed start's first event is its backfill step: events that name the step's kind place it.
    observed.onEvent({ type: "step", action: "start", index: 3, total: 5, description: "backfill accounts", kind: "backfill", migration: "08_resumed" } as MigrationEvent);
    expect(sample(await metrics.text(), "underway_migration_phase", { migration: "08_resumed", phase: "backfilling" })).toBe(1);

    observed.record({
      name: "07_named",
      phase: "completed",
      running: null,
      plan: { start: [], complete: [{ kind: "undo_sql", description: "a", schema: "public" }], rollback: [], backfillTables: [], dualWrite: [] },
      startDone: 0,
      completeDone: 1,
      rollbackDone: 0,
    });
    observed.verified({ ok: false, tables: [{ table: "items", rowsChecked: 30, mismatches: 2, ranges: [], unverifiable: [], failures: [] }] });
    text = await metrics.text();
    expect(sample(text, "underway_migration_phase", { migration: "07_named", phase: "completed" })).toBe(1);
    expect(sample(text, "underway_migration_phase", { migration: "07_named", phase: "completing" })).toBe(0);
    expect(sample(text, "underway_migration_steps", { migration: "07_named", action: "complete" })).toBe(1);
    expect(sample(text, "underway_verify_mismatched_rows", { migration: "07_named", table: "items" })).toBe(2);
    expect(sample(text, "underway_verify_runs_total", { migration: "07_named", result: "mismatch" })).toBe(1);
  });

  it("keeps separate registries apart, exports process metrics only when asked, and survives a broken listener", async () => {
    const a = createMetrics({ processMetrics: true });
    const b = createMetrics();
    expect(await a.text()).toContain("underway_process_cpu_user_seconds_total");
    expect(await b.text()).not.toContain("process_cpu");
    const seen: string[] = [];
    const listener = chainListeners<MigrationEvent>(
      () => {
        throw new Error("broken observer");
      },
      undefined,
      (event) => seen.push(event.type),
    );
    listener({ type: "notice", message: "hello" });
    expect(seen).toEqual(["notice"]);
  });
});
