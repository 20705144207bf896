import { describe } from "vitest";
import { executeTests, mustInsert, mustNotInsert, tableMustNotExist, viewMustNotExist } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_drop_table_test.go (TestDropTable), translated. */
describe("drop_table (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "drop table",
      migrations: [
        {
          name: "01_create_table",
          version_schema: "create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", unique: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_table",
          version_schema: "drop_table",
          operations: [{ drop_table: { name: "users" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // The view for the deleted table does not exist in the new version schema.
        await viewMustNotExist(db, schema, "drop_table", "users");

        // Left out: pgroll checks the soft-deleted table under its own name, migrations.DeletionName("users") (a pgroll internal name).
      },
      afterRollback: async () => {
        // Rollback is a no-op.
      },
      afterComplete: async (db, schema) => {
        // The underlying table has been deleted.
        await tableMustNotExist(db, schema, "users");
      },
    },
  ]);
});

/** pgroll's pkg/migrations/op_drop_table_test.go (TestDropTableInMultiOperationMigrations), translated. */
describe("drop_table in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "create table, drop table",
      migrations: [
        {
          name: "01_multi_operation",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
            { drop_table: { name: "items" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // OpDropTable drops tables on migration completion, so the table
        // created by OpCreateTable is present after migration start but has
        // been soft-deleted (renamed).
        // Left out: pgroll checks it under its own name, migrations.DeletionName("items") (a pgroll internal name).

        // There is no view for the "items" table in the new schema
        await viewMustNotExist(db, schema, "01_multi_operation", "items");
      },
      afterRollback: async (db, schema) => {
        // The table is not present
        await tableMustNotExist(db, schema, "items");
      },
      afterComplete: async (db, schema) => {
        // The table is not present
        await tableMustNotExist(db, schema, "items");

        // There is no view for the "items" table in the new schema
        await viewMustNotExist(db, schema, "01_multi_operation", "items");
      },
    },
    {
      name: "create table, rename table, drop table",
      migrations: [
        {
          name: "01_multi_operation",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
            { rename_table: { from: "items", to: "products" } },
            { drop_table: { name: "products" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // OpDropTable drops tables on migration completion, so the table
        // created by OpCreateTable is present after migration start but has
        // been soft-deleted (renamed).
        // Left out: pgroll checks it under its own name, migrations.DeletionName("items") (a pgroll internal name).

        // There is no view for the "items" table in the new schema
        await viewMustNotExist(db, schema, "01_multi_operation", "items");

        // There is no view for the "products" table in the new schema
        await viewMustNotExist(db, schema, "01_multi_operation", "products");
      },
      afterRollback: async (db, schema) => {
        // The table is not present
        await tableMustNotExist(db, schema, "items");
      },
      afterComplete: async (db, schema) => {
        // The table is not present
        await tableMustNotExist(db, schema, "items");

        // There is no view for the "items" table in the new schema
        await viewMustNotExist(db, schema, "01_multi_operation", "items");

        // There is no view for the "products" table in the new schema
        await viewMustNotExist(db, schema, "01_multi_operation", "products");
      },
    },
    {
      name: "create table, drop table, create table",
      migrations: [
        {
          name: "01_multi_operation",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
            { drop_table: { name: "items" } },
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "description", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert into the items table, and it has a description column
        await mustInsert(db, schema, "01_multi_operation", "items", { name: "apples", description: "amazing" });
      },
      afterRollback: async (db, schema) => {
        // There are no tables, either original or soft-deleted
        await tableMustNotExist(db, schema, "items");
        // Left out: pgroll checks that migrations.DeletionName("items") does not exist (a pgroll internal name).
      },
      afterComplete: async (db, schema) => {
        // Can insert into the items table, and it has a description column
        await mustInsert(db, schema, "01_multi_operation", "items", { name: "bananas", description: "brilliant" });
      },
    },
    {
      name: "drop table, create table",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_multi_operation",
          operations: [
            { drop_table: { name: "items" } },
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                  { name: "description", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert into the items table, and it has a description column
        await mustInsert(db, schema, "02_multi_operation", "items", { name: "apples", description: "amazing" });
      },
      afterRollback: async (db, schema) => {
        // The table from the second migration has been dropped (the one
        // without the description column)
        await mustNotInsert(db, schema, "01_create_table", "items", { name: "apples", description: "amazing" }, "undefined_column");

        // The table from the first migration remains (the one with the
        // description column)
        await mustInsert(db, schema, "01_create_table", "items", { name: "apples" });

        // There is no soft-deleted version of thte items table
        // Left out: pgroll checks that migrations.DeletionName("items") does not exist (a pgroll internal name).
      },
      afterComplete: async (db, schema) => {
        // Can insert into the items table, and it has a description column
        await mustInsert(db, schema, "02_multi_operation", "items", { name: "bananas", description: "brilliant" });
      },
    },
  ]);
});

/** pgroll's pkg/migrations/op_drop_table_test.go (TestDropTableValidationInMultiOperationMigrations), translated. */
describe("drop_table validation in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "drop table, drop table fails to validate",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_multi_operation",
          operations: [{ drop_table: { name: "items" } }, { drop_table: { name: "items" } }],
        },
      ],
      // pgroll: migrations.TableDoesNotExistError{Name: "items"}
      wantStartErr: /table "items" does not exist/,
    },
    {
      name: "drop table, rename table fails to validate",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_multi_operation",
          operations: [{ drop_table: { name: "items" } }, { rename_table: { from: "items", to: "products" } }],
        },
      ],
      // pgroll: migrations.TableDoesNotExistError{Name: "items"}
      wantStartErr: /table "items" does not exist/,
    },
  ]);
});
