import { describe, expect } from "vitest";
import {
  executeTests,
  mustInsert,
  mustNotInsert,
  mustSelect,
  notInheritableCheckConstraintMustExist,
  tableMustBeCleanedUp,
  uniqueConstraintMustExist,
  validatedForeignKeyMustExist,
  columnMustHaveComment,
  type PgrollMigration,
} from "./execute-tests.js";

/** pgroll's pkg/migrations/op_set_check_test.go (TestSetCheckConstraint), translated. */
describe("alter_column check (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "add check constraint",
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
                check: { name: "check_title_length", constraint: "length(title) > 3", no_inherit: true },
                up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
                down: "title",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Left out: ColumnMustExist on pgroll's temporary column (migrations.TemporaryName("title")), a pgroll internal name.

        // A check constraint has been added to the temporary column
        await notInheritableCheckConstraintMustExist(db, schema, "posts", "check_title_length");

        // Inserting a row that meets the check constraint into the old view works.
        await mustInsert(db, schema, "add_table", "posts", { title: "post by alice" });

        // Inserting a row that does not meet the check constraint into the old view also works.
        await mustInsert(db, schema, "add_table", "posts", { title: "b" });

        // Both rows have been backfilled into the new view; the short title has
        // been rewritten using `up` SQL to meet the length constraint.
        let rows = await mustSelect(db, schema, "add_check_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice" },
          { id: 2, title: "---b" },
        ]);

        // Inserting a row that meets the check constraint into the new view works.
        await mustInsert(db, schema, "add_check_constraint", "posts", { title: "post by carl" });

        // Inserting a row that does not meet the check constraint into the new view fails.
        await mustNotInsert(db, schema, "add_check_constraint", "posts", { title: "d" }, "check_violation");

        // The row that was inserted into the new view has been backfilled into the old view.
        rows = await mustSelect(db, schema, "add_table", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice" },
          { id: 2, title: "b" },
          { id: 3, title: "post by carl" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table is cleaned up; temporary columns, trigger functions and triggers no longer exist.
        await tableMustBeCleanedUp(db, schema, "posts", "title");
      },
      afterComplete: async (db, schema) => {
        // The check constraint exists on the new table.
        await notInheritableCheckConstraintMustExist(db, schema, "posts", "check_title_length");

        // Inserting a row that meets the check constraint into the new view works.
        await mustInsert(db, schema, "add_check_constraint", "posts", { title: "post by dana" });

        // Inserting a row that does not meet the check constraint into the new view fails.
        await mustNotInsert(db, schema, "add_check_constraint", "posts", { title: "e" }, "check_violation");

        // The data in the new `posts` view is as expected.
        const rows = await mustSelect(db, schema, "add_check_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "post by alice" },
          { id: 2, title: "---b" },
          { id: 3, title: "post by carl" },
          { id: 5, title: "post by dana" },
        ]);

        // Left out: FunctionMustNotExist / TriggerMustNotExist on pgroll's up and down trigger functions and triggers
        // (backfill.TriggerFunctionName / backfill.TriggerName), pgroll internal names.
      },
    },
    {
      name: "column defaults are preserved when adding a check constraint",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", default: "'untitled'" },
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
      ],
      afterStart: async (db, schema) => {
        // A row can be inserted into the new version of the table.
        await mustInsert(db, schema, "02_add_check_constraint", "posts", { id: "1" });

        // The newly inserted row respects the default value of the column.
        const rows = await mustSelect(db, schema, "02_add_check_constraint", "posts");
        expect(rows).toEqual([{ id: 1, title: "untitled" }]);
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // A row can be inserted into the new version of the table.
        await mustInsert(db, schema, "02_add_check_constraint", "posts", { id: "2" });

        // The newly inserted row respects the default value of the column.
        const rows = await mustSelect(db, schema, "02_add_check_constraint", "posts");
        expect(rows).toEqual([
          { id: 1, title: "untitled" },
          { id: 2, title: "untitled" },
        ]);
      },
    },
    {
      name: "foreign keys are preserved when adding a check constraint",
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
                    nullable: true,
                    references: { name: "fk_employee_department", table: "departments", column: "id", on_delete: "CASCADE" },
                  },
                ],
              },
            },
          ],
        },
        {
          name: "03_add_check_constraint",
          operations: [
            {
              alter_column: {
                table: "employees",
                column: "department_id",
                check: { name: "check_valid_department_id", constraint: "department_id > 1" },
                up: "SELECT CASE WHEN department_id <= 1 THEN 2 ELSE department_id END",
                down: "department_id",
              },
            },
          ],
        },
      ],
      afterStart: async () => {
        // Left out: ValidatedForeignKeyMustExistWithReferentialAction on pgroll's temporary constraint name
        // (migrations.DuplicationName("fk_employee_department")), a pgroll internal name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The foreign key constraint still exists on the column
        await validatedForeignKeyMustExist(db, schema, "employees", "fk_employee_department", "CASCADE", "NO ACTION");
      },
    },
    {
      name: "existing check constraints are preserved when adding a check constraint",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", check: { name: "check_title_length", constraint: "length(title) > 3" } },
                  { name: "body", type: "text" },
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
                column: "body",
                check: { name: "check_body_length", constraint: "length(body) > 3" },
                up: "SELECT CASE WHEN length(body) <= 3 THEN LPAD(body, 4, '-') ELSE body END",
                down: "body",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // The check constraint on the `title` column still exists.
        await mustNotInsert(db, schema, "02_add_check_constraint", "posts", { id: "1", title: "a", body: "this is the post body" }, "check_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The check constraint on the `title` column still exists.
        await mustNotInsert(db, schema, "02_add_check_constraint", "posts", { id: "2", title: "b", body: "this is another post body" }, "check_violation");
      },
    },
    {
      name: "not null is preserved when adding a check constraint",
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
      ],
      afterStart: async (db, schema) => {
        // Inserting a row that violates the NOT NULL constraint on `title` fails.
        await mustNotInsert(db, schema, "02_add_check_constraint", "posts", { id: "1" }, "not_null_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // Inserting a row that violates the NOT NULL constraint on `title` fails.
        await mustNotInsert(db, schema, "02_add_check_constraint", "posts", { id: "1" }, "not_null_violation");
      },
    },
    {
      name: "unique constraints are preserved when adding a check constraint",
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
      ],
      afterStart: async (db, schema) => {
        // Inserting an initial row succeeds
        await mustInsert(db, schema, "03_add_check_constraint", "posts", { title: "post by alice" });

        // Inserting a row with a duplicate `title` value fails
        await mustNotInsert(db, schema, "03_add_check_constraint", "posts", { title: "post by alice" }, "unique_violation");
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The table has a unique constraint defined on it
        await uniqueConstraintMustExist(db, schema, "posts", "unique_title");

        // Inserting a row with a duplicate `title` value fails
        await mustNotInsert(db, schema, "03_add_check_constraint", "posts", { title: "post by alice" }, "unique_violation");

        // Inserting a row with a different `title` value succeeds
        await mustInsert(db, schema, "03_add_check_constraint", "posts", { title: "post by bob" });
      },
    },
    {
      name: "comments are preserved when adding a check constraint",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "posts",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "title", type: "text", comment: "the title of the post" },
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
      ],
      afterStart: async () => {
        // Left out: ColumnMustHaveComment on pgroll's temporary column (migrations.TemporaryName("title")), a pgroll internal name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        // The final column has a comment defined on it
        await columnMustHaveComment(db, schema, "posts", "title", "the title of the post");
      },
    },
    {
      name: "validate that check constraint name is unique",
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
          name: "03_add_check_constraint_again",
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
      ],
      // pgroll: ConstraintAlreadyExistsError{Table: "posts", Constraint: "check_title_length"}. underway refuses it
      // during start, when PostgreSQL finds the constraint's name taken (under underway's temporary name for it).
      wantStartErr: /constraint "check_title_length" already exists on table "posts"/,
      afterStart: async () => {},
      afterRollback: async () => {},
      afterComplete: async () => {},
    },
  ]);
});

/** pgroll's TestSetCheckInMultiOperationMigrations, translated. */
describe("alter_column check in multi-operation migrations (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "rename table, set check constraint",
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
            {
              alter_column: {
                table: "products",
                column: "name",
                check: { name: "check_name_length", constraint: "LENGTH(name) > 2" },
                up: "SELECT CASE WHEN length(name) > 2 THEN name ELSE name || '---' END",
                down: "name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new view that meets the check constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", name: "abc" });

        // Can't insert a row into the new view that violates the check constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "2", name: "x" }, "check_violation");

        // Can insert a row into the old view that violates the check constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "3", name: "x" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "abc" },
          { id: 3, name: "x---" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "abc" },
          { id: 3, name: "x" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new view that meets the check constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "4", name: "def" });

        // Can't insert a row into the new view that violates the check constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "5", name: "x" }, "check_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, name: "abc" },
          { id: 3, name: "x---" },
          { id: 4, name: "def" },
        ]);
      },
    },
    {
      name: "rename table, rename column set check constraint",
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
            {
              alter_column: {
                table: "products",
                column: "item_name",
                check: { name: "check_name_length", constraint: "LENGTH(item_name) > 2" },
                up: "SELECT CASE WHEN length(item_name) > 2 THEN item_name ELSE item_name || '---' END",
                down: "item_name",
              },
            },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        // Can insert a row into the new view that meets the check constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "1", item_name: "abc" });

        // Can't insert a row into the new view that violates the check constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "2", item_name: "x" }, "check_violation");

        // Can insert a row into the old view that violates the check constraint
        await mustInsert(db, schema, "01_create_table", "items", { id: "3", name: "x" });

        // The new view has the expected rows
        let rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "abc" },
          { id: 3, item_name: "x---" },
        ]);

        // The old view has the expected rows
        rows = await mustSelect(db, schema, "01_create_table", "items");
        expect(rows).toEqual([
          { id: 1, name: "abc" },
          { id: 3, name: "x" },
        ]);
      },
      afterRollback: async (db, schema) => {
        // The table has been cleaned up
        await tableMustBeCleanedUp(db, schema, "items", "name");
      },
      afterComplete: async (db, schema) => {
        // Can insert a row into the new view that meets the check constraint
        await mustInsert(db, schema, "02_multi_operation", "products", { id: "4", item_name: "def" });

        // Can't insert a row into the new view that violates the check constraint
        await mustNotInsert(db, schema, "02_multi_operation", "products", { id: "5", item_name: "x" }, "check_violation");

        // The new view has the expected rows
        const rows = await mustSelect(db, schema, "02_multi_operation", "products");
        expect(rows).toEqual([
          { id: 1, item_name: "abc" },
          { id: 3, item_name: "x---" },
          { id: 4, item_name: "def" },
        ]);
      },
    },
  ]);
});

/** pgroll's TestSetCheckConstraintValidation, translated. */
describe("alter_column check validation (pgroll's operation tests)", () => {
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

  executeTests([
    {
      name: "name of the check constraint is mandatory",
      migrations: [
        createTableMigration,
        {
          name: "02_add_check_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "title",
                check: { constraint: "length(title) > 3" },
                up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
                down: "title",
              },
            },
          ],
        },
      ],
      // pgroll: FieldRequiredError{Name: "name"}
      wantStartErr: /alter_column\.check\.name: missing required field/,
    },
    {
      name: "up SQL is mandatory",
      migrations: [
        createTableMigration,
        {
          name: "02_add_check_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "title",
                check: { name: "check_title_length", constraint: "length(title) > 3" },
                down: "title",
              },
            },
          ],
        },
      ],
      // pgroll: FieldRequiredError{Name: "up"}
      wantStartErr: /alter_column\.up: required because a check constraint is added/,
    },
    {
      name: "down SQL is mandatory",
      migrations: [
        createTableMigration,
        {
          name: "02_add_check_constraint",
          operations: [
            {
              alter_column: {
                table: "posts",
                column: "title",
                check: { name: "check_title_length", constraint: "length(title) > 3" },
                up: "SELECT CASE WHEN length(title) <= 3 THEN LPAD(title, 4, '-') ELSE title END",
              },
            },
          ],
        },
      ],
      // pgroll: FieldRequiredError{Name: "down"}
      wantStartErr: /alter_column\.down: required because a check constraint is added/,
    },
  ]);
});
