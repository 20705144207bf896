import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import type { Finding } from "../../src/lint/finding.js";
import { lintSql } from "../../src/lint/lint.js";
import { loadSqlParser, SqlSyntaxError } from "../../src/lint/sql-parser.js";
import { parseTarget } from "../../src/lint/target.js";
import { runLintCli } from "./support/run-lint-cli.js";

function lint(sql: string, target = "postgres@14", extra: { assumeInTransaction?: boolean } = {}): Finding[] {
  return lintSql(sql, { file: "m.sql", target: parseTarget(target), ...extra });
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => `${f.severity === "error" ? "" : "(w) "}${f.rule}`);
}

const TIMEOUT = "SET lock_timeout = '1s';\n";

beforeAll(() => loadSqlParser());

describe("findings", () => {
  it("carry rule, severity, file, exact line and column, a message naming the lock, and a hint naming the underway operation", () => {
    const [finding] = lint(`${TIMEOUT}-- widen the id\n  ALTER TABLE   orders\n    ALTER COLUMN id TYPE bigint;`);
    expect(finding).toMatchObject({
      rule: "column-type-change",
      severity: "error",
      file: "m.sql",
      line: 4,
      column: 18,
      table: "orders",
      columnName: "id",
      type: "bigint",
    });
    expect(finding?.message).toContain("ACCESS EXCLUSIVE");
    expect(finding?.hint).toContain("underway alter_column");
  });

  it("count columns in characters, not bytes, after non-ASCII text", () => {
    const [finding] = lint(`${TIMEOUT}COMMENT ON TABLE t IS 'ünïcødé ✓'; CREATE INDEX i ON t (a);`);
    expect(finding).toMatchObject({ rule: "require-concurrent-index-creation", line: 2, column: 36 });
  });
});

describe("context", () => {
  it("exempts a table created earlier in the file from lock rules", () => {
    expect(lint(`CREATE TABLE t (id int);\nCREATE INDEX i ON t (id);\nALTER TABLE t ADD CONSTRAINT c CHECK (id > 0);\nALTER TABLE t RENAME COLUMN id TO key;`)).toEqual([]);
  });

  it("lets SET NOT NULL skip its scan after a validated CHECK (col IS NOT NULL)", () => {
    const sql = `${TIMEOUT}ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;`;
    expect(lint(sql)).toEqual([]);
    // Not validated yet: still a scan.
    expect(rules(lint(`${TIMEOUT}ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;`))).toEqual(["set-not-null-scan"]);
  });

  it("treats constant and stable defaults as fast, volatile ones as rewrites, unknown functions as a warning", () => {
    expect(lint(`${TIMEOUT}ALTER TABLE t ADD COLUMN a int NOT NULL DEFAULT 0, ADD COLUMN b timestamptz DEFAULT now();`)).toEqual([]);
    expect(rules(lint(`${TIMEOUT}ALTER TABLE t ADD COLUMN a float8 DEFAULT random();`))).toEqual(["volatile-default"]);
    expect(rules(lint(`${TIMEOUT}ALTER TABLE t ADD COLUMN a text DEFAULT my_func();`))).toEqual(["(w) volatile-default"]);
  });

  it("accepts UNIQUE USING INDEX after a concurrent build", () => {
    expect(lint(`CREATE UNIQUE INDEX CONCURRENTLY i ON t (a);\n${TIMEOUT}ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i;`)).toEqual([]);
  });

  it("follows transactions: CONCURRENTLY inside BEGIN, VALIDATE with its ADD, a backfill holding the DDL lock", () => {
    expect(rules(lint(`BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;`))).toEqual(["concurrently-in-transaction"]);
    expect(lint(`BEGIN;\nCOMMIT;\nCREATE INDEX CONCURRENTLY i ON t (a);`)).toEqual([]);
    expect(rules(lint(`CREATE INDEX CONCURRENTLY i ON t (a);`, "postgres@14", { assumeInTransaction: true }))).toEqual(["concurrently-in-transaction"]);
    const addThenValidate = `${TIMEOUT}ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT c;`;
    expect(lint(addThenValidate)).toEqual([]);
    expect(rules(lint(addThenValidate, "postgres@14", { assumeInTransaction: true }))).toEqual(["validate-in-same-transaction"]);
  });

  it("warns once when a strong lock is taken with no lock_timeout, and not after SET lock_timeout or set_config", () => {
    expect(rules(lint(`ALTER TABLE a ADD COLUMN x int;\nALTER TABLE b ADD COLUMN y int;`))).toEqual(["(w) missing-lock-timeout"]);
    expect(lint(`SELECT set_config('lock_timeout', '2s', false);\nALTER TABLE a ADD COLUMN x int;`)).toEqual([]);
    expect(rules(lint(`SET lock_timeout = 0;\nALTER TABLE a ADD COLUMN x int;`))).toEqual(["(w) missing-lock-timeout"]);
    // SET LOCAL outside a transaction block sets nothing.
    expect(rules(lint(`SET LOCAL lock_timeout = '1s';\nALTER TABLE a ADD COLUMN x int;`))).toEqual(["(w) missing-lock-timeout"]);
  });
});

describe("targets", () => {
  it("knows PostgreSQL 18's NOT NULL ... NOT VALID and refuses it before 18", () => {
    const sql = `${TIMEOUT}ALTER TABLE t ADD CONSTRAINT nn NOT NULL a NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT nn;\nALTER TABLE t ALTER COLUMN a SET NOT NULL;`;
    expect(lint(sql, "postgres@18")).toEqual([]);
    expect(rules(lint(sql, "postgres@17"))).toEqual(["unsupported-by-target"]);
    const [scan] = lint(`${TIMEOUT}ALTER TABLE t ALTER COLUMN a SET NOT NULL;`, "postgres@18");
    expect(scan?.hint).toContain("NOT NULL a NOT VALID");
  });

  it("knows NULLS NOT DISTINCT (15+) and VIRTUAL generated columns (18+)", () => {
    expect(rules(lint(`CREATE UNIQUE INDEX CONCURRENTLY i ON t (a) NULLS NOT DISTINCT;`, "postgres@14"))).toEqual(["unsupported-by-target"]);
    expect(lint(`CREATE UNIQUE INDEX CONCURRENTLY i ON t (a) NULLS NOT DISTINCT;`, "postgres@15")).toEqual([]);
    expect(lint(`${TIMEOUT}ALTER TABLE t ADD COLUMN v int GENERATED ALWAYS AS (a * 2) VIRTUAL;`, "postgres@18")).toEqual([]);
    expect(rules(lint(`${TIMEOUT}ALTER TABLE t ADD COLUMN v int GENERATED ALWAYS AS (a * 2) VIRTUAL;`, "postgres@17"))).toEqual(["unsupported-by-target"]);
  });

  it("applies the CockroachDB profile from its documentation, marked as such", () => {
    const findings = lint(`BEGIN;\nSELECT pg_advisory_lock(1);\nCREATE INDEX i ON t (a);\nALTER TABLE t RENAME COLUMN a TO b;\nCOMMIT;\nVACUUM FULL t;`, "cockroachdb");
    expect(rules(findings)).toEqual(["advisory-lock-no-op", "ddl-in-transaction", "rename-column", "unsupported-by-target"]);
    expect(findings.every((f) => f.basis === "documented")).toBe(true);
  });

  it("applies the YugabyteDB profile: rewrites can lose concurrent writes, indexes build online", () => {
    const findings = lint(`CREATE INDEX i ON t (a);\nALTER TABLE t ALTER COLUMN a TYPE bigint;\nALTER TABLE t ADD PRIMARY KEY (id);`, "yugabytedb");
    expect(rules(findings)).toEqual(["rewrite-loses-writes", "rewrite-loses-writes"]);
    expect(findings.every((f) => f.basis === "documented")).toBe(true);
  });

  it("refuses an unknown target", () => {
    expect(() => parseTarget("postgres@9")).toThrow(/unsupported target "postgres@9": underway supports PostgreSQL 14 to 18/);
    expect(() => parseTarget("postgres@13")).toThrow(/unsupported target/);
    expect(() => parseTarget("postgres@19")).toThrow(/unsupported target/);
    expect(parseTarget("postgres@14")).toEqual({ engine: "postgres", major: 14 });
    expect(() => parseTarget("mysql")).toThrow(/unknown target/);
  });
});

describe("suppression", () => {
  it("silences the named rules (or all) for the next statement only", () => {
    const sql = `${TIMEOUT}-- underway-lint-disable-next-line drop-column -- unused since v2\n\nALTER TABLE t DROP COLUMN a;\nALTER TABLE t DROP COLUMN b;\n-- underway-lint-disable-next-line\nDROP TABLE old;`;
    const findings = lint(sql);
    expect(findings.map((f) => `${f.rule}@${f.line}`)).toEqual(["drop-column@5"]);
  });
});

describe("the lint command", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "underway-lint-"));
  });

  it("prints file:line:col lines with hints and exits 1 on errors, 0 on warnings only", async () => {
    const unsafe = join(dir, "unsafe.sql");
    await writeFile(unsafe, `${TIMEOUT}CREATE INDEX i ON t (a);\n`);
    const run = await runLintCli(["lint", unsafe]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`${unsafe}:2:1: error [require-concurrent-index-creation]`);
    expect(run.stdout).toContain("  hint: CREATE INDEX CONCURRENTLY");
    const warning = join(dir, "warning.sql");
    await writeFile(warning, `ALTER TABLE t ADD COLUMN a int;\n`);
    expect((await runLintCli(["lint", warning])).code).toBe(0);
  });

  it("exits 2 on unreadable input and on SQL that does not parse, naming line and column", async () => {
    const missing = await runLintCli(["lint", join(dir, "missing.sql")]);
    expect(missing.code).toBe(2);
    const broken = join(dir, "broken.sql");
    await writeFile(broken, `SELECT 1;\nALTER TABLE t ADD COLUMN;\n`);
    const run = await runLintCli(["lint", broken]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`${broken}: error: 2:25: syntax error at or near ";"`);
    expect(() => lint("ALTER TABLE t ADD COLUMN;")).toThrow(SqlSyntaxError);
  });

  it("refuses a target underway does not support with one usage line and exit code 2, before linting", async () => {
    const file = join(dir, "target.sql");
    await writeFile(file, `ALTER TABLE t DROP COLUMN a;\n`);
    for (const target of ["postgres@10", "postgres@13", "postgres@19"]) {
      const run = await runLintCli(["lint", "--target", target, file]);
      expect(run.code, target).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toBe(`underway: unsupported target "${target}": underway supports PostgreSQL 14 to 18 (postgres@14 ... postgres@18)\n`);
    }
  });

  it("writes GitHub workflow annotations", async () => {
    const file = join(dir, "gh.sql");
    await writeFile(file, `${TIMEOUT}ALTER TABLE t RENAME COLUMN a TO b;\n`);
    const run = await runLintCli(["lint", "--format", "github", file]);
    expect(run.stdout).toMatch(new RegExp(`^::error file=${file.replace(/[/.]/g, "\\$&")},line=2,col=1,title=underway lint%3A rename-column::renaming`));
    expect(run.stdout).toContain("%0AHint: underway rename_column");
  });

  it("reads .underwaylintrc.json: rules off, severities changed, target", async () => {
    const file = join(dir, "config.sql");
    await writeFile(file, `ALTER TABLE t DROP COLUMN a;\nALTER TABLE t ADD CONSTRAINT nn NOT NULL b NOT VALID;\n`);
    const config = join(dir, ".underwaylintrc.json");
    await writeFile(config, JSON.stringify({ target: "postgres@18", rules: { "drop-column": "off", "missing-lock-timeout": "error" } }));
    const run = await runLintCli(["lint", "--format", "json", "--config", config, file]);
    const { findings } = JSON.parse(run.stdout) as { findings: Finding[] };
    expect(findings.map((f) => `${f.severity} ${f.rule}`)).toEqual(["error missing-lock-timeout"]);
    expect(run.code).toBe(1);
    await writeFile(config, JSON.stringify({ rules: { "no-such-rule": "off" } }));
    const bad = await runLintCli(["lint", "--config", config, file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown rule");
  });

  it("lints the sql operations of underway migration files, at their place in the YAML, and run as underway runs them", async () => {
    const file = join(dir, "05_raw.yaml");
    await writeFile(
      file,
      YAML.stringify({
        operations: [
          {
            sql: {
              up: "ALTER TABLE t ADD COLUMN a int;\nCREATE INDEX CONCURRENTLY i ON t (a);\n",
            },
          },
        ],
      }),
    );
    const run = await runLintCli(["lint", "--format", "json", dir.replace(/$/, "/05_raw.yaml")]);
    const { findings } = JSON.parse(run.stdout) as { findings: Finding[] };
    // Several statements in one sql operation run as one transaction; underway sets lock_timeout itself.
    expect(findings.map((f) => `${f.rule}@${f.line}:${f.column}`)).toEqual(["concurrently-in-transaction@5:9"]);
    const json = join(dir, "06_raw.json");
    await writeFile(json, JSON.stringify({ operations: [{ sql: { up: "ALTER TABLE t RENAME TO u" } }] }, null, 2));
    const jsonRun = await runLintCli(["lint", "--format", "json", json]);
    expect((JSON.parse(jsonRun.stdout) as { findings: Finding[] }).findings.map((f) => `${f.rule}@${f.line}:${f.column}`)).toEqual(["rename-table@5:16"]);
    // In a directory, YAML and JSON files not named like migrations are not linted.
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "app" }));
    await writeFile(join(dir, "docker-compose.yml"), "services: {}\n");
    const dirRun = await runLintCli(["lint", "--format", "json", dir]);
    const linted = JSON.parse(dirRun.stdout) as { problems?: { file: string }[] };
    expect((linted.problems ?? []).map((p) => p.file).filter((f) => /package\.json|docker-compose/.test(f))).toEqual([]);
    const invalid = join(dir, "07_bad.yaml");
    await writeFile(invalid, "operations: [{ sql: {} }]\n");
    expect((await runLintCli(["lint", invalid])).code).toBe(2);
  });
});
