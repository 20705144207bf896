import { describe, expect } from "vitest";
import { executeTests, mustInsert, mustNotInsert, mustSelect, tableMustBeCleanedUp, type PgrollMigration } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_drop_multicolumn_constraint_test.go (TestDropMultiColumnConstraint), translated. */
describe("drop_multicolumn_constraint (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "can drop a multi-column check constraint",
      migrations: [
        {
          name: "01_add_table",
          version_schema: "add_table",
          operations: [
            {
              create_table: {
                name: "products",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "name", type: "text" },
                  { name: "price", type: "integer" },
                  { name: "discount", type: "integer" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_check_constraint",
          version_schema: "create_check_constraint",
          operations: [
            {
              create_constraint: {
                table: "products",
                name: "products_check_price_discount",
                columns: ["price", "discount"],
                type: "check",
                check: "(discount = 0) OR (price > 0)",
                up: { price: "price", discount: "discount" },
                down: { price: "price", discount: "discount" },
              },
            },
          ],
        },
        {
          name: "03_drop_check_constraint",
          version_schema: "drop_check_constraint",
          operations: [
            {
              drop_multicolumn_constraint: {
                table: "products",
                name: "products_check_price_discount",
                up: { price: "price", discount: "discount" },
                down: { price: "SELECT CASE price WHEN 0 THEN 100 ELSE 0 END", discount: "discount" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row into old schema that violates the check constraint fails.
        await mustNotInsert(db, schema, "create_check_constraint", "products", { id: "1", name: "apple", price: "0", discount: "1" }, "check_violation");

        // Inserting a row into old schema that meets the check constraint succeeds.
        await mustInsert(db, schema, "create_check_constraint", "products", { id: "1", name: "apple", price: "1", discount: "1" });

        // Inserting a row into the new schema that violates the check constraint succeeds.
        await mustInsert(db, schema, "drop_check_constraint", "products", { id: "2", name: "banana", price: "0", discount: "1" });

        // The `products` table in the new schema has the expected data.
        let rows = await mustSelect(db, schema, "drop_check_constraint", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple", price: 1, discount: 1 },
          { id: 2, name: "banana", price: 0, discount: 1 },
        ]);

        // The `products` table in the old schema has the expected data.
        // The row that violated the check constraint was migrated using the down SQL.
        rows = await mustSelect(db, schema, "create_check_constraint", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple", price: 1, discount: 1 },
          { id: 2, name: "banana", price: 100, discount: 1 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "products", "price", "discount");
      },
      afterComplete: async (db, schema) => {
        // Inserting a row into the new schema that violates the check constraint succeeds.
        await mustInsert(db, schema, "drop_check_constraint", "products", { id: "3", name: "carrot", price: "0", discount: "1" });

        // The `products` table in the new schema has the expected data.
        const rows = await mustSelect(db, schema, "drop_check_constraint", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple", price: 1, discount: 1 },
          { id: 2, name: "banana", price: 100, discount: 1 },
          { id: 3, name: "carrot", price: 0, discount: 1 },
        ]);
      },
    },
    {
      name: "can drop a multi-column unique constraint",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "products",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "name", type: "text" },
                  { name: "description", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_unique_constraint",
          operations: [
            {
              create_constraint: {
                table: "products",
                name: "products_unique_name_description",
                columns: ["name", "description"],
                type: "unique",
                up: { name: "name", description: "description" },
                down: { name: "name", description: "description" },
              },
            },
          ],
        },
        {
          name: "03_drop_unique_constraint",
          operations: [
            {
              drop_multicolumn_constraint: {
                table: "products",
                name: "products_unique_name_description",
                up: { name: "name", description: "description" },
                down: { name: "name || '-foo'", description: "description" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting an initial row into old schema succeeds.
        await mustInsert(db, schema, "02_create_unique_constraint", "products", { id: "1", name: "apple", description: "red" });

        // Inserting a row into the old schema that violates the unique constraint fails.
        await mustNotInsert(db, schema, "02_create_unique_constraint", "products", { id: "2", name: "apple", description: "red" }, "unique_violation");

        // Inserting a row into the new schema that violates the unique constraint succeeds.
        await mustInsert(db, schema, "03_drop_unique_constraint", "products", { id: "2", name: "apple", description: "red" });

        // The `products` table in the new schema has the expected data.
        let rows = await mustSelect(db, schema, "03_drop_unique_constraint", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple", description: "red" },
          { id: 2, name: "apple", description: "red" },
        ]);

        // The `products` table in the old schema has the expected data.
        // The row that violated the unique constraint was migrated using the down SQL.
        rows = await mustSelect(db, schema, "02_create_unique_constraint", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple", description: "red" },
          { id: 2, name: "apple-foo", description: "red" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "products", "name", "description");
      },
      afterComplete: async (db, schema) => {
        // Inserting a row into the new schema that violates the unique constraint succeeds.
        await mustInsert(db, schema, "03_drop_unique_constraint", "products", { id: "3", name: "apple", description: "red" });

        // The `products` table in the new schema has the expected data.
        const rows = await mustSelect(db, schema, "03_drop_unique_constraint", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple", description: "red" },
          { id: 2, name: "apple-foo", description: "red" },
          { id: 3, name: "apple", description: "red" },
        ]);
      },
    },
    {
      name: "can drop a multi-column foreign key constraint",
      migrations: [
        {
          name: "01_create_tables",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "zip", type: "integer", pk: true },
                ],
              },
            },
            {
              create_table: {
                name: "reports",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "description", type: "varchar(255)" },
                  { name: "user_id", type: "integer", nullable: true },
                  { name: "user_zip", type: "integer", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_fk_constraint",
          operations: [
            {
              create_constraint: {
                name: "fk_users_reports",
                table: "reports",
                type: "foreign_key",
                columns: ["user_id", "user_zip"],
                references: { table: "users", columns: ["id", "zip"] },
                up: { user_id: "user_id", user_zip: "user_zip" },
                down: { user_id: "user_id", user_zip: "user_zip" },
              },
            },
          ],
        },
        {
          name: "03_drop_fk_constraint",
          operations: [
            {
              drop_multicolumn_constraint: {
                table: "reports",
                name: "fk_users_reports",
                up: { user_id: "user_id", user_zip: "user_zip" },
                down: { user_id: "1", user_zip: "user_zip" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Insert a seed row into the `users` table.
        await mustInsert(db, schema, "03_drop_fk_constraint", "users", { id: "1", name: "alice", zip: "12345" });

        // Inserting a row that meets the FK constraint into the old schema succeeds.
        await mustInsert(db, schema, "02_create_fk_constraint", "reports", { id: "1", description: "awesome", user_id: "1", user_zip: "12345" });

        // Inserting a row that violates the FK constraint into the old schema fails.
        await mustNotInsert(db, schema, "02_create_fk_constraint", "reports", { id: "2", description: "awesome", user_id: "2", user_zip: "12345" }, "foreign_key_violation");

        // Inserting a row that violates the FK constraint into the new schema succeeds.
        await mustInsert(db, schema, "03_drop_fk_constraint", "reports", { id: "2", description: "better", user_id: "2", user_zip: "12345" });

        // The `reports` table in the new schema contains the expected rows
        let rows = await mustSelect(db, schema, "03_drop_fk_constraint", "reports");
        expect(rows).toEqual([
          { id: 1, description: "awesome", user_id: 1, user_zip: 12345 },
          { id: 2, description: "better", user_id: 2, user_zip: 12345 },
        ]);

        // The `reports` table in the new schema contains the expected rows
        // The row that violated the FK constraint was migrated using the down SQL.
        rows = await mustSelect(db, schema, "02_create_fk_constraint", "reports");
        expect(rows).toEqual([
          { id: 1, description: "awesome", user_id: 1, user_zip: 12345 },
          { id: 2, description: "better", user_id: 1, user_zip: 12345 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "reports", "user_id", "user_zip");
      },
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the FK constraint into the new schema succeeds.
        await mustInsert(db, schema, "03_drop_fk_constraint", "reports", { id: "3", description: "consistent", user_id: "2", user_zip: "12345" });

        // The `reports` table in the new schema contains the expected rows
        const rows = await mustSelect(db, schema, "03_drop_fk_constraint", "reports");
        expect(rows).toEqual([
          { id: 1, description: "awesome", user_id: 1, user_zip: 12345 },
          { id: 2, description: "better", user_id: 1, user_zip: 12345 },
          { id: 3, description: "consistent", user_id: 2, user_zip: 12345 },
        ]);
      },
    },
  ]);
});

/** pgroll's TestDropMultiColumnConstraintInMultiOperationMigrations, translated. */
describe("drop_multicolumn_constraint in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, drop constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true, check: { name: "check_name_length", constraint: "length(name) > 3" } },
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
              drop_multicolumn_constraint: {
                table: "products",
                name: "check_name_length",
                down: { name: "SELECT CASE WHEN length(name) <= 3 THEN LPAD(name, 4, '-') ELSE name END" },
                up: { name: "name" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema that violates the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", name: "a" });

        // Can't insert a row into the old schema that violates the constraint
        await mustNotInsert(db, schema, "01_create_table", "items", { id: "2", name: "b" }, "check_violation");

        // Can insert a row into the old schema that meets the constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "bananas" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "a" },
          { id: 2, name: "bananas" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "---a" }, // rewritten by the down migration
          { id: 2, name: "bananas" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new schema that violates the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", name: "c" });

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "---a" },
          { id: 2, name: "bananas" },
          { id: 3, name: "c" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "rename table, rename column, drop constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true, check: { name: "check_name_length", constraint: "length(name) > 3" } },
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
              drop_multicolumn_constraint: {
                table: "products",
                name: "check_name_length",
                down: { item_name: "SELECT CASE WHEN length(item_name) <= 3 THEN LPAD(item_name, 4, '-') ELSE item_name END" },
                up: { item_name: "item_name" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema that violates the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", item_name: "a" });

        // Can't insert a row into the old schema that violates the constraint
        await mustNotInsert(db, schema, "01_create_table", "items", { id: "2", name: "b" }, "check_violation");

        // Can insert a row into the old schema that meets the constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "bananas" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "a" },
          { id: 2, item_name: "bananas" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "---a" }, // rewritten by the down migration
          { id: 2, name: "bananas" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new schema that violates the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", item_name: "c" });

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "---a" },
          { id: 2, item_name: "bananas" },
          { id: 3, item_name: "c" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
  ]);
});

/** pgroll's TestDropMultiColumnConstraintValidation, translated. */
describe("drop_multicolumn_constraint validation (pgroll's operation tests)", () => {
  const createTableMigration: PgrollMigration = {
    name: "01_add_table",
    operations: [
      {
        create_table: {
          name: "posts",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "title", type: "text" },
          ],
        },
      },
    ],
  };
  const addCheckMigration: PgrollMigration = {
    name: "02_add_check_constraint",
    operations: [
      {
        alter_column: {
          table: "posts",
          column: "title",
          check: { name: "check_title_length", constraint: "length(title) > 3" },
          up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
          down: "title",
        },
      },
    ],
  };

  executeTests([
    {
      name: "table must exist",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_multicolumn_constraint: {
                table: "doesntexist",
                name: "check_title_length",
                up: { title: "title" },
                down: { title: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END" },
              },
            },
          ],
        },
      ],
      wantStartErr: /table "doesntexist" does not exist/,
    },
    {
      name: "constraint must exist",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_multicolumn_constraint: {
                table: "posts",
                name: "doesntexist",
                up: { title: "title" },
                down: { title: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END" },
              },
            },
          ],
        },
      ],
      wantStartErr: /constraint "doesntexist" does not exist on table "posts"/,
    },
    {
      name: "name is mandatory",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_multicolumn_constraint: {
                table: "posts",
                up: { title: "title" },
                down: { title: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END" },
              },
            },
          ],
        },
      ],
      // underway refuses this file when loading it, which the harness does before start, so the case fails on that load error.
      wantStartErr: /drop_multicolumn_constraint\.name: missing required field/,
    },
    {
      name: "down SQL is mandatory",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [{ drop_multicolumn_constraint: { table: "posts", name: "check_title_length", up: { title: "title" } } }],
        },
      ],
      // underway refuses this file when loading it, which the harness does before start, so the case fails on that load error.
      wantStartErr: /drop_multicolumn_constraint\.down: missing required field/,
    },
    {
      name: "down SQL must be present for all columns covered by the constraint",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [{ drop_multicolumn_constraint: { table: "posts", name: "check_title_length", up: { title: "title" }, down: {} } }],
        },
      ],
      // underway refuses this file when loading it, which the harness does before start, so the case fails on that load error.
      wantStartErr: /drop_multicolumn_constraint\.down: must give a down expression for each column the constraint covers/,
    },
    {
      name: "down SQL for columns not covered by the constraint is not allowed",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_multicolumn_constraint: {
                table: "posts",
                name: "check_title_length",
                down: {
                  title: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
                  not_covered: "not_covered",
                },
              },
            },
          ],
        },
      ],
      wantStartErr: /"not_covered" is not a column of constraint "check_title_length"/,
    },
    {
      name: "up SQL for columns not covered by the constraint is not allowed",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_multicolumn_constraint: {
                table: "posts",
                name: "check_title_length",
                up: { not_covered: "not_covered" },
                down: { title: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END" },
              },
            },
          ],
        },
      ],
      // underway refuses this file when loading it, which the harness does before start, so the case fails on that load error.
      wantStartErr: /drop_multicolumn_constraint\.up\.not_covered: has no matching down entry/,
    },
  ]);
});
