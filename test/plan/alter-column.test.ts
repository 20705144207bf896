import { describe, expect } from "vitest";

import {
  DROP_PREVIOUS_VERSION_SCHEMA,
  DROP_VERSION_SCHEMA,
  contractOf,
  describePlans,
  dualWriteOf,
  mapped,
  outline,
  ref,
  statements,
  stepOf,
  triggerStatement,
  versionStep,
} from "./support/plan-fixture.js";

const USERS = ref("users");
const POSTS = ref("posts");
const DROP_USERS_TRIGGER = `DROP TRIGGER IF EXISTS "zz_uw_dual_write" ON ${USERS}`;
const DROP_USERS_FUNCTION = `DROP FUNCTION IF EXISTS "underway"."dual_write_14447575ad_users"`;
/** Complete's NOT NULL on a copy: a plain check added NOT VALID, validated, then SET NOT NULL proven by it. */
const notNullAtComplete = (table: string, column: string) => [
  `ALTER TABLE ${ref(table)} DROP CONSTRAINT IF EXISTS "_uw_${table}_${column}_nn"`,
  `ALTER TABLE ${ref(table)} ADD CONSTRAINT "_uw_${table}_${column}_nn" CHECK ("${column}" IS NOT NULL) NOT VALID`,
  `ALTER TABLE ${ref(table)} VALIDATE CONSTRAINT "_uw_${table}_${column}_nn"`,
  `ALTER TABLE ${ref(table)} ALTER COLUMN "${column}" SET NOT NULL`,
  `ALTER TABLE ${ref(table)} DROP CONSTRAINT "_uw_${table}_${column}_nn"`,
  `ALTER TABLE ${ref(table)} DROP CONSTRAINT IF EXISTS "_uw_${table}_${column}_not_null"`,
];
/** Only the version schemas change: the column itself is untouched until complete. */
const onlyVersionSchema = ["version_schema: create version schema public_02_change"];

describe("alter_column", () => {
  describePlans([
    {
      name: "type change",
      operations: [{ alter_column: { table: "users", column: "age", type: "bigint", up: "age", down: "age::integer" } }],
      probe: { compiles: true },
      start: [
        "adds a bigint copy with the old default, keeps both in step with a dual-write trigger, copies the check NOT VALID and backfills",
        (plan, probe) => {
          expect(outline(plan.start)).toEqual([
            "ddl: add column _uw_new_age to users (copy of age)",
            "ddl: install dual-write trigger on users",
            "ddl: add constraint _uw_users_age_check on users (NOT VALID)",
            "backfill: backfill users",
            "version_schema: create version schema public_02_change",
          ]);
          expect(stepOf(plan.start, "ddl", "copy of age").statements).toEqual([
            `ALTER TABLE ${USERS} ADD COLUMN "_uw_new_age" bigint`,
            `ALTER TABLE ${USERS} ALTER COLUMN "_uw_new_age" SET DEFAULT 0`,
          ]);
          expect(stepOf(plan.start, "ddl", "trigger").statements.at(-1)).toMatch(triggerStatement("users"));
          expect(stepOf(plan.start, "ddl", "_uw_users_age_check").statements).toEqual([
            `ALTER TABLE ${USERS} ADD CONSTRAINT "_uw_users_age_check" CHECK (("_uw_new_age" >= 0)) NOT VALID`,
          ]);
          expect(dualWriteOf(plan, "users")).toEqual({ up: ["_uw_new_age <- age"], down: ["age <- age::integer"], pairs: ["age ~ _uw_new_age"] });
          expect(plan.backfillTables).toEqual(["users"]);
          expect(mapped(plan, "users")).toEqual(["id", "name", "email", "age=_uw_new_age", "bio"]);
          // Asked whether the default (0) fits a bigint, and whether the check applies to it.
          expect(probe.asked.compiles).toEqual([
            "CREATE TEMP TABLE _uw_default_fits (c bigint DEFAULT 0)",
            `SELECT (("_uw_new_age" >= 0)) FROM (SELECT NULL::integer AS "id", NULL::text AS "name", NULL::text AS "email", NULL::bigint AS "_uw_new_age", NULL::text AS "bio") AS t`,
          ]);
          expect(plan.notices).toBeUndefined();
        },
      ],
      complete: [
        "validates the copied check, drops the old column, and gives the copy and its check their names",
        (plan) => {
          expect(outline(plan.complete)[0]).toBe("ddl: validate constraint _uw_users_age_check");
          const [users] = contractOf(plan).tables;
          expect(users!.pre).toEqual([DROP_USERS_TRIGGER, `ALTER TABLE ${USERS} ALTER COLUMN "_uw_new_age" SET DEFAULT 0`, DROP_USERS_FUNCTION]);
          expect(users!.post).toEqual([
            `ALTER TABLE ${USERS} DROP COLUMN "age"`,
            `ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_age" TO "age"`,
            `ALTER TABLE ${USERS} RENAME CONSTRAINT "_uw_users_age_check" TO "users_age_check"`,
          ]);
          expect(users!.dropped).toEqual([{ column: "age", replacement: "_uw_new_age", planned: "age" }]);
        },
      ],
      rollback: [
        "drops the trigger, gives the old column its default back and drops the copy, in one step; then the copied check",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([
            DROP_VERSION_SCHEMA,
            DROP_USERS_TRIGGER,
            `ALTER TABLE ${USERS} ALTER COLUMN "age" SET DEFAULT 0`,
            DROP_USERS_FUNCTION,
            `ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "_uw_new_age"`,
            `ALTER TABLE IF EXISTS ${USERS} DROP CONSTRAINT IF EXISTS "_uw_users_age_check"`,
          ]);
        },
      ],
    },
    {
      name: "type change the old default and check cannot follow",
      operations: [{ alter_column: { table: "users", column: "age", type: "text", up: "age::text", down: "age::integer" } }],
      probe: { compiles: false },
      start: [
        "adds a text copy with neither the default nor the check, and says so",
        (plan) => {
          expect(stepOf(plan.start, "ddl", "copy of age").statements).toEqual([`ALTER TABLE ${USERS} ADD COLUMN "_uw_new_age" text`]);
          expect(statements(plan.start).filter((s) => s.includes("ADD CONSTRAINT"))).toEqual([]);
          expect(plan.notices).toEqual([
            "operations[0].alter_column: the default of users.age (0) cannot be a text; the new version has none",
            "operations[0].alter_column: the check users_age_check (CHECK ((age >= 0))) does not apply to the new type; the new version does without it",
          ]);
        },
      ],
      complete: [
        "has no check to validate; the old column and its check go",
        (plan) => {
          expect(outline(plan.complete)[0]).toMatch(/^contract: /);
          expect(contractOf(plan).tables[0]!.post).toEqual([`ALTER TABLE ${USERS} DROP COLUMN "age"`, `ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_age" TO "age"`]);
        },
      ],
      rollback: [
        "drops the copy with the trigger and has no check to drop",
        (plan) => {
          expect(outline(plan.rollback)).toEqual(["ddl: drop version schema public_02_change", "ddl: remove dual write and new columns from users"]);
        },
      ],
    },
    {
      name: "set NOT NULL",
      operations: [{ alter_column: { table: "users", column: "email", nullable: false, up: "coalesce(email, 'none')", down: "email" } }],
      start: [
        "copies the column, holds NOT NULL with a NOT VALID check, and rebuilds its unique index concurrently after the backfill",
        (plan) => {
          expect(outline(plan.start)).toEqual([
            "ddl: add column _uw_new_email to users (copy of email)",
            "ddl: install dual-write trigger on users",
            "ddl: add NOT NULL check on users._uw_new_email (NOT VALID)",
            "backfill: backfill users",
            "concurrent_index: copy unique constraint users_email_key for the changed columns",
            "version_schema: create version schema public_02_change",
          ]);
          expect(stepOf(plan.start, "ddl", "NOT NULL").statements).toEqual([
            `ALTER TABLE ${USERS} ADD CONSTRAINT "_uw_users__uw_new_email_not_null" CHECK ("_uw_new_email" IS NOT NULL OR coalesce(current_setting('underway.f_14447575ad', true), '') = 'on') NOT VALID`,
          ]);
          expect(stepOf(plan.start, "concurrent_index").statement).toBe(
            `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "_uw_users_email_key" ON public.users USING btree ("_uw_new_email")`,
          );
          expect(dualWriteOf(plan, "users").up).toEqual(["_uw_new_email <- coalesce(email, 'none')"]);
        },
      ],
      complete: [
        "VALIDATEs a plain check, SET NOT NULL proven by it, then swaps the columns and attaches the unique constraint",
        (plan) => {
          expect(statements(plan.complete.filter((s) => s.kind === "ddl"))).toEqual(notNullAtComplete("users", "_uw_new_email"));
          expect(contractOf(plan).tables[0]!.post).toEqual([
            `ALTER TABLE ${USERS} DROP COLUMN "email"`,
            `ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_email" TO "email"`,
            `ALTER TABLE ${USERS} ADD CONSTRAINT "users_email_key" UNIQUE USING INDEX "_uw_users_email_key"`,
          ]);
        },
      ],
      rollback: [
        "drops the copy, its index and its NOT NULL checks",
        (plan) => {
          expect(outline(plan.rollback)).toEqual([
            "ddl: drop version schema public_02_change",
            "ddl: remove dual write and new columns from users",
            "drop_index: drop index _uw_users_email_key",
            "ddl: drop NOT NULL check on users._uw_new_email",
          ]);
        },
      ],
    },
    {
      name: "drop NOT NULL",
      operations: [{ alter_column: { table: "users", column: "name", nullable: true } }],
      start: [
        "drops NOT NULL in place: a catalog change, no copy, no trigger, no new view",
        (plan) => {
          expect(outline(plan.start)).toEqual(["ddl: drop NOT NULL on users.name", ...onlyVersionSchema]);
          expect(statements(plan.start)).toEqual([`ALTER TABLE ${USERS} ALTER COLUMN "name" DROP NOT NULL`]);
          expect(plan.dualWrite).toEqual([]);
          expect(versionStep(plan).mapping.tables).toEqual({});
        },
      ],
      complete: [
        "has nothing left to do",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "puts NOT NULL back in three transactions (NOT VALID check, VALIDATE, SET NOT NULL), each only if start dropped it",
        (plan) => {
          expect(plan.rollback.slice(1).map((s) => [statements([s]), s.onlyIfStarted])).toEqual([
            [[`ALTER TABLE ${USERS} ADD CONSTRAINT "_uw_users_name_not_null" CHECK ("name" IS NOT NULL) NOT VALID`], 0],
            [[`ALTER TABLE ${USERS} VALIDATE CONSTRAINT "_uw_users_name_not_null"`], 0],
            [[`ALTER TABLE ${USERS} ALTER COLUMN "name" SET NOT NULL`, `ALTER TABLE ${USERS} DROP CONSTRAINT "_uw_users_name_not_null"`], 0],
          ]);
        },
      ],
    },
    {
      name: "drop NOT NULL with down",
      operations: [{ alter_column: { table: "users", column: "name", nullable: true, down: "coalesce(name, 'anon')" } }],
      start: [
        "copies the column, since down gives the old version a value for the new version's NULLs, and copies its index",
        (plan) => {
          expect(dualWriteOf(plan, "users")).toEqual({ up: ['_uw_new_name <- "name"'], down: ["name <- coalesce(name, 'anon')"], pairs: ["name ~ _uw_new_name"] });
          expect(statements(plan.start).filter((s) => s.includes("NOT NULL"))).toEqual([]);
          expect(stepOf(plan.start, "concurrent_index").statement).toBe(`CREATE INDEX CONCURRENTLY IF NOT EXISTS "_uw_users_name_idx" ON public.users USING btree ("_uw_new_name")`);
        },
      ],
      complete: [
        "swaps the columns and gives the copied index its name",
        (plan) => {
          expect(contractOf(plan).tables[0]!.post).toEqual([
            `ALTER TABLE ${USERS} DROP COLUMN "name"`,
            `ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_name" TO "name"`,
            `ALTER INDEX "public"."_uw_users_name_idx" RENAME TO "users_name_idx"`,
          ]);
        },
      ],
      rollback: [
        "drops the copy and the copied index",
        (plan) => {
          expect(stepOf(plan.rollback, "drop_index")).toMatchObject({ index: "_uw_users_name_idx" });
          expect(stepOf(plan.rollback, "ddl", "remove dual write").statements.at(-1)).toBe(`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "_uw_new_name"`);
        },
      ],
    },
    {
      name: "set default",
      operations: [{ alter_column: { table: "users", column: "age", default: "18" } }],
      start: [
        "puts the default on the new version's view only: no copy, no DDL on the table",
        (plan) => {
          expect(outline(plan.start)).toEqual(onlyVersionSchema);
          expect(versionStep(plan).mapping.tables.users!.columns.find((c) => c.name === "age")).toEqual({ physical: "age", name: "age", default: "18" });
        },
      ],
      complete: [
        "sets the table's default",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `ALTER TABLE ${USERS} ALTER COLUMN "age" SET DEFAULT 18`]);
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
      name: "drop default",
      operations: [{ alter_column: { table: "users", column: "age", default: null } }],
      start: [
        "shadows the table's default on the new version's view with an expression that is NULL",
        (plan) => {
          expect(outline(plan.start)).toEqual(onlyVersionSchema);
          expect(versionStep(plan).mapping.tables.users!.columns.find((c) => c.name === "age")).toEqual({ physical: "age", name: "age", default: "NULLIF(NULL::integer, NULL)" });
        },
      ],
      complete: [
        "drops the table's default",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `ALTER TABLE ${USERS} ALTER COLUMN "age" DROP DEFAULT`]);
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
      name: "comment",
      operations: [{ alter_column: { table: "users", column: "bio", comment: "who they are" } }],
      start: [
        "puts the comment on the new version's view only",
        (plan) => {
          expect(outline(plan.start)).toEqual(onlyVersionSchema);
          expect(versionStep(plan).mapping.tables.users!.columns.find((c) => c.name === "bio")).toEqual({ physical: "bio", name: "bio", comment: "who they are" });
        },
      ],
      complete: [
        "comments the column",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `COMMENT ON COLUMN ${USERS}."bio" IS 'who they are'`]);
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
      name: "rename (pgroll's older alter_column with name)",
      operations: [{ alter_column: { table: "users", column: "bio", name: "about" } }],
      start: [
        "shows the column under its new name in the new version's view only",
        (plan) => {
          expect(outline(plan.start)).toEqual(onlyVersionSchema);
          expect(mapped(plan, "users")).toEqual(["id", "name", "email", "age", "about=bio"]);
        },
      ],
      complete: [
        "renames the column",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `ALTER TABLE ${USERS} RENAME COLUMN "bio" TO "about"`]);
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
      name: "add a check",
      operations: [
        {
          alter_column: {
            table: "users",
            column: "name",
            check: { name: "users_name_len", constraint: "length(name) > 2" },
            up: "CASE WHEN length(name) > 2 THEN name ELSE name || '___' END",
            down: "name",
          },
        },
      ],
      start: [
        "copies the column and adds the check NOT VALID on the copy, after the trigger",
        (plan) => {
          const order = outline(plan.start);
          expect(order.indexOf("ddl: add constraint users_name_len on users (NOT VALID)")).toBeGreaterThan(order.indexOf("ddl: install dual-write trigger on users"));
          expect(stepOf(plan.start, "ddl", "users_name_len").statements).toEqual([
            `ALTER TABLE ${USERS} ADD CONSTRAINT "users_name_len" CHECK (length("_uw_new_name") > 2) NOT VALID`,
          ]);
          expect(dualWriteOf(plan, "users").up).toEqual(["_uw_new_name <- CASE WHEN length(name) > 2 THEN name ELSE name || '___' END"]);
        },
      ],
      complete: [
        "validates the check (SHARE UPDATE EXCLUSIVE) before the swap",
        (plan) => {
          const order = outline(plan.complete);
          expect(order).toContain("ddl: validate constraint users_name_len");
          expect(order.indexOf("ddl: validate constraint users_name_len")).toBeLessThan(order.findIndex((s) => s.startsWith("contract: ")));
          expect(stepOf(plan.complete, "ddl", "users_name_len").statements).toEqual([`ALTER TABLE ${USERS} VALIDATE CONSTRAINT "users_name_len"`]);
        },
      ],
      rollback: [
        "drops the check with the copy",
        (plan) => {
          expect(statements(plan.rollback)).toContain(`ALTER TABLE IF EXISTS ${USERS} DROP CONSTRAINT IF EXISTS "users_name_len"`);
          expect(statements(plan.rollback)).toContain(`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "_uw_new_name"`);
        },
      ],
    },
    {
      name: "add unique",
      operations: [{ alter_column: { table: "users", column: "name", unique: { name: "users_name_key" } } }],
      start: [
        "copies the column and builds the unique index on the copy concurrently, after the backfill",
        (plan) => {
          const order = outline(plan.start);
          expect(order.indexOf("concurrent_index: build unique index users_name_key on users concurrently")).toBeGreaterThan(order.indexOf("backfill: backfill users"));
          expect(stepOf(plan.start, "concurrent_index", "users_name_key").statement).toBe(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "users_name_key" ON ${USERS} ("_uw_new_name")`);
        },
      ],
      complete: [
        "attaches the index as the constraint once the copy has the column's name",
        (plan) => {
          expect(contractOf(plan).tables[0]!.post.at(-1)).toBe(`ALTER TABLE ${USERS} ADD CONSTRAINT "users_name_key" UNIQUE USING INDEX "users_name_key"`);
        },
      ],
      rollback: [
        "drops the index",
        (plan) => {
          expect(plan.rollback.filter((s) => s.kind === "drop_index").map((s) => s.kind === "drop_index" && s.index)).toEqual(["users_name_key", "_uw_users_name_idx"]);
        },
      ],
    },
    {
      name: "add a foreign key",
      operations: [{ alter_column: { table: "posts", column: "title", references: { name: "posts_title_fkey", table: "users", column: "name" }, up: "title", down: "title" } }],
      start: [
        "copies the column and adds the foreign key NOT VALID on the copy",
        (plan) => {
          expect(stepOf(plan.start, "ddl", "posts_title_fkey").statements).toEqual([
            `ALTER TABLE ${POSTS} ADD CONSTRAINT "posts_title_fkey" FOREIGN KEY ("_uw_new_title") REFERENCES ${USERS} ("name") MATCH SIMPLE ON DELETE NO ACTION ON UPDATE NO ACTION NOT VALID`,
          ]);
          expect(plan.backfillTables).toEqual(["posts"]);
        },
      ],
      complete: [
        "validates the foreign key before the swap",
        (plan) => {
          expect(stepOf(plan.complete, "ddl", "validate constraint posts_title_fkey").statements).toEqual([`ALTER TABLE ${POSTS} VALIDATE CONSTRAINT "posts_title_fkey"`]);
          expect(contractOf(plan).tables[0]!.post.slice(0, 2)).toEqual([`ALTER TABLE ${POSTS} DROP COLUMN "title"`, `ALTER TABLE ${POSTS} RENAME COLUMN "_uw_new_title" TO "title"`]);
        },
      ],
      rollback: [
        "drops the foreign key",
        (plan) => {
          expect(statements(plan.rollback)).toContain(`ALTER TABLE IF EXISTS ${POSTS} DROP CONSTRAINT IF EXISTS "posts_title_fkey"`);
        },
      ],
    },
    {
      name: "on a table the same migration creates",
      operations: [
        { create_table: { name: "tags", columns: [{ name: "id", type: "integer", pk: true }, { name: "label", type: "text" }] } },
        { alter_column: { table: "tags", column: "label", type: "varchar(20)", nullable: true, up: "label", down: "label" } },
      ],
      start: [
        "alters the column in place: nobody reads the old shape",
        (plan) => {
          expect(stepOf(plan.start, "ddl", "alter column").statements).toEqual([
            `ALTER TABLE ${ref("tags")} ALTER COLUMN "label" TYPE varchar(20) USING label`,
            `ALTER TABLE ${ref("tags")} ALTER COLUMN "label" DROP NOT NULL`,
          ]);
          expect(plan.dualWrite).toEqual([]);
        },
      ],
      complete: [
        "has nothing to swap",
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
  ]);
});
