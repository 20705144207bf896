import { describe, expect } from "vitest";
import {
  columnMustBePK,
  columnMustHaveComment,
  columnMustHaveType,
  executeTests,
  mustInsert,
  mustNotInsert,
  mustSelect,
  mustUpdate,
  primaryKeyConstraintMustExist,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_alter_column_test.go (TestAlterColumnMultipleSubOperations), translated. */
describe("alter_column with several sub-operations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "can alter a column: set not null, change type, change comment, and add check constraint",
      migrations: [
        {
          name: "01_create_table",
          version_schema: "create_table",
          operations: [
            {
              create_table: {
                name: "events",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_alter_column",
          version_schema: "alter_column",
          operations: [
            {
              alter_column: {
                table: "events",
                column: "name",
                up: "SELECT CASE WHEN name IS NULL OR LENGTH(name) <= 3 THEN 'placeholder' ELSE name END",
                down: "name",
                type: "text",
                comment: "the name of the event",
                nullable: false,
                check: { name: "name_length", constraint: "length(name) > 3" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await mustNotInsert(db, schema, "alter_column", "events", { id: "1" }, "check_violation");
        await mustInsert(db, schema, "alter_column", "events", { id: "2", name: "apples" });
        let rows = await mustSelect(db, schema, "create_table", "events");
        expect(rows).toEqual([{ id: 2, name: "apples" }]);
        await mustInsert(db, schema, "create_table", "events", { id: "3" });
        rows = await mustSelect(db, schema, "alter_column", "events");
        expect(rows).toEqual([
          { id: 2, name: "apples" },
          { id: 3, name: "placeholder" },
        ]);
        await mustInsert(db, schema, "create_table", "events", { id: "4", name: "bananas" });
        rows = await mustSelect(db, schema, "alter_column", "events");
        expect(rows).toEqual([
          { id: 2, name: "apples" },
          { id: 3, name: "placeholder" },
          { id: 4, name: "bananas" },
        ]);
        await mustNotInsert(db, schema, "alter_column", "events", { id: "5", name: "x" }, "check_violation");
        await mustInsert(db, schema, "create_table", "events", { id: "5", name: "x" });
        rows = await mustSelect(db, schema, "alter_column", "events");
        expect(rows).toEqual([
          { id: 2, name: "apples" },
          { id: 3, name: "placeholder" },
          { id: 4, name: "bananas" },
          { id: 5, name: "placeholder" },
        ]);
        // Left out: ColumnMustHaveType on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll-internal name.
        // Left out: ColumnMustHaveComment on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll-internal name.
      },
      afterRollback: async () => {
        // Left out: ColumnMustNotExist on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll-internal name.
      },
      afterComplete: async (db, schema) => {
        await mustNotInsert(db, schema, "alter_column", "events", { id: "6" }, "not_null_violation");
        await mustNotInsert(db, schema, "alter_column", "events", { id: "6", name: "x" }, "check_violation");
        await columnMustHaveType(db, schema, "events", "name", "text");
        await columnMustHaveComment(db, schema, "events", "name", "the name of the event");
        const rows = await mustSelect(db, schema, "alter_column", "events");
        expect(rows).toEqual([
          { id: 2, name: "apples" },
          { id: 3, name: "placeholder" },
          { id: 4, name: "bananas" },
          { id: 5, name: "placeholder" },
        ]);
      },
    },
    {
      name: "can alter a column: set not null, and add a default",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "events",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_alter_column",
          operations: [
            {
              alter_column: {
                table: "events",
                column: "name",
                nullable: false,
                default: "'default'",
                up: "SELECT CASE WHEN name IS NULL THEN 'rewritten by up SQL' ELSE name END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "02_alter_column", "events", { id: "1" });
        await mustUpdate(db, schema, "02_alter_column", "events", "id", "1", { name: "DEFAULT" });
        await mustNotInsert(db, schema, "02_alter_column", "events", { id: "100", name: "NULL" }, "check_violation");
        await mustInsert(db, schema, "01_create_table", "events", { id: "2" });
        let rows = await mustSelect(db, schema, "02_alter_column", "events");
        expect(rows).toEqual([
          { id: 1, name: "default" },
          { id: 2, name: "rewritten by up SQL" },
        ]);
        rows = await mustSelect(db, schema, "01_create_table", "events");
        expect(rows).toEqual([
          { id: 1, name: "default" },
          { id: 2, name: null },
        ]);
      },
      afterRollback: async (db, schema) => {
        await mustInsert(db, schema, "01_create_table", "events", { id: "3" });
        const rows = await mustSelect(db, schema, "01_create_table", "events");
        expect(rows).toEqual([
          { id: 1, name: "default" },
          { id: 2, name: null },
          { id: 3, name: null },
        ]);
      },
      afterComplete: async (db, schema) => {
        await mustInsert(db, schema, "02_alter_column", "events", { id: "4" });
        await mustUpdate(db, schema, "02_alter_column", "events", "id", "4", { name: "DEFAULT" });
        await mustNotInsert(db, schema, "02_alter_column", "events", { id: "100", name: "NULL" }, "not_null_violation");
        const rows = await mustSelect(db, schema, "02_alter_column", "events");
        expect(rows).toEqual([
          { id: 1, name: "default" },
          { id: 2, name: "rewritten by up SQL" },
          { id: 3, name: "rewritten by up SQL" },
          { id: 4, name: "default" },
        ]);
      },
    },
    {
      name: "can alter a column: rename and add a unique constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "events",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_alter_column",
          operations: [
            {
              alter_column: {
                table: "events",
                column: "name",
                up: "name || '-' || random()*999::int",
                down: "name",
                unique: { name: "events_name_unique" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "02_alter_column", "events", { id: "1", name: "apples" });
        await mustNotInsert(db, schema, "02_alter_column", "events", { id: "2", name: "apples" }, "unique_violation");
        await mustInsert(db, schema, "01_create_table", "events", { id: "2", name: "apples" });
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await mustNotInsert(db, schema, "02_alter_column", "events", { id: "2", name: "apples" }, "unique_violation");
      },
    },
    {
      name: "can alter a column: add an FK constraint and set not null",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "events",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
            {
              create_table: {
                name: "people",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                  { name: "manages", type: "integer", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_alter_column",
          operations: [
            {
              alter_column: {
                table: "people",
                column: "manages",
                up: "SELECT CASE WHEN manages IS NULL THEN 1 ELSE manages END",
                down: "manages",
                nullable: false,
                references: { table: "events", column: "id", name: "person_manages_event_fk" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "02_alter_column", "events", { id: "1", name: "event1" });
        await mustNotInsert(db, schema, "02_alter_column", "people", { id: "1", name: "alice" }, "check_violation");
        await mustNotInsert(db, schema, "02_alter_column", "people", { id: "1", name: "alice", manages: "2" }, "foreign_key_violation");
        await mustInsert(db, schema, "02_alter_column", "people", { id: "1", name: "alice", manages: "1" });
        await mustInsert(db, schema, "01_create_table", "people", { id: "2", name: "bob" });
        const rows = await mustSelect(db, schema, "02_alter_column", "people");
        expect(rows).toEqual([
          { id: 1, name: "alice", manages: 1 },
          { id: 2, name: "bob", manages: 1 },
        ]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await mustNotInsert(db, schema, "02_alter_column", "people", { id: "1", name: "carl" }, "not_null_violation");
        await mustNotInsert(db, schema, "02_alter_column", "people", { id: "3", name: "carl", manages: "2" }, "foreign_key_violation");
        await mustInsert(db, schema, "02_alter_column", "people", { id: "3", name: "carl", manages: "1" });
        const rows = await mustSelect(db, schema, "02_alter_column", "people");
        expect(rows).toEqual([
          { id: 1, name: "alice", manages: 1 },
          { id: 2, name: "bob", manages: 1 },
          { id: 3, name: "carl", manages: 1 },
        ]);
      },
    },
    {
      name: "can alter a column multiple times: add check and not null",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "people",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_alter_column",
          operations: [
            {
              alter_column: {
                table: "people",
                column: "name",
                up: "INITCAP(name)",
                down: "name",
                check: { name: "name_capitalized", constraint: "name ~ '^[A-Z].*'" },
              },
            },
            {
              alter_column: {
                table: "people",
                column: "name",
                up: "SELECT CASE WHEN name IS NULL THEN 'Jane' ELSE name END",
                down: "name",
                nullable: false,
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "01_create_table", "people", { name: "alice" });
        await mustInsert(db, schema, "01_create_table", "people", { id: "2" });
        await mustNotInsert(db, schema, "02_alter_column", "people", { name: "bob" }, "check_violation");
        await mustNotInsert(db, schema, "02_alter_column", "people", { id: "4" }, "check_violation");
        await mustInsert(db, schema, "01_create_table", "people", { id: "4", name: "Carl" });
        const rows = await mustSelect(db, schema, "02_alter_column", "people");
        expect(rows).toEqual([
          { id: 1, name: "Alice" },
          { id: 2, name: "Jane" },
          { id: 4, name: "Carl" },
        ]);
      },
      afterRollback: async (db, schema) => {
        await mustInsert(db, schema, "01_create_table", "people", { name: "alice" });
        await mustInsert(db, schema, "01_create_table", "people", { id: "100" });
      },
      afterComplete: async (db, schema) => {
        await mustNotInsert(db, schema, "02_alter_column", "people", { name: "carl" }, "check_violation");
        const rows = await mustSelect(db, schema, "02_alter_column", "people");
        expect(rows).toEqual([
          { id: 1, name: "Alice" },
          { id: 2, name: "Jane" },
          { id: 4, name: "Carl" },
          { id: 3, name: "Alice" },
          { id: 100, name: "Jane" },
        ]);
      },
    },
  ]);
});

/** pgroll's TestAlterPrimaryKeyColumns, translated. */
describe("alter primary key columns (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "alter a single primary key column",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "people",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_alter_column",
          operations: [
            {
              alter_column: {
                table: "people",
                column: "id",
                type: "bigint",
                up: "CAST(id AS bigint)",
                down: "SELECT CASE WHEN id < 2147483647 THEN CAST(id AS int) ELSE 0 END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await primaryKeyConstraintMustExist(db, schema, "people", "people_pkey");
        await columnMustBePK(db, schema, "people", "id");
        const bigint = "31474836471"; // A value larger than int can hold
        const integer = "100";
        await mustInsert(db, schema, "01_create_table", "people", { id: integer, name: "alice" });
        await mustNotInsert(db, schema, "01_create_table", "people", { id: bigint, name: "alice" }, "numeric_value_out_of_range");
        await mustInsert(db, schema, "02_alter_column", "people", { id: bigint, name: "alice" });
      },
      afterRollback: async (db, schema) => {
        await primaryKeyConstraintMustExist(db, schema, "people", "people_pkey");
        await columnMustBePK(db, schema, "people", "id");
      },
      afterComplete: async (db, schema) => {
        await primaryKeyConstraintMustExist(db, schema, "people", "people_pkey");
        await columnMustBePK(db, schema, "people", "id");
        await mustInsert(db, schema, "02_alter_column", "people", { id: "31474836472", name: "bob" });
      },
    },
    {
      name: "alter a composite primary key: one column changes type, the other is unchanged",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "people",
                columns: [
                  { name: "id1", type: "int", pk: true },
                  { name: "id2", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_alter_column",
          operations: [
            {
              alter_column: {
                table: "people",
                column: "id1",
                type: "bigint",
                up: "CAST(id1 AS bigint)",
                down: "SELECT CASE WHEN id1 < 2147483647 THEN CAST(id1 AS int) ELSE 0 END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await primaryKeyConstraintMustExist(db, schema, "people", "people_pkey");
        await columnMustBePK(db, schema, "people", "id1");
        await columnMustBePK(db, schema, "people", "id2");
        const bigint = "31474836471"; // A value larger than int can hold
        const integer = "100";
        await mustInsert(db, schema, "01_create_table", "people", { id1: integer, id2: integer, name: "alice" });
        await mustNotInsert(db, schema, "01_create_table", "people", { id1: bigint, id2: integer, name: "alice" }, "numeric_value_out_of_range");
        await mustInsert(db, schema, "02_alter_column", "people", { id1: bigint, id2: integer, name: "alice" });
      },
      afterRollback: async (db, schema) => {
        await primaryKeyConstraintMustExist(db, schema, "people", "people_pkey");
        await columnMustBePK(db, schema, "people", "id1");
        await columnMustBePK(db, schema, "people", "id2");
      },
      afterComplete: async (db, schema) => {
        await primaryKeyConstraintMustExist(db, schema, "people", "people_pkey");
        await columnMustBePK(db, schema, "people", "id1");
        await columnMustBePK(db, schema, "people", "id2");
        await mustInsert(db, schema, "02_alter_column", "people", { id1: "31474836472", id2: "72", name: "bob" });
      },
    },
  ]);
});

/** pgroll's TestAlterColumnValidation, translated. */
describe("alter_column validation (pgroll's operation tests)", () => {
  const createTablesMigration = {
    name: "01_add_tables",
    operations: [
      {
        create_table: {
          name: "users",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "name", type: "text" },
          ],
        },
      },
      {
        create_table: {
          name: "posts",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "title", type: "text" },
            { name: "user_id", type: "integer" },
          ],
        },
      },
    ],
  };
  executeTests([
    {
      name: "table must exist",
      migrations: [createTablesMigration, { name: "01_alter_column", operations: [{ alter_column: { table: "doesntexist", column: "title", nullable: false } }] }],
      wantStartErr: /table "doesntexist" does not exist/,
    },
    {
      name: "column must exist",
      migrations: [createTablesMigration, { name: "01_alter_column", operations: [{ alter_column: { table: "posts", column: "doesntexist", nullable: false } }] }],
      wantStartErr: /column "doesntexist" does not exist on table "posts"/,
    },
    {
      name: "cant make no changes",
      migrations: [createTablesMigration, { name: "01_alter_column", operations: [{ alter_column: { table: "posts", column: "title" } }] }],
      wantStartErr: /alter_column: changes nothing/,
    },
    {
      name: "backfill with multiple primary keys",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              sql: {
                up: "CREATE TABLE orders(id integer, order_id integer, quantity integer, primary key (id, order_id))",
                down: "DROP TABLE orders",
              },
            },
          ],
        },
        { name: "02_alter_column", operations: [{ alter_column: { table: "orders", column: "quantity", nullable: false, up: "1" } }] },
      ],
    },
  ]);
});
