import { describe, expect } from "vitest";

import { DROP_PREVIOUS_VERSION_SCHEMA, DROP_VERSION_SCHEMA, describePlans, outline, ref, statements, stepOf } from "./support/plan-fixture.js";

const USERS = ref("users");

describe("create_index, drop_index", () => {
  describePlans([
    {
      name: "create_index on a live table",
      operations: [{ create_index: { name: "users_age_idx", table: "users", columns: ["age", "name"], predicate: "age > 0" } }],
      start: [
        "builds the index CONCURRENTLY (no write lock for the build), outside a transaction",
        (plan) => {
          expect(outline(plan.start)).toEqual(["concurrent_index: create index users_age_idx on users concurrently", "version_schema: create version schema public_02_change"]);
          expect(stepOf(plan.start, "concurrent_index")).toEqual({
            kind: "concurrent_index",
            description: "create index users_age_idx on users concurrently",
            schema: "public",
            table: "users",
            index: "users_age_idx",
            statement: `CREATE INDEX CONCURRENTLY IF NOT EXISTS "users_age_idx" ON ${USERS} ("age", "name") WHERE age > 0`,
          });
        },
      ],
      complete: [
        "keeps the index",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "drops the index (concurrently)",
        (plan) => {
          expect(plan.rollback.slice(1)).toEqual([{ kind: "drop_index", description: "drop index users_age_idx", schema: "public", index: "users_age_idx" }]);
        },
      ],
    },
    {
      name: "create_index on a column the same migration changes",
      operations: [
        { alter_column: { table: "users", column: "age", type: "bigint", up: "age", down: "age::integer" } },
        { create_index: { name: "users_age_key", table: "users", columns: ["age"], predicate: "age > 0", unique: true } },
      ],
      start: [
        "indexes the copy (predicate included) once the backfill has filled it, so the build sees final values once",
        (plan) => {
          const order = outline(plan.start);
          expect(order.indexOf("concurrent_index: create index users_age_key on users concurrently")).toBe(order.indexOf("backfill: backfill users") + 1);
          expect(stepOf(plan.start, "concurrent_index").statement).toBe(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "users_age_key" ON ${USERS} ("_uw_new_age") WHERE "_uw_new_age" > 0`);
        },
      ],
      complete: [
        "keeps the index on the copy, which takes the column's name",
        (plan) => {
          expect(statements(plan.complete)).toContain(`ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_age" TO "age"`);
          expect(statements(plan.complete).filter((s) => s.includes("users_age_key"))).toEqual([]);
        },
      ],
      rollback: [
        "drops the index as well as the copy",
        (plan) => {
          expect(plan.rollback.filter((s) => s.kind === "drop_index").map((s) => s.kind === "drop_index" && s.index)).toEqual(["users_age_key"]);
        },
      ],
    },
    {
      name: "create_index on a table the same migration creates",
      operations: [
        { create_table: { name: "tags", columns: [{ name: "id", type: "integer", pk: true }, { name: "label", type: "text" }] } },
        { create_index: { name: "tags_label_idx", table: "tags", columns: { label: { sort: "DESC", nulls: "LAST" } }, method: "btree" } },
      ],
      start: [
        "builds the index right after the table, before the version schema",
        (plan) => {
          expect(outline(plan.start)).toEqual([
            "ddl: create table tags",
            "concurrent_index: create index tags_label_idx on tags concurrently",
            "version_schema: create version schema public_02_change",
          ]);
          expect(stepOf(plan.start, "concurrent_index").statement).toBe(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "tags_label_idx" ON ${ref("tags")} USING btree ("label" DESC NULLS LAST)`);
        },
      ],
      complete: [
        "has nothing to do",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "drops the index, then the table (newest first)",
        (plan) => {
          expect(outline(plan.rollback)).toEqual(["ddl: drop version schema public_02_change", "drop_index: drop index tags_label_idx", "ddl: drop table tags"]);
        },
      ],
    },
    {
      name: "drop_index",
      operations: [{ drop_index: { name: "users_name_idx" } }],
      start: [
        "keeps the index while the old version runs",
        (plan) => {
          expect(outline(plan.start)).toEqual(["version_schema: create version schema public_02_change"]);
        },
      ],
      complete: [
        "drops the index concurrently, after the contract",
        (plan) => {
          expect(plan.complete.at(-1)).toEqual({ kind: "drop_index", description: "drop index users_name_idx", schema: "public", index: "users_name_idx" });
          expect(outline(plan.complete).slice(0, -1)).toEqual([
            "contract: contract: drop the old version, swap columns, drop and rename tables",
            "validate_carried: validate foreign keys the contract re-created",
          ]);
        },
      ],
      rollback: [
        "has nothing to restore",
        (plan) => {
          expect(plan.rollback.map((s) => s.kind)).toEqual(["ddl"]);
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA]);
        },
      ],
    },
  ]);
});
