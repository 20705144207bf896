import { describe, expect, it } from "vitest";
import { ProgressPrinter } from "../../src/observe/progress-printer.js";
import type { BackfillProgress } from "../../src/backfill/backfill.js";

/** The backfill's progress line says what is true: paused when paused, no ETA it cannot know. */
describe("the backfill progress line", () => {
  function lineFor(progress: Partial<BackfillProgress>): string {
    const written: string[] = [];
    const stream = { isTTY: false, write: (chunk: string) => written.push(chunk) } as unknown as NodeJS.WriteStream;
    new ProgressPrinter(stream).onEvent({
      type: "backfill",
      migration: "02_x",
      progress: { table: "orders", rowsDone: 1000, rowsTotal: 4000, rowsPerSecond: 500, throttledBy: null, lagBytes: null, warning: null, ...progress },
    });
    return written.join("").trimEnd();
  }

  it("gives the rate and the time left while rows move", () => {
    expect(lineFor({})).toBe("  backfill orders: 1,000/4,000 rows (25.0%), 500 rows/s, ETA 6s");
  });

  it("says the ETA is unknown at 0 rows/s, never 0s for work left", () => {
    expect(lineFor({ rowsPerSecond: 0 })).toBe("  backfill orders: 1,000/4,000 rows (25.0%), 0 rows/s, ETA unknown");
    expect(lineFor({ rowsPerSecond: 0, throttledBy: "replica-lag" })).toBe("  backfill orders: 1,000/4,000 rows (25.0%), 0 rows/s, ETA unknown, throttled by replica-lag");
  });

  it("says paused, with what carries on, while the job is paused", () => {
    expect(lineFor({ state: "paused", rowsPerSecond: 0 })).toBe('  backfill orders: 1,000/4,000 rows (25.0%), paused (run "underway resume" to carry on)');
  });

  it("ends at 100% with nothing left", () => {
    expect(lineFor({ rowsDone: 4000, rowsPerSecond: 0 })).toBe("  backfill orders: 4,000/4,000 rows (100.0%), 0 rows/s, ETA 0s");
  });
});
