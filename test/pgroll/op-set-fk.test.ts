import { describe, expect } from "vitest";
import {
  executeTests,
  mustDelete,
  mustInsert,
  mustNotDelete,
  mustNotInsert,
  mustSelect,
  notValidatedForeignKeyMustExist,
  tableMustBeCleanedUp,
  uniqueConstraintMustExist,
  validatedForeignKeyMustExist,
  columnMustHaveComment,
  type PgrollMigration,
} from "./execute-tests.js";

const usersTable = {
  create_table: {
    name: "users",
    columns: [
      { name: "id", type: "serial", pk: true },
      { name: "name", type: "text" },
    ],
  },
};

const up = "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id ELSE NULL END";

/** pgroll's pkg/migrations/op_set_fk_test.go (TestSetForeignKey), translated. */
describe("alter_column references (pgroll's TestSetForeignKey)", () => {
  executeTests([
    {
      name: "add foreign key constraint",
      migrations: [
        {
          name: "01_add_tables",
          version_schema: "add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          version_schema: "add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // (pgroll's ColumnMustExist on its temporary column name for user_id: a pgroll internal, left out.)

        // A temporary FK constraint has been created on the temporary column
        await notValidatedForeignKeyMustExist(db, schema, "posts", "fk_users_id");

        // Inserting some data into the `users` table works.
        await mustInsert(db, schema, "add_fk_constraint", "users", { name: "alice" });
        await mustInsert(db, schema, "add_fk_constraint", "users", { name: "bob" });

        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "add_fk_constraint", "posts", { title: "post by alice", user_id: "1" });

        // Inserting data into the new `posts` view with an invalid user reference fails.
        await mustNotInsert(db, schema, "add_fk_constraint", "posts", { title: "post by unknown user", user_id: "3" }, "foreign_key_violation");

        // The post that was inserted successfully has been backfilled into the old view.
        let rows = await mustSelect(db, schema, "add_tables", "posts");
        expect(rows).toEqual([{ id: 1, title: "post by alice", user_id: 1 }]);

        // Inserting data into the old `posts` view with a valid user reference works.
        await mustInsert(db, schema, "add_tables", "posts", { title: "post by bob", user_id: "2" });

        // Inserting data into the old `posts` view with an invalid user reference also works.
        await mustInsert(db, schema, "add_tables", "posts", { title: "post by unknown user", user_id: "3" });

        // The post that was inserted successfully has been backfilled into the new view.
        // The post by an unknown user has been backfilled with a NULL user_id.
        rows = await mustSelect(db, schema, "add_fk_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice", user_id: 1 },
          { id: 3, title: "post by bob", user_id: 2 },
          { id: 4, title: "post by unknown user", user_id: null },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "posts", "user_id");
      },
      afterComplete: async (db, schema) => {
        // (pgroll's ColumnMustNotExist on its temporary column name for user_id: a pgroll internal, left out.)

        // A validated foreign key constraint exists on the underlying table.
        await validatedForeignKeyMustExist(db, schema, "posts", "fk_users_id");

        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "add_fk_constraint", "posts", { title: "another post by alice", user_id: "1" });

        // Inserting data into the new `posts` view with an invalid user reference fails.
        await mustNotInsert(db, schema, "add_fk_constraint", "posts", { title: "post by unknown user", user_id: "3" }, "foreign_key_violation");

        // The data in the new `posts` view is as expected.
        const rows = await mustSelect(db, schema, "add_fk_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice", user_id: 1 },
          { id: 3, title: "post by bob", user_id: 2 },
          { id: 4, title: "post by unknown user", user_id: null },
          { id: 5, title: "another post by alice", user_id: 1 },
        ]);

        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "posts", "user_id");
      },
    },
    {
      name: "on delete NO ACTION is the default behavior when removing referenced rows",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting some data into the `users` table works.
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "alice" });
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "bob" });

        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by alice", user_id: "1" });

        // Attempting to delete a row from the `users` table that is referenced
        // by a row in the `posts` table fails.
        await mustNotDelete(db, schema, "02_add_fk_constraint", "users", { name: "alice" }, "foreign_key_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Attempting to delete a row from the `users` table that is referenced
        // by a row in the `posts` table fails.
        await mustNotDelete(db, schema, "02_add_fk_constraint", "users", { name: "alice" }, "foreign_key_violation");
      },
    },
    {
      name: "on delete CASCADE allows referenced rows to be removed",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id", on_delete: "CASCADE" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting some data into the `users` table works.
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "alice" });
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "bob" });

        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by alice", user_id: "1" });

        // Attempting to delete a row from the `users` table that is referenced
        // by a row in the `posts` table succeeds.
        await mustDelete(db, schema, "02_add_fk_constraint", "users", { name: "alice" });

        // The row in the `posts` table that referenced the deleted row in the
        // `users` table has been removed.
        const rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by bob", user_id: "2" });

        // Attempting to delete a row from the `users` table that is referenced
        // by a row in the `posts` table succeeds.
        await mustDelete(db, schema, "02_add_fk_constraint", "users", { name: "bob" });

        // The row in the `posts` table that referenced the deleted row in the
        // `users` table has been removed.
        const rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([]);
      },
    },
    {
      name: "on delete SET NULL allows referenced rows to be removed",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id", on_delete: "SET NULL" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting some data into the `users` table works.
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "alice" });
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "bob" });

        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by alice", user_id: "1" });

        // Attempting to delete a row from the `users` table that is referenced
        // by a row in the `posts` table succeeds.
        await mustDelete(db, schema, "02_add_fk_constraint", "users", { name: "alice" });

        // The user_id of the deleted row in the `posts` table is set to NULL.
        const rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([{ id: 1, title: "post by alice", user_id: null }]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by bob", user_id: "2" });

        // Attempting to delete a row from the `users` table that is referenced
        // by a row in the `posts` table succeeds.
        await mustDelete(db, schema, "02_add_fk_constraint", "users", { name: "bob" });

        // The user_id of the deleted row in the `posts` table is set to NULL.
        const rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice", user_id: null },
          { id: 2, title: "post by bob", user_id: null },
        ]);
      },
    },
    {
      name: "on delete SET DEFAULT allows referenced rows to be removed",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", nullable: true, default: "3" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id", on_delete: "SET DEFAULT" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting some data into the `users` table works.
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "alice" });
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "bob" });
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "carl" });

        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by alice", user_id: "1" });

        // Attempting to delete a row from the `users` table that is referenced
        // by a row in the `posts` table succeeds.
        await mustDelete(db, schema, "02_add_fk_constraint", "users", { name: "alice" });

        // The user_id of the deleted row in the `posts` table is set to its default value.
        const rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([{ id: 1, title: "post by alice", user_id: 3 }]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by bob", user_id: "2" });

        // Attempting to delete a row from the `users` table that is referenced
        // by a row in the `posts` table succeeds.
        await mustDelete(db, schema, "02_add_fk_constraint", "users", { name: "bob" });

        // The user_id of the deleted row in the `posts` table is set to its default value.
        const rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice", user_id: 3 },
          { id: 2, title: "post by bob", user_id: 3 },
        ]);
      },
    },
    {
      name: "column defaults are preserved when adding a foreign key constraint",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", default: "1" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Set up the users table with a reference row
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "alice" });

        // A row can be inserted into the new version of the table.
        // The new row does not specify `user_id`, so the default value should be used.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by alice" });

        // The newly inserted row respects the default value of the `user_id` column.
        const rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([{ id: 1, title: "post by alice", user_id: 1 }]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // A row can be inserted into the new version of the table.
        // The new row does not specify `user_id`, so the default value should be used.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "another post by alice" });

        // The newly inserted row respects the default value of the `user_id` column.
        const rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice", user_id: 1 },
          { id: 2, title: "another post by alice", user_id: 1 },
        ]);
      },
    },
    {
      name: "existing FK constraints on a column are preserved when adding a foreign key constraint",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", default: "1" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id_1", table: "users", column: "id", on_delete: "CASCADE" },
                up,
                down: "user_id",
              },
            },
          ],
        },
        {
          name: "03_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id_2", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // (pgroll's ValidatedForeignKeyMustExistWithReferentialAction on migrations.DuplicationName("fk_users_id_1"),
        // its name for the duplicated constraint on its temporary column: a pgroll internal, left out.)
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the column
        await validatedForeignKeyMustExist(db, schema, "posts", "fk_users_id_1", "CASCADE", "NO ACTION");
      },
    },
    {
      name: "check constraints on a column are preserved when adding a foreign key constraint",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", check: { name: "title_length", constraint: "length(title) > 3" } },
                  { name: "user_id", type: "integer" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Set up the users table with a reference row
        await mustInsert(db, schema, "02_add_fk_constraint", "users", { name: "alice" });

        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "02_add_fk_constraint", "posts", { id: "1", user_id: "1", title: "a" }, "check_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "02_add_fk_constraint", "posts", { id: "2", user_id: "1", title: "b" }, "check_violation");
      },
    },
    {
      name: "not null is preserved when adding a foreign key constraint",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", nullable: true },
                  { name: "user_id", type: "integer" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that violates the NOT NULL constraint on `user_id` fails.
        await mustNotInsert(db, schema, "02_add_fk_constraint", "posts", { id: "1", title: "post by alice" }, "not_null_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the NOT NULL constraint on `user_id` fails.
        await mustNotInsert(db, schema, "02_add_fk_constraint", "posts", { id: "1", title: "post by alice" }, "not_null_violation");
      },
    },
    {
      name: "unique constraints are preserved when adding a foreign key constraint",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_unique",
          operations: [{ alter_column: { table: "posts", column: "user_id", unique: { name: "unique_user_id" }, up: "user_id", down: "user_id" } }],
        },
        {
          name: "03_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Set up the users table with a reference row
        await mustInsert(db, schema, "03_add_fk_constraint", "users", { name: "alice", id: "1" });

        // Inserting an initial row succeeds
        await mustInsert(db, schema, "03_add_fk_constraint", "posts", { title: "post by alice", user_id: "1" });

        // Inserting a row with a duplicate `user_id` fails.
        await mustNotInsert(db, schema, "03_add_fk_constraint", "posts", { title: "post by alice 2", user_id: "1" }, "unique_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The 'posts' table has a unique constraint defined on it
        await uniqueConstraintMustExist(db, schema, "posts", "unique_user_id");

        // Inserting a row with a duplicate `user_id` fails
        await mustNotInsert(db, schema, "03_add_fk_constraint", "posts", { title: "post by alice 3", user_id: "1" }, "unique_violation");

        // Set up the users table with another reference row
        await mustInsert(db, schema, "03_add_fk_constraint", "users", { name: "bob", id: "2" });

        // Inserting a row with a different `user_id` succeeds
        await mustInsert(db, schema, "03_add_fk_constraint", "posts", { title: "post by bob", user_id: "2" });
      },
    },
    {
      name: "comments are preserved when adding a foreign key constraint",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", comment: "the id of the author" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // (pgroll's ColumnMustHaveComment on migrations.TemporaryName("user_id"), its temporary column: a pgroll internal, left out.)
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The final column has a comment defined on it
        await columnMustHaveComment(db, schema, "posts", "user_id", "the id of the author");
      },
    },
    {
      name: "validate that foreign key name is unique",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            usersTable,
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                  { name: "user_id", type: "integer", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
        {
          name: "03_add_fk_constraint_again",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_id", table: "users", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      // pgroll: ConstraintAlreadyExistsError{Table: "posts", Constraint: "fk_users_id"}
      wantStartErr: /constraint "fk_users_id" already exists on table "posts"/,
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
  ]);
});

const supUp = "SELECT CASE WHEN EXISTS (SELECT 1 FROM suppliers WHERE suppliers.id = supplier_id) THEN supplier_id ELSE NULL END";

const createItemsAndSuppliers: PgrollMigration = {
  name: "01_create_tables",
  operations: [
    {
      create_table: {
        name: "items",
        columns: [
          { name: "id", type: "int", pk: true },
          { name: "name", type: "varchar(255)" },
          { name: "supplier_id", type: "int", nullable: true },
        ],
      },
    },
    {
      create_table: {
        name: "suppliers",
        columns: [
          { name: "id", type: "int", pk: true },
          { name: "name", type: "varchar(255)" },
        ],
      },
    },
  ],
};

/** pgroll's pkg/migrations/op_set_fk_test.go (TestSetForeignKeyInMultiOperationMigrations), translated. */
describe("alter_column references (pgroll's TestSetForeignKeyInMultiOperationMigrations)", () => {
  executeTests([
    {
      name: "rename referencing table, set fk",
      migrations: [
        createItemsAndSuppliers,
        {
          name: "02_multi_operation",
          operations: [
            { rename_table: { from: "items", to: "products" } },
            {
              alter_column: {
                table: "products",
                column: "supplier_id",
                references: { name: "fk_products_suppliers", table: "suppliers", column: "id" },
                up: supUp,
                down: "supplier_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the suppliers table
        await mustInsert(db, schema, "02_multi_operation", "suppliers", { id: "1", name: "supplier1" });

        // Can insert a row into the products table that meets the FK constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", name: "apples", supplier_id: "1" });

        // Can't insert a row into the products table that violates the FK constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "2", name: "bananas", supplier_id: "999" }, "foreign_key_violation");

        // Can insert a row into the old schema that violates the FK constraint
        await mustInsert(db, schema, "01_create_tables", "items", { id: "2", name: "bananas", supplier_id: "999" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: null },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_tables", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: 999 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the products table that meets the FK constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", name: "carrots", supplier_id: "1" });

        // Can't insert a row into the products table that violates the FK constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "4", name: "durian", supplier_id: "999" }, "foreign_key_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: null },
          { id: 3, name: "carrots", supplier_id: 1 },
        ]);
      },
    },
    {
      name: "rename referencing table, rename referencing column, set fk",
      migrations: [
        createItemsAndSuppliers,
        {
          name: "02_multi_operation",
          operations: [
            { rename_table: { from: "items", to: "products" } },
            { rename_column: { table: "products", from: "supplier_id", to: "sup_id" } },
            {
              alter_column: {
                table: "products",
                column: "sup_id",
                references: { name: "fk_products_suppliers", table: "suppliers", column: "id" },
                up: "SELECT CASE WHEN EXISTS (SELECT 1 FROM suppliers WHERE suppliers.id = sup_id) THEN sup_id ELSE NULL END",
                down: "sup_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the suppliers table
        await mustInsert(db, schema, "02_multi_operation", "suppliers", { id: "1", name: "supplier1" });

        // Can insert a row into the products table that meets the FK constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", name: "apples", sup_id: "1" });

        // Can't insert a row into the products table that violates the FK constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "2", name: "bananas", sup_id: "999" }, "foreign_key_violation");

        // Can insert a row into the old schema that violates the FK constraint
        await mustInsert(db, schema, "01_create_tables", "items", { id: "2", name: "bananas", supplier_id: "999" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apples", sup_id: 1 },
          { id: 2, name: "bananas", sup_id: null },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_tables", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: 999 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the products table that meets the FK constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "3", name: "carrots", sup_id: "1" });

        // Can't insert a row into the products table that violates the FK constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "4", name: "durian", sup_id: "999" }, "foreign_key_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "apples", sup_id: 1 },
          { id: 2, name: "bananas", sup_id: null },
          { id: 3, name: "carrots", sup_id: 1 },
        ]);
      },
    },
    {
      name: "rename referenced table, set fk",
      migrations: [
        createItemsAndSuppliers,
        {
          name: "02_multi_operation",
          operations: [
            { rename_table: { from: "suppliers", to: "producers" } },
            {
              alter_column: {
                table: "items",
                column: "supplier_id",
                references: { name: "fk_items_producers", table: "producers", column: "id" },
                // Still have to refer to the renamed referenced table by its old name here which is not ideal
                up: supUp,
                down: "supplier_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the suppliers table
        await mustInsert(db, schema, "02_multi_operation", "producers", { id: "1", name: "producer1" });

        // Can insert a row into the products table that meets the FK constraint
        await mustInsert(db, schema, "02_multi_operation", "items", { id: "1", name: "apples", supplier_id: "1" });

        // Can't insert a row into the products table that violates the FK constraint
        await mustNotInsert(db, schema, "02_multi_operation", "items", { id: "2", name: "bananas", supplier_id: "999" }, "foreign_key_violation");

        // Can insert a row into the old schema that violates the FK constraint
        await mustInsert(db, schema, "01_create_tables", "items", { id: "2", name: "bananas", supplier_id: "999" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: null },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_tables", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: 999 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the products table that meets the FK constraint
        await mustInsert(db, schema, "02_multi_operation", "items", { id: "3", name: "carrots", supplier_id: "1" });

        // Can't insert a row into the products table that violates the FK constraint
        await mustNotInsert(db, schema, "02_multi_operation", "items", { id: "4", name: "durian", supplier_id: "999" }, "foreign_key_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: null },
          { id: 3, name: "carrots", supplier_id: 1 },
        ]);
      },
    },
    {
      name: "rename referenced column, set fk",
      migrations: [
        createItemsAndSuppliers,
        {
          name: "02_multi_operation",
          operations: [
            { rename_column: { table: "suppliers", from: "id", to: "supplier_id" } },
            {
              alter_column: {
                table: "items",
                column: "supplier_id",
                references: { name: "fk_items_suppliers", table: "suppliers", column: "supplier_id" },
                // Still have to refer to the renamed referenced column by its old name here which is not ideal
                up: supUp,
                down: "supplier_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the suppliers table
        await mustInsert(db, schema, "02_multi_operation", "suppliers", { supplier_id: "1", name: "producer1" });

        // Can insert a row into the products table that meets the FK constraint
        await mustInsert(db, schema, "02_multi_operation", "items", { id: "1", name: "apples", supplier_id: "1" });

        // Can't insert a row into the products table that violates the FK constraint
        await mustNotInsert(db, schema, "02_multi_operation", "items", { id: "2", name: "bananas", supplier_id: "999" }, "foreign_key_violation");

        // Can insert a row into the old schema that violates the FK constraint
        await mustInsert(db, schema, "01_create_tables", "items", { id: "2", name: "bananas", supplier_id: "999" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: null },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_tables", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: 999 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the products table that meets the FK constraint
        await mustInsert(db, schema, "02_multi_operation", "items", { id: "3", name: "carrots", supplier_id: "1" });

        // Can't insert a row into the products table that violates the FK constraint
        await mustNotInsert(db, schema, "02_multi_operation", "items", { id: "4", name: "durian", supplier_id: "999" }, "foreign_key_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "items");
        expect(rows).toEqual([
          { id: 1, name: "apples", supplier_id: 1 },
          { id: 2, name: "bananas", supplier_id: null },
          { id: 3, name: "carrots", supplier_id: 1 },
        ]);
      },
    },
  ]);
});

/** pgroll's pkg/migrations/op_set_fk_test.go (TestSetForeignKeyValidation), translated. */
describe("alter_column references (pgroll's TestSetForeignKeyValidation)", () => {
  const createTablesMigration: PgrollMigration = {
    name: "01_add_tables",
    operations: [
      usersTable,
      {
        create_table: {
          name: "posts",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "title", type: "text" },
            { name: "user_id", type: "integer" },
          ],
        },
      },
    ],
  };

  executeTests([
    {
      name: "foreign key must have a name",
      migrations: [
        createTablesMigration,
        {
          name: "02_add_fk_constraint",
          operations: [{ alter_column: { table: "posts", column: "user_id", references: { table: "users", column: "id" }, up, down: "user_id" } }],
        },
      ],
      // pgroll: ColumnReferenceError{Table: "posts", Column: "user_id", Err: FieldRequiredError{Name: "name"}}
      wantStartErr: /alter_column\.references\.name: missing required field/,
    },
    {
      name: "referenced table must exist",
      migrations: [
        createTablesMigration,
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_doesntexist_id", table: "doesntexist", column: "id" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      // pgroll: ColumnReferenceError{Table: "posts", Column: "user_id", Err: TableDoesNotExistError{Name: "doesntexist"}}
      wantStartErr: /relation "(public\.)?doesntexist" does not exist/,
    },
    {
      name: "referenced column must exist",
      migrations: [
        createTablesMigration,
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_doesntexist", table: "users", column: "doesntexist" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      // pgroll: ColumnReferenceError{Table: "posts", Column: "user_id", Err: ColumnDoesNotExistError{Table: "users", Name: "doesntexist"}}
      wantStartErr: /column "doesntexist" referenced in foreign key constraint does not exist/,
    },
    {
      name: "on_delete must be a valid value",
      migrations: [
        createTablesMigration,
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                references: { name: "fk_users_doesntexist", table: "users", column: "id", on_delete: "invalid" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
      // pgroll: InvalidOnDeleteSettingError{Name: "fk_users_doesntexist", Setting: "invalid"}
      wantStartErr: /alter_column\.references\.on_delete: expected one of .* got "invalid"/,
    },
    {
      name: "on_delete can be specified as lowercase",
      migrations: [
        createTablesMigration,
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                // pgroll's migrations.ForeignKeyActionNOACTION, which is "NO ACTION".
                references: { name: "fk_users_doesntexist", table: "users", column: "id", on_delete: "NO ACTION" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
    },
    {
      name: "on_delete can be specified as uppercase",
      migrations: [
        createTablesMigration,
        {
          name: "02_add_fk_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "user_id",
                // pgroll's migrations.ForeignKeyActionSETNULL, which is "SET NULL".
                references: { name: "fk_users_doesntexist", table: "users", column: "id", on_delete: "SET NULL" },
                up,
                down: "user_id",
              },
            },
          ],
        },
      ],
    },
  ]);
});
