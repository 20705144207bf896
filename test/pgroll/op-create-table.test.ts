import { describe, expect } from "vitest";
import {
  checkConstraintMustExist,
  columnMustBePK,
  columnMustHaveComment,
  excludeConstraintMustExist,
  executeTests,
  mustDelete,
  mustInsert,
  mustNotDelete,
  mustNotInsert,
  mustSelect,
  notInheritableCheckConstraintMustExist,
  primaryKeyConstraintMustExist,
  tableForeignKeyMustExist,
  tableMustHaveComment,
  tableMustNotExist,
  uniqueConstraintMustExist,
  validatedForeignKeyMustExist,
  viewMustExist,
} from "./execute-tests.js";

/** The users table several of pgroll's create_table cases start from. */
const usersTable = {
  name: "users",
  columns: [
    { name: "id", type: "serial", pk: true },
    { name: "name", type: "varchar(255)", unique: true },
  ],
};

/** pgroll's pkg/migrations/op_create_table_test.go (TestCreateTable), translated. */
describe("create_table (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "create table",
      migrations: [
        {
          name: "01_create_table",
          version_schema: "create_table",
          operations: [{ create_table: usersTable }],
        },
      ],
      afterStart: async (db, schema) => {
        // The new view exists in the new version schema.
        await viewMustExist(db, schema, "create_table", "users");
        // Data can be inserted into the new view.
        await mustInsert(db, schema, "create_table", "users", { name: "Alice" });
        // Data can be retrieved from the new view.
        expect(await mustSelect(db, schema, "create_table", "users")).toEqual([{ id: 1, name: "Alice" }]);
      },
      afterRollback: async (db, schema) => {
        // The underlying table has been dropped.
        await tableMustNotExist(db, schema, "users");
      },
      afterComplete: async (db, schema) => {
        // The view still exists
        await viewMustExist(db, schema, "create_table", "users");
        // Data can be inserted into the new view.
        await mustInsert(db, schema, "create_table", "users", { name: "Alice" });
        // Data can be retrieved from the new view.
        expect(await mustSelect(db, schema, "create_table", "users")).toEqual([{ id: 1, name: "Alice" }]);
      },
    },
    {
      name: "create table with composite key",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "rand", type: "varchar(255)", pk: true },
                  { name: "name", type: "varchar(255)", unique: true },
                ],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The new view exists in the new version schema.
        await viewMustExist(db, schema, "01_create_table", "users");
        // Data can be inserted into the new view.
        await mustInsert(db, schema, "01_create_table", "users", { rand: "123", name: "Alice" });
        // New record with same keys cannot be inserted.
        await mustNotInsert(db, schema, "01_create_table", "users", { id: "1", rand: "123", name: "Malice" }, "unique_violation");
        // Data can be retrieved from the new view.
        expect(await mustSelect(db, schema, "01_create_table", "users")).toEqual([{ id: 1, rand: "123", name: "Alice" }]);
      },
      afterRollback: async (db, schema) => {
        // The underlying table has been dropped.
        await tableMustNotExist(db, schema, "users");
      },
      afterComplete: async (db, schema) => {
        // The view still exists
        await viewMustExist(db, schema, "01_create_table", "users");
        // The columns are still primary keys.
        await columnMustBePK(db, schema, "users", "id");
        await columnMustBePK(db, schema, "users", "rand");
        // Data can be inserted into the new view.
        await mustInsert(db, schema, "01_create_table", "users", { rand: "123", name: "Alice" });
        // New record with same keys cannot be inserted.
        await mustNotInsert(db, schema, "01_create_table", "users", { id: "1", rand: "123", name: "Malice" }, "unique_violation");
        // Data can be retrieved from the new view.
        expect(await mustSelect(db, schema, "01_create_table", "users")).toEqual([{ id: 1, rand: "123", name: "Alice" }]);
      },
    },
    {
      name: "create table with foreign key with default ON DELETE NO ACTION",
      migrations: [
        { name: "01_create_table", operations: [{ create_table: usersTable }] },
        {
          name: "02_create_table_with_fk",
          operations: [
            {
              create_table: {
                name: "orders",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "user_id", type: "integer", references: { column: "id", name: "fk_users_id", table: "users" } },
                  { name: "quantity", type: "integer" },
                ],
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
        await mustInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "1", quantity: "100" });
        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "2", quantity: "200" }, "foreign_key_violation");
        // Deleting a row in the referenced table fails as a referencing row exists.
        await mustNotDelete(db, schema, "02_create_table_with_fk", "users", { name: "alice" }, "foreign_key_violation");
      },
      afterRollback: async () => {
        // The table has been dropped, so the foreign key constraint is gone.
      },
      afterComplete: async (db, schema) => {
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id");
        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "02_create_table_with_fk", "users", { name: "bob" });
        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "2", quantity: "200" });
        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "3", quantity: "300" }, "foreign_key_violation");
        // Deleting a row in the referenced table fails as a referencing row exists.
        await mustNotDelete(db, schema, "02_create_table_with_fk", "users", { name: "bob" }, "foreign_key_violation");
      },
    },
    {
      name: "create table with foreign key with ON DELETE CASCADE",
      migrations: [
        { name: "01_create_table", operations: [{ create_table: usersTable }] },
        {
          name: "02_create_table_with_fk",
          operations: [
            {
              create_table: {
                name: "orders",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "user_id", type: "integer", references: { column: "id", name: "fk_users_id", table: "users", on_delete: "CASCADE" } },
                  { name: "quantity", type: "integer" },
                ],
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
        await mustInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "1", quantity: "100" });
        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "2", quantity: "200" }, "foreign_key_violation");
        // Deleting a row in the referenced table succeeds because of the ON DELETE CASCADE.
        await mustDelete(db, schema, "02_create_table_with_fk", "users", { name: "alice" });
        // The row in the referencing table has been deleted by the ON DELETE CASCADE.
        expect(await mustSelect(db, schema, "02_create_table_with_fk", "orders")).toEqual([]);
      },
      afterRollback: async () => {
        // The table has been dropped, so the foreign key constraint is gone.
      },
      afterComplete: async (db, schema) => {
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id", "CASCADE", "NO ACTION");
        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "02_create_table_with_fk", "users", { name: "bob" });
        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "2", quantity: "200" });
        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "3", quantity: "300" }, "foreign_key_violation");
        // Deleting a row in the referenced table succeeds because of the ON DELETE CASCADE.
        await mustDelete(db, schema, "02_create_table_with_fk", "users", { name: "bob" });
        // The row in the referencing table has been deleted by the ON DELETE CASCADE.
        expect(await mustSelect(db, schema, "02_create_table_with_fk", "orders")).toEqual([]);
      },
    },
    {
      name: "create table with foreign key with default ON UPDATE and ON UPDATE CASADE",
      migrations: [
        { name: "01_create_table", operations: [{ create_table: usersTable }] },
        {
          name: "02_create_table_with_fk",
          operations: [
            {
              create_table: {
                name: "orders",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  {
                    name: "user_id",
                    type: "integer",
                    references: { column: "id", name: "fk_users_id", table: "users", on_delete: "CASCADE", on_update: "CASCADE" },
                  },
                  { name: "quantity", type: "integer" },
                ],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The foreign key constraint exists on the new table.
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id", "CASCADE", "CASCADE");
        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "01_create_table", "users", { name: "alice" });
        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "1", quantity: "100" });
        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "2", quantity: "200" }, "foreign_key_violation");
        // Deleting a row in the referenced table succeeds and cascades.
        await mustDelete(db, schema, "02_create_table_with_fk", "users", { name: "alice" });
        expect(await mustSelect(db, schema, "02_create_table_with_fk", "users")).toEqual([]);
      },
      afterRollback: async () => {
        // The table has been dropped, so the foreign key constraint is gone.
      },
      afterComplete: async (db, schema) => {
        await validatedForeignKeyMustExist(db, schema, "orders", "fk_users_id", "CASCADE", "CASCADE");
        // Inserting a row into the referenced table succeeds.
        await mustInsert(db, schema, "02_create_table_with_fk", "users", { name: "bob" });
        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "2", quantity: "200" });
        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_create_table_with_fk", "orders", { user_id: "3", quantity: "300" }, "foreign_key_violation");
        // Deleting a row in the referenced table succeeds and cascades.
        await mustDelete(db, schema, "02_create_table_with_fk", "users", { name: "bob" });
        expect(await mustSelect(db, schema, "02_create_table_with_fk", "users")).toEqual([]);
      },
    },
    {
      name: "create table with a check constraint on column",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", check: { name: "check_name_length", constraint: "length(name) > 3", no_inherit: true } },
                ],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The check constraint exists on the new table.
        await notInheritableCheckConstraintMustExist(db, schema, "users", "check_name_length");
        // Inserting a row into the table succeeds when the check constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { name: "alice" });
        // Inserting a row into the table fails when the check constraint is not satisfied.
        await mustNotInsert(db, schema, "01_create_table", "users", { name: "b" }, "check_violation");
      },
      afterRollback: async () => {
        // The table has been dropped, so the check constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The check constraint exists on the new table.
        await notInheritableCheckConstraintMustExist(db, schema, "users", "check_name_length");
        // Inserting a row into the table succeeds when the check constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { name: "bobby" });
        // Inserting a row into the table fails when the check constraint is not satisfied.
        await mustNotInsert(db, schema, "01_create_table", "users", { name: "c" }, "check_violation");
      },
    },
    {
      name: "create table with a table check constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text" },
                ],
                constraints: [{ name: "check_name_length", type: "check", check: "length(name) > 3" }],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The check constraint exists on the new table.
        await checkConstraintMustExist(db, schema, "users", "check_name_length");
        // Inserting a row into the table succeeds when the check constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { name: "alice" });
        // Inserting a row into the table fails when the check constraint is not satisfied.
        await mustNotInsert(db, schema, "01_create_table", "users", { name: "b" }, "check_violation");
      },
      afterRollback: async () => {
        // The table has been dropped, so the check constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The check constraint exists on the new table.
        await checkConstraintMustExist(db, schema, "users", "check_name_length");
        // Inserting a row into the table succeeds when the check constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { name: "bobby" });
        // Inserting a row into the table fails when the check constraint is not satisfied.
        await mustNotInsert(db, schema, "01_create_table", "users", { name: "c" }, "check_violation");
      },
    },
    {
      name: "create table with column and table comments",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                comment: "the users table",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "varchar(255)", unique: true, comment: "the username" },
                ],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The comment has been added to the underlying table.
        await tableMustHaveComment(db, schema, "users", "the users table");
        // The comment has been added to the underlying column.
        await columnMustHaveComment(db, schema, "users", "name", "the username");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The comment is still present on the underlying table.
        await tableMustHaveComment(db, schema, "users", "the users table");
        // The comment is still present on the underlying column.
        await columnMustHaveComment(db, schema, "users", "name", "the username");
      },
    },
    {
      name: "create table with a unique table constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text" },
                ],
                constraints: [{ name: "unique_name", type: "unique", columns: ["name"] }],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The unique constraint exists on the new table.
        await uniqueConstraintMustExist(db, schema, "users", "unique_name");
        // Inserting a row into the table succeeds when the unique constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { name: "alice" });
        // Inserting a row into the table fails when the unique constraint is not satisfied.
        await mustNotInsert(db, schema, "01_create_table", "users", { name: "alice" }, "unique_violation");
      },
      afterRollback: async () => {
        // The table has been dropped, so the unique constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The check constraint exists on the new table.
        await uniqueConstraintMustExist(db, schema, "users", "unique_name");
        // Inserting a row into the table succeeds when the unique constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { name: "bobby" });
        // Inserting a row into the table fails when the unique constraint is not satisfied.
        await mustNotInsert(db, schema, "01_create_table", "users", { name: "bobby" }, "unique_violation");
      },
    },
    {
      name: "create table with composite primary key and migrate it to test backfilling",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "uuid", pk: true },
                  { name: "name", type: "text", pk: true },
                  { name: "city", type: "text", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_constraint",
          operations: [
            {
              create_constraint: {
                name: "nowhere_forbidden",
                table: "users",
                columns: ["city"],
                type: "check",
                check: "city != 'nowhere'",
                up: { city: "'chicago'" },
                down: { city: "city" },
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row into the table succeeds when the unique constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { id: "00000000-0000-0000-0000-000000000001", name: "alice", city: "new york" });
        await mustInsert(db, schema, "01_create_table", "users", { id: "00000000-0000-0000-0000-000000000002", name: "bob", city: "new york" });
        await mustInsert(db, schema, "01_create_table", "users", { id: "00000000-0000-0000-0000-000000000003", name: "carol" });
        // pgroll compares the uuids as their text form (uuid.MarshalText); node-postgres returns that text.
        expect(await mustSelect(db, schema, "01_create_table", "users")).toEqual([
          { id: "00000000-0000-0000-0000-000000000001", name: "alice", city: "new york" },
          { id: "00000000-0000-0000-0000-000000000002", name: "bob", city: "new york" },
          { id: "00000000-0000-0000-0000-000000000003", name: "carol", city: null },
        ]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        expect(await mustSelect(db, schema, "02_add_constraint", "users")).toEqual([
          { id: "00000000-0000-0000-0000-000000000001", name: "alice", city: "chicago" },
          { id: "00000000-0000-0000-0000-000000000002", name: "bob", city: "chicago" },
          { id: "00000000-0000-0000-0000-000000000003", name: "carol", city: "chicago" },
        ]);
      },
    },
    {
      name: "create table with primary key constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "int" },
                  { name: "name", type: "text" },
                ],
                constraints: [{ name: "pk_users", type: "primary_key", columns: ["id"] }],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The PK constraint exists on the new table.
        await primaryKeyConstraintMustExist(db, schema, "users", "pk_users");
        // Inserting a row into the table succeeds when the PK constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { id: "1", name: "alice" });
        // Inserting a row into the table fails when the PK constraint is not satisfied.
        await mustNotInsert(db, schema, "01_create_table", "users", { id: "1", name: "b" }, "unique_violation");
      },
      afterRollback: async () => {
        // The table has been dropped, so the PK constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The PK constraint exists on the new table.
        await primaryKeyConstraintMustExist(db, schema, "users", "pk_users");
        // Inserting a row into the table succeeds when the PK constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { id: "2", name: "bobby" });
        // Inserting a row into the table fails when the PK constraint is not satisfied.
        await mustNotInsert(db, schema, "01_create_table", "users", { id: "2", name: "c" }, "unique_violation");
      },
    },
    {
      name: "create table with foreign key constraint",
      migrations: [
        {
          name: "01_create_referenced_table",
          operations: [
            {
              create_table: {
                name: "owners",
                columns: [
                  { name: "id", type: "int" },
                  { name: "name", type: "text" },
                  { name: "city", type: "text" },
                ],
                constraints: [{ name: "pk_owners", type: "primary_key", columns: ["id"] }],
              },
            },
          ],
        },
        {
          name: "02_create_referencing_table",
          operations: [
            {
              create_table: {
                name: "pets",
                columns: [
                  { name: "id", type: "int" },
                  { name: "owner_id", type: "int" },
                  { name: "name", type: "text" },
                ],
                constraints: [
                  {
                    name: "fk_owners",
                    type: "foreign_key",
                    columns: ["owner_id"],
                    references: { table: "owners", columns: ["id"], on_delete: "CASCADE" },
                  },
                ],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Table level FK exists on the new table.
        await tableForeignKeyMustExist(db, schema, "pets", "fk_owners", false, false);
        await mustInsert(db, schema, "01_create_referenced_table", "owners", { id: "1", name: "alice", city: "new york" });
        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_create_referencing_table", "pets", { id: "1", owner_id: "1", name: "good boy" });
        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(db, schema, "02_create_referencing_table", "pets", { id: "1", owner_id: "0", name: "spider pig" }, "foreign_key_violation");
      },
      afterRollback: async () => {
        // The table has been dropped, so the FK constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // Table level FK exists on the new table.
        await tableForeignKeyMustExist(db, schema, "pets", "fk_owners", false, false);
        // Inserting a row into the table succeeds when the FK constraint is satisfied.
        await mustInsert(db, schema, "02_create_referencing_table", "pets", { id: "1", owner_id: "1", name: "cutie pie" });
        // Inserting a row into the table fails when the FK constraint is not satisfied.
        await mustNotInsert(db, schema, "02_create_referencing_table", "pets", { id: "2", owner_id: "0", name: "bobby" }, "foreign_key_violation");
        // Deleting the row from the referenced table cascades to the referencing table.
        await mustDelete(db, schema, "02_create_referencing_table", "owners", { id: "1" });
        expect(await mustSelect(db, schema, "02_create_referencing_table", "pets")).toEqual([]);
      },
    },
    {
      name: "create table with multi-column foreign key constraint",
      minPgMajorVersion: 15,
      migrations: [
        {
          name: "01_create_referenced_table",
          operations: [
            {
              create_table: {
                name: "owners",
                columns: [
                  { name: "id", type: "int" },
                  { name: "name", type: "text" },
                  { name: "city", type: "text" },
                ],
                constraints: [{ name: "pk_owners", type: "primary_key", columns: ["id", "city"] }],
              },
            },
          ],
        },
        {
          name: "02_create_referencing_table",
          operations: [
            {
              create_table: {
                name: "pets",
                columns: [
                  { name: "id", type: "int", pk: true },
                  { name: "owner_id", nullable: true, type: "int" },
                  { name: "owner_city_id", type: "text", default: "'chicago'" },
                  { name: "name", type: "text" },
                ],
                constraints: [
                  {
                    name: "fk_owners",
                    type: "foreign_key",
                    columns: ["owner_id", "owner_city_id"],
                    deferrable: true,
                    references: {
                      table: "owners",
                      columns: ["id", "city"],
                      on_delete: "SET DEFAULT",
                      on_delete_set_columns: ["owner_id", "owner_city_id"],
                    },
                  },
                ],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Table level FK exists on the new table.
        await tableForeignKeyMustExist(db, schema, "pets", "fk_owners", true, false);
        await mustInsert(db, schema, "01_create_referenced_table", "owners", { id: "1", name: "alice", city: "new york" });
        // Inserting a row into the referencing table succeeds as the referenced row exists.
        await mustInsert(db, schema, "02_create_referencing_table", "pets", { id: "1", owner_id: "1", owner_city_id: "new york", name: "good boy" });
        // Inserting a row into the referencing table fails as the referenced row does not exist.
        await mustNotInsert(
          db,
          schema,
          "02_create_referencing_table",
          "pets",
          { id: "2", owner_id: "0", owner_city_id: "sacramento", name: "spider pig" },
          "foreign_key_violation",
        );
      },
      afterRollback: async () => {
        // The table has been dropped, so the FK constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // Table level FK exists on the new table.
        await tableForeignKeyMustExist(db, schema, "pets", "fk_owners", true, false);
        // Inserting a row into the table succeeds when the FK constraint is satisfied.
        await mustInsert(db, schema, "02_create_referencing_table", "pets", { id: "1", owner_id: "1", owner_city_id: "new york", name: "cutie pie" });
        // Inserting a row into the table fails when the FK constraint is not satisfied.
        await mustNotInsert(
          db,
          schema,
          "02_create_referencing_table",
          "pets",
          { id: "2", owner_id: "0", owner_city_id: "sacramento", name: "bobby" },
          "foreign_key_violation",
        );
        // Deleting the row from the referenced table cascades to the referencing table.
        await mustDelete(db, schema, "02_create_referencing_table", "owners", { id: "1" });
        // deleting owner does not cascade to pets and default values are set.
        expect(await mustSelect(db, schema, "02_create_referencing_table", "pets")).toEqual([
          { id: 1, owner_id: null, owner_city_id: "chicago", name: "cutie pie" },
        ]);
      },
    },
    {
      name: "create table with a simple exclude constraint mimicking unique constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "int" },
                  { name: "name", type: "text" },
                ],
                constraints: [{ name: "exclude_id", type: "exclude", exclude: { index_method: "btree", elements: "id WITH =" } }],
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The exclusion constraint exists on the new table.
        await excludeConstraintMustExist(db, schema, "users", "exclude_id");
        // Inserting a row into the table succeeds when the exclude constraint is satisfied.
        // This is the first row, so the constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { id: "1", name: "alice" });
        // Inserting a row into the table fails because there is already a row with id 1.
        await mustNotInsert(db, schema, "01_create_table", "users", { id: "1", name: "b" }, "exclusion_violation");
      },
      afterRollback: async () => {
        // The table has been dropped, so the constraint is gone.
      },
      afterComplete: async (db, schema) => {
        // The exclusion constraint exists on the new table.
        await excludeConstraintMustExist(db, schema, "users", "exclude_id");
        // Inserting a row into the table succeeds when the exclude constraint is satisfied.
        // This is the first row, so the constraint is satisfied.
        await mustInsert(db, schema, "01_create_table", "users", { id: "1", name: "alice" });
        // Inserting a row into the table fails because there is already a row with id 1.
        await mustNotInsert(db, schema, "01_create_table", "users", { id: "1", name: "b" }, "exclusion_violation");
      },
    },
    {
      // Testcase for https://github.com/xataio/pgroll/issues/965
      name: "create table with a generated column doesn't break subsequent migrations",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "int" },
                  { name: "name", type: "text" },
                  { name: "loud_name", type: "text", generated: { expression: "UPPER(name)" } },
                ],
              },
            },
          ],
        },
        { name: "02_no_op", operations: [{ sql: { up: "SELECT 1" } }] },
      ],
      afterStart: async (db, schema) => {
        // can insert into users table through the old schema
        await mustInsert(db, schema, "01_create_table", "users", { id: "1", name: "alice" });
        // can insert into users table through the new schema
        await mustInsert(db, schema, "02_no_op", "users", { id: "2", name: "bob" });
        // the generated column has the expected values
        expect(await mustSelect(db, schema, "01_create_table", "users")).toEqual([
          { id: 1, name: "alice", loud_name: "ALICE" },
          { id: 2, name: "bob", loud_name: "BOB" },
        ]);
      },
      afterRollback: async () => {
        // no-op
      },
      afterComplete: async (db, schema) => {
        // can insert into users table through the new schema
        await mustInsert(db, schema, "02_no_op", "users", { id: "3", name: "carl" });
        // the generated column has the expected value
        expect(await mustSelect(db, schema, "02_no_op", "users")).toEqual([
          { id: 1, name: "alice", loud_name: "ALICE" },
          { id: 2, name: "bob", loud_name: "BOB" },
          { id: 3, name: "carl", loud_name: "CARL" },
        ]);
      },
    },
  ]);
});

/** pgroll's TestCreateTableValidation, translated. */
describe("create_table validation (pgroll's operation tests)", () => {
  const invalidName = "x".repeat(64);
  executeTests([
    {
      name: "foreign key validity",
      migrations: [
        { name: "01_create_table", operations: [{ create_table: usersTable }] },
        {
          name: "02_create_table_with_fk",
          operations: [
            {
              create_table: {
                name: "orders",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "user_id", type: "integer", references: { name: "fk_users_doesntexist", table: "users", column: "doesntexist" } },
                  { name: "quantity", type: "integer" },
                ],
              },
            },
          ],
        },
      ],
      // pgroll: ColumnReferenceError{orders.user_id, ColumnDoesNotExistError{users.doesntexist}}
      wantStartErr: /column "doesntexist" referenced in foreign key constraint does not exist/,
    },
    {
      name: "invalid name",
      migrations: [
        {
          name: "01_create_table",
          operations: [{ create_table: { name: invalidName, columns: usersTable.columns } }],
        },
      ],
      // pgroll: InvalidIdentifierLengthError{invalidName}
      wantStartErr: /is 64 bytes long; PostgreSQL identifiers are at most 63 bytes/,
    },
    {
      name: "column definition missing a name",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "orders",
                // pgroll's Column.name has no omitempty: a column without a name is `"name": ""`.
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "", type: "varchar(255)" },
                ],
              },
            },
          ],
        },
      ],
      // pgroll: ColumnIsInvalidError{Table: "orders", Name: ""}
      wantStartErr: /columns\[1\]\.name: must not be empty/,
    },
    {
      name: "column definition missing a type",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "orders",
                // pgroll's Column.type has no omitempty: a column without a type is `"type": ""`.
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "" },
                ],
              },
            },
          ],
        },
      ],
      // pgroll: ColumnIsInvalidError{Table: "orders", Name: "name"}
      wantStartErr: /columns\[1\]\.type: must not be empty/,
    },
    {
      name: "invalid column name",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "table1",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: invalidName, type: "varchar(255)", unique: true },
                ],
              },
            },
          ],
        },
      ],
      // pgroll: InvalidIdentifierLengthError{invalidName}
      wantStartErr: /is 64 bytes long; PostgreSQL identifiers are at most 63 bytes/,
    },
    {
      name: "missing column list in unique constraint",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "table1",
                columns: usersTable.columns,
                constraints: [{ name: "unique_name", type: "unique" }],
              },
            },
          ],
        },
      ],
      // pgroll: FieldRequiredError{Name: "columns"}
      wantStartErr: /constraints\[0\]\.columns: a unique constraint must list at least one column/,
    },
    {
      name: "check constraint missing expression",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "table1",
                columns: usersTable.columns,
                constraints: [{ name: "check_name", type: "check" }],
              },
            },
          ],
        },
      ],
      // pgroll: FieldRequiredError{Name: "check"}
      wantStartErr: /constraints\[0\]\.check: a check constraint needs its check expression/,
    },
    {
      name: "multiple primary key definitions",
      migrations: [
        {
          name: "01_create_table",
          operations: [
            {
              create_table: {
                name: "table1",
                columns: usersTable.columns,
                constraints: [{ name: "my_pk", type: "primary_key", columns: ["id"] }],
              },
            },
          ],
        },
      ],
      // pgroll: PrimaryKeysAreAlreadySetError{Table: "table1"}
      wantStartErr: /the primary key is already set by pk: true on id/,
    },
  ]);
});

/** pgroll's TestCreateTableValidationInMultiOperationMigrations, translated. */
describe("create_table validation in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "create table with a name matching a name used in a previous operation",
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
            { create_table: { name: "products", columns: [{ name: "id", type: "serial", pk: true }] } },
          ],
        },
      ],
      // pgroll: TableAlreadyExistsError{Name: "products"}
      wantStartErr: /table "products" already exists/,
    },
  ]);
});
