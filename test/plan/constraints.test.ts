import { describe, expect } from "vitest";

import {
  DROP_PREVIOUS_VERSION_SCHEMA,
  DROP_VERSION_SCHEMA,
  column,
  contractOf,
  describePlans,
  dualWriteOf,
  mapped,
  outline,
  ref,
  schemaOf,
  statements,
  stepOf,
  table,
} from "./support/plan-fixture.js";

const USERS = ref("users");
const POSTS = ref("posts");
const EVENTS = ref("events");

/** A table with no primary key, for create_constraint of type primary_key. */
const withoutKey = () => schemaOf(table("events", [column("id", "integer"), column("at", "timestamptz")]));

describe("create_constraint, drop_constraint, drop_multicolumn_constraint, rename_constraint", () => {
  describePlans([
    {
      name: "create_constraint unique over two columns",
      operations: [
        {
          create_constraint: {
            table: "users",
            name: "users_name_bio_key",
            type: "unique",
            columns: ["name", "bio"],
            up: { name: "name", bio: "bio" },
            down: { name: "name", bio: "bio" },
          },
        },
      ],
      start: [
        "copies both columns (so up can fix violating rows) and builds the unique index on the copies concurrently",
        (plan) => {
          expect(outline(plan.start).slice(0, 2)).toEqual(["ddl: add column _uw_new_name to users (copy of name)", "ddl: add column _uw_new_bio to users (copy of bio)"]);
          expect(stepOf(plan.start, "concurrent_index", "users_name_bio_key").statement).toBe(
            `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "users_name_bio_key" ON ${USERS} ("_uw_new_name", "_uw_new_bio")`,
          );
          expect(dualWriteOf(plan, "users")).toEqual({
            up: ["_uw_new_name <- name", "_uw_new_bio <- bio"],
            down: ["bio <- bio", "name <- name"],
            pairs: ["name ~ _uw_new_name", "bio ~ _uw_new_bio"],
          });
          expect(mapped(plan, "users")).toEqual(["id", "name=_uw_new_name", "email", "age", "bio=_uw_new_bio"]);
        },
      ],
      complete: [
        "swaps both columns and attaches the index as the constraint",
        (plan) => {
          expect(contractOf(plan).tables[0]!.post).toEqual([
            `ALTER TABLE ${USERS} DROP COLUMN "name"`,
            `ALTER TABLE ${USERS} DROP COLUMN "bio"`,
            `ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_name" TO "name"`,
            `ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_bio" TO "bio"`,
            `ALTER INDEX "public"."_uw_users_name_idx" RENAME TO "users_name_idx"`,
            `ALTER TABLE ${USERS} ADD CONSTRAINT "users_name_bio_key" UNIQUE USING INDEX "users_name_bio_key"`,
          ]);
        },
      ],
      rollback: [
        "drops both copies with the trigger, and the index",
        (plan) => {
          expect(stepOf(plan.rollback, "ddl", "remove dual write").statements.slice(-2)).toEqual([
            `ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "_uw_new_name"`,
            `ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "_uw_new_bio"`,
          ]);
          expect(statements(plan.rollback)).not.toContain(`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "name"`);
          expect(plan.rollback.filter((s) => s.kind === "drop_index").map((s) => s.kind === "drop_index" && s.index)).toEqual(["users_name_bio_key", "_uw_users_name_idx"]);
        },
      ],
    },
    {
      name: "create_constraint check",
      operations: [
        { create_constraint: { table: "users", name: "users_bio_len", type: "check", columns: ["bio"], check: "length(bio) < 100", up: { bio: "left(bio, 99)" }, down: { bio: "bio" } } },
      ],
      start: [
        "adds the check NOT VALID on the copy, which up fills with values that pass it",
        (plan) => {
          expect(stepOf(plan.start, "ddl", "users_bio_len").statements).toEqual([`ALTER TABLE ${USERS} ADD CONSTRAINT "users_bio_len" CHECK (length("_uw_new_bio") < 100) NOT VALID`]);
          expect(dualWriteOf(plan, "users").up).toEqual(["_uw_new_bio <- left(bio, 99)"]);
          // The copy keeps the column's comment.
          expect(stepOf(plan.start, "ddl", "copy of bio").statements).toEqual([`ALTER TABLE ${USERS} ADD COLUMN "_uw_new_bio" text`, `COMMENT ON COLUMN ${USERS}."_uw_new_bio" IS 'about me'`]);
        },
      ],
      complete: [
        "validates the check, then swaps the column",
        (plan) => {
          expect(statements(plan.complete)[0]).toBe(`ALTER TABLE ${USERS} VALIDATE CONSTRAINT "users_bio_len"`);
          expect(contractOf(plan).tables[0]!.post).toEqual([`ALTER TABLE ${USERS} DROP COLUMN "bio"`, `ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_bio" TO "bio"`]);
        },
      ],
      rollback: [
        "drops the copy and the check",
        (plan) => {
          expect(statements(plan.rollback).slice(-2)).toEqual([`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "_uw_new_bio"`, `ALTER TABLE IF EXISTS ${USERS} DROP CONSTRAINT IF EXISTS "users_bio_len"`]);
        },
      ],
    },
    {
      name: "create_constraint foreign_key",
      operations: [
        {
          create_constraint: {
            table: "posts",
            name: "posts_title_fk",
            type: "foreign_key",
            columns: ["title"],
            references: { table: "users", columns: ["name"], on_delete: "CASCADE" },
            up: { title: "title" },
            down: { title: "title" },
          },
        },
      ],
      start: [
        "adds the foreign key NOT VALID on the copy, and copies the unique constraint the column is part of",
        (plan) => {
          expect(stepOf(plan.start, "ddl", "posts_title_fk").statements).toEqual([
            `ALTER TABLE ${POSTS} ADD CONSTRAINT "posts_title_fk" FOREIGN KEY ("_uw_new_title") REFERENCES ${USERS} ("name") MATCH SIMPLE ON DELETE CASCADE ON UPDATE NO ACTION NOT VALID`,
          ]);
          expect(stepOf(plan.start, "concurrent_index").statement).toBe(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "_uw_posts_user_id_title_key" ON public.posts USING btree (user_id, "_uw_new_title")`);
        },
      ],
      complete: [
        "validates the foreign key, swaps the column and attaches the copied unique constraint",
        (plan) => {
          expect(stepOf(plan.complete, "ddl", "validate constraint posts_title_fk").statements).toEqual([`ALTER TABLE ${POSTS} VALIDATE CONSTRAINT "posts_title_fk"`]);
          expect(contractOf(plan).tables[0]!.post.at(-1)).toBe(`ALTER TABLE ${POSTS} ADD CONSTRAINT "posts_user_id_title_key" UNIQUE USING INDEX "_uw_posts_user_id_title_key"`);
        },
      ],
      rollback: [
        "drops the foreign key and the copied index",
        (plan) => {
          expect(statements(plan.rollback)).toContain(`ALTER TABLE IF EXISTS ${POSTS} DROP CONSTRAINT IF EXISTS "posts_title_fk"`);
          expect(stepOf(plan.rollback, "drop_index")).toMatchObject({ index: "_uw_posts_user_id_title_key" });
        },
      ],
    },
    {
      name: "create_constraint primary_key",
      before: withoutKey,
      operations: [{ create_constraint: { table: "events", name: "events_pkey", type: "primary_key", columns: ["id"], up: { id: "coalesce(id, 0)" }, down: { id: "id" } } }],
      start: [
        "copies the column NOT NULL (a NOT VALID check) and builds the key's unique index concurrently",
        (plan) => {
          expect(stepOf(plan.start, "ddl", "NOT NULL").statements[0]).toMatch(/^ALTER TABLE "public"\."events" ADD CONSTRAINT "_uw_events__uw_new_id_not_null" CHECK \("_uw_new_id" IS NOT NULL OR .*\) NOT VALID$/);
          expect(stepOf(plan.start, "concurrent_index").statement).toBe(`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "events_pkey" ON ${EVENTS} ("_uw_new_id")`);
          expect(dualWriteOf(plan, "events").up).toEqual(["_uw_new_id <- coalesce(id, 0)"]);
        },
      ],
      complete: [
        "sets NOT NULL from the validated check, then makes the index the primary key (no scan under the lock)",
        (plan) => {
          expect(statements(plan.complete)).toContain(`ALTER TABLE ${EVENTS} ALTER COLUMN "_uw_new_id" SET NOT NULL`);
          expect(contractOf(plan).tables[0]!.post).toEqual([
            `ALTER TABLE ${EVENTS} DROP COLUMN "id"`,
            `ALTER TABLE ${EVENTS} RENAME COLUMN "_uw_new_id" TO "id"`,
            `ALTER TABLE ${EVENTS} ADD CONSTRAINT "events_pkey" PRIMARY KEY USING INDEX "events_pkey"`,
          ]);
        },
      ],
      rollback: [
        "drops the index, the copy and its NOT NULL checks",
        (plan) => {
          expect(outline(plan.rollback)).toEqual([
            "ddl: drop version schema public_02_change",
            "ddl: remove dual write and new columns from events",
            "drop_index: drop index events_pkey",
            "ddl: drop NOT NULL check on events._uw_new_id",
          ]);
        },
      ],
    },
    {
      name: "drop_multicolumn_constraint",
      operations: [
        {
          drop_multicolumn_constraint: {
            table: "posts",
            name: "posts_user_id_title_key",
            up: { user_id: "user_id", title: "title" },
            down: { user_id: "user_id", title: "title || '-' || id" },
          },
        },
      ],
      start: [
        "copies the constrained columns without the constraint (other constraints on them are copied)",
        (plan) => {
          expect(dualWriteOf(plan, "posts")).toEqual({
            up: ["_uw_new_user_id <- user_id", "_uw_new_title <- title"],
            down: ["title <- title || '-' || id", "user_id <- user_id"],
            pairs: ["user_id ~ _uw_new_user_id", "title ~ _uw_new_title"],
          });
          expect(plan.start.filter((s) => s.kind === "concurrent_index")).toEqual([]);
          expect(stepOf(plan.start, "ddl", "_uw_posts_user_id_fkey").statements).toEqual([
            `ALTER TABLE ${POSTS} ADD CONSTRAINT "_uw_posts_user_id_fkey" FOREIGN KEY ("_uw_new_user_id") REFERENCES public.users(id) NOT VALID`,
          ]);
        },
      ],
      complete: [
        "drops the originals, and the constraint with them",
        (plan) => {
          expect(contractOf(plan).tables[0]!.post).toEqual([
            `ALTER TABLE ${POSTS} DROP COLUMN "user_id"`,
            `ALTER TABLE ${POSTS} DROP COLUMN "title"`,
            `ALTER TABLE ${POSTS} RENAME COLUMN "_uw_new_user_id" TO "user_id"`,
            `ALTER TABLE ${POSTS} RENAME COLUMN "_uw_new_title" TO "title"`,
            `ALTER TABLE ${POSTS} RENAME CONSTRAINT "_uw_posts_user_id_fkey" TO "posts_user_id_fkey"`,
          ]);
          expect(statements(plan.complete).filter((s) => s.includes("posts_user_id_title_key"))).toEqual([]);
        },
      ],
      rollback: [
        "drops the copies; the constraint was never gone",
        (plan) => {
          expect(stepOf(plan.rollback, "ddl", "remove dual write").statements.slice(-2)).toEqual([
            `ALTER TABLE ${POSTS} DROP COLUMN IF EXISTS "_uw_new_user_id"`,
            `ALTER TABLE ${POSTS} DROP COLUMN IF EXISTS "_uw_new_title"`,
          ]);
          expect(statements(plan.rollback).filter((s) => s.includes("posts_user_id_title_key"))).toEqual([]);
        },
      ],
    },
    {
      name: "drop_constraint (pgroll's older single-column form)",
      operations: [{ drop_constraint: { table: "users", name: "users_age_check", up: "age", down: "greatest(age, 0)" } }],
      start: [
        "copies the column without the check; down keeps old-version values passing it",
        (plan) => {
          expect(dualWriteOf(plan, "users")).toEqual({ up: ["_uw_new_age <- age"], down: ["age <- greatest(age, 0)"], pairs: ["age ~ _uw_new_age"] });
          expect(statements(plan.start).filter((s) => s.includes("ADD CONSTRAINT"))).toEqual([]);
        },
      ],
      complete: [
        "drops the original column and the check with it",
        (plan) => {
          expect(contractOf(plan).tables[0]!.post).toEqual([`ALTER TABLE ${USERS} DROP COLUMN "age"`, `ALTER TABLE ${USERS} RENAME COLUMN "_uw_new_age" TO "age"`]);
        },
      ],
      rollback: [
        "drops the copy",
        (plan) => {
          expect(statements(plan.rollback).at(-1)).toBe(`ALTER TABLE ${USERS} DROP COLUMN IF EXISTS "_uw_new_age"`);
        },
      ],
    },
    {
      name: "rename_constraint",
      operations: [{ rename_constraint: { table: "users", from: "users_age_check", to: "users_age_positive" } }],
      start: [
        "changes nothing: constraints are not part of a version's view",
        (plan) => {
          expect(statements(plan.start)).toEqual([]);
          expect(plan.start.map((s) => s.kind)).toEqual(["version_schema"]);
        },
      ],
      complete: [
        "renames the constraint",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `ALTER TABLE ${USERS} RENAME CONSTRAINT "users_age_check" TO "users_age_positive"`]);
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
