import { describe, expect } from "vitest";
import { columnMustHaveComment, columnMustNotHaveComment, executeTests, mustInsert, mustSelect } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_set_comment_test.go (TestSetComment), translated. */
describe("set comment (pgroll's operation tests)", () => {
  executeTests([
    {
      name: "set column comment with default up and down SQL",
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
                  { name: "name", type: "text", comment: "apples" },
                ],
              },
            },
          ],
        },
        { name: "02_set_comment", version_schema: "set_comment", operations: [{ alter_column: { table: "users", column: "name", comment: "name of the user" } }] },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "set_comment", "users", { name: "alice" });
        await mustInsert(db, schema, "add_table", "users", { name: "bob" });
        await columnMustHaveComment(db, schema, "users", "name", "apples");
        // Left out: ColumnMustHaveComment on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll-internal name.
        let rows = await mustSelect(db, schema, "add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
        ]);
        rows = await mustSelect(db, schema, "set_comment", "users");
        expect(rows).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
        ]);
      },
      afterRollback: async (db, schema) => {
        await columnMustHaveComment(db, schema, "users", "name", "apples");
      },
      afterComplete: async (db, schema) => {
        await columnMustHaveComment(db, schema, "users", "name", "name of the user");
        const rows = await mustSelect(db, schema, "set_comment", "users");
        expect(rows).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "bob" },
        ]);
      },
    },
    {
      name: "set column comment with user-supplied up and down SQL",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", comment: "apples" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_comment",
          operations: [
            { alter_column: { table: "users", column: "name", comment: "name of the user", up: "'rewritten by up SQL'", down: "'rewritten by down SQL'" } },
          ],
        },
      ],
      afterStart: async (db, schema) => {
        await mustInsert(db, schema, "02_set_comment", "users", { name: "alice" });
        await mustInsert(db, schema, "01_add_table", "users", { name: "bob" });
        await columnMustHaveComment(db, schema, "users", "name", "apples");
        // Left out: ColumnMustHaveComment on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll-internal name.
        let rows = await mustSelect(db, schema, "01_add_table", "users");
        expect(rows).toEqual([
          { id: 1, name: "rewritten by down SQL" },
          { id: 2, name: "bob" },
        ]);
        rows = await mustSelect(db, schema, "02_set_comment", "users");
        expect(rows).toEqual([
          { id: 1, name: "alice" },
          { id: 2, name: "rewritten by up SQL" },
        ]);
      },
      afterRollback: async (db, schema) => {
        await columnMustHaveComment(db, schema, "users", "name", "apples");
      },
      afterComplete: async (db, schema) => {
        await columnMustHaveComment(db, schema, "users", "name", "name of the user");
        const rows = await mustSelect(db, schema, "02_set_comment", "users");
        expect(rows).toEqual([
          { id: 1, name: "rewritten by up SQL" },
          { id: 2, name: "rewritten by up SQL" },
        ]);
      },
    },
    {
      name: "set column comment to NULL",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", comment: "apples" },
                ],
              },
            },
          ],
        },
        { name: "02_set_comment", operations: [{ alter_column: { table: "users", column: "name", comment: null } }] },
      ],
      afterStart: async (db, schema) => {
        await columnMustHaveComment(db, schema, "users", "name", "apples");
        // Left out: ColumnMustNotHaveComment on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll-internal name.
      },
      afterRollback: async (db, schema) => {
        await columnMustHaveComment(db, schema, "users", "name", "apples");
      },
      afterComplete: async (db, schema) => {
        await columnMustNotHaveComment(db, schema, "users", "name");
      },
    },
    {
      name: "leaving the comment unspecified does not change the comment",
      migrations: [
        {
          name: "01_add_table",
          operations: [
            {
              create_table: {
                name: "users",
                columns: [
                  { name: "id", type: "serial", pk: true },
                  { name: "name", type: "text", comment: "apples" },
                ],
              },
            },
          ],
        },
        {
          name: "02_set_comment",
          operations: [
            { alter_column: { table: "users", column: "name", nullable: true, down: "SELECT CASE WHEN name IS NULL THEN 'placeholder' ELSE name END" } },
          ],
        },
      ],
      afterStart: async () => {
        // Left out: ColumnMustHaveComment on pgroll's temporary column (migrations.TemporaryName("name")), a pgroll-internal name.
      },
      afterRollback: async () => {},
      afterComplete: async (db, schema) => {
        await columnMustHaveComment(db, schema, "users", "name", "apples");
      },
    },
  ]);
});
