import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";

import { UnderwayError, exitCodeFor } from "../../src/errors.js";
import { loadMigrationDir, loadMigrationFile, migrationNameFromPath, migrationTemplate } from "../../src/format/load.js";
import { parseMigration } from "../../src/format/schema.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "underway-load-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string | Buffer, folder = dir): Promise<string> {
  const path = join(folder, name);
  await writeFile(path, text);
  return path;
}

async function loadError(path: string): Promise<UnderwayError> {
  try {
    await loadMigrationFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(UnderwayError);
    const underway = error as UnderwayError;
    expect(underway.code).toBe("INVALID_MIGRATION");
    expect(exitCodeFor(underway)).toBe(2);
    expect(underway.message).not.toContain("\n");
    return underway;
  }
  throw new Error(`expected ${path} to be rejected`);
}

const DROP_TABLE_YAML = "operations:\n  - drop_table:\n      name: t\n";

describe("loadMigrationFile", () => {
  it("names the migration after the file and checksums its bytes", async () => {
    const path = await write("01_drop_t.yaml", DROP_TABLE_YAML);
    const file = await loadMigrationFile(path);
    expect(file).toEqual({
      name: "01_drop_t",
      path,
      checksum: createHash("sha256").update(DROP_TABLE_YAML).digest("hex"),
      migration: { name: "01_drop_t", operations: [{ kind: "drop_table", name: "t" }] },
      raw: DROP_TABLE_YAML,
    });
  });

  it("reads .yml and .json files, including pgroll's older JSON with a name key", async () => {
    const yml = await loadMigrationFile(await write("02_x.yml", DROP_TABLE_YAML));
    expect(yml.migration.operations).toEqual([{ kind: "drop_table", name: "t" }]);

    const json = await loadMigrationFile(
      await write(
        "03_create_index.json",
        JSON.stringify({ name: "03_create_index", operations: [{ create_index: { name: "i", table: "t", columns: ["a"] } }] }, null, 2),
      ),
    );
    expect(json.migration.operations).toEqual([
      { kind: "create_index", name: "i", table: "t", columns: [{ column: "a" }], unique: false, nulls_not_distinct: false },
    ]);
  });

  it("reads YAML as YAML 1.1, like pgroll: yes/no are booleans, dates stay text", async () => {
    const file = await loadMigrationFile(
      await write(
        "04_yaml11.yaml",
        "operations:\n  - add_column:\n      table: t\n      column:\n        name: c\n        type: date\n        nullable: yes\n        default: 2024-01-31\n",
      ),
    );
    expect(file.migration.operations[0]).toMatchObject({ column: { nullable: true, default: "2024-01-31" } });
  });

  it("drops a byte order mark from the text but not from the checksum", async () => {
    const text = `\uFEFF${DROP_TABLE_YAML}`;
    const file = await loadMigrationFile(await write("05_bom.yaml", text));
    expect(file.migration.operations).toHaveLength(1);
    expect(file.raw).toBe(DROP_TABLE_YAML);
    expect(file.checksum).toBe(createHash("sha256").update(text).digest("hex"));
  });

  it.each([
    ["bad YAML", "10_bad.yaml", "operations:\n  - drop_table:\n      name: [t\n", /^.*10_bad\.yaml:4:1: invalid YAML: .+$/],
    ["a tab used as indentation", "11_tab.yaml", "operations:\n\t- drop_table: {name: t}\n", /^.*11_tab\.yaml:2:1: invalid YAML: .+$/],
    ["a duplicate key", "12_dup.yaml", "operations:\n  - drop_table:\n      name: t\n      name: u\n", /^.*12_dup\.yaml:4:7: invalid YAML: Map keys must be unique$/],
    ["bad JSON", "13_bad.json", '{\n  "operations": [\n    {"drop_table": {"name": "t"}}\n  ],\n}\n', /^.*13_bad\.json:5:1: invalid JSON: .+$/],
    ["truncated JSON", "14_cut.json", '{"operations": [', /^.*14_cut\.json:1:17: invalid JSON: Unexpected end of JSON input$/],
    [
      "a valid file with an invalid operation",
      "15_op.yaml",
      "operations:\n  - drop_table:\n      name: t\n  - alter_column:\n      table: t\n      column: c\n      type: 12\n",
      /^.*15_op\.yaml: operations\[1\]\.alter_column\.type: expected string, got number \(quote it: "12"\)$/,
    ],
  ])("rejects %s with the file and position", async (_name, fileName, text, pattern) => {
    const path = await write(fileName, text);
    const error = await loadError(path);
    expect(error.message.startsWith(`${path}:`)).toBe(true);
    expect(error.message).toMatch(pattern);
  });

  it("rejects a file that cannot be read", async () => {
    const path = join(dir, "20_missing.yaml");
    const error = await loadError(path);
    // Whatever its name: what is wrong is that it is not there.
    expect(error.message).toBe(`${path}: no such file`);
    expect((await loadError(join(dir, "no_prefix.yaml"))).message).toBe(`${join(dir, "no_prefix.yaml")}: no such file`);
  });

  it("rejects bytes that are not UTF-8", async () => {
    const path = await write("21_latin1.yaml", Buffer.from([0x6f, 0x3a, 0x20, 0xe9, 0x0a]));
    expect((await loadError(path)).message).toBe(`${path}: not valid UTF-8 text`);
  });

  it.each([
    ["createusers.yaml", ": a migration file is named <sortable prefix>_<name>.yaml, such as 01_create_users.yaml"],
    ["01_.yaml", ": a migration file is named <sortable prefix>_<name>.yaml, such as 01_create_users.yaml"],
    ["01 create.json", ": a migration file is named <sortable prefix>_<name>.json, such as 01_create_users.json"],
    ["01_create.txt", ": a migration file ends in .yaml, .yml or .json"],
    ["01_create.YAML", ": a migration file ends in .yaml, .yml or .json"],
  ])("rejects the file name %s", async (fileName, message) => {
    const path = await write(fileName, "operations: []\n");
    expect((await loadError(path)).message).toBe(`${path}${message}`);
  });

  it("accepts loose sortable prefixes", () => {
    expect(migrationNameFromPath("m/20250114093000_add_index.yaml")).toBe("20250114093000_add_index");
    expect(migrationNameFromPath("m/01_create_tables.json")).toBe("01_create_tables");
    expect(migrationNameFromPath("m/v2_rename.users.yml")).toBe("v2_rename.users");
  });
});

describe("loadMigrationDir", () => {
  it("loads migration files sorted by name and skips everything else", async () => {
    const folder = join(dir, "sorted");
    await mkdir(folder);
    await mkdir(join(folder, "99_subdir.yaml"));
    await write("10_b.yaml", DROP_TABLE_YAML, folder);
    await write("02_a.json", JSON.stringify({ operations: [{ drop_index: { name: "i" } }] }), folder);
    await write("10_a.yml", DROP_TABLE_YAML, folder);
    await write("README.md", "# notes\n", folder);
    await write(".ledger", "10_b.yaml\n", folder);

    const files = await loadMigrationDir(folder);
    expect(files.map((f) => f.name)).toEqual(["02_a", "10_a", "10_b"]);
    expect(files.map((f) => f.path)).toEqual([join(folder, "02_a.json"), join(folder, "10_a.yml"), join(folder, "10_b.yaml")]);
  });

  it("rejects two files with the same migration name", async () => {
    const folder = join(dir, "duplicates");
    await mkdir(folder);
    await write("01_x.json", JSON.stringify({ operations: [{ drop_table: { name: "t" } }] }), folder);
    await write("01_x.yaml", DROP_TABLE_YAML, folder);
    await expect(loadMigrationDir(folder)).rejects.toThrow(
      new UnderwayError(
        "INVALID_MIGRATION",
        `${join(folder, "01_x.yaml")}: migration "01_x" is also defined by ${join(folder, "01_x.json")}; migration names must be unique`,
      ),
    );
  });

  it("stops at the first invalid file, naming it", async () => {
    const folder = join(dir, "invalid");
    await mkdir(folder);
    await write("01_ok.yaml", DROP_TABLE_YAML, folder);
    await write("02_bad.yaml", "operations: []\n", folder);
    await expect(loadMigrationDir(folder)).rejects.toThrow(`${join(folder, "02_bad.yaml")}: operations: must list at least one operation`);
  });

  it("rejects a directory that cannot be read", async () => {
    const missing = join(dir, "nope");
    await expect(loadMigrationDir(missing)).rejects.toThrow(`${missing}: cannot read the migrations directory (ENOENT)`);
  });
});

describe("migrationTemplate", () => {
  it("is commented YAML whose only complaint is the empty operations list", () => {
    const text = migrationTemplate("add_users");
    expect(text).toContain("# Migration add_users");
    const value: unknown = YAML.parse(text);
    expect(value).toEqual({ operations: [] });
    expect(() => parseMigration(value, { name: "01_add_users", file: "01_add_users.yaml" })).toThrow(
      "01_add_users.yaml: operations: must list at least one operation",
    );
  });

  it("holds examples that are valid operations once uncommented", () => {
    const uncommented = migrationTemplate("x")
      .split("\n")
      .filter((line) => line.startsWith("#  ") || line.startsWith("#    "))
      .map((line) => line.slice(1))
      .join("\n");
    // The sql example must run alone, so check it separately from the others.
    const operations = (YAML.parse(`operations:\n${uncommented}`) as { operations: unknown[] }).operations;
    const sql = operations.filter((op) => Object.keys(op as object)[0] === "sql");
    const rest = operations.filter((op) => Object.keys(op as object)[0] !== "sql");
    expect(sql).toHaveLength(1);
    expect(parseMigration({ operations: rest }, { name: "x", file: "x.yaml" }).operations.map((op) => op.kind)).toEqual([
      "create_table",
      "add_column",
      "alter_column",
      "rename_column",
      "create_index",
      "drop_column",
    ]);
    expect(parseMigration({ operations: sql }, { name: "x", file: "x.yaml" }).operations).toHaveLength(1);
  });

  it("round-trips through loadMigrationFile once an operation is added", async () => {
    const path = await write("30_from_template.yaml", migrationTemplate("from_template").replace("operations: []", DROP_TABLE_YAML));
    const file = await loadMigrationFile(path);
    expect(file.migration.operations).toEqual([{ kind: "drop_table", name: "t" }]);
    expect(await readFile(path, "utf8")).toBe(file.raw);
  });
});
