import { describe, expect } from "vitest";
import {
  columnMustHaveComment,
  executeTests,
  mustDelete,
  mustInsert,
  mustNotDelete,
  mustNotInsert,
  mustSelect,
  tableMustBeCleanedUp,
  tableMustHaveColumnCount,
  tableMustNotExist,
  validatedForeignKeyMustExist,
  viewMustExist,
  type PgrollMigration,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_add_column_test.go, translated. */

/** TestAddColumn */
describe("add_column (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "add column",
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
                  { name: "name", type: "varchar(255)", unique: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_column",
          version_schema: "add_column",
          operations: [{ add_column: { table: "users", column: { name: "age", type: "integer", default: "0", comment: "the age of the user" } } }],
        },
      ],
      afterStart: async (db, schema) => {
        // old and new views of the table should exist
        await viewMustExist(db, schema, "add_table", "users");
        await viewMustExist(db, schema, "add_column", "users");

        // inserting via both the old and the new views works
        await mustInsert(db, schema, "add_table", "users", { name: "Alice" });
        await mustInsert(db, schema, "add_column", "users", { name: "Bob", age: "21" });

        // selecting from both the old and the new views works
        const resOld = await mustSelect(db, schema, "add_table", "users");
        expect(resOld).toEqual([
          { id: 1, name: "Alice" },
          { id: 2, name: "Bob" },
        ]);
        const resNew = await mustSelect(db, schema, "add_column", "users");
        expect(resNew).toEqual([
          { id: 1, name: "Alice", age: 0 },
          { id: 2, name: "Bob", age: 21 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // Left out: ColumnMustNotExist on migrations.TemporaryName("age"), pgroll's temporary column name.

        // The table's column count reflects the drop of the new column
        await tableMustHaveColumnCount(db, schema, "users", 2);
      },
      afterComplete: async (db, schema) => {
        // The new view still exists
        await viewMustExist(db, schema, "add_column", "users");

        // Inserting into the new view still works
        await mustInsert(db, schema, "add_column", "users", { name: "Carl", age: "31" });

        // Selecting from the new view still works
        expect(await mustSelect(db, schema, "add_column", "users")).toEqual([
          { id: 1, name: "Alice", age: 0 },
          { id: 2, name: "Bob", age: 0 },
          { id: 3, name: "Carl", age: 31 },
        ]);
      },
    },
    {
      name: "a newly added column does not have to be used as the identity column for a backfill",
      migrations: [
        {
          name: "01_add_table",
          operations: [{ create_table: { name: "users", columns: [{ name: "name", type: "varchar(255)" }] } }],
        },
        {
          name: "02_add_column",
          operations: [
            {
              add_column: {
                table: "users",
                column: { name: "description", type: "integer", unique: true },
                up: "'this is a description'",
              },
            },
          ],
        },
      ],
      // wantStartErr: nil
    },
    {
      name: "add column to table with no identity or unique column",
      migrations: [
        {
          name: "01_add_table",
          operations: [{ create_table: { name: "users", columns: [{ name: "name", type: "varchar(255)", unique: true }] } }],
        },
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", column: { name: "age", type: "integer", default: "0", comment: "the age of the user" } } }],
        },
      ],
      afterStart: async (db, schema) => {
        // old and new views of the table should exist
        await viewMustExist(db, schema, "01_add_table", "users");
        await viewMustExist(db, schema, "02_add_column", "users");

        // inserting via both the old and the new views works
        await mustInsert(db, schema, "01_add_table", "users", { name: "Alice" });
        await mustInsert(db, schema, "02_add_column", "users", { name: "Bob", age: "21" });

        // selecting from both the old and the new views works
        const resOld = await mustSelect(db, schema, "01_add_table", "users");
        expect(resOld).toEqual([{ name: "Alice" }, { name: "Bob" }]);
        const resNew = await mustSelect(db, schema, "02_add_column", "users");
        expect(resNew).toEqual([
          { name: "Alice", age: 0 },
          { name: "Bob", age: 21 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // Left out: ColumnMustNotExist on migrations.TemporaryName("age"), pgroll's temporary column name.

        // The table's column count reflects the drop of the new column
        await tableMustHaveColumnCount(db, schema, "users", 1);
      },
      afterComplete: async (db, schema) => {
        // The new view still exists
        await viewMustExist(db, schema, "02_add_column", "users");

        // Inserting into the new view still works
        await mustInsert(db, schema, "02_add_column", "users", { name: "Carl", age: "31" });

        // Selecting from the new view still works
        expect(await mustSelect(db, schema, "02_add_column", "users")).toEqual([
          { name: "Alice", age: 0 },
          { name: "Bob", age: 0 },
          { name: "Carl", age: 31 },
        ]);
      },
    },
    {
      name: "add serial columns",
      migrations: [
        {
          name: "01_add_table",
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
          name: "02_add_column",
          operations: [
            { add_column: { table: "users", column: { name: "counter_smallserial", type: "smallserial" } } },
            { add_column: { table: "users", column: { name: "counter_serial", type: "serial" } } },
            { add_column: { table: "users", column: { name: "counter_bigserial", type: "bigserial" } } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // old and new views of the table should exist
        await viewMustExist(db, schema, "01_add_table", "users");
        await viewMustExist(db, schema, "02_add_column", "users");

        // inserting via both the old and the new views works
        await mustInsert(db, schema, "01_add_table", "users", { name: "Alice" });
        await mustInsert(db, schema, "02_add_column", "users", { name: "Bob" });

        // selecting from both the old and the new views works
        const resOld = await mustSelect(db, schema, "01_add_table", "users");
        expect(resOld).toEqual([
          { id: 1, name: "Alice" },
          { id: 2, name: "Bob" },
        ]);
        const resNew = await mustSelect(db, schema, "02_add_column", "users");
        expect(resNew).toEqual([
          { id: 1, name: "Alice", counter_smallserial: 1, counter_serial: 1, counter_bigserial: 1 },
          { id: 2, name: "Bob", counter_smallserial: 2, counter_serial: 2, counter_bigserial: 2 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // Left out: ColumnMustNotExist on migrations.TemporaryName("age"), pgroll's temporary column name.

        // The table's column count reflects the drop of the new column
        await tableMustHaveColumnCount(db, schema, "users", 2);
      },
      afterComplete: async (db, schema) => {
        // The new view still exists
        await viewMustExist(db, schema, "02_add_column", "users");

        // Inserting into the new view still works
        await mustInsert(db, schema, "02_add_column", "users", { name: "Carl" });

        // Selecting from the new view still works
        expect(await mustSelect(db, schema, "02_add_column", "users")).toEqual([
          { id: 1, name: "Alice", counter_smallserial: 1, counter_serial: 1, counter_bigserial: 1 },
          { id: 2, name: "Bob", counter_smallserial: 2, counter_serial: 2, counter_bigserial: 2 },
          { id: 3, name: "Carl", counter_smallserial: 3, counter_serial: 3, counter_bigserial: 3 },
        ]);
      },
    },
  ]);
});

const usersAndOrders: PgrollMigration = {
  name: "01_create_table",
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
    {
      create_table: {
        name: "orders",
        columns: [
          { name: "id", type: "serial", pk: true },
          { name: "quantity", type: "integer" },
        ],
      },
    },
  ],
};

/** The same tables, with users.name not unique (the ON DELETE cases). */
const usersAndOrdersNameNotUnique: PgrollMigration = {
  name: "01_create_table",
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
    {
      create_table: {
        name: "orders",
        columns: [
          { name: "id", type: "serial", pk: true },
          { name: "quantity", type: "integer" },
        ],
      },
    },
  ],
};

/** TestAddForeignKeyColumn */
describe("add_column: foreign key column (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "add nullable foreign key column",
      migrations: [
        usersAndOrders,
        {
          name: "02_add_column",
          operations: [
            {
              add_column: {
                table: "orders",
                column: { name: "user_id", type: "integer", references: { name: "fk_users_id", table: "users", column: "id" }, nullable: true },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The foreign key constraint exists on the new table.
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id");

        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "01_create_table", "users", { name: "alice" });

        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_add_column", "orders", { user_id: "1", quantity: "100" });

        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_add_column", "orders", { user_id: "2", quantity: "200" }, "foreign_key_violation");
      },
      afterRollback: async () => {
        // The new column has been dropped, so the foreign key constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the new table
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id");

        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "02_add_column", "users", { name: "bob" });

        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_add_column", "orders", { user_id: "2", quantity: "200" });

        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_add_column", "orders", { user_id: "3", quantity: "300" }, "foreign_key_violation");
      },
    },
    {
      name: "add non-nullable foreign key column",
      migrations: [
        usersAndOrders,
        {
          name: "02_add_column",
          operations: [
            {
              add_column: {
                table: "orders",
                column: { name: "user_id", type: "integer", references: { name: "fk_users_id", table: "users", column: "id" } },
                up: "1",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The foreign key constraint exists on the new table.
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id");

        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "01_create_table", "users", { name: "alice" });

        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_add_column", "orders", { user_id: "1", quantity: "100" });

        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_add_column", "orders", { user_id: "2", quantity: "200" }, "foreign_key_violation");
      },
      afterRollback: async () => {
        // The new column has been dropped, so the foreign key constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the new table
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id");

        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "02_add_column", "users", { name: "bob" });

        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_add_column", "orders", { user_id: "2", quantity: "200" });

        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_add_column", "orders", { user_id: "3", quantity: "300" }, "foreign_key_violation");
      },
    },
    {
      name: "add foreign key column with default ON DELETE NO ACTION",
      migrations: [
        usersAndOrdersNameNotUnique,
        {
          name: "02_add_column",
          operations: [
            {
              add_column: {
                table: "orders",
                column: { name: "user_id", type: "integer", nullable: true, references: { name: "fk_users_id", table: "users", column: "id" } },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The foreign key constraint exists on the new table.
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id");

        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "01_create_table", "users", { name: "alice" });

        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_add_column", "orders", { user_id: "1", quantity: "100" });

        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_add_column", "orders", { user_id: "2", quantity: "200" }, "foreign_key_violation");

        // Deleting a row in the referenced table fails as a referencing row exists.
        await mustNotDelete(db, schema, "02_add_column", "users", { name: "alice" }, "foreign_key_violation");
      },
      afterRollback: async () => {
        // The new column has been dropped, so the foreign key constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the new table
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id");

        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "02_add_column", "users", { name: "bob" });

        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_add_column", "orders", { user_id: "2", quantity: "200" });

        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_add_column", "orders", { user_id: "3", quantity: "300" }, "foreign_key_violation");

        // Deleting a row in the referenced table fails as a referencing row exists.
        await mustNotDelete(db, schema, "02_add_column", "users", { name: "bob" }, "foreign_key_violation");
      },
    },
    {
      name: "add foreign key column with ON DELETE CASCADE",
      migrations: [
        usersAndOrdersNameNotUnique,
        {
          name: "02_add_column",
          operations: [
            {
              add_column: {
                table: "orders",
                column: {
                  name: "user_id",
                  type: "integer",
                  nullable: true,
                  references: { name: "fk_users_id", table: "users", column: "id", on_delete: "CASCADE" },
                },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The foreign key constraint exists on the new table.
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id", "CASCADE", "NO ACTION");

        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "01_create_table", "users", { name: "alice" });

        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_add_column", "orders", { user_id: "1", quantity: "100" });

        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_add_column", "orders", { user_id: "2", quantity: "200" }, "foreign_key_violation");

        // Deleting a row in the referenced table succeeds due to the ON DELETE CASCADE.
        await mustDelete(db, schema, "02_add_column", "users", { name: "alice" });

        // The row in the referencing table has been deleted by the ON DELETE CASCADE.
        expect(await mustSelect(db, schema, "02_add_column", "orders")).toEqual([]);
      },
      afterRollback: async () => {
        // The new column has been dropped, so the foreign key constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the new table
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id", "CASCADE", "NO ACTION");

        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "02_add_column", "users", { name: "bob" });

        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_add_column", "orders", { user_id: "2", quantity: "200" });

        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_add_column", "orders", { user_id: "3", quantity: "300" }, "foreign_key_violation");

        // Deleting a row in the referenced table succeeds due to the ON DELETE CASCADE.
        await mustDelete(db, schema, "02_add_column", "users", { name: "bob" });

        // The row in the referencing table has been deleted by the ON DELETE CASCADE.
        expect(await mustSelect(db, schema, "02_add_column", "orders")).toEqual([]);
      },
    },
  ]);
});

/** 01_add_table of TestAddColumnWithUpSql: products(id <idType> [pk], name varchar(255) unique). */
function addProductsTable(idType: string): PgrollMigration {
  return {
    name: "01_add_table",
    operations: [
      {
        create_table: {
          name: "products",
          columns: [
            { name: "id", type: idType, pk: true },
            { name: "name", type: "varchar(255)", unique: true },
          ],
        },
      },
    ],
  };
}

function addDescription(up: string): PgrollMigration {
  return {
    name: "02_add_column",
    operations: [{ add_column: { table: "products", up, column: { name: "description", type: "varchar(255)", nullable: true } } }],
  };
}

/** TestAddColumnWithUpSql */
describe("add_column: with up sql (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "add column with up sql and a serial pk",
      migrations: [addProductsTable("serial"), addDescription("UPPER(name)")],
      afterStart: async (db, schema) => {
        // inserting via both the old and the new views works
        await mustInsert(db, schema, "01_add_table", "products", { name: "apple" });
        await mustInsert(db, schema, "02_add_column", "products", { name: "banana", description: "a yellow banana" });

        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          // the description column has been populated for the product inserted into the old view.
          { id: 1, name: "apple", description: "APPLE" },
          // the description column for the product inserted into the new view is as inserted.
          { id: 2, name: "banana", description: "a yellow banana" },
        ]);
      },
      afterRollback: async () => {
        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
      afterComplete: async (db, schema) => {
        // after rollback + restart + complete, all 'description' values are the backfilled ones.
        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          { id: 1, name: "apple", description: "APPLE" },
          { id: 2, name: "banana", description: "BANANA" },
        ]);

        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
    },
    {
      name: "add column with up sql missing parentheses",
      migrations: [addProductsTable("serial"), addDescription("select name")],
      afterStart: async (db, schema) => {
        // inserting via both the old and the new views works
        await mustInsert(db, schema, "01_add_table", "products", { name: "apple" });
        await mustInsert(db, schema, "02_add_column", "products", { name: "banana", description: "a yellow banana" });

        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          // the description column has been populated for the product inserted into the old view.
          { id: 1, name: "apple", description: "apple" },
          // the description column for the product inserted into the new view is as inserted.
          { id: 2, name: "banana", description: "a yellow banana" },
        ]);
      },
      afterRollback: async () => {
        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
      afterComplete: async (db, schema) => {
        // after rollback + restart + complete, all 'description' values are the backfilled ones.
        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          { id: 1, name: "apple", description: "apple" },
          { id: 2, name: "banana", description: "banana" },
        ]);

        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
    },
    {
      name: "add column with up sql missing parentheses, no select",
      migrations: [addProductsTable("serial"), addDescription("name")],
      afterStart: async (db, schema) => {
        // inserting via both the old and the new views works
        await mustInsert(db, schema, "01_add_table", "products", { name: "apple" });
        await mustInsert(db, schema, "02_add_column", "products", { name: "banana", description: "a yellow banana" });

        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          // the description column has been populated for the product inserted into the old view.
          { id: 1, name: "apple", description: "apple" },
          // the description column for the product inserted into the new view is as inserted.
          { id: 2, name: "banana", description: "a yellow banana" },
        ]);
      },
      afterRollback: async () => {
        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
      afterComplete: async (db, schema) => {
        // after rollback + restart + complete, all 'description' values are the backfilled ones.
        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          { id: 1, name: "apple", description: "apple" },
          { id: 2, name: "banana", description: "banana" },
        ]);

        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
    },
    {
      name: "add column with up sql and a text pk",
      migrations: [addProductsTable("text"), addDescription("UPPER(name)")],
      afterStart: async (db, schema) => {
        // inserting via both the old and the new views works
        await mustInsert(db, schema, "01_add_table", "products", { id: "a", name: "apple" });
        await mustInsert(db, schema, "02_add_column", "products", { id: "b", name: "banana", description: "a yellow banana" });

        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          // the description column has been populated for the product inserted into the old view.
          { id: "a", name: "apple", description: "APPLE" },
          // the description column for the product inserted into the new view is as inserted.
          { id: "b", name: "banana", description: "a yellow banana" },
        ]);
      },
      afterRollback: async () => {
        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
      afterComplete: async (db, schema) => {
        // after rollback + restart + complete, all 'description' values are the backfilled ones.
        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          { id: "a", name: "apple", description: "APPLE" },
          { id: "b", name: "banana", description: "BANANA" },
        ]);

        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
    },
    {
      name: "add column with up sql and no pk",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "products",
                columns: [
                  { name: "id", type: "text" },
                  { name: "name", type: "varchar(255)", unique: true },
                ],
              },
            },
            // insert some data into the table to test backfill in the next migration
            { sql: { up: "INSERT INTO products (id, name) VALUES ('c', 'cherries')", onComplete: true } },
          ],
        },
        addDescription("UPPER(name)"),
      ],
      afterStart: async (db, schema) => {
        // inserting via both the old and the new views works
        await mustInsert(db, schema, "01_add_table", "products", { id: "a", name: "apple" });
        await mustInsert(db, schema, "02_add_column", "products", { id: "b", name: "banana", description: "a yellow banana" });

        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          // the description column has been populated by the backfill process
          { id: "c", name: "cherries", description: "CHERRIES" },
          // the description column has been populated for the product inserted into the old view.
          { id: "a", name: "apple", description: "APPLE" },
          // the description column for the product inserted into the new view is as inserted.
          { id: "b", name: "banana", description: "a yellow banana" },
        ]);
      },
      afterRollback: async () => {
        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
      afterComplete: async (db, schema) => {
        // after rollback + restart + complete, all 'description' values are the backfilled ones.
        expect(await mustSelect(db, schema, "02_add_column", "products")).toEqual([
          { id: "c", name: "cherries", description: "CHERRIES" },
          { id: "a", name: "apple", description: "APPLE" },
          { id: "b", name: "banana", description: "BANANA" },
        ]);

        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger function and trigger names.
      },
    },
  ]);
});

/** TestAddNotNullColumnWithNoDefault */
describe("add_column: not null column with no default (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "add not null column with no default",
      migrations: [
        addProductsTable("serial"),
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "products", up: "UPPER(name)", column: { name: "description", type: "varchar(255)" } } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a null description through the old view works (due to `up` sql populating the column).
        await mustInsert(db, schema, "01_add_table", "products", { name: "apple" });
        // Inserting a null description through the new view fails.
        await mustNotInsert(db, schema, "02_add_column", "products", { name: "banana" }, "check_violation");
      },
      afterRollback: async () => {
        // Left out: CheckConstraintMustNotExist on migrations.NotNullConstraintName("description"), pgroll's own name for its NOT VALID not-null check.
      },
      afterComplete: async (db, schema) => {
        // Left out: CheckConstraintMustNotExist on migrations.NotNullConstraintName("description"), pgroll's own name for its NOT VALID not-null check.

        // can't insert a null description into the new view; the column now has a NOT NULL constraint.
        await mustNotInsert(db, schema, "02_add_column", "products", { name: "orange" }, "not_null_violation");
      },
    },
  ]);
});

const createUsersIntPk: PgrollMigration = {
  name: "01_create_table",
  operations: [
    {
      create_table: {
        name: "users",
        columns: [
          { name: "id", type: "int", pk: true },
          { name: "name", type: "text" },
        ],
      },
    },
  ],
};

const createVolatileFunction: PgrollMigration = {
  name: "02_create_volatile_function",
  operations: [{ sql: { up: "CREATE FUNCTION public.always_ten() RETURNS integer AS $$ BEGIN RETURN 10; END; $$ LANGUAGE plpgsql VOLATILE;" } }],
};

/** TestAddColumnWithVolatileAndNonVolatileDefaults */
describe("add_column: volatile and non-volatile defaults (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "add nullable column with non-volatile default",
      migrations: [
        createUsersIntPk,
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", column: { name: "age", type: "integer", nullable: true, default: "0" } } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting via both the old and the new views works
        await mustInsert(db, schema, "01_create_table", "users", { id: "1", name: "alice" });
        await mustInsert(db, schema, "02_add_column", "users", { id: "2", name: "bob", age: "21" });

        // Can insert a NULL value into the new view
        await mustInsert(db, schema, "02_add_column", "users", { id: "3", name: "carl", age: "NULL" });

        // The old view has the expected rows
        expect(await mustSelect(db, schema, "01_create_table", "users")).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
          { id: 3, name: "carl" },
        ]);

        // The new view has the expected rows
        expect(await mustSelect(db, schema, "02_add_column", "users")).toEqual([
          { id: 1, name: "alice", age: 0 },
          { id: 2, name: "bob", age: 21 },
          { id: 3, name: "carl", age: null },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "users", "age");
      },
      afterComplete: async (db, schema) => {
        // Inserting into the new view still works
        await mustInsert(db, schema, "02_add_column", "users", { id: "4", name: "dana", age: "31" });
        await mustInsert(db, schema, "02_add_column", "users", { id: "5", name: "earl" });

        // The new view has the expected rows
        expect(await mustSelect(db, schema, "02_add_column", "users")).toEqual([
          { id: 1, name: "alice", age: 0 },
          { id: 2, name: "bob", age: 0 },
          { id: 3, name: "carl", age: 0 },
          { id: 4, name: "dana", age: 31 },
          { id: 5, name: "earl", age: 0 },
        ]);
      },
    },
    {
      name: "add not null column with non-volatile default",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "name", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", column: { name: "age", type: "integer", default: "0" } } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting via both the old and the new views works
        await mustInsert(db, schema, "01_create_table", "users", { id: "1", name: "alice" });
        await mustInsert(db, schema, "02_add_column", "users", { id: "2", name: "bob", age: "21" });

        // Can't insert a NULL value into the new view
        await mustNotInsert(db, schema, "02_add_column", "users", { id: "3", name: "carl", age: "NULL" }, "not_null_violation");

        // The old view has the expected rows
        expect(await mustSelect(db, schema, "01_create_table", "users")).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
        ]);

        // The new view has the expected rows
        expect(await mustSelect(db, schema, "02_add_column", "users")).toEqual([
          { id: 1, name: "alice", age: 0 },
          { id: 2, name: "bob", age: 21 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "users", "age");
      },
      afterComplete: async (db, schema) => {
        // Inserting into the new view still works
        await mustInsert(db, schema, "02_add_column", "users", { id: "3", name: "dana", age: "31" });
        await mustInsert(db, schema, "02_add_column", "users", { id: "4", name: "earl" });

        // Can't insert a NULL value into the new view
        await mustNotInsert(db, schema, "02_add_column", "users", { id: "5", name: "frankie", age: "NULL" }, "not_null_violation");

        // The new view has the expected rows
        expect(await mustSelect(db, schema, "02_add_column", "users")).toEqual([
          { id: 1, name: "alice", age: 0 },
          { id: 2, name: "bob", age: 0 },
          { id: 3, name: "dana", age: 31 },
          { id: 4, name: "earl", age: 0 },
        ]);
      },
    },
    {
      name: "add nullable column with volatile default",
      migrations: [
        createUsersIntPk,
        createVolatileFunction,
        {
          name: "03_add_column",
          operations: [
            {
              add_column: {
                table: "users",
                up: "public.always_ten()",
                column: { name: "age", type: "integer", nullable: true, default: "public.always_ten()" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting via both the old and the new views works
        await mustInsert(db, schema, "02_create_volatile_function", "users", { id: "1", name: "alice" });
        await mustInsert(db, schema, "03_add_column", "users", { id: "2", name: "bob", age: "21" });

        // Can insert a NULL value into the new view
        await mustInsert(db, schema, "03_add_column", "users", { id: "3", name: "carl", age: "NULL" });

        // The old view has the expected rows
        expect(await mustSelect(db, schema, "02_create_volatile_function", "users")).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
          { id: 3, name: "carl" },
        ]);

        // The new view has the expected rows
        expect(await mustSelect(db, schema, "03_add_column", "users")).toEqual([
          { id: 1, name: "alice", age: 10 },
          { id: 2, name: "bob", age: 21 },
          { id: 3, name: "carl", age: null },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "users", "age");
      },
      afterComplete: async (db, schema) => {
        // Inserting into the new view still works
        await mustInsert(db, schema, "03_add_column", "users", { id: "4", name: "dana" });
        await mustInsert(db, schema, "03_add_column", "users", { id: "5", name: "earl", age: "51" });

        // Can insert a NULL value into the new view
        await mustInsert(db, schema, "03_add_column", "users", { id: "6", name: "frankie", age: "NULL" });

        // The new view has the expected rows
        expect(await mustSelect(db, schema, "03_add_column", "users")).toEqual([
          { id: 1, name: "alice", age: 10 },
          { id: 2, name: "bob", age: 10 },
          { id: 3, name: "carl", age: 10 },
          { id: 4, name: "dana", age: 10 },
          { id: 5, name: "earl", age: 51 },
          { id: 6, name: "frankie", age: null },
        ]);
      },
    },
    {
      name: "add not null column with volatile default",
      migrations: [
        createUsersIntPk,
        createVolatileFunction,
        {
          name: "03_add_column",
          operations: [
            {
              add_column: {
                table: "users",
                up: "public.always_ten()",
                column: { name: "age", type: "integer", default: "public.always_ten()" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting via both the old and the new views works
        await mustInsert(db, schema, "02_create_volatile_function", "users", { id: "1", name: "alice" });
        await mustInsert(db, schema, "03_add_column", "users", { id: "2", name: "bob", age: "21" });

        // Can't insert a NULL value into the new view
        await mustNotInsert(db, schema, "03_add_column", "users", { id: "3", name: "carl", age: "NULL" }, "check_violation");

        // The old view has the expected rows
        expect(await mustSelect(db, schema, "02_create_volatile_function", "users")).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
        ]);

        // The new view has the expected rows
        expect(await mustSelect(db, schema, "03_add_column", "users")).toEqual([
          { id: 1, name: "alice", age: 10 },
          { id: 2, name: "bob", age: 21 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "users", "age");
      },
      afterComplete: async (db, schema) => {
        // Inserting into the new view still works
        await mustInsert(db, schema, "03_add_column", "users", { id: "3", name: "carl", age: "31" });
        await mustInsert(db, schema, "03_add_column", "users", { id: "4", name: "dana" });

        // Can't insert a NULL value into the new view
        await mustNotInsert(db, schema, "03_add_column", "users", { id: "5", name: "earl", age: "NULL" }, "not_null_violation");

        // The new view has the expected rows
        expect(await mustSelect(db, schema, "03_add_column", "users")).toEqual([
          { id: 1, name: "alice", age: 10 },
          { id: 2, name: "bob", age: 10 },
          { id: 3, name: "carl", age: 31 },
          { id: 4, name: "dana", age: 10 },
        ]);
      },
    },
    {
      name: "up expression must be the default expression when adding a column with a volatile default",
      migrations: [
        createUsersIntPk,
        createVolatileFunction,
        {
          name: "03_add_column",
          operations: [
            {
              add_column: {
                table: "users",
                up: "'incorrect - must be the same as the column default'",
                column: { name: "age", type: "integer", default: "public.always_ten()" },
              },
            },
          ],
        },
      ],
      // pgroll: UpSQLMustBeColumnDefaultError{Column: "age"}: `volatile default expression for column "age"; "up" must be equal to "default"`
      wantStartErr: /volatile default.*"?up"?.*(equal|same|match).*"?default"?/i,
    },
  ]);
});

const addTableMigration: PgrollMigration = {
  name: "01_add_table",
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
};

const addTableMigrationNoPKNullable: PgrollMigration = {
  name: "01_add_table",
  operations: [
    {
      create_table: {
        name: "users",
        columns: [
          { name: "id", type: "serial" },
          { name: "name", type: "varchar(255)", unique: true, nullable: true },
        ],
      },
    },
  ],
};

const addTableMigrationNoPKNotNull: PgrollMigration = {
  name: "01_add_table",
  operations: [
    {
      create_table: {
        name: "users",
        columns: [
          { name: "id", type: "serial" },
          { name: "name", type: "varchar(255)", unique: true },
        ],
      },
    },
  ],
};

/** TestAddColumnValidation */
describe("add_column: validation (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "table must exist",
      migrations: [
        addTableMigration,
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "doesntexist", column: { name: "age", type: "integer", default: "0" } } }],
        },
      ],
      // pgroll: TableDoesNotExistError{Name: "doesntexist"}
      wantStartErr: /table "doesntexist" does not exist/,
    },
    {
      name: "column must not exist",
      migrations: [
        addTableMigration,
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", column: { name: "name", type: "varchar(255)" } } }],
        },
      ],
      // pgroll: ColumnAlreadyExistsError{Table: "users", Name: "name"}
      wantStartErr: /column "name" already exists on table "users"/,
    },
    {
      name: "column must be valid (not missing its type)",
      migrations: [
        addTableMigration,
        {
          name: "02_add_column",
          // Missing type
          operations: [{ add_column: { table: "users", column: { name: "description" } } }],
        },
      ],
      // pgroll: ColumnIsInvalidError{Table: "users", Name: "description"}
      wantStartErr: /add_column\.column\.type: missing required field/,
    },
    {
      name: "column must be valid (not missing its name)",
      migrations: [
        addTableMigration,
        {
          name: "02_add_column",
          // Missing name
          operations: [{ add_column: { table: "users", column: { type: "text" } } }],
        },
      ],
      // pgroll: ColumnIsInvalidError{Table: "users", Name: ""}
      wantStartErr: /add_column\.column\.name: missing required field/,
    },
    {
      name: "up SQL is mandatory when adding a NOT NULL column with no DEFAULT",
      migrations: [
        addTableMigration,
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", column: { name: "age", type: "integer" } } }],
        },
      ],
      // pgroll: FieldRequiredError{Name: "up"}
      wantStartErr: /add_column\.up: required/,
    },
    {
      name: "table can have multiple primary keys",
      migrations: [
        {
          name: "01_add_table",
          operations: [{ sql: { up: "CREATE TABLE orders(id integer, order_id integer, name text, primary key (id, order_id))", down: "DROP TABLE orders" } }],
        },
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "orders", up: "UPPER(name)", column: { name: "description", type: "text" } } }],
        },
      ],
    },
    {
      name: "table has no restrictions on primary keys if up is not defined",
      migrations: [
        {
          name: "01_add_table",
          operations: [{ sql: { up: "CREATE TABLE orders(id integer, order_id integer, name text, primary key (id, order_id))", down: "DROP TABLE orders" } }],
        },
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "orders", column: { default: "'foo'", name: "description", type: "text" } } }],
        },
      ],
      // wantStartErr: nil
    },
    {
      name: "table without a primary key on exactly one column or a unique can be backfilled",
      migrations: [
        addTableMigrationNoPKNullable,
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", up: "UPPER(name)", column: { default: "'foo'", name: "description", type: "text" } } }],
        },
      ],
      // wantStartErr: nil
    },
    {
      name: "table with a unique not null column can be backfilled",
      migrations: [
        addTableMigrationNoPKNotNull,
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", up: "UPPER(name)", column: { default: "'foo'", name: "description", type: "text" } } }],
        },
      ],
      // wantStartErr: nil
    },
  ]);
});

/** TestAddColumnWithCheckConstraint */
describe("add_column: with check constraint (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "add column",
      migrations: [
        addTableMigration,
        {
          name: "02_add_column",
          operations: [
            {
              add_column: {
                table: "users",
                column: { name: "age", type: "integer", default: "18", check: { name: "age_check", constraint: "age >= 18" } },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that meets the constraint into the new view succeeds.
        await mustInsert(db, schema, "02_add_column", "users", { name: "alice", age: "30" });

        // Inserting a row that does not meet the constraint into the new view fails.
        await mustNotInsert(db, schema, "02_add_column", "users", { name: "bob", age: "3" }, "check_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting a row that meets the constraint into the new view succeeds.
        await mustInsert(db, schema, "02_add_column", "users", { name: "carl", age: "30" });

        // Inserting a row that does not meet the constraint into the new view fails.
        await mustNotInsert(db, schema, "02_add_column", "users", { name: "dana", age: "3" }, "check_violation");
      },
    },
  ]);
});

/** TestAddColumnWithComment */
describe("add_column: with comment (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "add column",
      migrations: [
        addTableMigration,
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", column: { name: "age", type: "integer", default: "0", comment: "the age of the user" } } }],
        },
      ],
      afterStart: async () => {
        // Left out: ColumnMustHaveComment on migrations.TemporaryName("age"), pgroll's temporary column name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The comment is still present on the underlying column.
        await columnMustHaveComment(db, schema, "users", "age", "the age of the user");
      },
    },
  ]);
});

/** TestAddColumnInMultiOperationMigrations */
describe("add_column: in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "create table, add column",
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
            { add_column: { table: "items", column: { name: "description", type: "text" }, up: "UPPER(name)" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert into the view in the new schema (the only version schema)
        await mustInsert(db, schema, "01_multi_operation", "items", { name: "apples", description: "green" });

        // The table has the expected rows
        expect(await mustSelect(db, schema, "01_multi_operation", "items")).toEqual([{ id: 1, name: "apples", description: "green" }]);
      },
      afterRollback: async (db, schema) => {
        // The table no longer exists
        await tableMustNotExist(db, schema, "items");
      },
      afterComplete: async (db, schema) => {
        // Can insert into the view in the new schema (the only version schema)
        await mustInsert(db, schema, "01_multi_operation", "items", { name: "bananas", description: "yellow" });

        // The table has the expected rows
        expect(await mustSelect(db, schema, "01_multi_operation", "items")).toEqual([{ id: 1, name: "bananas", description: "yellow" }]);
      },
    },
    {
      name: "rename table, add column",
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
            { rename_table: { from: "items", to: "products" } },
            { add_column: { table: "products", column: { name: "description", type: "text" }, up: "UPPER(name)" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert into the new table in the new schema using its new name
        await mustInsert(db, schema, "02_multi_operation", "products", { name: "apples", description: "green" });

        // Can't insert into the new table in the new schema using its old name
        await mustNotInsert(db, schema, "02_multi_operation", "items", { name: "bananas", description: "yellow" }, "undefined_table");

        // The table has the expected rows in the old schema
        expect(await mustSelect(db, schema, "01_create_table", "items")).toEqual([{ id: 1, name: "apples" }]);

        // The table has the expected rows in the new schema
        expect(await mustSelect(db, schema, "02_multi_operation", "products")).toEqual([{ id: 1, name: "apples", description: "green" }]);
      },
      afterRollback: async (db, schema) => {
        // Can insert into the old table in the old schema using its old name
        await mustInsert(db, schema, "01_create_table", "items", { name: "bananas" });

        // The temporary column, functions and triggers have been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "description");
      },
      afterComplete: async (db, schema) => {
        // Can insert into the new table in the new schema using its new name
        await mustInsert(db, schema, "02_multi_operation", "products", { name: "carrots", description: "crunchy" });

        // The table has the new name in the new schema and has the expected
        // rows
        expect(await mustSelect(db, schema, "02_multi_operation", "products")).toEqual([
          { id: 1, name: "apples", description: "APPLES" },
          { id: 2, name: "bananas", description: "BANANAS" },
          { id: 3, name: "carrots", description: "crunchy" },
        ]);

        // The temporary column, functions and triggers have been cleaned up
        await tableMustBeCleanedUp(db, schema, "products", "description");
      },
    },
  ]);
});

/** TestAddColumnValidationInMultiOperationMigrations */
describe("add_column: validation in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "adding a column with the same name twice fails to validate",
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
            { add_column: { table: "items", column: { name: "description", type: "text" }, up: "UPPER(name)" } },
            { add_column: { table: "items", column: { name: "description", type: "varchar(255)" }, up: "UPPER(name)" } },
          ],
        },
      ],
      // pgroll: ColumnAlreadyExistsError{Table: "items", Name: "description"}
      wantStartErr: /column "description" already exists on table "items"/,
    },
  ]);
});

/** TestAddColumnInvalidNameLength */
describe("add_column: invalid name length (pgroll's operation tests)", () => {
  const invalidName = "x".repeat(64);
  executeTests([
    {
      name: "Column name too long",
      migrations: [
        {
          name: "01_create_table",
          operations: [{ create_table: { name: "users", columns: [{ name: "id", type: "serial", pk: true }] } }],
        },
        {
          name: "02_add_column",
          operations: [{ add_column: { table: "users", column: { name: invalidName, type: "text", default: "'default value 1'" } } }],
        },
      ],
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
      // pgroll: migrations.ValidateIdentifierLength(invalidName)
      wantStartErr: /is 64 bytes long; PostgreSQL identifiers are at most 63 bytes/,
    },
  ]);
});
