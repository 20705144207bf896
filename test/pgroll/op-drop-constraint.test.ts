import { describe, expect } from "vitest";
import {
  executeTests,
  mustDelete,
  mustInsert,
  mustNotInsert,
  mustSelect,
  tableMustBeCleanedUp,
  uniqueConstraintMustExist,
  validatedForeignKeyMustExist,
  columnMustHaveComment,
  type PgrollMigration,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_drop_constraint_test.go (TestDropConstraint), translated. */
describe("drop_constraint (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "drop check constraint with default up sql",
      migrations: [
        {
          name: "01_add_table",
          version_schema: "add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_check_constraint",
          version_schema: "add_check_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "title",
                check: { name: "check_title_length", constraint: "length(title) > 3" },
                up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
                down: "title",
              },
            },
          ],
        },
        {
          name: "03_drop_check_constraint",
          version_schema: "drop_check_constraint",
          operations: [
            {
              drop_constraint: {
                table: "posts",
                name: "check_title_length",
                down: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("title")), a pgroll internal name.

        // Inserting a row that meets the check constraint into the old view works.
        await mustInsert(db, schema, "add_check_constraint", "posts", { title: "post by alice" });

        // Inserting a row that does not meet the check constraint into the old view fails.
        await mustNotInsert(db, schema, "add_check_constraint", "posts", { title: "b" }, "check_violation");

        // The inserted row has been backfilled into the new view.
        let rows = await mustSelect(db, schema, "drop_check_constraint", "posts");
        expect(rows).toEqual([{ id: 1, title: "post by alice" }]);

        // Inserting a row that meets the check constraint into the new view works.
        await mustInsert(db, schema, "drop_check_constraint", "posts", { title: "post by carl" });

        // Inserting a row that does not meet the check constraint into the new view also works.
        await mustInsert(db, schema, "drop_check_constraint", "posts", { title: "d" });

        // Both rows that were inserted into the new view have been backfilled
        // into the old view. The short `title` value has been rewritten to meet the
        // check constraint present on the old view.
        rows = await mustSelect(db, schema, "add_check_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice" },
          { id: 3, title: "post by carl" },
          { id: 4, title: "---d" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "posts", "title");
      },
      afterComplete: async (db, schema) => {
        // Inserting a row that does not meet the check constraint into the new view works.
        await mustInsert(db, schema, "drop_check_constraint", "posts", { title: "e" });

        // The data in the new `posts` view is as expected.
        const rows = await mustSelect(db, schema, "drop_check_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice" },
          { id: 3, title: "post by carl" },
          { id: 4, title: "---d" },
          { id: 5, title: "e" },
        ]);

        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "posts", "title");
      },
    },
    {
      name: "drop check constraint with user-supplied up sql",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text" },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_check_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "title",
                check: { name: "check_title_length", constraint: "length(title) > 3" },
                up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
                down: "title",
              },
            },
          ],
        },
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_constraint: {
                table: "posts",
                name: "check_title_length",
                up: "title || '!'",
                down: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that meets the check constraint into the old view works.
        await mustInsert(db, schema, "02_add_check_constraint", "posts", { title: "post by alice" });
        // The inserted row has been backfilled into the new view, using the user-supplied `up` SQL.
        const rows = await mustSelect(db, schema, "03_drop_check_constraint", "posts");
        expect(rows).toEqual([{ id: 1, title: "post by alice!" }]);
      },
      // pgroll's afterRollback and afterComplete are empty.
    },
    {
      name: "drop foreign key constraint",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text" },
                ],
              },
            },
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
                up: "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id ELSE NULL END",
                down: "user_id",
              },
            },
          ],
        },
        {
          name: "03_drop_fk_constraint",
          operations: [
            {
              drop_constraint: {
                table: "posts",
                name: "fk_users_id",
                up: "user_id",
                down: "SELECT CASE WHEN EXISTS (SELECT 1 FROM users WHERE users.id = user_id) THEN user_id ELSE NULL END",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("user_id")), a pgroll internal name.

        // Inserting some data into the `users` table works.
        await mustInsert(db, schema, "03_drop_fk_constraint", "users", { name: "alice" });
        await mustInsert(db, schema, "03_drop_fk_constraint", "users", { name: "bob" });

        // Inserting data into the new `posts` view with a valid user reference works.
        await mustInsert(db, schema, "03_drop_fk_constraint", "posts", { title: "post by alice", user_id: "1" });

        // Inserting data into the new `posts` view with an invalid user reference also works.
        await mustInsert(db, schema, "03_drop_fk_constraint", "posts", { title: "post by unknown user", user_id: "3" });

        // The inserted rows have been backfilled into the old view.
        // The invalid user reference has been rewritten to NULL.
        let rows = await mustSelect(db, schema, "02_add_fk_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice", user_id: 1 },
          { id: 2, title: "post by unknown user", user_id: null },
        ]);

        // Inserting data into the old `posts` view with a valid user reference works.
        await mustInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by bob", user_id: "2" });

        // Inserting data into the old `posts` view with an invalid user reference fails.
        await mustNotInsert(db, schema, "02_add_fk_constraint", "posts", { title: "post by unknown user", user_id: "3" }, "foreign_key_violation");

        // The post that was inserted successfully has been backfilled into the new view.
        rows = await mustSelect(db, schema, "03_drop_fk_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice", user_id: 1 },
          { id: 2, title: "post by unknown user", user_id: 3 },
          { id: 3, title: "post by bob", user_id: 2 },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "posts", "user_id");
      },
      afterComplete: async (db, schema) => {
        // Left out: ColumnMustNotExist on pgroll's temporary column (migrations.TemporaryName("user_id")), a pgroll internal name.

        // Inserting a row that does not meet the check constraint into the new view works.
        await mustInsert(db, schema, "03_drop_fk_constraint", "posts", { title: "another post by an unknown user", user_id: "4" });

        // The data in the new `posts` view is as expected.
        const rows = await mustSelect(db, schema, "03_drop_fk_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice", user_id: 1 },
          { id: 2, title: "post by unknown user", user_id: null },
          { id: 3, title: "post by bob", user_id: 2 },
          { id: 5, title: "another post by an unknown user", user_id: 4 },
        ]);

        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "posts", "user_id");
      },
    },
    {
      name: "drop unique constraint",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", unique: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_unique_constraint",
          operations: [
            {
              drop_constraint: {
                table: "users",
                name: "users_name_key",
                up: "name",
                down: "name || '-' || (random()*1000000)::integer",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll internal name.

        // Inserting a row that meets the unique constraint into the old view works.
        await mustInsert(db, schema, "01_add_tables", "users", { name: "alice" });

        // Inserting a row that does not meet the unique constraint into the old view fails.
        await mustNotInsert(db, schema, "01_add_tables", "users", { name: "alice" }, "unique_violation");

        // Inserting a row that does not meet the unique constraint into the new view works.
        await mustInsert(db, schema, "02_drop_unique_constraint", "users", { name: "alice" });
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "users", "name");
      },
      afterComplete: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "users", "name");

        // Inserting a row that does not meet the unique constraint into the new view works.
        await mustInsert(db, schema, "02_drop_unique_constraint", "users", { name: "alice" });
      },
    },
    {
      name: "drop unique constraint from serial column",
      migrations: [
        {
          name: "01_add_tables",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "secondary_id", type: "serial", unique: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_unique_constraint",
          operations: [
            {
              drop_constraint: {
                table: "users",
                name: "users_secondary_id_key",
                up: "secondary_id",
                down: "secondary_id",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("secondary_id")), a pgroll internal name.

        // Inserting a row that meets the unique constraint into the old view works.
        await mustInsert(db, schema, "01_add_tables", "users", { secondary_id: "1" });

        // Inserting a row that does not meet the unique constraint into the old view fails.
        await mustNotInsert(db, schema, "01_add_tables", "users", { secondary_id: "1" }, "unique_violation");
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "users", "secondary_id");
      },
      afterComplete: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "users", "secondary_id");

        // Inserting a row that does not meet the unique constraint into the new view works.
        await mustInsert(db, schema, "02_drop_unique_constraint", "users", { secondary_id: "1" });
      },
    },
    {
      name: "dropping a unique constraint preserves the column's default value",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", unique: true, default: "'anonymous'" },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_unique_constraint",
          operations: [
            {
              drop_constraint: {
                table: "users",
                name: "users_name_key",
                up: "name",
                down: "name || '-' || (random()*1000000)::integer",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // A row can be inserted into the new version of the table.
        await mustInsert(db, schema, "02_drop_unique_constraint", "users", { id: "1" });

        // The newly inserted row respects the default value of the column.
        const rows = await mustSelect(db, schema, "02_drop_unique_constraint", "users");
        expect(rows).toEqual([{ id: 1, name: "anonymous" }]);
      },
      afterComplete: async (db, schema) => {
        // Delete the row that was inserted in the `afterStart` hook to
        // ensure that another row with a default 'name` can be inserted
        // without violating the UNIQUE constraint on the column.
        await mustDelete(db, schema, "02_drop_unique_constraint", "users", { id: "1" });

        // A row can be inserted into the new version of the table.
        await mustInsert(db, schema, "02_drop_unique_constraint", "users", { id: "2" });

        // The newly inserted row respects the default value of the column.
        const rows = await mustSelect(db, schema, "02_drop_unique_constraint", "users");
        expect(rows).toEqual([{ id: 2, name: "anonymous" }]);
      },
    },
    {
      name: "dropping a unique constraint preserves a foreign key constraint on the column",
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
                    unique: true,
                    references: { name: "fk_employee_department", table: "departments", column: "id" },
                  },
                ],
              },
            },
          ],
        },
        {
          name: "03_drop_unique_constraint",
          operations: [
            {
              drop_constraint: {
                table: "employees",
                name: "employees_department_id_key",
                up: "department_id",
                down: "department_id",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // Left out: ValidatedForeignKeyMustExist on pgroll's duplicated constraint
        // (migrations.DuplicationName("fk_employee_department")), a pgroll internal name.
      },
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the column
        await validatedForeignKeyMustExist(db, schema, "employees", "fk_employee_department");
      },
    },
    {
      name: "dropping a unique constraint preserves a check constraint on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", nullable: true, unique: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_add_check_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "title",
                check: { name: "check_title_length", constraint: "length(title) > 3" },
                up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
                down: "title",
              },
            },
          ],
        },
        {
          name: "03_drop_unique_constraint",
          operations: [{ drop_constraint: { table: "posts", name: "posts_title_key", up: "title", down: "title" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that violates the check constraint should fail
        await mustNotInsert(db, schema, "03_drop_unique_constraint", "posts", { id: "1", title: "a" }, "check_violation");
      },
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "03_drop_unique_constraint", "posts", { id: "2", title: "b" }, "check_violation");
      },
    },
    {
      name: "dropping a check constraint preserves a unique constraint on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", nullable: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_unique",
          operations: [{ alter_column: { table: "posts", column: "title", unique: { name: "unique_title" }, up: "title", down: "title" } }],
        },
        {
          name: "03_add_check_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "title",
                check: { name: "check_title_length", constraint: "length(title) > 3" },
                up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
                down: "title",
              },
            },
          ],
        },
        {
          name: "04_drop_check_constraint",
          operations: [{ drop_constraint: { table: "posts", name: "check_title_length", up: "title", down: "title" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting an initial row into the `posts` table succeeds
        await mustInsert(db, schema, "04_drop_check_constraint", "posts", { title: "post by alice" });

        // Inserting another row with a duplicate `title` value fails
        await mustNotInsert(db, schema, "04_drop_check_constraint", "posts", { title: "post by alice" }, "unique_violation");
      },
      afterComplete: async (db, schema) => {
        // The table has a unique constraint defined on it
        await uniqueConstraintMustExist(db, schema, "posts", "unique_title");

        // Inserting a row with a duplicate `title` value fails
        await mustNotInsert(db, schema, "04_drop_check_constraint", "posts", { title: "post by alice" }, "unique_violation");

        // Inserting a row with a different `title` value succeeds
        await mustInsert(db, schema, "04_drop_check_constraint", "posts", { title: "post by bob" });
      },
    },
    {
      name: "dropping a unique constraint preserves column not null",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", unique: true },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_unique_constraint",
          operations: [{ drop_constraint: { table: "posts", name: "posts_title_key", up: "title", down: "title" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that violates the NOT NULL constraint fails.
        await mustNotInsert(db, schema, "02_drop_unique_constraint", "posts", { id: "1" }, "not_null_violation");
      },
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the NOT NULL constraint fails.
        await mustNotInsert(db, schema, "02_drop_unique_constraint", "posts", { id: "2" }, "not_null_violation");
      },
    },
    {
      name: "dropping a unique constraint preserves any comment on the column",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", unique: true, comment: "the title of the post" },
                ],
              },
            },
          ],
        },
        {
          name: "02_drop_unique_constraint",
          operations: [{ drop_constraint: { table: "posts", name: "posts_title_key", up: "title", down: "title" } }],
        },
      ],
      afterStart: async () => {
        // Left out: ColumnMustHaveComment on pgroll's temporary column (migrations.TemporaryName("title")), a pgroll internal name.
      },
      afterComplete: async (db, schema) => {
        // The final column has a comment defined on it
        await columnMustHaveComment(db, schema, "posts", "title", "the title of the post");
      },
    },
  ]);
});

/** pgroll's TestDropConstraintValidation, translated. */
describe("drop_constraint validation (pgroll's operation tests)", () => {
  const createTableMigration: PgrollMigration = {
    name: "01_add_table",
    operations: [
      {
        create_table: {
          name: "posts",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "title", type: "text" },
          ],
        },
      },
    ],
  };
  const addCheckMigration: PgrollMigration = {
    name: "02_add_check_constraint",
    operations: [
      {
        alter_column: {
          table: "posts",
          column: "title",
          check: { name: "check_title_length", constraint: "length(title) > 3" },
          up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
          down: "title",
        },
      },
    ],
  };

  executeTests([
    {
      name: "table must exist",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_constraint: {
                table: "doesntexist",
                name: "check_title_length",
                up: "title",
                down: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
              },
            },
          ],
        },
      ],
      wantStartErr: /table "doesntexist" does not exist/,
    },
    {
      name: "constraint must exist",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_constraint: {
                table: "posts",
                name: "doesntexist",
                up: "title",
                down: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
              },
            },
          ],
        },
      ],
      wantStartErr: /constraint "doesntexist" does not exist on table "posts"/,
    },
    {
      name: "name is mandatory",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [
            {
              drop_constraint: {
                table: "posts",
                up: "title",
                down: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
              },
            },
          ],
        },
      ],
      // underway refuses this file when loading it, which the harness does before start, so the case fails on that load error.
      wantStartErr: /drop_constraint\.name: missing required field/,
    },
    {
      name: "down SQL is mandatory",
      migrations: [
        createTableMigration,
        addCheckMigration,
        {
          name: "03_drop_check_constraint",
          operations: [{ drop_constraint: { table: "posts", name: "check_title_length", up: "title" } }],
        },
      ],
      // underway refuses this file when loading it, which the harness does before start, so the case fails on that load error.
      wantStartErr: /drop_constraint\.down: missing required field/,
    },
  ]);
});
