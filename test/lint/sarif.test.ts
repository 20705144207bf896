import { readFile } from "node:fs/promises";
import { join } from "node:path";
import AjvDraft04 from "ajv-draft-04";
import ajvFormats from "ajv-formats";
import { beforeAll, describe, expect, it } from "vitest";
import { runLintCli } from "./support/run-lint-cli.js";

const fixtures = join(import.meta.dirname, "../fixtures/lint");

// Both packages are CommonJS with a `default` export; under NodeNext the import is the module object.
const Ajv = AjvDraft04.default;
const addFormats = ajvFormats.default;

/**
 * The SARIF output must validate against the SARIF 2.1.0 JSON schema, vendored in
 * test/fixtures/lint (see NOTICE.md there), never fetched.
 */
describe("lint --format sarif", () => {
  let validate: ReturnType<InstanceType<typeof Ajv>["compile"]>;
  beforeAll(async () => {
    const schema = JSON.parse(await readFile(join(fixtures, "sarif-schema-2.1.0.json"), "utf8")) as Record<string, unknown>;
    // The schema's `language` pattern has a stray "]", valid only without the u flag.
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    validate = ajv.compile(schema);
  });

  it("validates against the SARIF 2.1.0 schema, with findings, locations and rule descriptors", async () => {
    const run = await runLintCli(["lint", "--format", "sarif", join(fixtures, "corpus")]);
    expect(run.code).toBe(1);
    const log = JSON.parse(run.stdout) as { version: string; runs: { results: { ruleId: string; locations: unknown[] }[]; tool: { driver: { rules: unknown[] } } }[] };
    const valid = validate(log);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
    expect(log.version).toBe("2.1.0");
    expect(log.runs[0]!.results.length).toBeGreaterThan(30);
    expect(log.runs[0]!.tool.driver.rules.length).toBeGreaterThan(20);
    // The schema has teeth: a wrong level or a missing message is refused.
    const broken = structuredClone(log) as unknown as { runs: { results: Record<string, unknown>[] }[] };
    broken.runs[0]!.results[0]!.level = "fatal";
    expect(validate(broken)).toBe(false);
  });

  it("validates with no findings, and with a file that could not be linted", async () => {
    const clean = await runLintCli(["lint", "--format", "sarif", join(fixtures, "corpus/safe-01-create-index-concurrently.sql")]);
    expect(clean.code).toBe(0);
    expect(validate(JSON.parse(clean.stdout)), JSON.stringify(validate.errors)).toBe(true);
    const broken = await runLintCli(["lint", "--format", "sarif", join(fixtures, "does-not-exist.sql")]);
    expect(broken.code).toBe(2);
    expect(validate(JSON.parse(broken.stdout)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("marks findings of a distributed profile as documented behaviour", async () => {
    const run = await runLintCli(["lint", "--format", "sarif", "--target", "cockroachdb", join(fixtures, "corpus")]);
    const log = JSON.parse(run.stdout) as { runs: { results: { properties: { basis?: string } }[] }[] };
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    expect(log.runs[0]!.results.every((r) => r.properties.basis === "documented behaviour, not exercised on a live cluster")).toBe(true);
  });
});
