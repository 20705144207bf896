import { describe, expect } from "vitest";
import {
  checkConstraintMustExist,
  checkConstraintMustNotExist,
  columnMustHaveComment,
  columnMustHaveDefault,
  executeTests,
  indexMustExist,
  indexMustNotExist,
  mustInsert,
  mustNotInsert,
  mustSelect,
  notValidatedForeignKeyMustExist,
  primaryKeyConstraintMustExist,
  tableMustBeCleanedUp,
  validatedForeignKeyMustExist,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_create_constraint_test.go (TestCreateConstraint), translated. */
describe("create_constraint (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "create unique constraint on single column",
      migrations: [
        {
          name: "01_add_table",
          version_schema: "add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          version_schema: "create_constraint",
          operations: [
            {
              create_constraint: {
                name: "unique_name",
                table: "users",
                type: "unique",
                columns: ["name"],
                up: { name: "name || random()" },
                down: { name: "name" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "unique_name");

        // Inserting values into the old schema that violate uniqueness should succeed.
        await mustInsert(db, schema, "add_table", "users", { name: "alice" });
        await mustInsert(db, schema, "add_table", "users", { name: "alice" });

        // Inserting values into the new schema that violate uniqueness should fail.
        await mustInsert(db, schema, "create_constraint", "users", { name: "bob" });
        await mustNotInsert(db, schema, "create_constraint", "users", { name: "bob" }, "unique_violation");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "uniue_name");

        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name");
      },
      afterComplete: async (db, schema) => {
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name");

        // Inserting values into the new schema that violate uniqueness should fail.
        await mustInsert(db, schema, "create_constraint", "users", { name: "carol" });
        await mustNotInsert(db, schema, "create_constraint", "users", { name: "carol" }, "unique_violation");
      },
    },
    {
      name: "create check constraint on single column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          operations: [
            {
              create_constraint: {
                name: "name_letters",
                table: "users",
                type: "check",
                check: "name ~ '^[a-zA-Z]+$'",
                columns: ["name"],
                up: { name: "regexp_replace(name, '\\d+', '', 'g')" },
                down: { name: "name" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("name")).
        // The check constraint exists on the new table.
        await checkConstraintMustExist(db, schema, "users", "name_letters");
        // Inserting values into the old schema that violate the check constraint must succeed.
        await mustInsert(db, schema, "01_add_table", "users", { name: "alice11" });

        // Inserting values into the new schema that violate the check constraint should fail.
        await mustInsert(db, schema, "02_create_constraint", "users", { name: "bob" });
        await mustNotInsert(db, schema, "02_create_constraint", "users", { name: "bob2" }, "check_violation");
      },
      afterRollback: async (db, schema) => {
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name");
      },
      afterComplete: async (db, schema) => {
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name");

        // Inserting values into the new schema that violate the check constraint should fail.
        await mustNotInsert(db, schema, "02_create_constraint", "users", { name: "carol0" }, "check_violation");
      },
    },
    {
      name: "create unique constraint on multiple columns",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "email", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          operations: [
            {
              create_constraint: {
                name: "unique_name_email",
                table: "users",
                type: "unique",
                columns: ["name", "email"],
                up: { name: "name || random()", email: "email || random()" },
                down: { name: "name", email: "email" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "unique_name_email");

        // Inserting values into the old schema that violate uniqueness should succeed.
        await mustInsert(db, schema, "01_add_table", "users", { name: "alice", email: "alice@alice.me" });
        await mustInsert(db, schema, "01_add_table", "users", { name: "alice", email: "alice@alice.me" });

        // Inserting values into the new schema that violate uniqueness should fail.
        await mustInsert(db, schema, "02_create_constraint", "users", { name: "bob", email: "bob@bob.me" });
        await mustNotInsert(db, schema, "02_create_constraint", "users", { name: "bob", email: "bob@bob.me" }, "unique_violation");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "unique_name_email");

        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name");
        await tableMustBeCleanedUp(db, schema, "users", "email");
      },
      afterComplete: async () => {
        // Complete is a no-op.
      },
    },
    {
      name: "create check constraint on multiple columns",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "email", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          operations: [
            {
              create_constraint: {
                name: "check_name_email",
                table: "users",
                type: "check",
                check: "name != email",
                columns: ["name", "email"],
                up: {
                  name: "name",
                  email: "SELECT CASE WHEN email ~ '@' THEN email ELSE email || '@example.com' END",
                },
                down: { name: "name", email: "email" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary columns (migrations.TemporaryName("name"), ("email")).
        // The check constraint exists on the new table.
        await checkConstraintMustExist(db, schema, "users", "check_name_email");

        // Inserting values into the old schema that the violate the check constraint must succeed.
        await mustInsert(db, schema, "01_add_table", "users", { name: "alice", email: "alice" });

        // Inserting values into the new schema that meet the check constraint should succeed.
        await mustInsert(db, schema, "02_create_constraint", "users", { name: "bob", email: "bob@bob.me" });
        await mustNotInsert(db, schema, "02_create_constraint", "users", { name: "bob", email: "bob" }, "check_violation");
      },
      afterRollback: async (db, schema) => {
        // The check constraint must not exists on the table.
        await checkConstraintMustNotExist(db, schema, "users", "check_name_email");
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name");
        await tableMustBeCleanedUp(db, schema, "users", "email");
      },
      afterComplete: async (db, schema) => {
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name");
        await tableMustBeCleanedUp(db, schema, "users", "email");

        // Inserting values into the new schema that the violate the check constraint must fail.
        await mustNotInsert(db, schema, "02_create_constraint", "users", { name: "carol", email: "carol" }, "check_violation");

        const rows = await mustSelect(db, schema, "02_create_constraint", "users");
        expect(rows).toEqual([
          { id: 1, name: "alice", email: "alice@example.com" },
          { id: 2, name: "bob", email: "bob@bob.me" },
        ]);
      },
    },
    {
      name: "create foreign key constraint on multiple columns",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "zip", type: "integer", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "email", type: "varchar(255)" },
                ],
              },
            },
            {
              create_table: {
                name: "reports",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "users_id", type: "integer", nullable: true },
                  { name: "users_zip", type: "integer", nullable: true },
                  { name: "description", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          operations: [
            {
              create_constraint: {
                name: "fk_users",
                table: "reports",
                type: "foreign_key",
                columns: ["users_id", "users_zip"],
                references: { table: "users", columns: ["id", "zip"] },
                up: { users_id: "1", users_zip: "12345" },
                down: { users_id: "users_id", users_zip: "users_zip" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary columns (migrations.TemporaryName("users_id"), ("users_zip")).
        // A temporary FK constraint has been created on the temporary column
        await notValidatedForeignKeyMustExist(db, schema, "reports", "fk_users");

        // Insert values to refer to.
        await mustInsert(db, schema, "01_add_tables", "users", { name: "alice", email: "alice@example.com", zip: "12345" });

        // Inserting values into the old schema that the violate the fk constraint must succeed.
        await mustInsert(db, schema, "01_add_tables", "reports", { description: "random report" });

        // Inserting values into the new schema that meet the FK constraint should succeed.
        await mustInsert(db, schema, "02_create_constraint", "reports", { description: "alice report", users_id: "1", users_zip: "12345" });
        // Inserting data into the new `reports` view with an invalid user reference fails.
        await mustNotInsert(db, schema, "02_create_constraint", "reports", { description: "no one report", users_id: "100", users_zip: "100" }, "foreign_key_violation");
      },
      afterRollback: async (db, schema) => {
        // The check constraint must not exists on the table.
        await checkConstraintMustNotExist(db, schema, "reports", "fk_users");
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "reports", "users_id");
        await tableMustBeCleanedUp(db, schema, "reports", "users_zip");
      },
      afterComplete: async (db, schema) => {
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "reports", "users_id");
        await tableMustBeCleanedUp(db, schema, "reports", "users_zip");

        // Inserting values into the new schema that the violate the check constraint must fail.
        await mustNotInsert(db, schema, "02_create_constraint", "reports", { description: "no one report", users_id: "100", users_zip: "100" }, "foreign_key_violation");

        const rows = await mustSelect(db, schema, "02_create_constraint", "reports");
        expect(rows).toEqual([
          { id: 1, description: "random report", users_id: 1, users_zip: 12345 },
          { id: 2, description: "alice report", users_id: 1, users_zip: 12345 },
        ]);
      },
    },
    {
      name: "create foreign key constraint on multiple columns with on delete",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "zip", type: "integer", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "email", type: "varchar(255)" },
                ],
              },
            },
            {
              create_table: {
                name: "reports",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "users_id", type: "integer", nullable: true },
                  { name: "users_zip", type: "integer", nullable: true },
                  { name: "description", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          operations: [
            {
              create_constraint: {
                name: "fk_users",
                table: "reports",
                type: "foreign_key",
                columns: ["users_id", "users_zip"],
                references: { table: "users", columns: ["id", "zip"], on_delete: "SET NULL" },
                up: { users_id: "1", users_zip: "12345" },
                down: { users_id: "users_id", users_zip: "users_zip" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary columns (migrations.TemporaryName("users_id"), ("users_zip")).
        // A temporary FK constraint has been created on the temporary column
        await notValidatedForeignKeyMustExist(db, schema, "reports", "fk_users", "SET NULL", "NO ACTION");

        // Insert values to refer to.
        await mustInsert(db, schema, "01_add_tables", "users", { name: "alice", email: "alice@example.com", zip: "12345" });

        // Inserting values into the old schema that the violate the fk constraint must succeed.
        await mustInsert(db, schema, "01_add_tables", "reports", { description: "random report" });

        // Inserting values into the new schema that meet the FK constraint should succeed.
        await mustInsert(db, schema, "02_create_constraint", "reports", { description: "alice report", users_id: "1", users_zip: "12345" });
        // Inserting data into the new `reports` view with an invalid user reference fails.
        await mustNotInsert(db, schema, "02_create_constraint", "reports", { description: "no one report", users_id: "100", users_zip: "100" }, "foreign_key_violation");
      },
      afterRollback: async (db, schema) => {
        // The check constraint must not exists on the table.
        await checkConstraintMustNotExist(db, schema, "reports", "fk_users");
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "reports", "users_id");
        await tableMustBeCleanedUp(db, schema, "reports", "users_zip");
      },
      afterComplete: async (db, schema) => {
        await validatedForeignKeyMustExist(db, schema, "reports", "fk_users", "SET NULL", "NO ACTION");
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "reports", "users_id");
        await tableMustBeCleanedUp(db, schema, "reports", "users_zip");

        // Inserting values into the new schema that the violate the check constraint must fail.
        await mustNotInsert(db, schema, "02_create_constraint", "reports", { description: "no one report", users_id: "100", users_zip: "100" }, "foreign_key_violation");

        const rows = await mustSelect(db, schema, "02_create_constraint", "reports");
        expect(rows).toEqual([
          { id: 1, description: "random report", users_id: 1, users_zip: 12345 },
          { id: 2, description: "alice report", users_id: 1, users_zip: 12345 },
        ]);
      },
    },
    {
      name: "create unique constraint on a unique column and another column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "email", type: "varchar(255)", nullable: true },
                ],
                constraints: [{ name: "unique_name", type: "unique", columns: ["name"] }],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          operations: [
            {
              create_constraint: {
                name: "unique_name_email",
                table: "users",
                type: "unique",
                columns: ["email", "name"],
                up: { name: "name || random()", email: "email || random()" },
                down: { name: "name", email: "email" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "unique_name");
        await indexMustExist(db, schema, "users", "unique_name_email");

        // Inserting values into the old schema that violate uniqueness should succeed.
        await mustInsert(db, schema, "01_add_table", "users", { name: "alice", email: "email" });
        await mustInsert(db, schema, "01_add_table", "users", { name: "bob", email: "email" });

        // Inserting values into the new schema that violate uniqueness should fail.
        await mustInsert(db, schema, "02_create_constraint", "users", { name: "cat", email: "email" });
        await mustNotInsert(db, schema, "02_create_constraint", "users", { name: "cat", email: "email" }, "unique_violation");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "unique_name_email");

        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name", "email");
      },
      afterComplete: async (db, schema) => {
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "name", "email");

        // Inserting values into the new schema that violate uniqueness should fail.
        await mustInsert(db, schema, "02_create_constraint", "users", { name: "carol" });
        await mustNotInsert(db, schema, "02_create_constraint", "users", { name: "carol" }, "unique_violation");
      },
    },
    {
      name: "create primary key constraint on multiple columns",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id1", type: "uuid" },
                  { name: "id2", type: "uuid" },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          operations: [
            {
              create_constraint: {
                name: "id_pkey",
                table: "users",
                type: "primary_key",
                columns: ["id1", "id2"],
                up: { id1: "gen_random_uuid()", id2: "gen_random_uuid()" },
                down: { id1: "id1", id2: "id2" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "id_pkey");

        // Inserting values into the old schema that violate uniqueness should succeed.
        await mustInsert(db, schema, "01_add_table", "users", {
          id1: "00000000-0000-0000-0000-000000000001",
          id2: "00000000-0000-0000-0000-000000000002",
          name: "alice",
        });
        await mustInsert(db, schema, "01_add_table", "users", {
          id1: "00000000-0000-0000-0000-000000000001",
          id2: "00000000-0000-0000-0000-000000000002",
          name: "bob",
        });

        await mustInsert(db, schema, "02_create_constraint", "users", {
          id1: "00000000-0000-0000-0000-000000000003",
          id2: "00000000-0000-0000-0000-000000000004",
          name: "alice",
        });
        // Inserting values into the new schema that violate uniqueness should fail.
        await mustNotInsert(
          db,
          schema,
          "02_create_constraint",
          "users",
          {
            id1: "00000000-0000-0000-0000-000000000003",
            id2: "00000000-0000-0000-0000-000000000004",
            name: "bob",
          },
          "unique_violation",
        );
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "id_pkey");

        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "id1");
        await tableMustBeCleanedUp(db, schema, "users", "id2");
      },
      afterComplete: async (db, schema) => {
        await primaryKeyConstraintMustExist(db, schema, "users", "id_pkey");
      },
    },
  ]);
});

/** pgroll's TestCreateConstraintInMultiOperationMigrations, translated. */
describe("create_constraint in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, create check constraint",
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
              create_constraint: {
                table: "products",
                type: "check",
                name: "check_name",
                check: "length(name) > 3",
                columns: ["name"],
                up: { name: "CASE WHEN length(name) <= 3 THEN name || '-xxx' ELSE name END" },
                down: { name: "name" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", name: "apple" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "2", name: "abc" }, "check_violation");

        // Can insert a row into the old schema that violates the constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "abc" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "abc-xxx" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "abc" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", name: "banana" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "3", name: "abc" }, "check_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "abc-xxx" },
          { id: 3, name: "banana" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "rename table, rename column, create check constraint",
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
              create_constraint: {
                table: "products",
                type: "check",
                name: "check_item_name",
                check: "length(item_name) > 3",
                columns: ["item_name"],
                up: { item_name: "CASE WHEN length(item_name) <= 3 THEN item_name || '-xxx' ELSE item_name END" },
                down: { item_name: "item_name" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", item_name: "apple" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "2", item_name: "abc" }, "check_violation");

        // Can insert a row into the old schema that violates the constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "abc" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "apple" },
          { id: 2, item_name: "abc-xxx" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "abc" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", item_name: "banana" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "3", item_name: "abc" }, "check_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "apple" },
          { id: 2, item_name: "abc-xxx" },
          { id: 3, item_name: "banana" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "rename table, rename column, create unique constraint",
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
              create_constraint: {
                table: "products",
                type: "unique",
                name: "unique_item_name",
                columns: ["item_name"],
                up: { item_name: "item_name" },
                down: { item_name: "item_name" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", item_name: "apple" });

        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "2", item_name: "banana" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "3", item_name: "apple" }, "unique_violation");

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "apple" },
          { id: 2, item_name: "banana" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "banana" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", item_name: "carrot" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "4", item_name: "carrot" }, "unique_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "apple" },
          { id: 2, item_name: "banana" },
          { id: 3, item_name: "carrot" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "rename table, rename column, create foreign key constraint",
      migrations: [
        {
          name: "01_create_tables",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                ],
              },
            },
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(255)", nullable: true },
                  { name: "owner", type: "int", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_multi_operation",
          operations: [
            { rename_table: { from: "items", to: "products" } },
            { rename_column: { table: "products", from: "owner", to: "owner_id" } },
            {
              create_constraint: {
                table: "products",
                type: "foreign_key",
                name: "fk_item_owner",
                columns: ["owner_id"],
                references: { table: "users", columns: ["id"] },
                up: { owner_id: "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = owner_id) THEN owner_id ELSE NULL END" },
                down: { owner_id: "owner_id" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the users table
        await mustInsert(db, schema, "02_multi_operation", "users", { id: "1", name: "alice" });

        // Can insert a row that meets the constraint into the new schema
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", name: "apple", owner_id: "1" });

        // Can't insert a row that violates the constraint into the new schema
        await mustNotInsert(
          db,
          schema,
          "02_multi_operation",
          "products",
          { id: "2", name: "banana", owner_id: "2" }, // no such user
          "foreign_key_violation",
        );

        // Can insert a row that violates the constraint into the old schema
        await mustInsert(db, schema, "01_create_tables", "items", { id: "2", name: "banana", owner: "2" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple", owner_id: 1 },
          { id: 2, name: "banana", owner_id: null },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_tables", "items");
        expect(rows).toEqual([
          { id: 1, name: "apple", owner: 1 },
          { id: 2, name: "banana", owner: 2 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row that meets the constraint into the new schema
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", name: "carrot", owner_id: "1" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(
          db,
          schema,
          "02_multi_operation",
          "products",
          { id: "4", name: "durian", owner_id: "2" }, // no such user
          "foreign_key_violation",
        );

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple", owner_id: 1 },
          { id: 2, name: "banana", owner_id: null },
          { id: 3, name: "carrot", owner_id: 1 },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "create table with comment and default on column, add unique constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "text", default: "'Pixel'", comment: "my important comment" },
                ],
              },
            },
            {
              create_constraint: {
                table: "items",
                type: "unique",
                name: "unique_item_name",
                columns: ["name"],
                up: { name: "name" },
                down: { name: "name" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Column must have comment set
        await columnMustHaveComment(db, schema, "items", "name", "my important comment");
        // Column must have default value
        await columnMustHaveDefault(db, schema, "items", "name", "'Pixel'::text");
        // Can insert a row into the new schema
        await mustInsert(db, schema, "01_create_table", "items", { id: "1", name: "apple" });

        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "banana" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "01_create_table", "items", { id: "3", name: "apple" }, "unique_violation");

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "banana" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "banana" },
        ]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Column comment must be preserved
        await columnMustHaveComment(db, schema, "items", "name", "my important comment");
        // Column must have default value
        await columnMustHaveDefault(db, schema, "items", "name", "'Pixel'::text");
        // Can insert a row into the new schema that meets the constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "3", name: "carrot" });

        // Can't insert a row into the new schema that violates the constraint
        await mustNotInsert(db, schema, "01_create_table", "items", { id: "4", name: "carrot" }, "unique_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([{ id: 3, name: "carrot" }]);
      },
    },
  ]);
});

/** pgroll's TestCreateConstraintValidation, translated. */
describe("create_constraint validation (pgroll's operation tests)", () => {
  const invalidName = "x".repeat(64);
  executeTests([
    {
      name: "invalid constraint name",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "registered_at_year", type: "integer" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint_with_invalid_name",
          operations: [
            {
              // pgroll's Go struct leaves Up and Down nil here (no entries), so they are absent.
              create_constraint: { name: invalidName, table: "users", columns: ["registered_at_year"], type: "unique" },
            },
          ],
        },
      ],
      // pgroll: migrations.ValidateIdentifierLength(invalidName)
      wantStartErr: /is 64 bytes long; PostgreSQL identifiers are at most 63 bytes/,
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
    {
      name: "missing migration for constraint creation",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint_with_missing_migration",
          operations: [
            {
              create_constraint: {
                name: "unique_name",
                table: "users",
                columns: ["name"],
                type: "unique",
                up: {},
                down: { name: "name" },
              },
            },
          ],
        },
      ],
      // pgroll: migrations.ColumnMigrationMissingError{Table: "users", Name: "name"}
      wantStartErr: /up.*missing an entry for column "name"/,
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
    {
      name: "expression of check constraint is missing",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint_with_missing_migration",
          operations: [
            {
              create_constraint: {
                name: "check_name",
                table: "users",
                columns: ["name"],
                type: "check",
                up: { name: "name" },
                down: { name: "name" },
              },
            },
          ],
        },
      ],
      // pgroll: migrations.FieldRequiredError{Name: "check"}
      wantStartErr: /check.*a check constraint needs its check expression/,
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
    {
      name: "missing referenced table for foreign key constraint creation",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint_with_missing_referenced_table",
          operations: [
            {
              create_constraint: {
                name: "fk_missing_table",
                table: "users",
                columns: ["name"],
                type: "foreign_key",
                references: { table: "missing_table", columns: ["id"] },
                up: { name: "name" },
                down: { name: "name" },
              },
            },
          ],
        },
      ],
      // pgroll: migrations.TableDoesNotExistError{Name: "missing_table"}; underway's refusal comes from PostgreSQL.
      wantStartErr: /relation "public\.missing_table" does not exist/,
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
    {
      name: "create unique constraint on serial column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "email", type: "text", pk: true },
                  { name: "id", type: "serial" },
                ],
              },
            },
          ],
        },
        {
          name: "02_create_constraint",
          operations: [
            {
              create_constraint: {
                name: "unique_id",
                table: "users",
                type: "unique",
                columns: ["id"],
                up: { id: "id" },
                down: { id: "id" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "unique_id");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "unique_id");
      },
      afterComplete: async (db, schema) => {
        // Functions, triggers and temporary columns are dropped.
        await tableMustBeCleanedUp(db, schema, "users", "id");

        // Inserting values into the new schema that violate uniqueness should fail.
        await mustInsert(db, schema, "02_create_constraint", "users", { email: "alice@xata.io", id: "1" });
        await mustNotInsert(db, schema, "02_create_constraint", "users", { email: "bob@xata.io", id: "1" }, "unique_violation");
      },
    },
  ]);
});
