import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";
import { migrationRows, query, scratchDir, underway, writeMigration } from "./run-cli.js";

/**
 * A file is checked completely before the database changes: the SQL it carries is
 * analysed by the server against the version it belongs to, types are resolved, and the
 * table's remaining attribute numbers are counted. Each problem exits 2 with one line
 * naming the file, the operation, the field and the place in the user's text, and the
 * catalog is the same before and after.
 */
describe("a file is checked before the database changes", () => {
  let db: FreshDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    db = await freshDatabase("filechecks");
    env = { DATABASE_URL: db.url };
    await query(db.url, `CREATE TABLE items (id bigint PRIMARY KEY, name text, amount integer)`);
    await query(db.url, `INSERT INTO items SELECT g, 'n' || g, g FROM generate_series(1, 10) g`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  const cases: [string, unknown[], RegExp][] = [
    [
      "a misspelt column in up",
      [{ alter_column: { table: "items", column: "amount", type: "bigint", up: "amout * 2", down: "amount::integer" } }],
      /operations\[0\]\.alter_column\.up: column "amout" does not exist \(at character 1 of "amout \* 2"\)/,
    ],
    [
      "a name of the other version in down",
      [
        { rename_column: { table: "items", from: "name", to: "title" } },
        { alter_column: { table: "items", column: "amount", type: "bigint", up: "amount", down: "length(name)" } },
      ],
      /operations\[1\]\.alter_column\.down: column "name" does not exist \(at character 8 of "length\(name\)"\)/,
    ],
    [
      "an unknown function",
      [{ add_column: { table: "items", column: { name: "slug", type: "text", nullable: true }, up: "slugify(name)" } }],
      /operations\[0\]\.add_column\.up: function slugify\(text\) does not exist/,
    ],
    [
      "an unknown type",
      [{ add_column: { table: "items", column: { name: "flag", type: "bool_", nullable: true } } }],
      /operations\[0\]\.add_column\.column\.type: type "bool_" does not exist/,
    ],
    [
      "a value that cannot become the column's type",
      [{ alter_column: { table: "items", column: "amount", type: "date", up: "amount + 1", down: "0" } }],
      /operations\[0\]\.alter_column\.up: cannot cast type integer to date/,
    ],
    [
      "a syntax error in a check",
      [{ alter_column: { table: "items", column: "amount", check: { name: "positive", constraint: "amount >> > 0" }, up: "amount", down: "amount" } }],
      /operations\[0\]\.alter_column\.check\.constraint: syntax error at or near ">" \(at character 11 of "amount >> > 0"\)/,
    ],
    [
      "a default of the wrong type",
      [{ add_column: { table: "items", column: { name: "at", type: "timestamptz", default: "'yesterday-ish'", nullable: true } } }],
      /operations\[0\]\.add_column\.column\.default: invalid input syntax for type timestamp with time zone: "yesterday-ish"/,
    ],
  ];

  for (const [what, operations, message] of cases) {
    it(`${what}: exit 2, one line, nothing changed`, async () => {
      const dir = await scratchDir();
      const path = await writeMigration(dir, "02_change.yaml", operations);
      const before = await schemaSnapshot(db.url);
      for (const command of ["plan", "start"]) {
        const run = await underway([command, path], { env });
        expect(run.code, run.stderr).toBe(2);
        expect(run.errorLines, run.stderr).toHaveLength(1);
        expect(run.errorLines[0]).toContain(path);
        expect(run.errorLines[0]).toMatch(message);
      }
      expect(await schemaSnapshot(db.url)).toEqual(before);
      expect(await migrationRows(db.url)).toEqual([]);
    });
  }

  it("refuses a migration that would pass the table's 1600 attribute numbers, counting dropped columns", async () => {
    await query(db.url, `CREATE TABLE wide (id int PRIMARY KEY)`);
    // 1,590 columns added and dropped: their attribute numbers are spent for good.
    for (let i = 0; i < 1590; i += 265) {
      const names = Array.from({ length: 265 }, (_, j) => `c${i + j}`);
      await query(db.url, `ALTER TABLE wide ${names.map((n) => `ADD COLUMN ${n} int`).join(", ")}`);
      await query(db.url, `ALTER TABLE wide ${names.map((n) => `DROP COLUMN ${n}`).join(", ")}`);
    }
    const dir = await scratchDir();
    const operations = Array.from({ length: 12 }, (_, i) => ({ add_column: { table: "wide", column: { name: `extra${i}`, type: "int", nullable: true } } }));
    const path = await writeMigration(dir, "03_wide.yaml", operations);
    const before = await schemaSnapshot(db.url);
    const run = await underway(["start", path], { env });
    expect(run.code, run.stderr).toBe(2);
    expect(run.errorLines[0]).toMatch(/table "wide" has used 1591 of its 1600 attribute numbers .* this migration adds 12 column\(s\); nothing was changed/);
    expect(await schemaSnapshot(db.url)).toEqual(before);
    // Nine still fit.
    const fits = await writeMigration(dir, "03_nine.yaml", operations.slice(0, 9));
    const plan = await underway(["plan", fits], { env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain("attribute numbers: wide has used 1591 of 1600; start adds 9 (a rollback does not give them back)");
  });
});
