import { describe, expect } from "vitest";
import { columnMustExist, executeTests, mustInsert, mustNotInsert, mustSelect, tableMustBeCleanedUp } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_rename_column_test.go (TestOpRenameColumn), translated. */
describe("rename_column (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename column",
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
                  { name: "username", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_rename_column",
          version_schema: "rename_column",
          operations: [{ rename_column: { table: "users", from: "username", to: "name" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // The column in the underlying table has not been renamed.
        await columnMustExist(db, schema, "users", "username");
        // Insertions to the new column name in the new version schema should work.
        await mustInsert(db, schema, "rename_column", "users", { name: "alice" });
        // Insertions to the old column name in the old version schema should work.
        await mustInsert(db, schema, "create_table", "users", { username: "bob" });
        // Data can be read from the view in the new version schema.
        expect(await mustSelect(db, schema, "rename_column", "users")).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
        ]);
      },
      afterRollback: async () => {
        // no-op
      },
      afterComplete: async (db, schema) => {
        // The column in the underlying table has been renamed.
        await columnMustExist(db, schema, "users", "name");
        // Data can be read from the view in the new version schema.
        expect(await mustSelect(db, schema, "rename_column", "users")).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
        ]);
      },
    },
    {
      name: "rename serial column",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "orders",
                columns: [
                  { name: "order_id", type: "serial", pk: true },
                  { name: "description", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_rename_serial_column",
          operations: [{ rename_column: { table: "orders", from: "order_id", to: "id" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // The column in the underlying table has not been renamed.
        await columnMustExist(db, schema, "orders", "order_id");
        // Insertions to the new column name in the new version schema should work.
        await mustInsert(db, schema, "02_rename_serial_column", "orders", { id: "1", description: "first order" });
        // Insertions to the old column name in the old version schema should work.
        await mustInsert(db, schema, "01_create_table", "orders", { order_id: "2", description: "second order" });
        // Data can be read from the view in the new version schema.
        expect(await mustSelect(db, schema, "02_rename_serial_column", "orders")).toEqual([
          { id: 1, description: "first order" },
          { id: 2, description: "second order" },
        ]);
      },
      afterRollback: async () => {
        // no-op
      },
      afterComplete: async (db, schema) => {
        // The column in the underlying table has been renamed.
        await columnMustExist(db, schema, "orders", "id");
        // Data can be read from the view in the new version schema.
        expect(await mustSelect(db, schema, "02_rename_serial_column", "orders")).toEqual([
          { id: 1, description: "first order" },
          { id: 2, description: "second order" },
        ]);
      },
    },
  ]);
});

/** pgroll's TestRenameColumnInMultiOperationMigrations, translated. */
describe("rename_column in multi-operation migrations (pgroll's operation tests)", () => {
  const itemsTable = (nullableName: boolean) => ({
    create_table: {
      name: "items",
      columns: [
        { name: "id", type: "serial", pk: true },
        nullableName ? { name: "name", type: "varchar(255)", nullable: true } : { name: "name", type: "varchar(255)" },
      ],
    },
  });
  executeTests([
    {
      name: "add column, rename column",
      migrations: [
        { name: "01_create_table", operations: [itemsTable(false)] },
        {
          name: "02_multi_operation",
          operations: [
            { add_column: { table: "items", column: { name: "description", type: "text", nullable: true } } },
            { rename_column: { table: "items", from: "description", to: "item_description" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert into the new column under its new name
        await mustInsert(db, schema, "02_multi_operation", "items", { name: "apples", item_description: "amazing" });
        // Can't insert into the new column under its old name
        await mustNotInsert(db, schema, "02_multi_operation", "items", { name: "bananas", description: "brilliant" }, "undefined_column");
        // The table has the expected rows in the new schema
        expect(await mustSelect(db, schema, "02_multi_operation", "items")).toEqual([{ id: 1, name: "apples", item_description: "amazing" }]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "description");
      },
      afterComplete: async (db, schema) => {
        // Can insert into the new column under its new name
        await mustInsert(db, schema, "02_multi_operation", "items", { name: "bananas", item_description: "brilliant" });
        // The table has the expected rows in the new schema
        expect(await mustSelect(db, schema, "02_multi_operation", "items")).toEqual([
          { id: 1, name: "apples", item_description: null },
          { id: 2, name: "bananas", item_description: "brilliant" },
        ]);
      },
    },
    {
      name: "rename table, rename column",
      migrations: [
        { name: "01_create_table", operations: [itemsTable(false)] },
        {
          name: "02_multi_operation",
          operations: [{ rename_table: { from: "items", to: "products" } }, { rename_column: { table: "products", from: "name", to: "item_name" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert using the old version schema (old table name, and old
        // column name)
        await mustInsert(db, schema, "01_create_table", "items", { name: "apples" });
        // Can insert using the new version schema (new table name, and new
        // column name)
        await mustInsert(db, schema, "02_multi_operation", "products", { item_name: "bananas" });
        // The table has the expected rows
        expect(await mustSelect(db, schema, "02_multi_operation", "products")).toEqual([
          { id: 1, item_name: "apples" },
          { id: 2, item_name: "bananas" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // Can insert using the old version schema (old table name, and old
        // column name)
        await mustInsert(db, schema, "01_create_table", "items", { name: "carrots" });
      },
      afterComplete: async (db, schema) => {
        // Can insert using the new version schema (new table name, and new
        // column name)
        await mustInsert(db, schema, "02_multi_operation", "products", { item_name: "durian" });
        // The table has the expected rows
        expect(await mustSelect(db, schema, "02_multi_operation", "products")).toEqual([
          { id: 1, item_name: "apples" },
          { id: 2, item_name: "bananas" },
          { id: 3, item_name: "carrots" },
          { id: 4, item_name: "durian" },
        ]);
      },
    },
    {
      name: "rename column, drop column",
      migrations: [
        { name: "01_create_table", operations: [itemsTable(true)] },
        {
          name: "02_multi_operation",
          operations: [{ rename_column: { table: "items", from: "name", to: "item_name" } }, { drop_column: { table: "items", column: "item_name" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Can't insert into the dropped column in the new schema
        await mustNotInsert(db, schema, "02_multi_operation", "items", { item_name: "apples" }, "undefined_column");
        // Can insert into the old column name in the old schema
        await mustInsert(db, schema, "01_create_table", "items", { name: "apples" });
      },
      afterRollback: async (db, schema) => {
        // Can insert into the old column name in the old schema
        await mustInsert(db, schema, "01_create_table", "items", { name: "bananas" });
      },
      afterComplete: async (db, schema) => {
        // Can't insert into the dropped column in the new schema
        await mustNotInsert(db, schema, "02_multi_operation", "items", { item_name: "apples" }, "undefined_column");
      },
    },
  ]);
});

/** pgroll's TestOpRenameColumnValidation, translated. */
describe("rename_column validation (pgroll's operation tests)", () => {
  const createTableMigration = {
    name: "01_create_table",
    operations: [
      {
        create_table: {
          name: "users",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "username", type: "varchar(255)" },
          ],
        },
      },
    ],
  };
  executeTests([
    {
      name: "from field must be specified",
      // pgroll's OpRenameColumn.from has no omitempty: an unset from is `"from": ""`.
      migrations: [createTableMigration, { name: "02_rename_column", operations: [{ rename_column: { table: "users", from: "", to: "name" } }] }],
      // pgroll: FieldRequiredError{Name: "from"}
      wantStartErr: /rename_column\.from: must not be empty/,
    },
    {
      name: "to field must be specified",
      // pgroll's OpRenameColumn.to has no omitempty: an unset to is `"to": ""`.
      migrations: [createTableMigration, { name: "02_rename_column", operations: [{ rename_column: { table: "users", from: "username", to: "" } }] }],
      // pgroll: FieldRequiredError{Name: "to"}
      wantStartErr: /rename_column\.to: must not be empty/,
    },
    {
      name: "table must exist",
      migrations: [createTableMigration, { name: "02_rename_column", operations: [{ rename_column: { table: "doesntexist", from: "username", to: "id" } }] }],
      // pgroll: TableDoesNotExistError{Name: "doesntexist"}
      wantStartErr: /table "doesntexist" does not exist/,
    },
    {
      name: "source column must exist",
      migrations: [createTableMigration, { name: "02_rename_column", operations: [{ rename_column: { table: "users", from: "doesntexist", to: "id" } }] }],
      // pgroll: ColumnDoesNotExistError{Table: "users", Name: "doesntexist"}
      wantStartErr: /column "doesntexist" does not exist/,
    },
    {
      name: "target column must not exist",
      migrations: [createTableMigration, { name: "02_rename_column", operations: [{ rename_column: { table: "users", from: "username", to: "id" } }] }],
      // pgroll: ColumnAlreadyExistsError{Table: "users", Name: "id"}
      wantStartErr: /column "id" already exists/,
    },
  ]);
});
