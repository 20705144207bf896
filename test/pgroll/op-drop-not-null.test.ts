import { describe, expect } from "vitest";
import {
  columnMustHaveComment,
  executeTests,
  mustInsert,
  mustNotInsert,
  mustSelect,
  tableMustBeCleanedUp,
  uniqueConstraintMustExist,
  validatedForeignKeyMustExist,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_drop_not_null_test.go (TestDropNotNull), translated. */
describe("alter_column nullable: true (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "remove not null with default up sql",
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
                  { name: "review", type: "text" },
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
                nullable: true,
                down: "SELECT CASE WHEN review IS NULL THEN product || ' is good' ELSE review END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("review")), a pgroll internal name.

        // Inserting a NULL into the new `review` column should succeed
        await mustInsert(db, schema, "set_nullable", "reviews", { username: "alice", product: "apple" });

        // Inserting a non-NULL value into the new `review` column should succeed
        await mustInsert(db, schema, "set_nullable", "reviews", { username: "bob", product: "banana", review: "brilliant" });

        // The rows inserted into the new `review` column have been backfilled into the
        // old `review` column.
        let rows = await mustSelect(db, schema, "add_table", "reviews");
        expect(rows).toEqual([
          { id: 1, username: "alice", product: "apple", review: "apple is good" },
          { id: 2, username: "bob", product: "banana", review: "brilliant" },
        ]);

        // Inserting a NULL value into the old `review` column should fail
        await mustNotInsert(db, schema, "add_table", "reviews", { username: "carl", product: "carrot" }, "not_null_violation");

        // Inserting a non-NULL value into the old `review` column should succeed
        await mustInsert(db, schema, "add_table", "reviews", { username: "dana", product: "durian", review: "delicious" });

        // The non-NULL value inserted into the old `review` column has been copied
        // unchanged into the new `review` column.
        rows = await mustSelect(db, schema, "set_nullable", "reviews");
        expect(rows).toEqual([
          { id: 1, username: "alice", product: "apple", review: null },
          { id: 2, username: "bob", product: "banana", review: "brilliant" },
          { id: 4, username: "dana", product: "durian", review: "delicious" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "reviews", "review");
      },
      afterComplete: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "reviews", "review");

        // Writing a NULL review into the `review` column should succeed.
        await mustInsert(db, schema, "set_nullable", "reviews", { username: "earl", product: "eggplant" });

        // Selecting from the `reviews` view should succeed.
        const rows = await mustSelect(db, schema, "set_nullable", "reviews");
        expect(rows).toEqual([
          { id: 1, username: "alice", product: "apple", review: "apple is good" },
          { id: 2, username: "bob", product: "banana", review: "brilliant" },
          { id: 4, username: "dana", product: "durian", review: "delicious" },
          { id: 5, username: "earl", product: "eggplant", review: null },
        ]);
      },
    },
    {
      name: "remove not null with user-supplied up sql",
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
                nullable: true,
                down: "SELECT CASE WHEN review IS NULL THEN product || ' is good' ELSE review END",
                up: "review || ' (from the old column)'",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a non-NULL value into the old `review` column should succeed
        await mustInsert(db, schema, "01_add_table", "reviews", { username: "alice", product: "apple", review: "amazing" });

        // The value inserted into the old `review` column has been backfilled into the
        // new `review` column using the user-supplied `up` SQL.
        const rows = await mustSelect(db, schema, "02_set_nullable", "reviews");
        expect(rows).toEqual([{ id: 1, username: "alice", product: "apple", review: "amazing (from the old column)" }]);
      },
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
    {
      name: "dropping not null from a foreign key column retains the foreign key constraint",
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
                  { name: "department_id", type: "integer", references: { name: "fk_employee_department", table: "departments", column: "id" } },
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
                nullable: true,
                down: "SELECT CASE WHEN department_id IS NULL THEN 1 ELSE department_id END",
                up: "department_id",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // Left out: ValidatedForeignKeyMustExist on pgroll's temporary constraint name
        // (migrations.DuplicationName("fk_employee_department")), a pgroll internal name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the column
        await validatedForeignKeyMustExist(db, schema, "employees", "fk_employee_department");
      },
    },
    {
      name: "dropping not null retains any default defined on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "name", type: "text", default: "'anonymous'" },
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
                nullable: true,
                up: "name",
                down: "SELECT CASE WHEN name IS NULL THEN 'anonymous' ELSE name END",
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
      name: "dropping not null retains any check constraints defined on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "name", type: "text", check: { name: "name_length", constraint: "length(name) > 3" } },
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
                nullable: true,
                up: "name",
                down: "SELECT CASE WHEN name IS NULL THEN 'anonymous' ELSE name END",
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
      name: "dropping not null retains any unique constraints defined on the column",
      migrations: [
        {
          name: "01_add_table",
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
                nullable: true,
                up: "name",
                down: "SELECT CASE WHEN name IS NULL THEN 'anonymous' ELSE name END",
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
      name: "dropping not null retains any comments defined on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", comment: "the name of the user" },
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
                nullable: true,
                up: "name",
                down: "SELECT CASE WHEN name IS NULL THEN 'anonymous' ELSE name END",
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

/** pgroll's TestDropNotNullInMultiOperationMigrations, translated. */
describe("alter_column nullable: true in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, drop not null",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)" },
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
                nullable: true,
                down: "SELECT CASE WHEN name IS NULL THEN 'unknown' ELSE name END",
                up: "name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema with a NULL name
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1" });

        // Can insert a row into the new schema with a non-NULL name
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "2", name: "apple" });

        // Can't insert a row into the old schema with a NULL name
        await mustNotInsert(db, schema, "01_create_table", "items", { id: "3" }, "not_null_violation");

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "apple" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "unknown" },
          { id: 2, name: "apple" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new schema with a NULL name
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3" });

        // Can't insert a row into the new schema with a non-NULL name
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "4", name: "banana" });

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "unknown" },
          { id: 2, name: "apple" },
          { id: 3, name: null },
          { id: 4, name: "banana" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "rename table, rename column, drop not null",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)" },
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
                nullable: true,
                down: "SELECT CASE WHEN item_name IS NULL THEN 'unknown' ELSE item_name END",
                up: "item_name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row via the new schema with a NULL item_name
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1" });

        // Can insert a row via the new schema with a non-NULL item_name
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "2", item_name: "apple" });

        // Can't insert a row with a NULL name via the old schema
        await mustNotInsert(db, schema, "01_create_table", "items", { id: "2" }, "not_null_violation");

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: null },
          { id: 2, item_name: "apple" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "unknown" },
          { id: 2, name: "apple" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
        await tableMustBeCleanedUp(db, schema, "items", "item_name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row via the new schema with a NULL item_name
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3" });

        // Can insert a row via the new schema with a non-NULL item_name
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "4", item_name: "banana" });

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "unknown" },
          { id: 2, item_name: "apple" },
          { id: 3, item_name: null },
          { id: 4, item_name: "banana" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
        await tableMustBeCleanedUp(db, schema, "products", "item_name");
      },
    },
  ]);
});

/** pgroll's TestDropNotNullValidation, translated. */
describe("alter_column nullable: true validation (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "down SQL is mandatory",
      migrations: [
        {
          name: "01_add_table",
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
          ],
        },
        {
          name: "02_set_nullable",
          operations: [{ alter_column: { table: "users", column: "name", nullable: true, up: "name" } }],
        },
      ],
      // pgroll: FieldRequiredError{Name: "down"}. underway accepts the file (it copies the column unchanged).
      // Dropping NOT NULL needs no copy of the column, so no down (README: where underway does
      // less than pgroll): the change is made in place, and the file runs.
      differs: "drops NOT NULL in place, without a copy, so needs no down",
    },
    {
      name: "can't remove not null from a column that is already nullable",
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
          name: "02_set_nullable",
          operations: [
            {
              alter_column: {
                table: "users",
                column: "name",
                nullable: true,
                up: "name",
                down: "SELECT CASE WHEN name IS NULL THEN 'placeholder' ELSE name END",
              },
            },
          ],
        },
      ],
      // pgroll: ColumnIsNullableError{Table: "users", Name: "name"}. underway accepts the file.
      wantStartErr: /column "name" (of|on|in) (table|relation) "users" is already nullable/,
    },
  ]);
});
