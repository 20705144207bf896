import { describe, expect } from "vitest";

import { DROP_PREVIOUS_VERSION_SCHEMA, DROP_VERSION_SCHEMA, contractOf, describePlans, dualWriteOf, mapped, ref, statements, stepOf, triggerStatement } from "./support/plan-fixture.js";

const USERS = ref("users");

describe("drop_column, rename_column", () => {
  describePlans([
    {
      name: "drop_column with down",
      operations: [{ drop_column: { table: "users", column: "bio", down: "'none'" } }],
      start: [
        "hides the column from the new version; a trigger fills it with down for rows the new version writes",
        (plan) => {
          expect(mapped(plan, "users")).toEqual(["id", "name", "email", "age"]);
          expect(stepOf(plan.start, "ddl", "trigger").statements.at(-1)).toMatch(triggerStatement("users"));
          expect(dualWriteOf(plan, "users")).toEqual({ up: [], down: ["bio <- 'none'"], pairs: [] });
          // Nothing to rewrite: existing rows keep their values.
          expect(plan.backfillTables).toEqual([]);
        },
      ],
      complete: [
        "drops the trigger, then the column",
        (plan) => {
          expect(contractOf(plan).tables).toMatchObject([
            {
              table: "users",
              pre: [`DROP TRIGGER IF EXISTS "zz_uw_dual_write" ON ${USERS}`, `DROP FUNCTION IF EXISTS "underway"."dual_write_14447575ad_users"`],
              post: [`ALTER TABLE ${USERS} DROP COLUMN "bio"`],
              dropped: [{ column: "bio", replacement: null, planned: "bio" }],
            },
          ]);
        },
      ],
      rollback: [
        "drops the trigger and gives the column its own default back; the column stays",
        (plan) => {
          expect(stepOf(plan.rollback, "ddl", "remove dual write").statements).toEqual([
            `DROP TRIGGER IF EXISTS "zz_uw_dual_write" ON ${USERS}`,
            `ALTER TABLE ${USERS} ALTER COLUMN "bio" DROP DEFAULT`,
            `DROP FUNCTION IF EXISTS "underway"."dual_write_14447575ad_users"`,
          ]);
          expect(statements(plan.rollback).some((s) => s.includes("DROP COLUMN"))).toBe(false);
        },
      ],
    },
    {
      name: "drop_column without down",
      operations: [{ drop_column: { table: "users", column: "bio" } }],
      start: [
        "only hides the column: no trigger",
        (plan) => {
          expect(statements(plan.start)).toEqual([]);
          expect(plan.dualWrite).toEqual([]);
          expect(mapped(plan, "users")).toEqual(["id", "name", "email", "age"]);
        },
      ],
      complete: [
        "drops the column",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `ALTER TABLE ${USERS} DROP COLUMN "bio"`]);
        },
      ],
      rollback: [
        "keeps the column",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA]);
        },
      ],
    },
    {
      name: "drop_column on a table the same migration creates",
      operations: [
        { create_table: { name: "tags", columns: [{ name: "id", type: "integer", pk: true }, { name: "label", type: "text" }] } },
        { drop_column: { table: "tags", column: "label" } },
      ],
      start: [
        "drops the column at once: nobody has seen it",
        (plan) => {
          expect(statements(plan.start).at(-1)).toBe(`ALTER TABLE ${ref("tags")} DROP COLUMN "label"`);
        },
      ],
      complete: [
        "has nothing to do",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "drops the table",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA, `DROP TABLE IF EXISTS ${ref("tags")}`]);
        },
      ],
    },
    {
      name: "rename_column",
      operations: [{ rename_column: { table: "users", from: "bio", to: "about" } }],
      start: [
        "shows the column under its new name in the new version's view; the table keeps the old one",
        (plan) => {
          expect(statements(plan.start)).toEqual([]);
          expect(mapped(plan, "users")).toEqual(["id", "name", "email", "age", "about=bio"]);
        },
      ],
      complete: [
        "renames the column",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `ALTER TABLE ${USERS} RENAME COLUMN "bio" TO "about"`]);
          expect(contractOf(plan).tables[0]!.dropped).toEqual([]);
        },
      ],
      rollback: [
        "only drops the new version schema",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA]);
        },
      ],
    },
    {
      name: "two renames that swap names",
      operations: [
        { rename_column: { table: "users", from: "name", to: "tmp" } },
        { rename_column: { table: "users", from: "bio", to: "name" } },
        { rename_column: { table: "users", from: "tmp", to: "bio" } },
      ],
      start: [
        "maps each name to the other's column",
        (plan) => {
          expect(mapped(plan, "users")).toEqual(["id", "bio=name", "email", "age", "name=bio"]);
        },
      ],
      complete: [
        "swaps the columns through a temporary name",
        (plan) => {
          expect(contractOf(plan).tables[0]!.post).toEqual([
            `ALTER TABLE ${USERS} RENAME COLUMN "name" TO "_uw_swap_0"`,
            `ALTER TABLE ${USERS} RENAME COLUMN "bio" TO "_uw_swap_1"`,
            `ALTER TABLE ${USERS} RENAME COLUMN "_uw_swap_0" TO "bio"`,
            `ALTER TABLE ${USERS} RENAME COLUMN "_uw_swap_1" TO "name"`,
          ]);
        },
      ],
      rollback: [
        "only drops the new version schema",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA]);
        },
      ],
    },
  ]);
});
