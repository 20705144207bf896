import { describe, expect } from "vitest";
import { executeTests, mustInsert, mustSelect, viewMustExist, viewMustNotExist } from "./execute-tests.js";

/** pgroll's pkg/migrations/op_rename_table_test.go (TestRenameTable), translated. */
describe("rename_table (pgroll's operation tests)", () => {
  const invalidName = "x".repeat(64);
  executeTests([
    {
      name: "rename table",
      migrations: [
        {
          name: "01_create_table",
          version_schema: "create_table",
          operations: [{ create_table: { name: "test_table", columns: [{ name: "id", type: "serial" }, { name: "name", type: "text" }] } }],
        },
        { name: "02_rename_table", version_schema: "rename_table", operations: [{ rename_table: { from: "test_table", to: "renamed_table" } }] },
      ],
      afterStart: async (db, schema) => {
        await viewMustExist(db, schema, "create_table", "test_table");
        await viewMustExist(db, schema, "rename_table", "renamed_table");
        await mustInsert(db, schema, "create_table", "test_table", { name: "foo" });
        await mustInsert(db, schema, "rename_table", "renamed_table", { name: "bar" });
        const resNew = await mustSelect(db, schema, "create_table", "test_table");
        const resOld = await mustSelect(db, schema, "rename_table", "renamed_table");
        expect(resOld).toEqual(resNew);
        expect(resNew).toEqual([
          { id: 1, name: "foo" },
          { id: 2, name: "bar" },
        ]);
      },
      afterComplete: async (db, schema) => {
        await viewMustNotExist(db, schema, "rename_table", "testTable");
        await viewMustExist(db, schema, "rename_table", "renamed_table");
        await mustInsert(db, schema, "rename_table", "renamed_table", { name: "baz" });
        expect(await mustSelect(db, schema, "rename_table", "renamed_table")).toEqual([
          { id: 1, name: "foo" },
          { id: 2, name: "bar" },
          { id: 3, name: "baz" },
        ]);
      },
    },
    {
      name: "rename table validation: already exists",
      migrations: [
        {
          name: "01_create_table",
          operations: [{ create_table: { name: "test_table", columns: [] } }, { create_table: { name: "other_table", columns: [] } }],
        },
        { name: "02_rename_table", operations: [{ rename_table: { from: "test_table", to: "other_table" } }] },
      ],
      wantStartErr: /table "other_table" already exists/,
    },
    {
      name: "rename table validation: invalid name",
      migrations: [
        {
          name: "01_create_table",
          operations: [{ create_table: { name: "test_table", columns: [] } }, { create_table: { name: "other_table", columns: [] } }],
        },
        { name: "02_rename_table", operations: [{ rename_table: { from: "test_table", to: invalidName } }] },
      ],
      wantStartErr: /is 64 bytes long; PostgreSQL identifiers are at most 63 bytes/,
    },
  ]);
});
