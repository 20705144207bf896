import { describe, expect } from "vitest";
import {
  columnMustHaveComment,
  columnMustHaveType,
  executeTests,
  mustInsert,
  mustNotInsert,
  mustSelect,
  tableMustBeCleanedUp,
  uniqueConstraintMustExist,
  validatedForeignKeyMustExist,
  versionedSchemaName,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_change_type_test.go (TestChangeColumnType), translated. */
describe("change type (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "change column type",
      migrations: [
        {
          name: "01_add_table",
          version_schema: "add_table",
          operations: [
            {
              create_table: {
                name: "reviews",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "username", type: "text" },
                  { name: "product", type: "text" },
                  { name: "rating", type: "text", default: "0" },
                ],
              },
            },
          ],
        },
        {
          name: "02_change_type",
          version_schema: "change_type",
          operations: [{ alter_column: { table: "reviews", column: "rating", type: "integer", up: "CAST (rating AS integer)", down: "CAST (rating AS text)" } }],
        },
      ],
      afterStart: async (db, schema) => {
        const newVersionSchema = versionedSchemaName(schema, "change_type");
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("rating")), a pgroll-internal name.
        await columnMustHaveType(db, newVersionSchema, "reviews", "rating", "integer");
        await mustInsert(db, schema, "change_type", "reviews", { username: "alice", product: "apple", rating: "5" });
        let rows = await mustSelect(db, schema, "add_table", "reviews");
        expect(rows).toEqual([{ id: 1, username: "alice", product: "apple", rating: "5" }]);
        await mustInsert(db, schema, "add_table", "reviews", { username: "bob", product: "banana", rating: "8" });
        rows = await mustSelect(db, schema, "change_type", "reviews");
        expect(rows).toEqual([
          { id: 1, username: "alice", product: "apple", rating: 5 },
          { id: 2, username: "bob", product: "banana", rating: 8 },
        ]);
      },
      afterRollback: async (db, schema) => {
        await tableMustBeCleanedUp(db, schema, "reviews", "rating");
      },
      afterComplete: async (db, schema) => {
        const newVersionSchema = versionedSchemaName(schema, "change_type");
        await tableMustBeCleanedUp(db, schema, "reviews", "rating");
        await columnMustHaveType(db, newVersionSchema, "reviews", "rating", "integer");
        await mustInsert(db, schema, "change_type", "reviews", { username: "carl", product: "carrot", rating: "3" });
        const rows = await mustSelect(db, schema, "change_type", "reviews");
        expect(rows).toEqual([
          { id: 1, username: "alice", product: "apple", rating: 5 },
          { id: 2, username: "bob", product: "banana", rating: 8 },
          { id: 3, username: "carl", product: "carrot", rating: 3 },
        ]);
        // Left out: FunctionMustNotExist / TriggerMustNotExist with pgroll's trigger and function names (covered by tableMustBeCleanedUp above).
      },
    },
    {
      name: "changing column type preserves any foreign key constraints on the column",
      migrations: [
        {
          name: "01_add_departments_table",
          operations: [
            {
              create_table: {
                name: "departments",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_employees_table",
          operations: [
            {
              create_table: {
                name: "employees",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text" },
                  {
                    name: "department_id",
                    type: "integer",
                    references: { name: "fk_employee_department", table: "departments", column: "id", on_delete: "CASCADE" },
                  },
                ],
              },
            },
          ],
        },
        {
          name: "03_change_type",
          operations: [{ alter_column: { table: "employees", column: "department_id", type: "bigint", up: "department_id", down: "department_id" } }],
        },
      ],
      afterStart: async () => {
        // Left out: ValidatedForeignKeyMustExistWithReferentialAction on pgroll's duplicated constraint (migrations.DuplicationName("fk_employee_department")), a pgroll-internal name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await validatedForeignKeyMustExist(db, schema, "employees", "fk_employee_department", "CASCADE", "NO ACTION");
      },
    },
    {
      name: "changing column type removes any incompatible defaults on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "age", type: "text", default: "'0'", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_change_type",
          operations: [{ alter_column: { table: "users", column: "age", type: "integer", up: "CAST(age AS integer)", down: "CAST(age AS text)" } }],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "02_change_type", "users", { id: "1" });
        const rows = await mustSelect(db, schema, "02_change_type", "users");
        expect(rows).toEqual([{ id: 1, age: null }]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await mustInsert(db, schema, "02_change_type", "users", { id: "2" });
        const rows = await mustSelect(db, schema, "02_change_type", "users");
        expect(rows).toEqual([
          { id: 1, age: null },
          { id: 2, age: null },
        ]);
      },
    },
    {
      name: "changing column type preserves any compatible defaults on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "username", type: "text", default: "'alice'", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_change_type",
          operations: [{ alter_column: { table: "users", column: "username", type: "varchar(255)", up: "username", down: "username" } }],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "02_change_type", "users", { id: "1" });
        const rows = await mustSelect(db, schema, "02_change_type", "users");
        expect(rows).toEqual([{ id: 1, username: "alice" }]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await mustInsert(db, schema, "02_change_type", "users", { id: "2" });
        const rows = await mustSelect(db, schema, "02_change_type", "users");
        expect(rows).toEqual([
          { id: 1, username: "alice" },
          { id: 2, username: "alice" },
        ]);
      },
    },
    {
      name: "changing column type removes any incompatile check constraints on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "age", type: "text", nullable: true, check: { name: "age_length", constraint: "length(age) < 3" } },
                ],
              },
            },
          ],
        },
        {
          name: "02_change_type",
          operations: [
            {
              alter_column: {
                table: "users",
                column: "age",
                type: "integer",
                up: "CAST(age AS integer)",
                down: "SELECT CASE WHEN age < 100 THEN age::text ELSE '0' END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "02_change_type", "users", { id: "1", age: "1111" });
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await mustInsert(db, schema, "02_change_type", "users", { id: "2", age: "2222" });
      },
    },
    {
      name: "changing column type preserves any compatible check constraints on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "username", type: "text", nullable: true, check: { name: "username_length", constraint: "length(username) > 3" } },
                ],
              },
            },
          ],
        },
        {
          name: "02_change_type",
          operations: [{ alter_column: { table: "users", column: "username", type: "varchar(255)", up: "username", down: "username" } }],
        },
      ],
      afterStart: async (db, schema) => {
        await mustNotInsert(db, schema, "02_change_type", "users", { id: "1", username: "a" }, "check_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await mustNotInsert(db, schema, "02_change_type", "users", { id: "2", username: "b" }, "check_violation");
      },
    },
    {
      name: "changing column type preserves column not null",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "integer", pk: true },
                  { name: "username", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_change_type",
          operations: [{ alter_column: { table: "users", column: "username", type: "varchar(255)", up: "username", down: "username" } }],
        },
      ],
      afterStart: async (db, schema) => {
        await mustNotInsert(db, schema, "02_change_type", "users", { id: "1" }, "not_null_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await mustNotInsert(db, schema, "02_change_type", "users", { id: "2" }, "not_null_violation");
      },
    },
    {
      name: "changing column type preserves any unique constraints on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "username", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_unique",
          operations: [{ alter_column: { table: "users", column: "username", unique: { name: "unique_username" }, up: "username", down: "username" } }],
        },
        {
          name: "03_change_type",
          operations: [{ alter_column: { table: "users", column: "username", type: "varchar(255)", up: "username", down: "username" } }],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "03_change_type", "users", { username: "alice" });
        await mustNotInsert(db, schema, "03_change_type", "users", { username: "alice" }, "unique_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await uniqueConstraintMustExist(db, schema, "users", "unique_username");
        await mustNotInsert(db, schema, "03_change_type", "users", { username: "alice" }, "unique_violation");
        await mustInsert(db, schema, "03_change_type", "users", { username: "bob" });
      },
    },
    {
      name: "changing column type preserves any comments on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "username", type: "text", comment: "the name of the user" },
                ],
              },
            },
          ],
        },
        {
          name: "02_change_type",
          operations: [{ alter_column: { table: "users", column: "username", type: "varchar(255)", up: "username", down: "username" } }],
        },
      ],
      afterStart: async () => {
        // Left out: ColumnMustHaveComment on pgroll's temporary column (migrations.TemporaryName("username")), a pgroll-internal name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await columnMustHaveComment(db, schema, "users", "username", "the name of the user");
      },
    },
    {
      name: "can change the type of a column on a table with a case-sensitive name",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "Users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
        {
          name: "02_change_type",
          operations: [{ alter_column: { table: "Users", column: "name", type: "text", up: "name", down: "name" } }],
        },
      ],
      afterStart: async () => {
        // Left out: ColumnMustHaveType on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll-internal name.
      },
      afterRollback: async (db, schema) => {
        await tableMustBeCleanedUp(db, schema, "Users", "name");
      },
      afterComplete: async (db, schema) => {
        await columnMustHaveType(db, schema, "Users", "name", "text");
      },
    },
  ]);
});

/** pgroll's TestChangeTypeInMultiOperationMigrations, translated. */
describe("change type in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, change type",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(3)", nullable: true },
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
              alter_column: {
                table: "products",
                column: "name",
                type: "text",
                up: "name",
                down: "CASE WHEN LENGTH(name) > 3 THEN 'xxx' ELSE name END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustHaveType on pgroll's temporary column (migrations.TemporaryName("name")) of the not yet renamed table, a pgroll-internal name.
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", name: "apple" });
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "abc" });
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apple" },
          { id: 2, name: "abc" },
        ]);
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "xxx" },
          { id: 2, name: "abc" },
        ]);
      },
      afterRollback: async (db, schema) => {
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        await columnMustHaveType(db, schema, "products", "name", "text");
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", name: "carrot" });
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "xxx" },
          { id: 2, name: "abc" },
          { id: 3, name: "carrot" },
        ]);
        await tableMustBeCleanedUp(db, schema, "products", "name");
      },
    },
    {
      name: "rename table, rename column, change type",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "items",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "name", type: "varchar(3)", nullable: true },
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
              alter_column: {
                table: "products",
                column: "item_name",
                type: "text",
                up: "item_name",
                down: "CASE WHEN LENGTH(item_name) > 3 THEN 'xxx' ELSE item_name END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustHaveType on pgroll's temporary column (migrations.TemporaryName("item_name")) of the not yet renamed table, a pgroll-internal name.
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", item_name: "apple" });
        await mustInsert(db, schema, "01_create_table", "items", { id: "2", name: "abc" });
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "apple" },
          { id: 2, item_name: "abc" },
        ]);
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "xxx" },
          { id: 2, name: "abc" },
        ]);
      },
      afterRollback: async (db, schema) => {
        await tableMustBeCleanedUp(db, schema, "items", "name");
        await tableMustBeCleanedUp(db, schema, "items", "item_name");
      },
      afterComplete: async (db, schema) => {
        await columnMustHaveType(db, schema, "products", "item_name", "text");
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", item_name: "carrot" });
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "xxx" },
          { id: 2, item_name: "abc" },
          { id: 3, item_name: "carrot" },
        ]);
        await tableMustBeCleanedUp(db, schema, "products", "name");
        await tableMustBeCleanedUp(db, schema, "products", "item_name");
      },
    },
  ]);
});

/** pgroll's TestChangeColumnTypeValidation, translated. */
describe("change type validation (pgroll's operation tests)", () => {
  const createTableMigration = {
    name: "01_add_table",
    operations: [
      {
        create_table: {
          name: "reviews",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "username", type: "text" },
            { name: "product", type: "text" },
            { name: "rating", type: "text" },
          ],
        },
      },
    ],
  };
  executeTests([
    {
      name: "up SQL is mandatory",
      migrations: [
        createTableMigration,
        { name: "02_change_type", operations: [{ alter_column: { table: "reviews", column: "rating", type: "integer", down: "CAST (rating AS text)" } }] },
      ],
      wantStartErr: /alter_column\.up: required/,
    },
    {
      name: "down SQL is mandatory",
      migrations: [
        createTableMigration,
        { name: "02_change_type", operations: [{ alter_column: { table: "reviews", column: "rating", type: "integer", up: "CAST (rating AS integer)" } }] },
      ],
      wantStartErr: /alter_column\.down: required/,
    },
  ]);
});
