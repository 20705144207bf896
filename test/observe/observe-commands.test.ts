import { describe, expect, it } from "vitest";
import { ProgressPrinter } from "../../src/observe/progress-printer.js";
import { withObservation } from "../../src/cli/observe-commands.js";
import { UnderwayError } from "../../src/errors.js";
import type { MigrationRecord } from "../../src/run/migrator.js";
import type { VerifyReport } from "../../src/verify/verify.js";
import { sample } from "./prometheus-text.js";

const quiet = () => new ProgressPrinter(process.stderr, true);
const report: VerifyReport = { ok: false, tables: [{ table: "items", rowsChecked: 10, mismatches: 3, ranges: [], unverifiable: [], failures: [] }] };
const completed = { name: "05_cents", phase: "completed", running: null, versionSchema: "public_05_cents", plan: { start: [], complete: [], rollback: [], backfillTables: [], dualWrite: [] }, startDone: 0, completeDone: 0, rollbackDone: 0 } as unknown as MigrationRecord;

describe("observing one command run", () => {
  it("logs a verification when it happens and labels its metrics once the result names the migration", async () => {
    const lines: string[] = [];
    let metricsUrl = "";
    let during = "";
    const result = await withObservation(
      { metricsPort: "0", logFormat: "json" },
      quiet(),
      { logStream: { write: (chunk) => lines.push(...chunk.split("\n").filter(Boolean)) } },
      async (observation) => {
        metricsUrl = observation.metricsUrl!;
        observation.verified(report);
        observation.record(completed);
        during = await (await fetch(metricsUrl)).text();
        return "done";
      },
    );
    expect(result).toBe("done");
    expect(sample(during, "underway_verify_mismatched_rows", { migration: "05_cents", table: "items" })).toBe(3);
    expect(sample(during, "underway_migration_phase", { migration: "05_cents", phase: "completed" })).toBe(1);
    await expect(fetch(metricsUrl)).rejects.toThrow();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => r.msg)).toEqual([expect.stringMatching(/^metrics at /), "verified 10 rows: 3 mismatching", "migration 05_cents is completed"]);
    expect(records[1]).toMatchObject({ level: "error", mismatches: 3 });
  });

  it("logs the failure that ends the run and stops its metrics server", async () => {
    const lines: string[] = [];
    let metricsUrl = "";
    const failure = await withObservation(
      { metricsPort: "0", logFormat: "json" },
      quiet(),
      { migration: "06_x", logStream: { write: (chunk) => lines.push(...chunk.split("\n").filter(Boolean)) } },
      async (observation) => {
        metricsUrl = observation.metricsUrl!;
        throw new UnderwayError("LOCK_TIMEOUT", "gave up after 10 attempts");
      },
    ).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UnderwayError);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ level: "error", code: "LOCK_TIMEOUT", migration: "06_x", msg: "gave up after 10 attempts" });
    await expect(fetch(metricsUrl)).rejects.toThrow();
  });

  it("refuses a bad --metrics-port or --log-format as usage errors", async () => {
    for (const flags of [{ metricsPort: "http" }, { metricsPort: "70000" }, { logFormat: "xml" }]) {
      const error = await withObservation(flags, quiet(), {}, async () => "ran").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnderwayError);
      expect((error as UnderwayError).code).toBe("INVALID_ARGUMENT");
    }
  });
});
