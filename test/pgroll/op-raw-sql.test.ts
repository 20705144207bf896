import { describe } from "vitest";
import { columnMustExist, columnMustNotExist, executeTests, mustInsert, tableMustExist, tableMustNotExist, viewMustExist } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_raw_sql_test.go (TestRawSQL), translated. */
describe("sql (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "raw SQL",
      migrations: [
        {
          name: "01_create_table",
          version_schema: "create_table",
          operations: [
            {
              sql: {
                up: `
								CREATE TABLE test_table (
									id serial,
									name text
								)
							`,
                down: `
								DROP TABLE test_table
							`,
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // table can be accessed after start
        await viewMustExist(db, schema, "create_table", "test_table");

        // inserts work
        await mustInsert(db, schema, "create_table", "test_table", { name: "foo" });
      },
      afterRollback: async (db, schema) => {
        // table is dropped after rollback
        await tableMustNotExist(db, schema, "test_table");
      },
      afterComplete: async (db, schema) => {
        // inserts still work after complete
        await mustInsert(db, schema, "create_table", "test_table", { name: "foo" });
      },
    },
    {
      name: "raw SQL with onComplete",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              sql: {
                onComplete: true,
                up: `
								CREATE TABLE test_table (
									id serial,
									name text
								)
							`,
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // SQL didn't run yet
        await tableMustNotExist(db, schema, "test_table");
      },
      afterComplete: async (db, schema) => {
        // table can be accessed after start
        await tableMustExist(db, schema, "test_table");

        // inserts work
        await mustInsert(db, schema, "01_create_table", "test_table", { name: "foo" });
      },
    },
    {
      name: "raw SQL after a migration with onComplete",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "test_table",
                columns: [
                  { name: "id", type: "serial" },
                  { name: "name", type: "text" },
                ],
              },
            },
            {
              sql: {
                onComplete: true,
                up: `
								ALTER TABLE test_table ADD COLUMN age int
							`,
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // SQL didn't run yet
        await viewMustExist(db, schema, "01_create_table", "test_table");
        await columnMustNotExist(db, schema, "test_table", "age");
      },
      afterRollback: async (db, schema) => {
        // table is dropped after rollback
        await tableMustNotExist(db, schema, "test_table");
      },
      afterComplete: async (db, schema) => {
        // table can be accessed after start
        await tableMustExist(db, schema, "test_table");
        await columnMustExist(db, schema, "test_table", "age");

        // inserts work
        await mustInsert(db, schema, "01_create_table", "test_table", { name: "foo", age: "42" });
      },
    },
    {
      name: "migration on top of raw SQL",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              sql: {
                up: `
								CREATE TABLE test_table (
									id serial,
									name text
								)
							`,
                down: `
								DROP TABLE test_table
							`,
              },
            },
          ],
        },
        {
          name: "02_rename_table",
          operations: [{ rename_table: { from: "test_table", to: "test_table_renamed" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // table can be accessed after start
        await viewMustExist(db, schema, "01_create_table", "test_table");

        // table is renamed in new version
        await viewMustExist(db, schema, "02_rename_table", "test_table_renamed");

        // inserts work
        await mustInsert(db, schema, "01_create_table", "test_table", { name: "foo" });
        await mustInsert(db, schema, "02_rename_table", "test_table_renamed", { name: "foo" });
      },
      afterComplete: async (db, schema) => {
        // table can still be accessed after complete
        await viewMustExist(db, schema, "02_rename_table", "test_table_renamed");

        // inserts work
        await mustInsert(db, schema, "02_rename_table", "test_table_renamed", { name: "foo" });
      },
    },
    {
      name: "raw SQL migration can create table with a generated column",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              sql: {
                up: `
								CREATE TABLE test_table (
									id serial,
									name text,
									loud_name text GENERATED ALWAYS AS (upper(name)) STORED
								)`,
                down: `DROP TABLE test_table `,
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // No-op, just ensure no errors during migration execution
      },
      afterComplete: async () => {
        // No-op, just ensure no errors during migration execution
      },
    },
  ]);
});
