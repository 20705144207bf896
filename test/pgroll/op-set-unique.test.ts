import { describe, expect } from "vitest";
import { executeTests, mustDelete, mustInsert, mustNotInsert, mustSelect, columnMustHaveComment, tableMustBeCleanedUp, tableMustNotExist, validatedForeignKeyMustExist } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_set_unique_test.go (TestSetColumnUnique), translated. */
describe("alter_column: set unique (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "set unique with default down sql",
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
          name: "02_set_unique",
          version_schema: "set_unique",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "review",
                unique: { name: "reviews_review_unique" },
                up: "review || '-' || (random()*1000000)::integer",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting values into the old schema that violate uniqueness should succeed.
        await mustInsert(db, schema, "add_table", "reviews", { username: "alice", product: "apple", review: "good" });
        await mustInsert(db, schema, "add_table", "reviews", { username: "bob", product: "banana", review: "good" });

        // Inserting values into the new schema that violate uniqueness should fail.
        await mustInsert(db, schema, "set_unique", "reviews", { username: "carl", product: "carrot", review: "bad" });
        await mustNotInsert(db, schema, "set_unique", "reviews", { username: "dana", product: "durian", review: "bad" }, "unique_violation");
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "reviews", "review");
      },
      afterComplete: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "reviews", "review");

        // Inserting values into the new schema that violate uniqueness should fail.
        await mustInsert(db, schema, "set_unique", "reviews", { username: "earl", product: "elderberry", review: "ok" });
        await mustNotInsert(db, schema, "set_unique", "reviews", { username: "flora", product: "fig", review: "ok" }, "unique_violation");
      },
    },
    {
      name: "set unique with user supplied down sql",
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
          name: "02_set_unique",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "review",
                unique: { name: "reviews_review_unique" },
                up: "review || '-' || (random()*1000000)::integer",
                down: "review || '!'",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting values into the new schema backfills the old column using the `down` SQL.
        await mustInsert(db, schema, "02_set_unique", "reviews", { username: "carl", product: "carrot", review: "bad" });

        const rows = await mustSelect(db, schema, "01_add_table", "reviews");
        expect(rows).toEqual([{ id: 1, username: "carl", product: "carrot", review: "bad!" }]);
      },
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
    {
      name: "column defaults are preserved when adding a unique constraint",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "reviews",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "username", type: "text", default: "'anonymous'" },
                  { name: "product", type: "text" },
                  { name: "review", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_unique",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "username",
                unique: { name: "reviews_username_unique" },
                up: "username",
                down: "username",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // A row can be inserted into the new version of the table.
        await mustInsert(db, schema, "02_set_unique", "reviews", { product: "apple", review: "awesome" });

        // The newly inserted row respects the default value of the column.
        const rows = await mustSelect(db, schema, "02_set_unique", "reviews");
        expect(rows).toEqual([{ id: 1, username: "anonymous", product: "apple", review: "awesome" }]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Delete the row that was inserted in the `afterStart` hook to
        // ensure that another row with a default 'username' can be inserted
        // without violating the UNIQUE constraint on the column.
        await mustDelete(db, schema, "02_set_unique", "reviews", { id: "1" });

        // A row can be inserted into the new version of the table.
        await mustInsert(db, schema, "02_set_unique", "reviews", { product: "banana", review: "bent" });

        // The newly inserted row respects the default value of the column.
        const rows = await mustSelect(db, schema, "02_set_unique", "reviews");
        expect(rows).toEqual([{ id: 2, username: "anonymous", product: "banana", review: "bent" }]);
      },
    },
    {
      name: "foreign keys defined on the column are preserved when adding a unique constraint",
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
                    references: { name: "fk_employee_department", table: "departments", column: "id", on_delete: "SET NULL" },
                  },
                ],
              },
            },
          ],
        },
        {
          name: "03_set_unique",
          operations: [
            {
              alter_column: {
                table: "employees",
                column: "department_id",
                unique: { name: "employees_department_id_unique" },
                up: "department_id",
                down: "department_id",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // Left out: pgroll checks for its temporary FK constraint on its temporary column,
        // named migrations.DuplicationName("fk_employee_department") (a pgroll internal name).
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the column
        await validatedForeignKeyMustExist(db, schema, "employees", "fk_employee_department", "SET NULL", "NO ACTION");
      },
    },
    {
      name: "check constraints are preserved when adding a unique constraint",
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
                  { name: "review", type: "text", check: { name: "reviews_review_check", constraint: "length(review) > 3" } },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_unique",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "username",
                unique: { name: "reviews_username_unique" },
                up: "username",
                down: "username",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "02_set_unique", "reviews", { username: "alice", review: "x" }, "check_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "02_set_unique", "reviews", { username: "bob", review: "y" }, "check_violation");
      },
    },
    {
      name: "not null is preserved when adding a unique constraint",
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
          name: "02_set_unique",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "username",
                unique: { name: "reviews_username_unique" },
                up: "username",
                down: "username",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that violates the NOT NULL constraint on `username` should fail.
        await mustNotInsert(db, schema, "02_set_unique", "reviews", { product: "apple", review: "awesome" }, "not_null_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the NOT NULL constraint on `username` should fail.
        await mustNotInsert(db, schema, "02_set_unique", "reviews", { product: "apple", review: "awesome" }, "not_null_violation");
      },
    },
    {
      name: "comments are preserved when adding a unique constraint",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "reviews",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "username", type: "text", comment: "the name of the user" },
                  { name: "product", type: "text" },
                  { name: "review", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_unique",
          operations: [
            {
              alter_column: {
                table: "reviews",
                column: "username",
                unique: { name: "reviews_username_unique" },
                up: "username",
                down: "username",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // Left out: pgroll checks the comment on its duplicated column,
        // migrations.TemporaryName("username") (a pgroll internal name).
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The final column has a comment defined on it
        await columnMustHaveComment(db, schema, "reviews", "username", "the name of the user");
      },
    },
    // It should be possible to add multiple unique constraints to a column
    // once unique constraints covering multiple columns are supported.
    //
    // In that case it should be possible to test that existing unique constraints are
    // preserved when adding a new unique constraint covering the same column.
    {
      name: "validate that the constraint name is not already taken",
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
                ],
              },
            },
          ],
        },
        {
          name: "02_set_unique",
          operations: [{ alter_column: { table: "reviews", column: "username", unique: { name: "reviews_username_key" } } }],
        },
        {
          name: "03_set_unique_again",
          operations: [{ alter_column: { table: "reviews", column: "username", unique: { name: "reviews_username_key" } } }],
        },
      ],
      // pgroll: migrations.ConstraintAlreadyExistsError{Table: "reviews", Constraint: "reviews_username_key"}
      wantStartErr: /constraint "reviews_username_key" already exists/,
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
  ]);
});

/** pgroll's pkg/migrations/op_set_unique_test.go (TestSetUniqueInMultiOperationMigrations), translated. */
describe("alter_column: set unique in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, set unique",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
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
                unique: { name: "products_name_unique" },
                up: "name || '-' || floor(random()*100000)::text",
                down: "name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row that meets the constraint into the new view
        await mustInsert(db, schema, "02_multi_operation", "products", { name: "apple" });

        // Can't insert a row that violates the constraint into the new view
        await mustNotInsert(db, schema, "02_multi_operation", "products", { name: "apple" }, "unique_violation");

        // Can insert a row that violates the constraint into the old view
        await mustInsert(db, schema, "01_create_table", "items", { name: "apple" });
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row that meets the constraint into the new view
        await mustInsert(db, schema, "02_multi_operation", "products", { name: "banana" });

        // Can't insert a row that violates the constraint into the new view
        await mustNotInsert(db, schema, "02_multi_operation", "products", { name: "banana" }, "unique_violation");
      },
    },
    {
      name: "rename table, rename column, set unique",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
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
                unique: { name: "products_name_unique" },
                up: "item_name || '-' || floor(random()*100000)::text",
                down: "item_name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row that meets the constraint into the new view
        await mustInsert(db, schema, "02_multi_operation", "products", { item_name: "apple" });

        // Can't insert a row that violates the constraint into the new view
        await mustNotInsert(db, schema, "02_multi_operation", "products", { item_name: "apple" }, "unique_violation");

        // Can insert a row that violates the constraint into the old view
        await mustInsert(db, schema, "01_create_table", "items", { name: "apple" });
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row that meets the constraint into the new view
        await mustInsert(db, schema, "02_multi_operation", "products", { item_name: "banana" });

        // Can't insert a row that violates the constraint into the new view
        await mustNotInsert(db, schema, "02_multi_operation", "products", { item_name: "banana" }, "unique_violation");
      },
    },
    {
      name: "create table, set unique",
      migrations: [
        {
          name: "01_multi_operation",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
            {
              alter_column: {
                table: "items",
                column: "name",
                unique: { name: "items_name_unique" },
                up: "name || '-' || floor(random()*100000)::text",
                down: "name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new (only) schema that meets the constraint
        await mustInsert(db, schema, "01_multi_operation", "items", { name: "apple" });

        // Can't insert a row into the new (only) schema that violates the constraint
        await mustNotInsert(db, schema, "01_multi_operation", "items", { name: "apple" }, "unique_violation");
      },
      afterRollback: async (db, schema) => {
        // The table has been dropped
        await tableMustNotExist(db, schema, "items");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new (only) schema that meets the constraint
        await mustInsert(db, schema, "01_multi_operation", "items", { name: "apple" });

        // Can't insert a row into the new (only) schema that violates the constraint
        await mustNotInsert(db, schema, "01_multi_operation", "items", { name: "apple" }, "unique_violation");
      },
    },
  ]);
});
