import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { query, scratchDir, underway } from "../cli/run-cli.js";

const corpus = join(import.meta.dirname, "../fixtures/lint/corpus");

/**
 * The check, through `node bin/underway.js` as CI runs it: lint exits 1 on unsafe
 * files and 0 on safe ones, and what convert writes is accepted by `underway start`.
 */
describe("the lint and convert commands of the built binary", () => {
  let db: FreshDatabase;
  beforeAll(async () => {
    db = await freshDatabase("lint_binary");
  });
  afterAll(() => db?.drop());

  it("exits 1 on every unsafe corpus file and 0 on every safe one", async () => {
    const files = (await readdir(corpus)).filter((f) => f.endsWith(".sql"));
    const lintOne = async (file: string) => {
      const text = await readFile(join(corpus, file), "utf8");
      const target = /^-- target: (.*)$/m.exec(text)?.[1]?.trim();
      const flags = /^-- flags: (.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
      const run = await underway(["lint", ...(target === undefined ? [] : ["--target", target]), ...flags, join(corpus, file)]);
      expect(run.code, `${file}\n${run.stdout}${run.stderr}`).toBe(file.startsWith("unsafe-") ? 1 : 0);
    };
    // A process per file, as CI would run it; four at a time.
    for (let i = 0; i < files.length; i += 4) await Promise.all(files.slice(i, i + 4).map(lintOne));
    // Over a hundred node processes, each loading the parser's WebAssembly: minutes on two busy cores.
  }, 400_000);

  it("writes SARIF, and exits 2 on a missing file", async () => {
    const sarif = await underway(["lint", "--format", "sarif", corpus]);
    expect(sarif.code).toBe(1);
    expect((JSON.parse(sarif.stdout) as { version: string }).version).toBe("2.1.0");
    expect((await underway(["lint", join(corpus, "missing.sql")])).code).toBe(2);
  });

  it("converts a SQL migration into a file that underway start and complete accept", async () => {
    const dir = await scratchDir();
    await query(db.url, "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text, plan text); INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 100) g");
    const sql = join(dir, "20240101_accounts.sql");
    await writeFile(sql, "ALTER TABLE accounts RENAME COLUMN name TO display_name;\nCREATE INDEX accounts_plan_idx ON accounts (plan);\nALTER TABLE accounts ADD CONSTRAINT accounts_plan_check CHECK (plan <> '');\n");
    const converted = await underway(["convert", sql, "--dir", join(dir, "migrations")]);
    expect(converted.code, converted.stderr).toBe(0);
    const [path] = converted.stdout.trim().split("\n");
    const env = { DATABASE_URL: db.url };
    const started = await underway(["start", path!, "--complete"], { env });
    expect(started.code, started.stderr).toBe(0);
    const columns = await query<{ column_name: string }>(db.url, "SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position");
    expect(columns.map((c) => c.column_name)).toContain("display_name");
  });
});
