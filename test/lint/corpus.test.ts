import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { migrationOrder } from "../../src/lint/lint.js";
import { runLintCli } from "./support/run-lint-cli.js";

const corpus = join(import.meta.dirname, "../fixtures/lint/corpus");

/**
 * `-- expect: error rule@line, warning rule@line` (or `none`) on the file's second line,
 * optionally `-- target: postgres@18` (default postgres@14) and `-- flags: --assume-in-transaction`.
 */
function expected(text: string, file: string): string[] {
  const match = /^-- expect: (.*)$/m.exec(text);
  if (match === null) throw new Error(`${file} has no "-- expect:" line`);
  return match[1]!.trim() === "none" ? [] : match[1]!.split(",").map((s) => s.trim());
}

/** The lint arguments a case's header asks for. */
function options(text: string): string[] {
  const target = /^-- target: (.*)$/m.exec(text)?.[1]?.trim();
  const flags = /^-- flags: (.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
  return [...(target === undefined ? [] : ["--target", target]), ...flags];
}

const entries = (await readdir(corpus)).sort();
const files = entries.filter((f) => f.endsWith(".sql"));
/** A directory is a sequence of migrations, linted together: each file expects its own findings. */
const sequences: string[] = [];
for (const entry of entries) if ((await stat(join(corpus, entry))).isDirectory()) sequences.push(entry);

type JsonFinding = { rule: string; severity: string; line: number; file: string };

/**
 * Real-world migration snippets (ideas from squawk, strong_migrations, Atlas, Eugene,
 * the PostgreSQL docs, and what Prisma and Drizzle generate), each with the findings it
 * must produce. Unsafe ones must exit 1, safe ones 0 (warnings allowed).
 */
describe("the lint corpus", () => {
  it("holds at least 60 snippets, both safe and unsafe, and sequences of migrations", () => {
    expect(files.length).toBeGreaterThanOrEqual(60);
    expect(files.filter((f) => f.startsWith("safe-")).length).toBeGreaterThanOrEqual(30);
    expect(files.filter((f) => f.startsWith("unsafe-")).length).toBeGreaterThanOrEqual(30);
    expect(sequences.filter((f) => f.startsWith("safe-")).length).toBeGreaterThanOrEqual(2);
    expect(sequences.filter((f) => f.startsWith("unsafe-")).length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)("%s", async (file) => {
    const path = join(corpus, file);
    const text = await readFile(path, "utf8");
    const run = await runLintCli(["lint", "--format", "json", ...options(text), path]);
    const { findings } = JSON.parse(run.stdout) as { findings: JsonFinding[] };
    expect(findings.map((f) => `${f.severity} ${f.rule}@${f.line}`)).toEqual(expected(text, file));
    expect(findings.every((f) => f.file === path)).toBe(true);
    expect(run.code, run.stdout).toBe(file.startsWith("unsafe-") ? 1 : 0);
  });

  it.each(sequences)("%s (a directory, and its files named in order)", async (sequence) => {
    const dir = join(corpus, sequence);
    const members = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort(migrationOrder);
    const texts = await Promise.all(members.map((m) => readFile(join(dir, m), "utf8")));
    const args = options(texts[0]!);
    const byDirectory = await runLintCli(["lint", "--format", "json", ...args, dir]);
    const byFiles = await runLintCli(["lint", "--format", "json", ...args, ...members.map((m) => join(dir, m))]);
    for (const run of [byDirectory, byFiles]) {
      const { findings } = JSON.parse(run.stdout) as { findings: JsonFinding[] };
      members.forEach((member, i) => {
        const own = findings.filter((f) => f.file === join(dir, member));
        expect(own.map((f) => `${f.severity} ${f.rule}@${f.line}`), member).toEqual(expected(texts[i]!, member));
      });
      expect(findings.every((f) => members.some((m) => f.file === join(dir, m)))).toBe(true);
      expect(run.code, run.stdout).toBe(sequence.startsWith("unsafe-") ? 1 : 0);
    }
  });

  it("exits 1 on the whole directory and names every unsafe file", async () => {
    // The corpus directory is itself linted as one sequence, so its cases use table names of their own.
    const run = await runLintCli(["lint", corpus]);
    expect(run.code).toBe(1);
    // Cases that need their own flags (a wrapping transaction) are unsafe only with them.
    const plain = [];
    for (const file of files.filter((f) => f.startsWith("unsafe-"))) {
      if (!/^-- flags: /m.test(await readFile(join(corpus, file), "utf8"))) plain.push(file);
    }
    for (const file of plain) expect(run.stdout).toContain(`${file}:`);
    for (const sequence of sequences.filter((f) => f.startsWith("unsafe-"))) expect(run.stdout).toContain(`${sequence}/`);
  });
});
