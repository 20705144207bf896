import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runLintCli } from "./support/run-lint-cli.js";

const corpus = join(import.meta.dirname, "../fixtures/lint/corpus");

/**
 * `-- expect: error rule@line, warning rule@line` (or `none`) on the file's second line,
 * and optionally `-- target: postgres@18` (default postgres@14) on the third.
 */
function expected(text: string, file: string): string[] {
  const match = /^-- expect: (.*)$/m.exec(text);
  if (match === null) throw new Error(`${file} has no "-- expect:" line`);
  return match[1]!.trim() === "none" ? [] : match[1]!.split(",").map((s) => s.trim());
}

const files = (await readdir(corpus)).filter((f) => f.endsWith(".sql")).sort();

/**
 * Real-world migration snippets (ideas from squawk, strong_migrations, Atlas, Eugene,
 * the PostgreSQL docs, and what Prisma and Drizzle generate), each with the findings it
 * must produce. Unsafe ones must exit 1, safe ones 0 (warnings allowed).
 */
describe("the lint corpus", () => {
  it("holds at least 60 snippets, both safe and unsafe", () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
    expect(files.filter((f) => f.startsWith("safe-")).length).toBeGreaterThanOrEqual(30);
    expect(files.filter((f) => f.startsWith("unsafe-")).length).toBeGreaterThanOrEqual(30);
  });

  it.each(files)("%s", async (file) => {
    const path = join(corpus, file);
    const text = await readFile(path, "utf8");
    const target = /^-- target: (.*)$/m.exec(text)?.[1]?.trim();
    const run = await runLintCli(["lint", "--format", "json", ...(target === undefined ? [] : ["--target", target]), path]);
    const { findings } = JSON.parse(run.stdout) as { findings: { rule: string; severity: string; line: number; file: string }[] };
    expect(findings.map((f) => `${f.severity} ${f.rule}@${f.line}`)).toEqual(expected(text, file));
    expect(findings.every((f) => f.file === path)).toBe(true);
    expect(run.code, run.stdout).toBe(file.startsWith("unsafe-") ? 1 : 0);
  });

  it("exits 1 on the whole directory and names every unsafe file", async () => {
    const run = await runLintCli(["lint", corpus]);
    expect(run.code).toBe(1);
    for (const file of files.filter((f) => f.startsWith("unsafe-"))) expect(run.stdout).toContain(`${file}:`);
  });
});
