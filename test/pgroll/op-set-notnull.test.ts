import { describe, expect } from "vitest";
import {
  columnMustHaveComment,
  executeTests,
  mustInsert,
  mustNotInsert,
  mustSelect,
  tableMustBeCleanedUp,
  tableMustNotExist,
  uniqueConstraintMustExist,
  validatedForeignKeyMustExist,
  type PgrollMigration,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_set_notnull_test.go (TestSetNotNull), translated. */
describe("alter_column nullable: false (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "set not null with default down sql",
      migrations: [
        {
          name: "01_add_table",
          version_schema: "add_table",
          operations: [
            {
              create_table: {
                name: "reviews",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "username", type: "text" },
                  { name: "product", type: "text" },
                  { name: "review", type: "text", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_nullable",
          version_schema: "set_nullable",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "review",
                nullable: false,
                up: "SELECT CASE WHEN review IS NULL THEN product || ' is good' ELSE review END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("review")), a pgroll internal name.

        // Inserting a NULL into the new `review` column should fail
        await mustNotInsert(db, schema, "set_nullable", "reviews", { username: "alice", product: "apple" }, "check_violation");

        // Inserting a non-NULL value into the new `review` column should succeed
        await mustInsert(db, schema, "set_nullable", "reviews", { username: "alice", product: "apple", review: "amazing" });

        // The value inserted into the new `review` column has been backfilled into the
        // old `review` column.
        let rows = await mustSelect(db, schema, "add_table", "reviews");
        expect(rows).toEqual([{ id: 2, username: "alice", product: "apple", review: "amazing" }]);

        // Inserting a NULL value into the old `review` column should succeed
        await mustInsert(db, schema, "add_table", "reviews", { username: "bob", product: "banana" });

        // The NULL value inserted into the old `review` column has been written into
        // the new `review` column using the `up` SQL.
        rows = await mustSelect(db, schema, "set_nullable", "reviews");
        expect(rows).toEqual([
          { id: 2, username: "alice", product: "apple", review: "amazing" },
          { id: 3, username: "bob", product: "banana", review: "banana is good" },
        ]);

        // Inserting a non-NULL value into the old `review` column should succeed
        await mustInsert(db, schema, "add_table", "reviews", { username: "carl", product: "carrot", review: "crunchy" });

        // The non-NULL value inserted into the old `review` column has been copied
        // unchanged into the new `review` column.
        rows = await mustSelect(db, schema, "set_nullable", "reviews");
        expect(rows).toEqual([
          { id: 2, username: "alice", product: "apple", review: "amazing" },
          { id: 3, username: "bob", product: "banana", review: "banana is good" },
          { id: 4, username: "carl", product: "carrot", review: "crunchy" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "reviews", "review");
      },
      afterComplete: async (db, schema) => {
        // Left out: ColumnMustNotExist on pgroll's temporary column (migrations.TemporaryName("review")), a pgroll internal name.

        // Selecting from the `reviews` view should succeed.
        const rows = await mustSelect(db, schema, "set_nullable", "reviews");
        expect(rows).toEqual([
          { id: 2, username: "alice", product: "apple", review: "amazing" },
          { id: 3, username: "bob", product: "banana", review: "banana is good" },
          { id: 4, username: "carl", product: "carrot", review: "crunchy" },
        ]);

        // Writing NULL reviews into the `review` column should fail.
        await mustNotInsert(db, schema, "set_nullable", "reviews", { username: "daisy", product: "durian" }, "not_null_violation");

        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "reviews", "review");
      },
    },
    {
      name: "set not null with user-supplied down sql",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "reviews",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "username", type: "text" },
                  { name: "product", type: "text" },
                  { name: "review", type: "text", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_nullable",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "review",
                nullable: false,
                up: "SELECT CASE WHEN review IS NULL THEN product || ' is good' ELSE review END",
                down: "review || ' (from new column)'",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a non-NULL value into the new `review` column should succeed
        await mustInsert(db, schema, "02_set_nullable", "reviews", { username: "alice", product: "apple", review: "amazing" });

        // The value inserted into the new `review` column has been backfilled into the
        // old `review` column using the user-supplied `down` SQL.
        const rows = await mustSelect(db, schema, "01_add_table", "reviews");
        expect(rows).toEqual([{ id: 1, username: "alice", product: "apple", review: "amazing (from new column)" }]);
      },
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
    {
      name: "setting a foreign key column to not null retains the foreign key constraint",
      migrations: [
        {
          name: "01_add_departments_table",
          operations: [
            {
              create_table: {
                name: "departments",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_employees_table",
          operations: [
            {
              create_table: {
                name: "employees",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text" },
                  {
                    name: "department_id",
                    type: "integer",
                    nullable: true,
                    references: { name: "fk_employee_department", table: "departments", column: "id", on_delete: "CASCADE" },
                  },
                ],
              },
            },
          ],
        },
        {
          name: "03_set_not_null",
          operations: [
            {
              alter_column: {
                table: "employees",
                column: "department_id",
                nullable: false,
                up: "SELECT CASE WHEN department_id IS NULL THEN 1 ELSE department_id END",
                down: "department_id",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // Left out: ValidatedForeignKeyMustExistWithReferentialAction on pgroll's temporary constraint name
        // (migrations.DuplicationName("fk_employee_department")), a pgroll internal name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the column
        await validatedForeignKeyMustExist(db, schema, "employees", "fk_employee_department", "CASCADE", "NO ACTION");
      },
    },
    {
      name: "setting a column to not null retains any default defined on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "name", type: "text", nullable: true, default: "'anonymous'" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_not_null",
          operations: [
            {
              alter_column: {
                table: "users",
                column: "name",
                nullable: false,
                up: "SELECT CASE WHEN name IS NULL THEN 'anonymous' ELSE name END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // A row can be inserted into the new version of the table.
        await mustInsert(db, schema, "02_set_not_null", "users", { id: "1" });

        // The newly inserted row respects the default value of the column.
        const rows = await mustSelect(db, schema, "02_set_not_null", "users");
        expect(rows).toEqual([{ id: 1, name: "anonymous" }]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // A row can be inserted into the new version of the table.
        await mustInsert(db, schema, "02_set_not_null", "users", { id: "2" });

        // The newly inserted row respects the default value of the column.
        const rows = await mustSelect(db, schema, "02_set_not_null", "users");
        expect(rows).toEqual([
          { id: 1, name: "anonymous" },
          { id: 2, name: "anonymous" },
        ]);
      },
    },
    {
      name: "setting a column to not null retains any check constraints defined on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "name", type: "text", nullable: true, check: { name: "name_length", constraint: "length(name) > 3" } },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_not_null",
          operations: [
            {
              alter_column: {
                table: "users",
                column: "name",
                nullable: false,
                up: "SELECT CASE WHEN name IS NULL THEN 'anonymous' ELSE name END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "02_set_not_null", "users", { id: "1", name: "a" }, "check_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "02_set_not_null", "users", { id: "2", name: "b" }, "check_violation");
      },
    },
    {
      name: "setting a column to not null retains any unique constraints defined on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_unique",
          operations: [{ alter_column: { table: "users", column: "name", unique: { name: "unique_name" }, up: "name", down: "name" } }],
        },
        {
          name: "03_set_not_null",
          operations: [
            {
              alter_column: {
                table: "users",
                column: "name",
                nullable: false,
                up: "SELECT CASE WHEN name IS NULL THEN 'anonymous' ELSE name END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting an initial row succeeds
        await mustInsert(db, schema, "03_set_not_null", "users", { name: "alice" });

        // Inserting a row with a duplicate `name` value fails
        await mustNotInsert(db, schema, "03_set_not_null", "users", { name: "alice" }, "unique_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The table has a unique constraint defined on it
        await uniqueConstraintMustExist(db, schema, "users", "unique_name");

        // Inserting a row with a duplicate `name` value fails
        await mustNotInsert(db, schema, "03_set_not_null", "users", { name: "alice" }, "unique_violation");

        // Inserting a row with a different `name` value succeeds
        await mustInsert(db, schema, "03_set_not_null", "users", { name: "bob" });
      },
    },
    {
      name: "setting a column to not null retains any comment defined on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", nullable: true, comment: "the name of the user" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_not_null",
          operations: [
            {
              alter_column: {
                table: "users",
                column: "name",
                nullable: false,
                up: "SELECT CASE WHEN name IS NULL THEN 'anonymous' ELSE name END",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // Left out: ColumnMustHaveComment on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll internal name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The final column has a comment defined on it
        await columnMustHaveComment(db, schema, "users", "name", "the name of the user");
      },
    },
  ]);
});

/** pgroll's TestSetNotNullInMultiOperationMigrations, translated. */
describe("alter_column nullable: false in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, set not null",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_multi_operation",
          operations: [
            { rename_table: { from: "items", to: "products" } },
            {
              alter_column: {
                table: "products",
                column: "name",
                nullable: false,
                up: "SELECT CASE WHEN name IS NULL THEN 'unknown' ELSE name END",
                down: "name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", name: "apple" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "2" }, "check_violation");

        // Can insert a row into the old schema that violates the constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "2" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "unknown" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: null },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", name: "carrot" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "3" }, "not_null_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "unknown" },
          { id: 3, name: "carrot" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "rename table, rename column, set not null",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_multi_operation",
          operations: [
            { rename_table: { from: "items", to: "products" } },
            { rename_column: { table: "products", from: "name", to: "item_name" } },
            {
              alter_column: {
                table: "products",
                column: "item_name",
                nullable: false,
                up: "SELECT CASE WHEN item_name IS NULL THEN 'unknown' ELSE item_name END",
                down: "item_name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row via the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", item_name: "apple" });

        // Can't insert a row that doesn't meet the constraint via the new schema.
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "2" }, "check_violation");

        // Can insert a row that doesn't meet the constraint via the old schema
        await mustInsert(db, schema, "01_create_table", "items", { id: "2" });

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "apple" },
          { id: 2, item_name: "unknown" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
        await tableMustBeCleanedUp(db, schema, "items", "item_name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row via the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", item_name: "banana" });

        // Can't insert a row that doesn't meet the constraint via the new schema.
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "4" }, "not_null_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "apple" },
          { id: 2, item_name: "unknown" },
          { id: 3, item_name: "banana" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
        await tableMustBeCleanedUp(db, schema, "products", "item_name");
      },
    },
    {
      name: "create table, set not null",
      // On a table the same migration creates nobody reads the old shape: underway sets NOT
      // NULL in place (README: where underway does less), so the refusal is not_null_violation
      // where pgroll's check gives check_violation.
      differs: "sets NOT NULL in place on a table created in the same migration",
      migrations: [
        {
          name: "01_multi_operation",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
            {
              alter_column: {
                table: "items",
                column: "name",
                nullable: false,
                up: "SELECT CASE WHEN name IS NULL THEN 'unknown' ELSE name END",
                down: "name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new (only) schema that meets the constraint
        await mustInsert(db, schema, "01_multi_operation", "items", { id: "1", name: "apple" });

        // Can't insert a row into the new (only) schema that violates the constraint
        await mustNotInsert(db, schema, "01_multi_operation", "items", { id: "2" }, "not_null_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "01_multi_operation", "items");
        expect(rows).toEqual([{ id: 1, name: "apple" }]);
      },
      afterRollback: async (db, schema) => {
        // Tht table has been dropped
        await tableMustNotExist(db, schema, "items");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new (only) schema that meets the constraint
        await mustInsert(db, schema, "01_multi_operation", "items", { id: "1", name: "banana" });

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "01_multi_operation", "items");
        expect(rows).toEqual([{ id: 1, name: "banana" }]);
      },
    },
  ]);
});

/** pgroll's TestSetNotNullValidation, translated. */
describe("alter_column nullable: false validation (pgroll's operation tests)", () => {
  const createTableMigration: PgrollMigration = {
    name: "01_add_table",
    operations: [
      {
        create_table: {
          name: "reviews",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "username", type: "text" },
            { name: "product", type: "text" },
            { name: "review", type: "text", nullable: true },
          ],
        },
      },
    ],
  };

  executeTests([
    {
      name: "up SQL is mandatory",
      migrations: [
        createTableMigration,
        {
          name: "02_set_nullable",
          operations: [{ alter_column: { table: "reviews", column: "review", nullable: false, down: "review" } }],
        },
      ],
      // pgroll: FieldRequiredError{Name: "up"}
      wantStartErr: /alter_column\.up: required when setting NOT NULL/,
    },
    {
      name: "column is nullable",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "reviews",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "username", type: "text" },
                  { name: "product", type: "text" },
                  { name: "review", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_nullable",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "review",
                nullable: false,
                up: "SELECT CASE WHEN review IS NULL THEN product || ' is good' ELSE review END",
                down: "review",
              },
            },
          ],
        },
      ],
      // pgroll: ColumnIsNotNullableError{Table: "reviews", Name: "review"}. underway accepts the file.
      wantStartErr: /column "review" (of|on|in) (table|relation) "reviews" is (already NOT NULL|not nullable)/,
    },
  ]);
});
