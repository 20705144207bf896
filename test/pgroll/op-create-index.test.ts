import { describe } from "vitest";
import { checkIndexDefinition, executeTests, indexDescendingMustExist, indexMustExist, indexMustNotExist } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_create_index_test.go (TestCreateIndex), translated. */
describe("create_index (pgroll's operation tests)", () => {
  const invalidName = "x".repeat(64);
  executeTests([
    {
      name: "create index",
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
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "idx_users_name");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_users_name");
      },
      afterComplete: async () => {
        // Complete is a no-op.
      },
    },
    {
      name: "create index with a mixed case name",
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
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "idx_USERS_name");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_USERS_name");
      },
      afterComplete: async () => {
        // Complete is a no-op.
      },
    },
    {
      name: "create partial index",
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
          name: "02_create_index_for_new_users_after_2019",
          operations: [
            {
              create_index: {
                name: "idx_users_name_after_2019",
                table: "users",
                columns: [{ column: "registered_at_year" }],
                predicate: "registered_at_year > 2019",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "idx_users_name_after_2019");
        await checkIndexDefinition(
          db,
          schema,
          "users",
          "idx_users_name_after_2019",
          `CREATE INDEX idx_users_name_after_2019 ON ${schema}.users USING btree (registered_at_year) WHERE (registered_at_year > 2019)`,
        );
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_users_name_after_2019");
      },
      afterComplete: async () => {
        // Complete is a no-op.
      },
    },
    {
      name: "create index with descending order",
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
          operations: [{ create_index: { name: "idx_users_name", table: "users", columns: [{ column: "name", sort: "DESC" }] } }],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexDescendingMustExist(db, schema, "users", "idx_users_name", 0);
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_users_name");
      },
      afterComplete: async () => {
        // Complete is a no-op.
      },
    },
    {
      name: "invalid name",
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
          name: "02_create_index_with_invalid_name",
          operations: [{ create_index: { name: invalidName, table: "users", columns: [{ column: "registered_at_year" }] } }],
        },
      ],
      // pgroll: migrations.ValidateIdentifierLength(invalidName)
      wantStartErr: /is 64 bytes long; PostgreSQL identifiers are at most 63 bytes/,
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
    {
      name: "create hash index with option",
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
          name: "02_create_hash_index",
          operations: [
            {
              create_index: {
                name: "idx_users_name_hash",
                table: "users",
                columns: [{ column: "name" }],
                method: "hash",
                storage_parameters: "fillfactor = 70",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "idx_users_name_hash");
        // Check the index definition.
        await checkIndexDefinition(db, schema, "users", "idx_users_name_hash", `CREATE INDEX idx_users_name_hash ON ${schema}.users USING hash (name) WITH (fillfactor='70')`);
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_users_name_hash");
      },
      afterComplete: async () => {
        // Complete is a no-op.
      },
    },
  ]);
});

/** pgroll's pkg/migrations/op_create_index_test.go (TestCreateIndexOnMultipleColumns), translated. */
describe("create_index on multiple columns (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "create index on multiple columns",
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
          name: "02_create_index",
          operations: [{ create_index: { name: "idx_users_name_email", table: "users", columns: [{ column: "name" }, { column: "email" }] } }],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "idx_users_name_email");
        // Check the index definition -- the column name order matters.
        await checkIndexDefinition(db, schema, "users", "idx_users_name_email", `CREATE INDEX idx_users_name_email ON ${schema}.users USING btree (name, email)`);
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_users_name_email");
      },
      afterComplete: async () => {
        // Complete is a no-op.
      },
    },
  ]);
});

/** pgroll's pkg/migrations/op_create_index_test.go (TestCreateIndexInMultiOperationMigrations), translated. */
describe("create_index in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, create index",
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
            { create_index: { table: "products", columns: [{ column: "name" }], name: "idx_products_name" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "items", "idx_products_name");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "items", "idx_products_name");
      },
      afterComplete: async (db, schema) => {
        // The index remains on the underlying table.
        await indexMustExist(db, schema, "products", "idx_products_name");
      },
    },
    {
      name: "rename table, rename column, create index",
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
            { create_index: { table: "products", columns: [{ column: "item_name" }], name: "idx_products_item_name" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "items", "idx_products_item_name");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "items", "idx_products_item_name");
      },
      afterComplete: async (db, schema) => {
        // The index remains on the underlying table.
        await indexMustExist(db, schema, "products", "idx_products_item_name");
      },
    },
    {
      name: "create index on newly created table",
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
            { create_index: { name: "idx_users_name", table: "users", columns: [{ column: "name" }] } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "idx_users_name");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_users_name");
      },
      afterComplete: async (db, schema) => {
        // The index remains on the underlying table.
        await indexMustExist(db, schema, "users", "idx_users_name");
      },
    },
    {
      name: "create index on newly created column",
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
          name: "02_add_column_and_index",
          operations: [
            { add_column: { table: "users", column: { name: "age", type: "integer", nullable: true }, up: "18" } },
            { create_index: { name: "idx_users_age", table: "users", columns: [{ column: "age" }] } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "idx_users_age");
      },
      afterRollback: async (db, schema) => {
        // The index has been dropped from the the underlying table.
        await indexMustNotExist(db, schema, "users", "idx_users_age");
      },
      afterComplete: async (db, schema) => {
        // The index has been created on the underlying table.
        await indexMustExist(db, schema, "users", "idx_users_age");
      },
    },
  ]);
});
