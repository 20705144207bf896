import { readFile } from "node:fs/promises";
import { join } from "node:path";

import { describe, expect, it } from "vitest";
import YAML from "yaml";

import { UnderwayError, exitCodeFor } from "../../src/errors.js";
import { loadMigrationDir } from "../../src/format/load.js";
import { OPERATION_KINDS, formatPath, parseMigration } from "../../src/format/schema.js";
import type { Migration, Operation } from "../../src/format/schema.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "pgroll");
const SOURCE = { name: "03_x", file: "migrations/03_x.yaml" };

function parse(raw: unknown): Migration {
  return parseMigration(raw, SOURCE);
}

function parseYaml(text: string): Migration {
  return parse(YAML.parse(text));
}

function ops(...operations: unknown[]): { operations: unknown[] } {
  return { operations };
}

function only(migration: Migration): Operation {
  expect(migration.operations).toHaveLength(1);
  return migration.operations[0]!;
}

function errorOf(raw: unknown): UnderwayError {
  try {
    parse(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(UnderwayError);
    return error as UnderwayError;
  }
  throw new Error("expected parseMigration to throw");
}

describe("pgroll's published examples", () => {
  it("loads every example, in ledger order, and normalizes each", async () => {
    const ledger = (await readFile(join(FIXTURES, "ledger.txt"), "utf8")).trim().split("\n");
    const files = await loadMigrationDir(FIXTURES);

    expect(files.map((f) => `${f.name}.yaml`)).toEqual(ledger);
    expect(files).toHaveLength(56);
    for (const file of files) {
      expect(file.migration.name).toBe(file.name);
      expect(file.migration.operations.length).toBeGreaterThan(0);
    }

    // Between them, the examples use every operation kind there is.
    const kinds = new Set(files.flatMap((f) => f.migration.operations.map((op) => op.kind)));
    expect([...kinds].sort()).toEqual([...OPERATION_KINDS].sort());
  });

  it("keeps pgroll's meaning for the fields the engine depends on", async () => {
    const files = await loadMigrationDir(FIXTURES);
    const byName = new Map(files.map((f) => [f.name, f.migration]));
    const first = (name: string): Operation => byName.get(name)!.operations[0]!;

    const customers = first("01_create_tables");
    expect(customers).toMatchObject({ kind: "create_table", name: "customers" });
    if (customers.kind !== "create_table") throw new Error("unreachable");
    // Columns are NOT NULL unless they say nullable: true.
    expect(customers.columns.map((c) => [c.name, c.nullable, c.pk, c.unique])).toEqual([
      ["id", false, true, false],
      ["name", false, false, true],
      ["credit_card", true, false, false],
    ]);

    expect(first("08_create_fruits_table")).toMatchObject({
      columns: [{ name: "id", generated: { identity: { user_specified_values: "BY DEFAULT" } } }, {}, {}],
    });
    expect(first("10_create_index")).toEqual({
      kind: "create_index",
      name: "idx_fruits_name",
      table: "fruits",
      columns: [{ column: "name" }],
      unique: false,
      nulls_not_distinct: false,
    });
    expect(first("21_add_foreign_key_constraint")).toMatchObject({
      kind: "alter_column",
      references: { name: "fk_users_id", on_delete: "CASCADE", on_update: "NO ACTION", match_type: "SIMPLE" },
    });
    expect(first("28_different_defaults")).toMatchObject({
      columns: [{}, { default: "'unnamed'" }, { default: "0.00" }, { default: "now()" }],
    });
    expect(first("29_set_replica_identity")).toEqual({
      kind: "set_replica_identity",
      table: "fruits",
      identity: { type: "INDEX", index: "fruits_pkey" },
    });
    expect(first("32_sql_on_complete")).toEqual({
      kind: "sql",
      up: "ALTER TABLE people ADD COLUMN birth_date timestamp",
      on_complete: true,
    });
    expect(first("36_set_comment_to_null")).toMatchObject({ kind: "alter_column", comment: null });
    expect(first("46_alter_column_drop_default")).toMatchObject({ kind: "alter_column", default: null });
    expect(first("38_create_hash_index_with_fillfactor")).toMatchObject({ method: "hash", storage_parameters: "fillfactor = 70" });
    expect(first("54_create_index_with_opclass")).toMatchObject({ columns: [{ column: "id", opclass: { name: "int8_ops", params: [] } }] });
    expect(first("52_create_table_with_exclusion_constraint")).toMatchObject({
      constraints: [
        { type: "primary_key", columns: ["id"] },
        { type: "exclude", exclude: { index_method: "btree", elements: "title WITH =", predicate: "title IS NOT NULL" } },
      ],
    });
    expect(byName.get("55_add_primary_key_constraint_to_table")!.operations.map((op) => op.kind)).toEqual([
      "create_table",
      "create_constraint",
    ]);
    expect(byName.get("56_with_version_schema")!.versionSchema).toBe("with_version_schema");
    expect(byName.get("01_create_tables")!.versionSchema).toBeUndefined();
  });
});

describe("older spellings pgroll reads", () => {
  it("accepts a top-level name that agrees with the file name", () => {
    const migration = parse({ name: "03_x", operations: [{ drop_table: { name: "t" } }] });
    expect(migration.name).toBe("03_x");
  });

  it("reads create_index columns as a list of names (before pgroll v0.10)", () => {
    const op = only(parse(ops({ create_index: { name: "i", table: "t", columns: ["a", "b"] } })));
    expect(op).toMatchObject({ kind: "create_index", columns: [{ column: "a" }, { column: "b" }] });
  });

  it("reads create_index columns as a mapping, in file order, with per-column settings", () => {
    const op = only(
      parseYaml(`
operations:
  - create_index:
      name: idx
      table: t
      columns:
        zeta: {}
        alpha:
          sort: desc
          nulls: last
          collate: '"C"'
          opclass:
            name: text_pattern_ops
        mid:
`),
    );
    expect(op).toMatchObject({
      kind: "create_index",
      columns: [
        { column: "zeta" },
        { column: "alpha", sort: "DESC", nulls: "LAST", collate: '"C"', opclass: { name: "text_pattern_ops", params: [] } },
        { column: "mid" },
      ],
    });
  });

  it("reads sql onComplete (pgroll's spelling) and on_complete alike", () => {
    expect(only(parse(ops({ sql: { up: "SELECT 1", onComplete: true } })))).toEqual({ kind: "sql", up: "SELECT 1", on_complete: true });
    expect(only(parse(ops({ sql: { up: "SELECT 1", on_complete: true } })))).toEqual({ kind: "sql", up: "SELECT 1", on_complete: true });
    expect(only(parse(ops({ sql: { up: "SELECT 1" } })))).toEqual({ kind: "sql", up: "SELECT 1", on_complete: false });
  });

  it("turns a rename through alter_column name into rename_column", () => {
    const op = only(parse(ops({ alter_column: { table: "t", column: "a", name: "b" } })));
    expect(op).toEqual({ kind: "rename_column", table: "t", from: "a", to: "b" });
  });

  it("splits alter_column name plus other changes into the changes, then the rename", () => {
    const migration = parse(ops({ alter_column: { table: "t", column: "a", name: "b", type: "bigint", up: "a::bigint", down: "b::int" } }));
    expect(migration.operations).toEqual([
      { kind: "alter_column", legacyRename: true, table: "t", column: "a", type: "bigint", up: "a::bigint", down: "b::int" },
      { kind: "rename_column", table: "t", from: "a", to: "b" },
    ]);
  });

  it("reads alter_column not_null as the inverse of nullable", () => {
    const op = only(parse(ops({ alter_column: { table: "t", column: "c", not_null: true, up: "COALESCE(c, 0)" } })));
    expect(op).toMatchObject({ kind: "alter_column", nullable: false, up: "COALESCE(c, 0)" });
  });

  it.each([
    [{ set_not_null: { table: "t", column: "c", up: "COALESCE(c, 0)" } }, { nullable: false, up: "COALESCE(c, 0)" }],
    [{ drop_not_null: { table: "t", column: "c" } }, { nullable: true }],
    [{ set_unique: { name: "t_c_key", table: "t", column: "c" } }, { unique: { name: "t_c_key" } }],
    [
      { set_foreign_key: { table: "t", column: "c", references: { name: "fk", table: "u", column: "id" }, up: "c", down: "c" } },
      { references: { name: "fk", table: "u", column: "id", on_delete: "NO ACTION" }, up: "c", down: "c" },
    ],
    [
      { set_check_constraint: { table: "t", column: "c", check: { name: "ck", constraint: "c > 0" }, up: "GREATEST(c, 1)", down: "c" } },
      { check: { name: "ck", constraint: "c > 0", no_inherit: false } },
    ],
    [{ change_type: { table: "t", column: "c", type: "bigint", up: "c::bigint", down: "c::int" } }, { type: "bigint" }],
  ])("normalizes %j into alter_column", (raw, expected) => {
    const op = only(parse(ops(raw)));
    expect(op).toMatchObject({ kind: "alter_column", table: "t", column: "c", ...expected });
  });

  it("reads drop_constraint, with the column field of pgroll's first releases", () => {
    const op = only(parse(ops({ drop_constraint: { table: "t", name: "ck", column: "c", down: "c" } })));
    expect(op).toEqual({ kind: "drop_constraint", table: "t", name: "ck", column: "c", down: "c" });
  });

  it("treats null optional fields as absent, as pgroll's decoder does", () => {
    const op = only(
      parseYaml(`
operations:
  - add_column:
      table: t
      up:
      column:
        name: c
        type: text
        nullable: true
        default:
        comment:
`),
    );
    expect(op).toEqual({ kind: "add_column", table: "t", column: { name: "c", type: "text", nullable: true, pk: false, unique: false } });
  });

  it("compares keywords without regard to case, like pgroll", () => {
    const op = only(
      parse(
        ops({
          create_table: {
            name: "t",
            columns: [
              { name: "id", type: "int", pk: true },
              { name: "u", type: "int", references: { name: "fk", table: "u", column: "id", on_delete: "set null", match_type: "full" } },
            ],
          },
        }),
      ),
    );
    expect(op).toMatchObject({ columns: [{}, { references: { on_delete: "SET NULL", match_type: "FULL" } }] });
    expect(only(parse(ops({ set_replica_identity: { table: "t", identity: { type: "full", index: "" } } })))).toEqual({
      kind: "set_replica_identity",
      table: "t",
      identity: { type: "FULL" },
    });
  });

  it("accepts the serial types and generated columns without up on a NOT NULL add_column", () => {
    expect(only(parse(ops({ add_column: { table: "t", column: { name: "n", type: "bigserial" } } })))).toMatchObject({ kind: "add_column" });
  });
});

describe("invalid migrations: one line naming the file and the field", () => {
  const table = { name: "t", columns: [{ name: "id", type: "int", pk: true }] };
  const cases: Array<[string, unknown, string]> = [
    ["a list at the top level", [], "migrations/03_x.yaml: expected a mapping with an operations list at the top level, got list"],
    ["no operations key", {}, "migrations/03_x.yaml: operations: missing required field"],
    ["empty operations", { operations: [] }, "migrations/03_x.yaml: operations: must list at least one operation"],
    ["operations not a list", { operations: { create_table: table } }, "migrations/03_x.yaml: operations: expected list, got mapping"],
    ["unknown top-level key", { operations: [{ drop_table: { name: "t" } }], version: 2 }, "migrations/03_x.yaml: version: unknown field (allowed: name, version_schema, operations)"],
    ["mismatched name", { name: "04_y", operations: [{ drop_table: { name: "t" } }] }, 'migrations/03_x.yaml: name: "04_y" does not match the file name "03_x"; the file name is the migration\'s name'],
    [
      "unknown operation",
      ops({ add_colum: {} }),
      'migrations/03_x.yaml: operations[0]: unknown operation "add_colum" (did you mean "add_column"? expected one of ' +
        `${OPERATION_KINDS.join(", ")})`,
    ],
    ["two keys in one operation", ops({ create_table: null, name: "t" }), "migrations/03_x.yaml: operations[0]: an operation has exactly one key, found 2 (create_table, name); check the indentation"],
    ["an operation that is not a mapping", ops("drop_table"), "migrations/03_x.yaml: operations[0]: expected an operation (a mapping with one key such as create_table), got string"],
    ["operation body null", ops({ drop_table: null }), "migrations/03_x.yaml: operations[0].drop_table: expected mapping, got null"],
    ["missing required field", ops({ drop_table: {} }), "migrations/03_x.yaml: operations[0].drop_table.name: missing required field"],
    [
      "wrong type for up",
      ops({ drop_table: { name: "a" } }, { alter_column: { table: "t", column: "c", type: "int", up: 5, down: "c::text" } }),
      'migrations/03_x.yaml: operations[1].alter_column.up: expected string, got number (quote it: "5")',
    ],
    ["wrong type for nullable", ops({ alter_column: { table: "t", column: "c", nullable: "no" } }), "migrations/03_x.yaml: operations[0].alter_column.nullable: expected boolean, got string"],
    [
      "boolean where text is expected",
      ops({ drop_table: { name: true } }),
      "migrations/03_x.yaml: operations[0].drop_table.name: expected string, got boolean (quote it if it is text: YAML reads true/false, yes/no and on/off as booleans)",
    ],
    [
      "unknown key with a close match",
      ops({ add_column: { table: "t", column: { name: "c", type: "int", nulable: true } } }),
      'migrations/03_x.yaml: operations[0].add_column.column.nulable: unknown field (did you mean "nullable"?)',
    ],
    [
      "a misspelt key, reported before the field it leaves missing",
      ops({ create_table: { name: "t", columns: [{ name: "id", typ: "int" }] } }),
      'migrations/03_x.yaml: operations[0].create_table.columns[0].typ: unknown field (did you mean "type"?)',
    ],
    ["a misspelt top-level key", { operatons: [{ drop_table: { name: "t" } }] }, 'migrations/03_x.yaml: operatons: unknown field (did you mean "operations"?)'],
    ["empty identifier", ops({ drop_table: { name: "" } }), "migrations/03_x.yaml: operations[0].drop_table.name: must not be empty"],
    [
      "identifier over 63 bytes",
      ops({ drop_index: { name: "i".repeat(64) } }),
      `migrations/03_x.yaml: operations[0].drop_index.name: "${"i".repeat(64)}" is 64 bytes long; PostgreSQL identifiers are at most 63 bytes`,
    ],
    [
      "identifier over 63 bytes in UTF-8",
      ops({ rename_table: { from: "t", to: "é".repeat(32) } }),
      `migrations/03_x.yaml: operations[0].rename_table.to: "${"é".repeat(32)}" is 64 bytes long; PostgreSQL identifiers are at most 63 bytes`,
    ],
    ["alter_column changing nothing", ops({ alter_column: { table: "t", column: "c", up: "c" } }), "migrations/03_x.yaml: operations[0].alter_column: changes nothing: set at least one of type, nullable, default, comment, unique, check, references"],
    ["rename-only alter_column with up", ops({ alter_column: { table: "t", column: "a", name: "b", up: "a" } }), "migrations/03_x.yaml: operations[0].alter_column.up: not allowed when alter_column only renames the column"],
    ["rename_column to itself", ops({ rename_column: { table: "t", from: "a", to: "a" } }), 'migrations/03_x.yaml: operations[0].rename_column.to: is the same as from ("a")'],
    ["rename_table to itself", ops({ rename_table: { from: "a", to: "a" } }), 'migrations/03_x.yaml: operations[0].rename_table.to: is the same as from ("a")'],
    [
      "add_column of a primary key",
      ops({ add_column: { table: "t", column: { name: "c", type: "int", pk: true, nullable: true } } }),
      "migrations/03_x.yaml: operations[0].add_column.column.pk: adding a primary key column to an existing table is not supported; add the column, then create_constraint with type primary_key",
    ],
    [
      "duplicate column",
      ops({ create_table: { name: "t", columns: [{ name: "a", type: "int" }, { name: "a", type: "text" }] } }),
      'migrations/03_x.yaml: operations[0].create_table.columns[1].name: duplicate column "a" (also columns[0])',
    ],
    [
      "generated expression and identity",
      ops({ create_table: { name: "t", columns: [{ name: "a", type: "int", generated: { expression: "1", identity: {} } }] } }),
      "migrations/03_x.yaml: operations[0].create_table.columns[0].generated: set either expression or identity, not both",
    ],
    [
      "bad foreign key action",
      ops({ create_table: { name: "t", columns: [{ name: "a", type: "int", references: { name: "fk", table: "u", column: "id", on_delete: "CASCAD" } }] } }),
      'migrations/03_x.yaml: operations[0].create_table.columns[0].references.on_delete: expected one of "NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT", got "CASCAD"',
    ],
    [
      "MATCH PARTIAL",
      ops({ create_table: { name: "t", columns: [{ name: "a", type: "int", references: { name: "fk", table: "u", column: "id", match_type: "PARTIAL" } }] } }),
      "migrations/03_x.yaml: operations[0].create_table.columns[0].references.match_type: MATCH PARTIAL is not implemented by PostgreSQL; use SIMPLE or FULL",
    ],
    [
      "primary key set twice",
      ops({ create_table: { ...table, constraints: [{ name: "pk", type: "primary_key", columns: ["id"] }] } }),
      "migrations/03_x.yaml: operations[0].create_table.constraints[0]: the primary key is already set by pk: true on id; set it in one place",
    ],
    [
      "table constraint on an unknown column",
      ops({ create_table: { ...table, constraints: [{ name: "u", type: "unique", columns: ["nope"] }] } }),
      'migrations/03_x.yaml: operations[0].create_table.constraints[0].columns[0]: "nope" is not a column of this table',
    ],
    [
      "check constraint marked deferrable",
      ops({ create_table: { ...table, constraints: [{ name: "ck", type: "check", check: "id > 0", deferrable: true }] } }),
      "migrations/03_x.yaml: operations[0].create_table.constraints[0].deferrable: not allowed on a check constraint",
    ],
    [
      "foreign key columns that do not pair up",
      ops({ create_table: { ...table, constraints: [{ name: "fk", type: "foreign_key", columns: ["id"], references: { table: "u", columns: ["a", "b"] } }] } }),
      "migrations/03_x.yaml: operations[0].create_table.constraints[0].references.columns: lists 2 referenced column(s) for 1 key column(s); they must pair up",
    ],
    [
      "exclude constraint with columns",
      ops({ create_table: { ...table, constraints: [{ name: "ex", type: "exclude", columns: ["id"], exclude: { index_method: "gist", elements: "id WITH =" } }] } }),
      "migrations/03_x.yaml: operations[0].create_table.constraints[0].columns: not allowed on an exclude constraint",
    ],
    ["create_index without columns", ops({ create_index: { name: "i", table: "t", columns: [] } }), "migrations/03_x.yaml: operations[0].create_index.columns: must list at least one column"],
    [
      "create_index column item with an unknown key",
      ops({ create_index: { name: "i", table: "t", columns: [{ column: "a", order: "DESC" }] } }),
      "migrations/03_x.yaml: operations[0].create_index.columns[0].order: unknown field (allowed: column, collate, sort, nulls, opclass)",
    ],
    ["create_index with a bad method", ops({ create_index: { name: "i", table: "t", columns: ["a"], method: "bitmap" } }), 'migrations/03_x.yaml: operations[0].create_index.method: expected one of "btree", "hash", "gist", "spgist", "gin", "brin", got "bitmap"'],
    ["unique hash index", ops({ create_index: { name: "i", table: "t", columns: ["a"], method: "hash", unique: true } }), "migrations/03_x.yaml: operations[0].create_index.unique: PostgreSQL builds unique indexes with btree only, not hash"],
    [
      "create_constraint without up for a column",
      ops({ create_constraint: { table: "t", name: "u", type: "unique", columns: ["a", "b"], up: { a: "a" }, down: { a: "a", b: "b" } } }),
      'migrations/03_x.yaml: operations[0].create_constraint.up: missing an entry for column "b"',
    ],
    [
      "create_constraint with an up entry for another column",
      ops({ create_constraint: { table: "t", name: "u", type: "unique", columns: ["a"], up: { a: "a", z: "z" }, down: { a: "a" } } }),
      "migrations/03_x.yaml: operations[0].create_constraint.up.z: not one of the constraint's columns",
    ],
    [
      "check create_constraint without check",
      ops({ create_constraint: { table: "t", name: "ck", type: "check", columns: ["a"], up: { a: "a" }, down: { a: "a" } } }),
      "migrations/03_x.yaml: operations[0].create_constraint.check: a check constraint needs its check expression",
    ],
    [
      "foreign_key create_constraint without references",
      ops({ create_constraint: { table: "t", name: "fk", type: "foreign_key", columns: ["a"], up: { a: "a" }, down: { a: "a" } } }),
      "migrations/03_x.yaml: operations[0].create_constraint.references: a foreign_key constraint needs references",
    ],
    [
      "unique create_constraint with a check",
      ops({ create_constraint: { table: "t", name: "u", type: "unique", columns: ["a"], check: "a > 0", up: { a: "a" }, down: { a: "a" } } }),
      "migrations/03_x.yaml: operations[0].create_constraint.check: not allowed on a unique constraint",
    ],
    [
      "drop_multicolumn_constraint up without down",
      ops({ drop_multicolumn_constraint: { table: "t", name: "ck", up: { a: "a", b: "b" }, down: { a: "a" } } }),
      "migrations/03_x.yaml: operations[0].drop_multicolumn_constraint.up.b: has no matching down entry; up and down cover the constraint's columns",
    ],
    ["replica identity index without a name", ops({ set_replica_identity: { table: "t", identity: { type: "index" } } }), "migrations/03_x.yaml: operations[0].set_replica_identity.identity.index: required when identity type is index"],
    ["empty sql", ops({ sql: { up: "  " } }), "migrations/03_x.yaml: operations[0].sql.up: must not be empty"],
    ["sql onComplete with down", ops({ sql: { up: "SELECT 1", down: "SELECT 2", onComplete: true } }), "migrations/03_x.yaml: operations[0].sql.down: not allowed with onComplete: true (nothing rolls back after complete)"],
    [
      "start-time sql next to other operations",
      ops({ drop_table: { name: "a" } }, { sql: { up: "SELECT 1" } }),
      "migrations/03_x.yaml: operations[1].sql: a sql operation without onComplete: true must be the only operation in its migration",
    ],
    [
      "up map keyed by an odd column name",
      ops({ create_constraint: { table: "t", name: "u", type: "unique", columns: ["a"], up: { a: "a", "my col": "x" }, down: { a: "a" } } }),
      'migrations/03_x.yaml: operations[0].create_constraint.up["my col"]: not one of the constraint\'s columns',
    ],
  ];

  it.each(cases)("%s", (_name, raw, message) => {
    const error = errorOf(raw);
    expect(error.code).toBe("INVALID_MIGRATION");
    expect(exitCodeFor(error)).toBe(2);
    expect(error.message).not.toContain("\n");
    expect(error.message).toBe(message);
  });

  it("lists every problem in the detail, the first in the message", () => {
    const error = errorOf(ops({ drop_table: {} }, { drop_index: { name: 1 } }));
    expect(error.message).toBe("migrations/03_x.yaml: operations[0].drop_table.name: missing required field");
    expect(error.detail?.split("\n")).toEqual([
      "migrations/03_x.yaml: operations[0].drop_table.name: missing required field",
      'migrations/03_x.yaml: operations[1].drop_index.name: expected string, got number (quote it: "1")',
    ]);
  });
});

describe("formatPath", () => {
  it("writes indexes in brackets and odd keys quoted", () => {
    expect(formatPath(["operations", 2, "alter_column", "type"])).toBe("operations[2].alter_column.type");
    expect(formatPath(["up", "my-col"])).toBe('up["my-col"]');
    expect(formatPath([])).toBe("");
  });
});
