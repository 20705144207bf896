import { describe, expect } from "vitest";

import {
  DROP_PREVIOUS_VERSION_SCHEMA,
  DROP_VERSION_SCHEMA,
  contractOf,
  describePlans,
  outline,
  ref,
  statements,
  stepOf,
  triggerStatement,
  versionStep,
} from "./support/plan-fixture.js";

const USERS = ref("users");
/** The NOT VALID check that holds NOT NULL on `users.<column>` while the migration runs. */
const notNullWhileRunning = (column: string) =>
  `ALTER TABLE ${USERS} ADD CONSTRAINT "_uw_users_${column}_not_null" CHECK ("${column}" IS NOT NULL OR coalesce(current_setting('underway.f_14447575ad', true), '') = 'on') NOT VALID`;
/** Complete's NOT NULL: a plain check added NOT VALID, validated, then SET NOT NULL proven by it. */
const notNullAtComplete = (column: string) => [
  `ALTER TABLE ${USERS} DROP CONSTRAINT IF EXISTS "_uw_users_${column}_nn"`,
  `ALTER TABLE ${USERS} ADD CONSTRAINT "_uw_users_${column}_nn" CHECK ("${column}" IS NOT NULL) NOT VALID`,
  `ALTER TABLE ${USERS} VALIDATE CONSTRAINT "_uw_users_${column}_nn"`,
  `ALTER TABLE ${USERS} ALTER COLUMN "${column}" SET NOT NULL`,
  `ALTER TABLE ${USERS} DROP CONSTRAINT "_uw_users_${column}_nn"`,
  `ALTER TABLE ${USERS} DROP CONSTRAINT IF EXISTS "_uw_users_${column}_not_null"`,
];

describe("add_column", () => {
  describePlans([
    {
      name: "a nullable column",
      operations: [{ add_column: { table: "users", column: { name: "nick", type: "text", nullable: true } } }],
      start: [
        "adds the column under its own name, with no trigger and no backfill; only the new version's view lists it",
        (plan, probe) => {
          expect(outline(plan.start)).toEqual(["ddl: add column users.nick", "version_schema: create version schema public_02_change"]);
          expect(statements(plan.start)).toEqual([`ALTER TABLE ${USERS} ADD COLUMN "nick" text`]);
          expect(plan.dualWrite).toEqual([]);
          expect(plan.backfillTables).toEqual([]);
          // Without a default the view must shadow the table's (none) so the trigger could tell; here NULL.
          expect(versionStep(plan).mapping.tables.users!.columns.at(-1)).toEqual({ physical: "nick", name: "nick", default: "NULLIF(NULL::text, NULL)" });
          expect(probe.asked.defaultRewrites).toEqual([]);
          expect(plan.attributes).toEqual([{ table: "users", used: 5, adds: 1 }]);
        },
      ],
      complete: [
        "only drops the previous version schema: the column is already in place",
        (plan) => {
          expect(outline(plan.complete)).toEqual([
            "contract: contract: drop the old version, swap columns, drop and rename tables",
            "validate_carried: validate foreign keys the contract re-created",
          ]);
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "drops the new version schema, then the column",
        (plan) => {
          expect(statements(plan.rollback)[0]).toBe(DROP_VERSION_SCHEMA);
          expect(new Set(statements(plan.rollback).slice(1))).toEqual(new Set([`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "nick"`]));
        },
      ],
    },
    {
      name: "a NOT NULL column with a constant default",
      operations: [{ add_column: { table: "users", column: { name: "score", type: "integer", default: "10" } } }],
      probe: { defaultRewrites: false },
      start: [
        "asks the probe, then adds the column with its default and NOT NULL in one metadata-only statement",
        (plan, probe) => {
          expect(probe.asked.defaultRewrites).toEqual([{ type: "integer", expression: "10" }]);
          expect(statements(plan.start)).toEqual([`ALTER TABLE ${USERS} ADD COLUMN "score" integer DEFAULT 10 NOT NULL`]);
          expect(plan.backfillTables).toEqual([]);
          expect(plan.dualWrite).toEqual([]);
        },
      ],
      complete: [
        "has no NOT NULL validation to do",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "drops the column",
        (plan) => {
          expect(statements(plan.rollback)).toContain(`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "score"`);
        },
      ],
    },
    {
      name: "a NOT NULL column with a volatile default",
      operations: [{ add_column: { table: "users", column: { name: "created", type: "timestamptz", default: "now()" } } }],
      probe: { defaultRewrites: true },
      start: [
        "adds the column without the default (no rewrite), sets it for new rows, fills existing rows by a backfill through a trigger, NOT NULL held NOT VALID",
        (plan, probe) => {
          expect(probe.asked.defaultRewrites).toEqual([{ type: "timestamptz", expression: "now()" }]);
          expect(outline(plan.start)).toEqual([
            "ddl: add column users.created",
            "ddl: install dual-write trigger on users",
            "ddl: add NOT NULL check on users.created (NOT VALID)",
            "backfill: backfill users",
            "version_schema: create version schema public_02_change",
          ]);
          expect(stepOf(plan.start, "ddl", "add column").statements).toEqual([
            `ALTER TABLE ${USERS} ADD COLUMN "created" timestamptz`,
            `ALTER TABLE ${USERS} ALTER COLUMN "created" SET DEFAULT now()`,
          ]);
          expect(stepOf(plan.start, "ddl", "trigger").statements.at(-1)).toMatch(triggerStatement("users"));
          expect(stepOf(plan.start, "ddl", "NOT NULL").statements).toEqual([notNullWhileRunning("created")]);
          expect(plan.backfillTables).toEqual(["users"]);
          const [dualWrite] = plan.dualWrite;
          // Only the backfill computes it: a write gets the default from the column already.
          expect(dualWrite!.up).toMatchObject([{ target: "created", expression: "now()", backfillOnly: true, inputs: [] }]);
          expect(dualWrite!.down).toEqual([]);
        },
      ],
      complete: [
        "validates NOT NULL without a long lock, drops the trigger and keeps the default",
        (plan) => {
          expect(statements(plan.complete.filter((s) => s.kind === "ddl"))).toEqual(notNullAtComplete("created"));
          expect(contractOf(plan).tables).toMatchObject([
            {
              table: "users",
              pre: [
                `DROP TRIGGER IF EXISTS "zz_uw_dual_write" ON ${USERS}`,
                `ALTER TABLE ${USERS} ALTER COLUMN "created" SET DEFAULT now()`,
                `DROP FUNCTION IF EXISTS "underway"."dual_write_14447575ad_users"`,
              ],
              post: [],
              dropped: [],
            },
          ]);
        },
      ],
      rollback: [
        "drops the trigger and the column in one step, then the NOT NULL check",
        (plan) => {
          expect(stepOf(plan.rollback, "ddl", "remove dual write").statements).toEqual([
            `DROP TRIGGER IF EXISTS "zz_uw_dual_write" ON ${USERS}`,
            `DROP FUNCTION IF EXISTS "underway"."dual_write_14447575ad_users"`,
            `ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "created"`,
          ]);
          expect(stepOf(plan.rollback, "ddl", "drop NOT NULL check").statements).toEqual([
            `ALTER TABLE IF EXISTS ${USERS} DROP CONSTRAINT IF EXISTS "_uw_users_created_not_null"`,
            `ALTER TABLE IF EXISTS ${USERS} DROP CONSTRAINT IF EXISTS "_uw_users_created_nn"`,
          ]);
        },
      ],
    },
    {
      name: "a NOT NULL column filled by up",
      operations: [{ add_column: { table: "users", column: { name: "slug", type: "text" }, up: "lower(name)" } }],
      start: [
        "backfills through up, which reads name, and holds NOT NULL with a NOT VALID check",
        (plan) => {
          expect(stepOf(plan.start, "ddl", "add column").statements).toEqual([`ALTER TABLE ${USERS} ADD COLUMN "slug" text`]);
          expect(stepOf(plan.start, "ddl", "NOT NULL").statements).toEqual([notNullWhileRunning("slug")]);
          expect(plan.backfillTables).toEqual(["users"]);
          expect(plan.dualWrite[0]!.up).toMatchObject([{ target: "slug", expression: "lower(name)", inputs: ["name"], targetType: "text" }]);
          expect(plan.dualWrite[0]!.up[0]!.backfillOnly).toBeUndefined();
          // The column only the new version has: its default tells the trigger a statement left it out.
          expect(plan.dualWrite[0]!.marked).toEqual([{ physical: "slug", type: "text", side: "new", default: null }]);
        },
      ],
      complete: [
        "adds NOT NULL through a validated check, then removes the trigger",
        (plan) => {
          expect(statements(plan.complete.filter((s) => s.kind === "ddl"))).toEqual(notNullAtComplete("slug"));
          expect(contractOf(plan).tables[0]!.pre).toContain(`DROP TRIGGER IF EXISTS "zz_uw_dual_write" ON ${USERS}`);
        },
      ],
      rollback: [
        "drops the column with the trigger",
        (plan) => {
          expect(stepOf(plan.rollback, "ddl", "remove dual write").statements).toContain(`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "slug"`);
        },
      ],
    },
    {
      name: "a column with unique, check and references",
      operations: [
        {
          add_column: {
            table: "users",
            column: {
              name: "ref",
              type: "integer",
              nullable: true,
              unique: true,
              check: { name: "users_ref_check", constraint: "ref > 0" },
              references: { name: "users_ref_fkey", table: "posts", column: "id" },
            },
          },
        },
      ],
      start: [
        "adds the check and foreign key NOT VALID, validates the foreign key at the end of start, builds the unique index concurrently",
        (plan) => {
          expect(outline(plan.start)).toEqual([
            "ddl: add column users.ref",
            "ddl: add constraint users_ref_check on users (NOT VALID)",
            "ddl: add constraint users_ref_fkey on users (NOT VALID)",
            "ddl: validate constraint users_ref_fkey",
            "concurrent_index: build unique index users_ref_key on users concurrently",
            "version_schema: create version schema public_02_change",
          ]);
          expect(statements(plan.start)).toEqual([
            `ALTER TABLE ${USERS} ADD COLUMN "ref" integer`,
            `ALTER TABLE ${USERS} ADD CONSTRAINT "users_ref_check" CHECK (ref > 0) NOT VALID`,
            `ALTER TABLE ${USERS} ADD CONSTRAINT "users_ref_fkey" FOREIGN KEY ("ref") REFERENCES "public"."posts" ("id") MATCH SIMPLE ON DELETE NO ACTION ON UPDATE NO ACTION NOT VALID`,
            `ALTER TABLE ${USERS} VALIDATE CONSTRAINT "users_ref_fkey"`,
            `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "users_ref_key" ON ${USERS} ("ref")`,
          ]);
        },
      ],
      complete: [
        "validates the check and turns the index into the unique constraint",
        (plan) => {
          expect(statements(plan.complete)).toEqual([
            `ALTER TABLE ${USERS} VALIDATE CONSTRAINT "users_ref_check"`,
            DROP_PREVIOUS_VERSION_SCHEMA,
            `ALTER TABLE ${USERS} ADD CONSTRAINT "users_ref_key" UNIQUE USING INDEX "users_ref_key"`,
          ]);
        },
      ],
      rollback: [
        "drops the index, both constraints and the column",
        (plan) => {
          expect(stepOf(plan.rollback, "drop_index")).toMatchObject({ schema: "public", index: "users_ref_key" });
          expect(statements(plan.rollback)).toEqual(
            expect.arrayContaining([
              `ALTER TABLE IF EXISTS ${USERS} DROP CONSTRAINT IF EXISTS "users_ref_fkey"`,
              `ALTER TABLE IF EXISTS ${USERS} DROP CONSTRAINT IF EXISTS "users_ref_check"`,
              `ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "ref"`,
            ]),
          );
        },
      ],
    },
    {
      name: "a serial column on a live table",
      operations: [{ add_column: { table: "users", column: { name: "seq", type: "bigserial" } } }],
      start: [
        "makes the sequence, adds a bigint with nextval for new rows, and backfills existing rows from the sequence",
        (plan, probe) => {
          expect(stepOf(plan.start, "ddl", "add column").statements).toEqual([
            `CREATE SEQUENCE "public"."users_seq_seq" AS bigint`,
            `ALTER TABLE ${USERS} ADD COLUMN "seq" bigint`,
            `ALTER SEQUENCE "public"."users_seq_seq" OWNED BY ${USERS}."seq"`,
            `ALTER TABLE ${USERS} ALTER COLUMN "seq" SET DEFAULT nextval('"public"."users_seq_seq"'::regclass)`,
          ]);
          // A serial's nextval is volatile by definition: nothing to ask.
          expect(probe.asked.defaultRewrites).toEqual([]);
          expect(plan.backfillTables).toEqual(["users"]);
          expect(plan.dualWrite[0]!.up).toMatchObject([{ target: "seq", expression: `nextval('"public"."users_seq_seq"'::regclass)`, backfillOnly: true }]);
        },
      ],
      complete: [
        "sets NOT NULL through a validated check",
        (plan) => {
          expect(statements(plan.complete.filter((s) => s.kind === "ddl"))).toEqual(notNullAtComplete("seq"));
        },
      ],
      rollback: [
        "drops the column (and with it the sequence it owns)",
        (plan) => {
          expect(stepOf(plan.rollback, "ddl", "remove dual write").statements.at(-1)).toBe(`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "seq"`);
        },
      ],
    },
    {
      name: "a column on a table the same migration creates",
      operations: [
        { create_table: { name: "tags", columns: [{ name: "id", type: "integer", pk: true }] } },
        { add_column: { table: "tags", column: { name: "label", type: "text", default: "'x'", comment: "shown" } } },
      ],
      start: [
        "adds it with one plain statement: nobody uses the table yet",
        (plan, probe) => {
          expect(stepOf(plan.start, "ddl", "add column").statements).toEqual([
            `ALTER TABLE ${ref("tags")} ADD COLUMN "label" text DEFAULT 'x' NOT NULL`,
            `COMMENT ON COLUMN ${ref("tags")}."label" IS 'shown'`,
          ]);
          expect(probe.asked.defaultRewrites).toEqual([]);
          expect(plan.dualWrite).toEqual([]);
          expect(plan.backfillTables).toEqual([]);
        },
      ],
      complete: [
        "has nothing to do for the column",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "drops the table, which takes the column with it",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA, `DROP TABLE IF EXISTS ${ref("tags")}`]);
        },
      ],
    },
  ]);
});
