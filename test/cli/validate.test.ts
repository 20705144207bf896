import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { json, scratchDir, underway, writeMigration } from "./run-cli.js";

/**
 * `underway validate`: migration files checked without a database, as a CI step would.
 * No DATABASE_URL is given to any of these runs.
 */
describe("validate, offline", () => {
  it("passes every one of pgroll's published examples", async () => {
    const run = await underway(["validate", join(import.meta.dirname, "../fixtures/pgroll")]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe("checked 56 files without a database: no problems (plan checks them against the database's catalog)");
  });

  it("names each problem with its file and field: types, expressions, statements, an expression that escapes, and files that do not parse", async () => {
    const dir = await scratchDir();
    await writeMigration(dir, "01_ok.yaml", [
      {
        create_table: {
          name: "items",
          columns: [
            { name: "id", type: "bigserial", pk: true },
            { name: "price", type: "numeric(10,2)", default: "0", check: { name: "price_positive", constraint: "price >= 0" } },
          ],
        },
      },
      { create_constraint: { table: "items", name: "price_small", type: "check", columns: ["price"], check: "price < 1000", up: { price: "price" }, down: { price: "price" } } },
    ]);
    const bad = await writeMigration(dir, "02_bad.yaml", [
      { alter_column: { table: "items", column: "price", type: "numeric(12,2", up: "price * 100 fro", down: "price); DROP TABLE items; SELECT (1" } },
    ]);
    const sql = await writeMigration(dir, "03_sql.yaml", [{ sql: { up: "ALTER TABLE items ADD COLUMN x int; SELEC 1", down: "ALTER TABLE items DROP COLUMN x" } }]);
    const check = await writeMigration(dir, "04_check.yaml", [
      { add_column: { table: "items", column: { name: "qty", type: "integer", nullable: true, check: { name: "qty_positive", constraint: "qty > AND 0" } } } },
    ]);
    const broken = await writeMigration(dir, "05_broken.json", '{"operations": [}');
    const unknown = await writeMigration(dir, "06_unknown.yaml", [{ add_colum: { table: "items" } }]);

    const run = await underway(["validate", dir]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split("\n");
    expect(lines.slice(0, 3)).toEqual([
      `${bad}: operations[0].alter_column.type: is not an SQL type: syntax error at end of input`,
      `${bad}: operations[0].alter_column.up: is not an SQL expression: syntax error at or near "fro"`,
      `${bad}: operations[0].alter_column.down: is not one SQL expression (it closes the expression and goes on)`,
    ]);
    expect(lines[3]).toBe(`${sql}: operations[0].sql.up: does not parse as SQL: syntax error at or near "SELEC"`);
    expect(lines[4]).toBe(`${check}: operations[0].add_column.column.check.constraint: is not an SQL expression: syntax error at or near "AND"`);
    expect(lines[5]).toMatch(new RegExp(`^${broken.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: invalid JSON`));
    expect(lines[6]).toMatch(/06_unknown\.yaml.*add_colum/);
    expect(lines[7]).toBe("checked 6 files without a database: 5 with problems (plan checks them against the database's catalog)");

    const asJson = json<{ ok: boolean; files: { path: string; ok: boolean; problems: { where: string | null; message: string }[] }[] }>(await underway(["validate", "--json", dir]));
    expect(asJson.ok).toBe(false);
    expect(asJson.files.map((f) => f.ok)).toEqual([true, false, false, false, false, false]);
    expect(asJson.files[1]!.problems.map((p) => p.where)).toEqual(["operations[0].alter_column.type", "operations[0].alter_column.up", "operations[0].alter_column.down"]);
  });

  it("takes files and directories together, and refuses a path that does not exist with exit 2", async () => {
    const dir = await scratchDir();
    const file = await writeMigration(dir, "01_ok.yaml", [{ create_table: { name: "t", columns: [{ name: "id", type: "int", pk: true }] } }]);
    const run = await underway(["validate", file, dir]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout.trim()).toMatch(/^checked 2 files without a database: no problems/);
    const empty = await scratchDir();
    const none = await underway(["validate", empty]);
    expect(none.code).toBe(2);
    expect(none.errorLines).toEqual([`underway: ${empty}: no migration files in it (.yaml, .yml or .json)`]);
    const missing = await underway(["validate", join(dir, "nope.yaml")]);
    expect(missing.code).toBe(2);
    expect(missing.errorLines).toEqual([`underway: ${join(dir, "nope.yaml")}: no such file or directory`]);
  });

  it("plan without a database says what it needs one for and points at validate", async () => {
    const dir = await scratchDir();
    const file = await writeMigration(dir, "01_ok.yaml", [{ create_table: { name: "t", columns: [{ name: "id", type: "int", pk: true }] } }]);
    const run = await underway(["plan", file]);
    expect(run.code).toBe(2);
    expect(run.errorLines).toEqual([
      `underway: plan reads the database's catalog (the tables, their sizes and dependents, the lock each step takes) and needs --database-url or DATABASE_URL; to check a file without a database: underway validate ${file}`,
    ]);
  });
});
