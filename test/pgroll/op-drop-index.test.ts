import { describe } from "vitest";
import { executeTests, indexMustExist, indexMustNotExist } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_drop_index_test.go (TestDropIndex), translated. */
describe("drop_index (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "drop index",
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
          name: "02_create_index",
          version_schema: "create_index",
          operations: [{ create_index: { name: "idx_users_name", table: "users", columns: [{ column: "name" }] } }],
        },
        { name: "03_drop_index", version_schema: "drop_index", operations: [{ drop_index: { name: "idx_users_name" } }] },
      ],
      afterStart: async (db, schema) => {
        // The index has not yet been dropped.
        await indexMustExist(db, schema, "users", "idx_users_name");
      },
      afterRollback: async () => {
        // Rollback is a no-op.
      },
      afterComplete: async (db, schema) => {
        // The index has been removed from the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_users_name");
      },
    },
    {
      name: "drop index with a mixed case name",
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
          name: "02_create_index",
          operations: [{ create_index: { name: "idx_USERS_name", table: "users", columns: [{ column: "name" }] } }],
        },
        { name: "03_drop_index", operations: [{ drop_index: { name: "idx_USERS_name" } }] },
      ],
      afterStart: async (db, schema) => {
        // The index has not yet been dropped.
        await indexMustExist(db, schema, "users", "idx_USERS_name");
      },
      afterRollback: async () => {
        // Rollback is a no-op.
      },
      afterComplete: async (db, schema) => {
        // The index has been removed from the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_USERS_name");
      },
    },
  ]);
});
