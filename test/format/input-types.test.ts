import { describe, expect, it } from "vitest";

import { parseMigration } from "../../src/format/schema.js";
import type { ColumnInput, MigrationInput, OperationInput } from "../../src/format/schema.js";

const SOURCE = { name: "04_typed", file: "migrations/04_typed.yaml" };

describe("the format's input types", () => {
  it("type what parseMigration accepts", () => {
    const file: MigrationInput = {
      operations: [
        {
          create_table: {
            name: "items",
            columns: [
              { name: "id", type: "bigint", pk: true },
              { name: "label", type: "text", nullable: true, references: { name: "items_label_fkey", table: "labels", column: "name" } },
            ],
            constraints: [{ name: "items_label_check", type: "check", check: "label <> ''" }],
          },
        },
        { create_index: { name: "items_label_idx", table: "items", columns: [{ column: "label", sort: "DESC" }] } },
        { create_constraint: { table: "items", name: "items_label_key", type: "unique", columns: ["label"], up: { label: "label" }, down: { label: "label" } } },
      ],
    };
    const migration = parseMigration(file, SOURCE);
    expect(migration.operations.map((op) => op.kind)).toEqual(["create_table", "create_index", "create_constraint"]);
  });

  it("refuse a misspelt or missing field at compile time, as parseMigration does at run time", () => {
    // @ts-expect-error: `nulable` is not a field of a column
    const misspelt: ColumnInput = { name: "label", type: "text", nulable: true };
    // @ts-expect-error: a column needs its type
    const untyped: ColumnInput = { name: "label" };
    // @ts-expect-error: rename_column has `from` and `to`, not `old`
    const renamed: OperationInput = { rename_column: { table: "items", old: "label", to: "title" } };
    // @ts-expect-error: an operation nests its fields under its key, spelt as the docs spell it
    const unknownKind: OperationInput = { rename_colum: { table: "items", from: "label", to: "title" } };
    for (const operation of [{ add_column: { table: "items", column: misspelt } }, { add_column: { table: "items", column: untyped } }, renamed, unknownKind]) {
      expect(() => parseMigration({ operations: [operation] }, SOURCE)).toThrow(/^migrations\/04_typed\.yaml: operations\[0\]/);
    }
  });
});
