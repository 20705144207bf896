import { describe, expect } from "vitest";
import {
  columnMustExist,
  columnMustNotExist,
  executeTests,
  mustInsert,
  mustNotInsert,
  mustSelect,
  tableMustBeCleanedUp,
  tableMustExist,
  versionedSchemaName,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_drop_column_test.go (TestDropColumnWithDownSQL), translated. */
describe("drop_column (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "drop column",
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
                  { name: "email", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_column",
          version_schema: "drop_column",
          operations: [{ drop_column: { table: "users", column: "name", down: "UPPER(email)" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // The deleted column is not present on the view in the new version schema.
        const versionSchema = versionedSchemaName(schema, "drop_column");
        await columnMustNotExist(db, versionSchema, "users", "name");

        // But the column is still present on the underlying table.
        await columnMustExist(db, schema, "users", "name");

        // Inserting into the view in the new version schema should succeed.
        await mustInsert(db, schema, "drop_column", "users", { email: "foo@example.com" });

        // The "down" SQL has populated the removed column ("name")
        const results = await mustSelect(db, schema, "add_table", "users");
        expect(results).toEqual([{ id: 1, name: "FOO@EXAMPLE.COM", email: "foo@example.com" }]);
      },
      afterRollback: async () => {
        // Left out: pgroll checks that its trigger function and trigger, named
        // backfill.TriggerFunctionName/TriggerName("users", "name"), no longer exist (pgroll internal names).
      },
      afterComplete: async (db, schema) => {
        // The column has been deleted from the underlying table.
        await columnMustNotExist(db, schema, "users", "name");

        // Left out: pgroll checks that its trigger function and trigger, named
        // backfill.TriggerFunctionName/TriggerName("users", "name"), no longer exist (pgroll internal names).

        // Inserting into the view in the new version schema should succeed.
        await mustInsert(db, schema, "drop_column", "users", { email: "bar@example.com" });
        const results = await mustSelect(db, schema, "drop_column", "users");
        expect(results).toEqual([
          { id: 1, email: "foo@example.com" },
          { id: 2, email: "bar@example.com" },
        ]);
      },
    },
    {
      name: "can drop a column with a reserved word as its name",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "array", type: "int[]" },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_column",
          operations: [{ drop_column: { table: "users", column: "array", down: "UPPER(email)" } }],
        },
      ],
      // underway checks `down` before anything changes: "email" is a column of neither
      // version, so every write of the new version would fail in the trigger. pgroll starts
      // the file (the trigger is never run here); underway refuses it (README, differences).
      differs: "refuses a down that names a column neither version has",
      wantStartErr: /drop_column\.down: column "email" does not exist/,
    },
    {
      name: "can drop a column in a table with a reserved word as its name",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "array",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_column",
          operations: [{ drop_column: { table: "array", column: "name", down: "UPPER(email)" } }],
        },
      ],
      // underway checks `down` before anything changes: "email" is a column of neither
      // version, so every write of the new version would fail in the trigger. pgroll starts
      // the file (the trigger is never run here); underway refuses it (README, differences).
      differs: "refuses a down that names a column neither version has",
      wantStartErr: /drop_column\.down: column "email" does not exist/,
    },
  ]);
});

/** pgroll's pkg/migrations/op_drop_column_test.go (TestDropColumnInMultiOperationMigrations), translated. */
describe("drop_column in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, drop column",
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
                  { name: "description", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_multi_operation",
          operations: [
            { rename_table: { from: "items", to: "products" } },
            { drop_column: { table: "products", column: "description", down: "'foo'" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert using the new table name in the new schema if the dropped
        // column is not specified
        await mustInsert(db, schema, "02_multi_operation", "products", { name: "apples" });

        // Can't insert using the new table name in the new schema if the
        // dropped column is specified
        await mustNotInsert(db, schema, "02_multi_operation", "products", { name: "apples", description: "green" }, "undefined_column");

        // Can't insert into the dropped column in the new schema using the new table name
        await mustNotInsert(db, schema, "02_multi_operation", "products", { name: "bananas", description: "yellow" }, "undefined_column");

        // Can't insert into the dropped column in the new schema using the old table name
        await mustNotInsert(db, schema, "02_multi_operation", "items", { name: "bananas", description: "yellow" }, "undefined_table");

        // The table has the expected rows in the old schema
        let rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([{ id: 1, name: "apples", description: "foo" }]);

        // The table has the expected rows in the new schema
        rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([{ id: 1, name: "apples" }]);
      },
      afterRollback: async (db, schema) => {
        // Can insert into the dropped column in the old schema using the old table name
        await mustInsert(db, schema, "01_create_table", "items", { name: "bananas", description: "yellow" });

        // The down trigger has been removed from the underlying table
        await tableMustBeCleanedUp(db, schema, "items", "description");
      },
      afterComplete: async (db, schema) => {
        // The underlying table has been renamed
        await tableMustExist(db, schema, "products");

        // Can insert into the table in the new schema if the dropped column is not specified
        await mustInsert(db, schema, "02_multi_operation", "products", { name: "carrots" });

        // The table has the new name in the new schema and has the expected
        // rows.
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apples" },
          { id: 2, name: "bananas" },
          { id: 3, name: "carrots" },
        ]);

        // The down trigger has been removed from the underlying table
        await tableMustBeCleanedUp(db, schema, "products", "description");
      },
    },
    {
      name: "add column, drop column",
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
            { add_column: { table: "items", column: { name: "description", type: "varchar(255)", nullable: true }, up: "'foo'" } },
            { drop_column: { table: "items", column: "description" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: pgroll checks that the column is still present after start under its
        // temporary name, migrations.TemporaryName("description") (a pgroll internal name).

        // Can't insert into the dropped column when accessing through the new schema
        await mustNotInsert(db, schema, "02_multi_operation", "items", { name: "apples", description: "green" }, "undefined_column");

        // Can insert into the table if the dropped column is not specified
        await mustInsert(db, schema, "02_multi_operation", "items", { name: "apples" });

        // The table has the expected rows in the old schema
        let rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([{ id: 1, name: "apples" }]);

        // The table has the expected rows in the new schema
        rows = await mustSelect(db, schema, "02_multi_operation", "items");
        expect(rows).toEqual([{ id: 1, name: "apples" }]);
      },
      afterRollback: async (db, schema) => {
        // The underlying table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "description");
      },
      afterComplete: async (db, schema) => {
        // Can insert into the table if the dropped column is not specified
        await mustInsert(db, schema, "02_multi_operation", "items", { name: "bananas" });

        // Can't insert into the dropped column
        await mustNotInsert(db, schema, "02_multi_operation", "items", { name: "carrots", description: "crunchy" }, "undefined_column");

        // The table has the expected rows in the new schema
        const rows = await mustSelect(db, schema, "02_multi_operation", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples" },
          { id: 2, name: "bananas" },
        ]);

        // The underlying table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "description");
      },
    },
  ]);
});
