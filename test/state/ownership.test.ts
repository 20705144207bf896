import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** The state schema's own tables: only state/ names them in SQL (the backfill service owns its job tables). */
const STATE_TABLES = ["migrations", "leases", "audit", "state_version"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "static" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("the state schema's owner", () => {
  it("is state/: no other folder writes SQL against its tables", () => {
    const outside: string[] = [];
    const names = STATE_TABLES.join("|");
    const pattern = new RegExp(`qualified\\([^)]*,\\s*"(${names})"\\)|\\.(${names})\\b[^"\\n]*(SELECT|INSERT|UPDATE|DELETE|FROM)|(FROM|INTO|UPDATE|JOIN)\\s+[\\w".$]*\\.?"?(${names})\\b`, "i");
    for (const file of sources(SRC).filter((f) => !relative(SRC, f).startsWith("state"))) {
      readFileSync(file, "utf8").split("\n").forEach((line, i) => {
        if (pattern.test(line) && !/^\s*(\*|\/\/)/.test(line)) outside.push(`${relative(SRC, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(outside).toEqual([]);
  });
});
