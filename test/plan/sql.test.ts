import { describe, expect } from "vitest";

import { DROP_PREVIOUS_VERSION_SCHEMA, DROP_VERSION_SCHEMA, describePlans, outline, statements } from "./support/plan-fixture.js";

describe("sql", () => {
  describePlans([
    {
      name: "sql with down",
      operations: [{ sql: { up: "CREATE TABLE audit (id int)", down: "DROP TABLE audit" } }],
      start: [
        "runs up as written, before the version schema is built (so its views see what up made)",
        (plan) => {
          expect(plan.start).toEqual([
            { kind: "user_sql", description: "run sql (up)", sql: "CREATE TABLE audit (id int)", schema: "public" },
            expect.objectContaining({ kind: "version_schema" }),
          ]);
        },
      ],
      complete: [
        "has nothing of its own",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "runs down, only if up ran",
        (plan) => {
          expect(plan.rollback.slice(1)).toEqual([{ kind: "user_sql", description: "run sql (down)", sql: "DROP TABLE audit", schema: "public", onlyIfStarted: 0 }]);
        },
      ],
    },
    {
      name: "sql without down",
      operations: [{ sql: { up: "CREATE TABLE audit (id int)" } }],
      start: [
        "runs up",
        (plan) => {
          expect(outline(plan.start)).toEqual(["user_sql: run sql (up)", "version_schema: create version schema public_02_change"]);
        },
      ],
      complete: [
        "has nothing of its own",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "drops what up created (recorded as it ran), only if up ran",
        (plan) => {
          expect(plan.rollback.find((s) => s.kind === "undo_sql")).toEqual({ kind: "undo_sql", description: "drop what the sql operation created", schema: "public", onlyIfStarted: 0 });
        },
      ],
    },
    {
      name: "sql on complete",
      operations: [{ sql: { up: "ANALYZE users", onComplete: true } }],
      start: [
        "does nothing at start",
        (plan) => {
          expect(outline(plan.start)).toEqual(["version_schema: create version schema public_02_change"]);
        },
      ],
      complete: [
        "runs up after the contract, then brings the version schema up to the tables",
        (plan) => {
          expect(plan.complete.slice(-2)).toEqual([
            { kind: "user_sql", description: "run sql (up)", sql: "ANALYZE users", schema: "public" },
            {
              kind: "version_schema",
              description: "bring version schema public_02_change up to the tables",
              schema: "public",
              versionSchema: "public_02_change",
              mapping: { tables: {}, hiddenTables: [] },
              refresh: true,
            },
          ]);
        },
      ],
      rollback: [
        "has nothing to undo: up has not run",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA]);
        },
      ],
    },
  ]);
});
