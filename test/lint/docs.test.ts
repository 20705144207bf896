import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { RULE_IDS, RULES } from "../../src/lint/rules.js";

it("docs/lint.md describes every rule with its lock and alternative", async () => {
  const docs = await readFile(join(import.meta.dirname, "../../docs/lint.md"), "utf8");
  for (const id of RULE_IDS) {
    const row = docs.split("\n").find((line) => line.includes(`\`${id}\``) && line.startsWith("|"));
    expect(row, id).toBeDefined();
    expect(row).toContain(RULES[id].lock.replace(/\|/g, "\\|"));
    expect(row).toContain(RULES[id].alternative.replace(/\|/g, "\\|"));
  }
});
