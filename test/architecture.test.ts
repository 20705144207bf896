import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The folders of src/ are layers, and each imports only from layers below it (docs/architecture.md).
 * A folder may import itself.
 */
const LAYERS: string[][] = [
  ["util"],
  ["db"],
  ["dialect"],
  ["format"],
  ["plan"],
  ["state"],
  ["backfill"],
  ["verify"],
  ["run"],
  ["observe", "mask", "client", "lint", "harness"],
  ["convert", "dashboard"],
  ["rehearse"],
  ["demo"],
  ["cli"],
];
/** The package's entry points: index.ts (the engine) and one per subpath export of package.json. */
const ENTRY_FILES = ["index.ts", "lint.ts", "convert.ts", "mask.ts", "observe.ts", "dashboard.ts", "rehearse.ts"];
/**
 * The files at the top of src/, by rank: errors.ts below every folder, the loaders of the
 * heavy folders just below cli/, the entry points above all (sharing one rank, so none
 * imports another).
 */
const ROOT_FILES: Record<string, number> = {
  "errors.ts": -1,
  "on-demand.ts": LAYERS.length - 1.5,
  ...Object.fromEntries(ENTRY_FILES.map((file) => [file, LAYERS.length])),
};

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "static" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** A file's layer: its index in LAYERS, -1 below all, LAYERS.length above all. */
function layerOf(file: string): { name: string; rank: number } {
  const parts = relative(SRC, file).split(sep);
  if (parts.length === 1) {
    const rank = ROOT_FILES[parts[0]!];
    if (rank === undefined) throw new Error(`src/${parts[0]} is at the top of src/ with no rank: place it in a layer`);
    return { name: parts[0]!, rank };
  }
  const rank = LAYERS.findIndex((layer) => layer.includes(parts[0]!));
  if (rank < 0) throw new Error(`src/${parts[0]}/ is in no layer: add it to LAYERS and to docs/architecture.md`);
  return { name: parts[0]!, rank };
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.\.?\/[^"]+)"/g)].map((m) => resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
}

describe("the layers of src/", () => {
  const files = sources(SRC);

  it("finds the source files", () => {
    expect(files.length).toBeGreaterThan(100);
  });

  it("imports only downward: no folder imports one in its own layer or above", () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        if (to.name === from.name) continue;
        if (to.rank >= from.rank) upward.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("keeps the planner pure: nothing under plan/ or format/ imports pg or a database connection", () => {
    const impure: string[] = [];
    for (const file of files.filter((f) => /[/\\](plan|format)[/\\]/.test(f))) {
      const text = readFileSync(file, "utf8");
      if (/from\s+"pg"|db\/connection\.js"/.test(text)) impure.push(relative(SRC, file));
    }
    expect(impure).toEqual([]);
  });

  it("gives each entry point, and only them, a subpath export in package.json with its types", () => {
    const pkg = JSON.parse(readFileSync(join(SRC, "../package.json"), "utf8")) as { exports: Record<string, { types: string; default: string }> };
    const exported = Object.entries(pkg.exports).map(([subpath, target]) => {
      const file = subpath === "." ? "index" : subpath.replace(/^\.\//, "");
      expect(target, subpath).toEqual({ types: `./dist/${file}.d.ts`, default: `./dist/${file}.js` });
      return `${file}.ts`;
    });
    expect(exported.sort()).toEqual([...ENTRY_FILES].sort());
  });
});
