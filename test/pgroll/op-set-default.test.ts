import { describe, expect } from "vitest";
import { executeTests, mustInsert, mustSelect, tableMustBeCleanedUp } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_set_default_test.go (TestSetDefault), translated. */
describe("alter_column: set default (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "set column default with default up and down SQL",
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
                  { name: "name", type: "text", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_default",
          version_schema: "set_default",
          operations: [{ alter_column: { table: "users", column: "name", default: "'unknown user'" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row into the new schema succeeds
        await mustInsert(db, schema, "set_default", "users", { id: "1" });

        // Inserting a row into the old schema succeeds
        await mustInsert(db, schema, "add_table", "users", { id: "2" });

        // The new schema has the expected rows:
        // * The first row has a default value because it was inserted without
        //   a value into the new schema which has a default
        // * The second is NULL because it was backfilled from the old schema
        //   which does not have a default
        let rows = await mustSelect(db, schema, "set_default", "users");
        expect(rows).toEqual([
          { id: 1, name: "unknown user" },
          { id: 2, name: null },
        ]);

        // The old schema has the expected rows:
        // * The first row has a default value because it was backfilled from the
        //   new schema which has a default
        // * The second row is NULL because it was inserted without a value
        //   into the old schema which does not have a default
        rows = await mustSelect(db, schema, "add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: "unknown user" },
          { id: 2, name: null },
        ]);
      },
      afterRollback: async (db, schema) => {
        // Inserting a row into the old schema succeeds
        await mustInsert(db, schema, "add_table", "users", { id: "3" });

        // The old schema has the expected rows
        const rows = await mustSelect(db, schema, "add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: "unknown user" },
          { id: 2, name: null },
          { id: 3, name: null },
        ]);
      },
      afterComplete: async (db, schema) => {
        // Inserting a row into the new schema succeeds
        await mustInsert(db, schema, "set_default", "users", { id: "4" });

        // The new schema has the expected rows:
        // * The first and fourth rows have default values because they were
        //   inserted without values into the new schema which has a default
        // * The second and third are NULL because they were backfilled from
        //   the old schema which does not have a default
        const rows = await mustSelect(db, schema, "set_default", "users");
        expect(rows).toEqual([
          { id: 1, name: "unknown user" },
          { id: 2, name: null },
          { id: 3, name: null },
          { id: 4, name: "unknown user" },
        ]);
      },
    },
    {
      name: "set column default with user-supplied up and down SQL",
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
          name: "02_set_default",
          operations: [
            {
              alter_column: {
                table: "users",
                column: "name",
                default: "'unknown user'",
                up: "'rewritten by up SQL'",
                down: "'rewritten by down SQL'",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row into the new schema succeeds
        await mustInsert(db, schema, "02_set_default", "users", { id: "1" });

        // Inserting a row into the old schema succeeds
        await mustInsert(db, schema, "01_add_table", "users", { id: "2" });

        // The new schema has the expected rows:
        // * The first row has a default value because it was inserted without
        //   a value into the new schema which has a default
        // * The second was rewritten because it was backfilled from the old schema
        let rows = await mustSelect(db, schema, "02_set_default", "users");
        expect(rows).toEqual([
          { id: 1, name: "unknown user" },
          { id: 2, name: "rewritten by up SQL" },
        ]);

        // The old schema has the expected rows:
        // * The first row has a rewritten value because it was backfilled from the
        //   new schema.
        // * The second row is NULL because it was inserted without a value
        //   into the old schema which does not have a default
        rows = await mustSelect(db, schema, "01_add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: "rewritten by down SQL" },
          { id: 2, name: null },
        ]);
      },
      afterRollback: async (db, schema) => {
        // Inserting a row into the old schema succeeds
        await mustInsert(db, schema, "01_add_table", "users", { id: "3" });

        // The old schema has the expected rows
        const rows = await mustSelect(db, schema, "01_add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: "rewritten by down SQL" },
          { id: 2, name: null },
          { id: 3, name: null },
        ]);
      },
      afterComplete: async (db, schema) => {
        // Inserting a row into the new schema succeeds
        await mustInsert(db, schema, "02_set_default", "users", { id: "4" });

        // The new schema has the expected rows:
        // * The first three rows have rewritten values because they were
        //   backfilled from the old schema
        // * The fourth row has a default value because it was inserted into
        //   the new schema
        const rows = await mustSelect(db, schema, "02_set_default", "users");
        expect(rows).toEqual([
          { id: 1, name: "rewritten by up SQL" },
          { id: 2, name: "rewritten by up SQL" },
          { id: 3, name: "rewritten by up SQL" },
          { id: 4, name: "unknown user" },
        ]);
      },
    },
    {
      name: "set column default: remove the default",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", nullable: true, default: "'unknown user'" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_default",
          operations: [{ alter_column: { table: "users", column: "name", default: "NULL" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row into the new schema succeeds
        await mustInsert(db, schema, "02_set_default", "users", { id: "1" });

        // Inserting a row into the old schema succeeds
        await mustInsert(db, schema, "01_add_table", "users", { id: "2" });

        // The new schema has the expected rows:
        // * The first row is NULL because it was inserted into the new schema which
        //   does not have a default
        // * The second has a default value because it was backfilled from the old
        //   schema which has a default
        let rows = await mustSelect(db, schema, "02_set_default", "users");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "unknown user" },
        ]);

        // The old schema has the expected rows:
        // * The first row is NULL because it was backfilled from the new schema
        //   which does not have a default
        // * The second row has a default value because it was inserted without
        //   a value into the old schema which has a default
        rows = await mustSelect(db, schema, "01_add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "unknown user" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // Inserting a row into the old schema succeeds
        await mustInsert(db, schema, "01_add_table", "users", { id: "3" });

        // The old schema has the expected rows
        const rows = await mustSelect(db, schema, "01_add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "unknown user" },
          { id: 3, name: "unknown user" },
        ]);
      },
      afterComplete: async (db, schema) => {
        // Inserting a row into the new schema succeeds
        await mustInsert(db, schema, "02_set_default", "users", { id: "4" });

        // The new schema has the expected rows:
        // * The first row is NULL because it was inserted into the new schema which
        //   does not have a default
        // * The second has a default value because it was backfilled from the old
        //   schema which has a default
        const rows = await mustSelect(db, schema, "02_set_default", "users");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "unknown user" },
          { id: 3, name: "unknown user" },
          { id: 4, name: null },
        ]);
      },
    },
    {
      name: "set column default: remove the default by setting it null",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", nullable: true, default: "'unknown user'" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_default",
          // Go: Default: nullable.NewNullNullable[string]() -- a JSON null.
          operations: [{ alter_column: { table: "users", column: "name", default: null } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row into the new schema succeeds
        await mustInsert(db, schema, "02_set_default", "users", { id: "1" });

        // Inserting a row into the old schema succeeds
        await mustInsert(db, schema, "01_add_table", "users", { id: "2" });

        // The new schema has the expected rows:
        // * The first row is NULL because it was inserted into the new schema which
        //   does not have a default
        // * The second has a default value because it was backfilled from the old
        //   schema which has a default
        let rows = await mustSelect(db, schema, "02_set_default", "users");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "unknown user" },
        ]);

        // The old schema has the expected rows:
        // * The first row is NULL because it was backfilled from the new schema
        //   which does not have a default
        // * The second row has a default value because it was inserted without
        //   a value into the old schema which has a default
        rows = await mustSelect(db, schema, "01_add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "unknown user" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // Inserting a row into the old schema succeeds
        await mustInsert(db, schema, "01_add_table", "users", { id: "3" });

        // The old schema has the expected rows
        const rows = await mustSelect(db, schema, "01_add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "unknown user" },
          { id: 3, name: "unknown user" },
        ]);
      },
      afterComplete: async (db, schema) => {
        // Inserting a row into the new schema succeeds
        await mustInsert(db, schema, "02_set_default", "users", { id: "4" });

        // The new schema has the expected rows:
        // * The first row is NULL because it was inserted into the new schema which
        //   does not have a default
        // * The second has a default value because it was backfilled from the old
        //   schema which has a default
        const rows = await mustSelect(db, schema, "02_set_default", "users");
        expect(rows).toEqual([
          { id: 1, name: null },
          { id: 2, name: "unknown user" },
          { id: 3, name: "unknown user" },
          { id: 4, name: null },
        ]);
      },
    },
  ]);
});

/** pgroll's pkg/migrations/op_set_default_test.go (TestSetDefaultInMultiOperationMigrations), translated. */
describe("alter_column: set default in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, set default",
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
            { alter_column: { table: "products", column: "name", default: "'unknown'", up: "name", down: "name" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema that uses the default
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1" });

        // Can insert a row into the old schema
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "apple" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "unknown" },
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
        // Can insert a row into the new schema that uses the default
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3" });

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "unknown" },
          { id: 2, name: "apple" },
          { id: 3, name: "unknown" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "rename table, rename column, set default",
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
            { alter_column: { table: "products", column: "item_name", default: "'unknown'", up: "item_name", down: "item_name" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new schema that uses the default
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1" });

        // Can insert a row into the old schema
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "apple" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "unknown" },
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
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new schema that uses the default
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3" });

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "unknown" },
          { id: 2, item_name: "apple" },
          { id: 3, item_name: "unknown" },
        ]);

        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
  ]);
});
