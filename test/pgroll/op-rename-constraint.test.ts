import { describe } from "vitest";
import { checkConstraintMustExist, checkConstraintMustNotExist, executeTests, mustNotInsert } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_rename_constraint_test.go (TestRenameConstraint), translated. */
describe("rename_constraint (pgroll's operation tests)", () => {
  const addTableMigration = {
    name: "01_add_table",
    version_schema: "add_table",
    operations: [
      {
        create_table: {
          name: "users",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "username", type: "text", check: { constraint: `LENGTH("username") > 2`, name: "users_check" } },
          ],
        },
      },
    ],
  };
  executeTests([
    {
      name: "rename constraint",
      migrations: [
        addTableMigration,
        {
          name: "02_rename_constraint",
          version_schema: "rename_constraint",
          operations: [{ rename_constraint: { table: "users", from: "users_check", to: "users_check_username_length" } }],
        },
      ],
      afterStart: async (db, schema) => {
        // The check constraint in the underlying table has not been renamed.
        await checkConstraintMustExist(db, schema, "users", "users_check");
        // The new check constraint in the underlying table has not been created.
        await checkConstraintMustNotExist(db, schema, "users", "users_check_username_length");
        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "rename_constraint", "users", { username: "a" }, "check_violation");
      },
      afterRollback: async (db, schema) => {
        // // The check constraint in the underlying table has not been renamed.
        await checkConstraintMustExist(db, schema, "users", "users_check");
      },
      afterComplete: async (db, schema) => {
        // The check constraint in the underlying table has been renamed.
        await checkConstraintMustExist(db, schema, "users", "users_check_username_length");
        // The old check constraint in the underlying table has been dropped.
        await checkConstraintMustNotExist(db, schema, "users", "users_check");
        // Inserting a row that violates the check constraint should fail.
        await mustNotInsert(db, schema, "rename_constraint", "users", { username: "a" }, "check_violation");
      },
    },
  ]);
});

/** pgroll's TestRenameConstraintValidation, translated. */
describe("rename_constraint validation (pgroll's operation tests)", () => {
  const invalidName = "x".repeat(64);
  const createTableMigration = {
    name: "01_create_table",
    operations: [
      {
        create_table: {
          name: "users",
          columns: [
            { name: "id", type: "serial", pk: true },
            { name: "name", type: "text", check: { constraint: `LENGTH("name") <= 2048`, name: "users_text_length_username" } },
          ],
        },
      },
    ],
  };
  executeTests([
    {
      name: "the table must exist",
      migrations: [
        createTableMigration,
        {
          name: "02_rename_constraint",
          operations: [{ rename_constraint: { table: "doesntexist", from: "users_text_length_username", to: "users_text_length_name" } }],
        },
      ],
      // pgroll: TableDoesNotExistError{Name: "doesntexist"}
      wantStartErr: /table "doesntexist" does not exist/,
    },
    {
      name: "the from constraint must exist",
      migrations: [
        createTableMigration,
        {
          name: "02_rename_constraint",
          operations: [{ rename_constraint: { table: "users", from: "doesntexist", to: "users_text_length_name" } }],
        },
      ],
      // pgroll: ConstraintDoesNotExistError{Table: "users", Constraint: "doesntexist"}
      wantStartErr: /constraint "doesntexist" .*does not exist/,
    },
    {
      name: "the to constraint must not exist",
      migrations: [
        createTableMigration,
        {
          name: "02_rename_constraint",
          operations: [{ rename_constraint: { table: "users", from: "users_text_length_username", to: "users_text_length_username" } }],
        },
      ],
      // pgroll: ConstraintAlreadyExistsError{Table: "users", Constraint: "users_text_length_username"};
      // underway refuses the same rename as one whose target is its source.
      wantStartErr: /rename_constraint\.to: is the same as from \("users_text_length_username"\)/,
    },
    {
      name: "the new name must be valid",
      migrations: [
        createTableMigration,
        {
          name: "02_rename_constraint",
          operations: [{ rename_constraint: { table: "users", from: "users_text_length_username", to: invalidName } }],
        },
      ],
      // pgroll: ValidateIdentifierLength(invalidName), an InvalidIdentifierLengthError
      wantStartErr: /is 64 bytes long; PostgreSQL identifiers are at most 63 bytes/,
    },
  ]);
});
