import { describe, expect } from "vitest";

import { DROP_PREVIOUS_VERSION_SCHEMA, DROP_VERSION_SCHEMA, contractOf, describePlans, mapped, outline, ref, statements, versionStep } from "./support/plan-fixture.js";

const TAGS = ref("tags");
const POSTS = ref("posts");

describe("create_table, drop_table, rename_table", () => {
  describePlans([
    {
      name: "create_table",
      operations: [
        {
          create_table: {
            name: "tags",
            columns: [
              { name: "id", type: "serial", pk: true },
              { name: "label", type: "text", unique: true, comment: "shown" },
              { name: "post_id", type: "integer", nullable: true, references: { name: "tags_post_fkey", table: "posts", column: "id" } },
            ],
            constraints: [{ name: "tags_label_len", type: "check", check: "length(label) < 40" }],
          },
        },
      ],
      start: [
        "creates the table under its real name in one plain statement: no old version can see it",
        (plan) => {
          expect(outline(plan.start)).toEqual(["ddl: create table tags", "version_schema: create version schema public_02_change"]);
          expect(statements(plan.start)).toEqual([
            `CREATE TABLE ${TAGS} ("id" serial NOT NULL, "label" text NOT NULL UNIQUE, "post_id" integer CONSTRAINT "tags_post_fkey" REFERENCES ${POSTS} ("id") MATCH SIMPLE ON DELETE NO ACTION ON UPDATE NO ACTION, PRIMARY KEY ("id"), CONSTRAINT "tags_label_len" CHECK (length(label) < 40))`,
            `COMMENT ON COLUMN ${TAGS}."label" IS 'shown'`,
          ]);
          // Names map one to one: the version schema's views come from the catalog alone.
          expect(versionStep(plan).mapping).toEqual({ tables: {}, hiddenTables: [] });
          expect(plan.dualWrite).toEqual([]);
          expect(plan.backfillTables).toEqual([]);
        },
      ],
      complete: [
        "leaves the table as it is",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA]);
        },
      ],
      rollback: [
        "drops the table",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA, `DROP TABLE IF EXISTS ${TAGS}`]);
        },
      ],
    },
    {
      name: "drop_table",
      operations: [{ drop_table: { name: "posts" } }],
      start: [
        "only hides the table from the new version",
        (plan) => {
          expect(statements(plan.start)).toEqual([]);
          expect(versionStep(plan).mapping).toEqual({ tables: {}, hiddenTables: ["posts"] });
        },
      ],
      complete: [
        "drops the table after the previous version schema",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `DROP TABLE ${POSTS}`]);
          expect(contractOf(plan).droppedTables).toEqual(["posts"]);
        },
      ],
      rollback: [
        "keeps the table: only the new version schema goes",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA]);
        },
      ],
    },
    {
      name: "rename_table",
      operations: [{ rename_table: { from: "posts", to: "articles" } }],
      start: [
        "shows the table under its new name in the new version's view",
        (plan) => {
          expect(statements(plan.start)).toEqual([]);
          expect(versionStep(plan).mapping.tables.posts!.name).toBe("articles");
          expect(mapped(plan, "posts")).toEqual(["id", "user_id", "title"]);
        },
      ],
      complete: [
        "renames the table",
        (plan) => {
          expect(statements(plan.complete)).toEqual([DROP_PREVIOUS_VERSION_SCHEMA, `ALTER TABLE ${POSTS} RENAME TO "articles"`]);
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
      name: "drop_table, then create_table of the same name",
      operations: [{ drop_table: { name: "posts" } }, { create_table: { name: "posts", columns: [{ name: "id", type: "bigint", pk: true }] } }],
      start: [
        "creates the new table under a temporary name, since the old one is still in use",
        (plan) => {
          expect(statements(plan.start)).toEqual([`CREATE TABLE ${ref("_uw_t_posts")} ("id" bigint NOT NULL, PRIMARY KEY ("id"))`]);
          expect(versionStep(plan).mapping).toEqual({ tables: { _uw_t_posts: { name: "posts", columns: [{ physical: "id", name: "id" }] } }, hiddenTables: ["posts"] });
        },
      ],
      complete: [
        "drops the old table, then gives the new one its name",
        (plan) => {
          expect(contractOf(plan).after).toEqual([`DROP TABLE ${POSTS}`, `ALTER TABLE ${ref("_uw_t_posts")} RENAME TO "posts"`]);
        },
      ],
      rollback: [
        "drops the new table under its temporary name and keeps the old one",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA, `DROP TABLE IF EXISTS ${ref("_uw_t_posts")}`]);
        },
      ],
    },
    {
      name: "create_table, then rename_table",
      operations: [{ create_table: { name: "tags", columns: [{ name: "id", type: "integer", pk: true }] } }, { rename_table: { from: "tags", to: "labels" } }],
      start: [
        "creates the table under its first name and shows it under the second",
        (plan) => {
          expect(statements(plan.start)).toEqual([`CREATE TABLE ${TAGS} ("id" integer NOT NULL, PRIMARY KEY ("id"))`]);
          expect(versionStep(plan).mapping.tables.tags!.name).toBe("labels");
        },
      ],
      complete: [
        "renames it",
        (plan) => {
          expect(contractOf(plan).after).toEqual([`ALTER TABLE ${TAGS} RENAME TO "labels"`]);
        },
      ],
      rollback: [
        "drops it under the name it has until complete",
        (plan) => {
          expect(statements(plan.rollback)).toEqual([DROP_VERSION_SCHEMA, `DROP TABLE IF EXISTS ${TAGS}`]);
        },
      ],
    },
  ]);
});
