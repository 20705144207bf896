import { describe, expect, it } from "vitest";

import type { SchemaModel } from "../../src/plan/schema-model.js";
import { FILE, column, constraint, fakeProbe, index, refusal, schemaOf, shop, table, type ProbeAnswers } from "./support/plan-fixture.js";

/** The shop schema, changed by `edit`. */
function shopWith(edit: (model: SchemaModel) => void): () => SchemaModel {
  return () => {
    const model = shop();
    edit(model);
    return model;
  };
}

interface Refusal {
  name: string;
  operations: unknown[];
  before?: () => SchemaModel;
  probe?: ProbeAnswers;
  /** The whole message, file and field included. */
  message: string;
}

const at = (path: string, message: string) => `${FILE}: operations[${path}: ${message}`;

/** Files the format accepts and the planner refuses, knowing the schema. */
const refusals: Refusal[] = [
  {
    name: "drop_column of a primary key column",
    operations: [{ drop_column: { table: "users", column: "id" } }],
    message: at("0].drop_column.column", 'column "id" is part of the primary key of "users"'),
  },
  {
    name: "drop_multicolumn_constraint of the primary key",
    operations: [{ drop_multicolumn_constraint: { table: "users", name: "users_pkey", up: { id: "id" }, down: { id: "id" } } }],
    message: at("0].drop_multicolumn_constraint.name", '"users_pkey" is the primary key of "users"; dropping it needs a shadow-table rebuild, which underway does not do yet'),
  },
  {
    name: "drop_constraint (older form) of a constraint over two columns",
    operations: [{ drop_constraint: { table: "posts", name: "posts_user_id_title_key", up: "title", down: "title" } }],
    message: at("0].drop_constraint.name", 'constraint "posts_user_id_title_key" covers 2 columns; use drop_multicolumn_constraint with up and down per column'),
  },
  {
    name: "add_column of a column that exists",
    operations: [{ add_column: { table: "users", column: { name: "name", type: "text", nullable: true } } }],
    message: at("0].add_column.column.name", 'column "name" already exists on table "users"'),
  },
  {
    name: "add_column NOT NULL with neither default nor up",
    operations: [{ add_column: { table: "users", column: { name: "k", type: "integer" } } }],
    message: at("0].add_column.up", "required: the column is NOT NULL and has no default, so existing rows need a value (set up, a default, or nullable: true)"),
  },
  {
    name: "add_column with a volatile default and an up that differs",
    operations: [{ add_column: { table: "users", column: { name: "k", type: "timestamptz", default: "now()" }, up: "'2020-01-01'" } }],
    probe: { defaultRewrites: true },
    message: at("0].add_column.up", 'volatile default expression for column "k"; "up" must be equal to "default" (now())'),
  },
  {
    name: "add_column to a table that does not exist",
    operations: [{ add_column: { table: "nope", column: { name: "k", type: "integer", nullable: true } } }],
    message: at("0].add_column.table", 'table "nope" does not exist in schema "public"'),
  },
  {
    name: "add_column past the table's attribute numbers",
    before: shopWith((m) => (m.tables.get("users")!.attributes = 1600)),
    operations: [{ add_column: { table: "users", column: { name: "k", type: "integer", nullable: true } } }],
    message: `${FILE}: table "users" has used 1600 of its 1600 attribute numbers (dropped columns count, and PostgreSQL never reuses them) and this migration adds 1 column(s); nothing was changed. Split the migration, or rebuild the table (a copy made with CREATE TABLE ... (LIKE ...) and INSERT ... SELECT starts from 0)`,
  },
  {
    name: "alter_column type without up",
    operations: [{ alter_column: { table: "users", column: "age", type: "bigint" } }],
    message: at("0].alter_column.up", "required because the type changes: SQL converting old values to new"),
  },
  {
    name: "alter_column type without down",
    operations: [{ alter_column: { table: "users", column: "age", type: "bigint", up: "age" } }],
    message: at("0].alter_column.down", "required because the type changes: SQL converting new values back to old"),
  },
  {
    name: "alter_column NOT NULL without up",
    operations: [{ alter_column: { table: "users", column: "email", nullable: false } }],
    message: at("0].alter_column.up", "required when setting NOT NULL: SQL giving a value for rows where the column is NULL"),
  },
  {
    name: "alter_column NOT NULL on a column that is NOT NULL",
    operations: [{ alter_column: { table: "users", column: "name", nullable: false, up: "name" } }],
    message: at("0].alter_column.nullable", 'column "name" of table "users" is already NOT NULL'),
  },
  {
    name: "alter_column nullable on a column that is nullable",
    operations: [{ alter_column: { table: "users", column: "email", nullable: true } }],
    message: at("0].alter_column.nullable", 'column "email" of table "users" is already nullable'),
  },
  {
    name: "alter_column of a column that does not exist",
    operations: [{ alter_column: { table: "users", column: "nope", nullable: true } }],
    message: at("0].alter_column.column", 'column "nope" does not exist on table "users"'),
  },
  {
    name: "alter_column type of an identity column",
    before: shopWith((m) => (m.tables.get("users")!.columns[0]!.identity = true)),
    operations: [{ alter_column: { table: "users", column: "id", type: "bigint", up: "id", down: "id::integer" } }],
    message: at("0].alter_column", 'column "id" is generated or an identity column; underway cannot duplicate it yet'),
  },
  {
    name: "alter_column of a column under an exclusion constraint",
    before: () =>
      schemaOf(
        table("rooms", [column("id", "integer", { nullable: false }), column("during", "tstzrange")], {
          indexes: [{ ...index("rooms_no_overlap", "rooms", ["during"], { constraint: "rooms_no_overlap" }), definition: "CREATE INDEX rooms_no_overlap ON public.rooms USING gist (during)" }],
          constraints: [constraint("rooms_no_overlap", "x", ["during"], "EXCLUDE USING gist (during WITH &&)")],
        }),
      ),
    operations: [{ alter_column: { table: "rooms", column: "during", nullable: false, up: "coalesce(during, 'empty')" } }],
    message: at("0].alter_column", 'exclusion constraint "rooms_no_overlap" covers a changed column; underway cannot copy it yet'),
  },
  {
    name: "alter_column unique under a name an index has",
    operations: [{ alter_column: { table: "users", column: "bio", unique: { name: "users_name_idx" } } }],
    message: at("0].alter_column.unique.name", 'an index named "users_name_idx" already exists in schema "public" (on table "users")'),
  },
  {
    name: "create_constraint under a name the table has",
    operations: [{ create_constraint: { table: "users", name: "users_age_check", type: "check", check: "age > 1", columns: ["age"], up: { age: "age" }, down: { age: "age" } } }],
    message: at("0].create_constraint.name", 'constraint "users_age_check" already exists on table "users"'),
  },
  {
    name: "create_constraint primary_key on a table that has one",
    operations: [{ create_constraint: { table: "users", name: "users_pk2", type: "primary_key", columns: ["email"], up: { email: "email" }, down: { email: "email" } } }],
    message: at("0].create_constraint.type", 'table "users" already has a primary key'),
  },
  {
    name: "two constraints of one migration under one name",
    operations: [
      { create_constraint: { table: "users", name: "users_x", type: "check", check: "age > 1", columns: ["age"], up: { age: "age" }, down: { age: "age" } } },
      { create_constraint: { table: "posts", name: "users_x", type: "check", check: "id > 1", columns: ["id"], up: { id: "id" }, down: { id: "id" } } },
    ],
    message: at("1].create_constraint.name", '"users_x" is already the name of a constraint or index this migration creates'),
  },
  {
    name: "create_index under a name that exists",
    operations: [{ create_index: { name: "users_name_idx", table: "users", columns: ["name"] } }],
    message: at("0].create_index.name", 'index "users_name_idx" already exists'),
  },
  {
    name: "create_index on a column that does not exist",
    operations: [{ create_index: { name: "users_x_idx", table: "users", columns: ["nope"] } }],
    message: at("0].create_index.columns[0]", 'column "nope" does not exist on table "users"'),
  },
  {
    name: "drop_index of an index that backs a constraint",
    operations: [{ drop_index: { name: "users_email_key" } }],
    message: at("0].drop_index.name", 'index "users_email_key" backs constraint "users_email_key"; drop the constraint instead'),
  },
  {
    name: "drop_index of an index that does not exist",
    operations: [{ drop_index: { name: "nope" } }],
    message: at("0].drop_index.name", 'index "nope" does not exist in schema "public"'),
  },
  {
    name: "create_table of a table that exists",
    operations: [{ create_table: { name: "users", columns: [{ name: "id", type: "integer", pk: true }] } }],
    message: at("0].create_table.name", 'table "users" already exists'),
  },
  {
    name: "drop_table of a table that does not exist",
    operations: [{ drop_table: { name: "nope" } }],
    message: at("0].drop_table.name", 'table "nope" does not exist in schema "public"'),
  },
  {
    name: "rename_table onto a table that exists",
    operations: [{ rename_table: { from: "posts", to: "users" } }],
    message: at("0].rename_table.to", 'table "users" already exists'),
  },
  {
    name: "rename_column onto a column that exists",
    operations: [{ rename_column: { table: "users", from: "bio", to: "name" } }],
    message: at("0].rename_column.to", 'column "name" already exists on table "users"'),
  },
  {
    name: "rename_constraint of a constraint that does not exist",
    operations: [{ rename_constraint: { table: "users", from: "nope", to: "x" } }],
    message: at("0].rename_constraint.from", 'constraint "nope" does not exist on table "users"'),
  },
  {
    name: "rename_constraint onto a constraint that exists",
    operations: [{ rename_constraint: { table: "users", from: "users_age_check", to: "users_pkey" } }],
    message: at("0].rename_constraint.to", 'constraint "users_pkey" already exists on table "users"'),
  },
  {
    name: "set_replica_identity on an index that does not exist",
    operations: [{ set_replica_identity: { table: "posts", identity: { type: "index", index: "nope" } } }],
    message: at("0].set_replica_identity.identity.index", 'index "nope" does not exist on table "posts"'),
  },
];

describe("what the planner refuses", () => {
  it.each(refusals.map((r) => [r.name, r] as const))("%s", async (_, r) => {
    const message = await refusal(r.operations, { probe: fakeProbe(r.probe), ...(r.before ? { before: r.before() } : {}) });
    expect(message).toBe(r.message);
  });
});
