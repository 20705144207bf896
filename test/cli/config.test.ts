import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { json, query, scratchDir, underway, type CliRun } from "./run-cli.js";

/**
 * Settings come from the flags, then UNDERWAY_* environment variables, then a
 * configuration file found upward from the working directory; DATABASE_URL keeps working,
 * after UNDERWAY_DATABASE_URL and before the file.
 */
describe("configuration: flags, then UNDERWAY_* variables, then underway.config.json", () => {
  let db: FreshDatabase;
  let project: string;
  let cwd: string;
  beforeAll(async () => {
    db = await freshDatabase("config");
    for (const schema of ["from_file", "from_env", "from_flag"]) await query(db.url, `CREATE SCHEMA ${schema}`);
    project = await scratchDir();
    cwd = join(project, "services", "api");
    await mkdir(cwd, { recursive: true });
  });
  afterAll(() => db?.drop());

  const schemaOf = (run: CliRun) => {
    expect(run.code, run.stderr).toBe(0);
    return json<{ schema: string }>(run).schema;
  };

  it("reads a JSON file in a parent directory, and the environment and the flags come before it", async () => {
    await writeFile(join(project, "underway.config.json"), JSON.stringify({ databaseUrl: db.url, schema: "from_file", "lock-timeout": "2s" }));
    expect(schemaOf(await underway(["status", "--json"], { cwd }))).toBe("from_file");
    expect(schemaOf(await underway(["status", "--json"], { cwd, env: { UNDERWAY_SCHEMA: "from_env" } }))).toBe("from_env");
    expect(schemaOf(await underway(["status", "--json", "--schema", "from_flag"], { cwd, env: { UNDERWAY_SCHEMA: "from_env" } }))).toBe("from_flag");
  });

  it("takes the URL from UNDERWAY_DATABASE_URL, then DATABASE_URL, then the file, and names the source of a bad one", async () => {
    await writeFile(join(project, "underway.config.json"), JSON.stringify({ databaseUrl: "mysql://root@elsewhere/db" }));
    const fromFile = await underway(["status"], { cwd });
    expect(fromFile.code).toBe(2);
    expect(fromFile.errorLines).toEqual([expect.stringMatching(/^underway: databaseUrl in .*underway\.config\.json must be a PostgreSQL URL/)]);
    expect((await underway(["status", "--json"], { cwd, env: { DATABASE_URL: db.url } })).code).toBe(0);
    const fromEnv = await underway(["status"], { cwd, env: { DATABASE_URL: db.url, UNDERWAY_DATABASE_URL: "mysql://x@y/z" } });
    expect(fromEnv.errorLines).toEqual([expect.stringMatching(/^underway: UNDERWAY_DATABASE_URL must be a PostgreSQL URL/)]);
  });

  it("reads YAML too, and refuses an unknown setting or two files in one directory with exit 2", async () => {
    const yamlProject = await scratchDir();
    await writeFile(join(yamlProject, "underway.config.yaml"), `databaseUrl: "${db.url}"\nstate-schema: uw_state\nschema: from_file\n`);
    const run = await underway(["status", "--json"], { cwd: yamlProject });
    expect(schemaOf(run)).toBe("from_file");

    await writeFile(join(yamlProject, "underway.config.yaml"), "schem: app\n");
    const unknown = await underway(["status"], { cwd: yamlProject, env: { DATABASE_URL: db.url } });
    expect(unknown.code).toBe(2);
    expect(unknown.errorLines).toEqual([expect.stringMatching(/^underway: .*underway\.config\.yaml: unknown setting "schem" \(settings are the options that take a value: .*schema.*\)$/)]);

    await writeFile(join(yamlProject, "underway.config.json"), "{}");
    const both = await underway(["status"], { cwd: yamlProject, env: { DATABASE_URL: db.url } });
    expect(both.code).toBe(2);
    expect(both.errorLines).toEqual([expect.stringMatching(/underway\.config\.json and .*underway\.config\.yaml both configure underway; keep one$/)]);
  });

  it("says so in --help", async () => {
    const help = await underway(["--help"]);
    expect(help.stdout).toContain("UNDERWAY_STATE_SCHEMA");
    expect(help.stdout).toContain("underway.config.json");
  });
});
