import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator } from "../../src/engine/migrator.js";
import { loadMigrationFile } from "../../src/migration/load.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";
import { schemaSnapshot } from "../support/schema-snapshot.js";

const fixtures = join(import.meta.dirname, "../fixtures/pgroll");

async function ledger(): Promise<string[]> {
  const text = await readFile(join(fixtures, "ledger.txt"), "utf8");
  return text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}

/**
 * pgroll's published examples, in order, must run unchanged: once with start+complete
 * each, once with start, rollback (the schema identical to before), start, complete.
 * Both runs must end in the same schema.
 */
describe("pgroll's example migrations", () => {
  let a: FreshDatabase;
  let b: FreshDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([freshDatabase("pgroll_a"), freshDatabase("pgroll_b")]);
  });
  afterAll(async () => {
    await Promise.all([a?.drop(), b?.drop()]);
  });

  it("run with start --complete, and with start, rollback, start, complete, ending in the same schema", async () => {
    const files = await ledger();
    expect(files.length).toBeGreaterThanOrEqual(50);
    const direct = new Migrator({ databaseUrl: a.url });
    const careful = new Migrator({ databaseUrl: b.url });
    await Promise.all([direct.init(), careful.init()]);
    for (const name of files) {
      const file = await loadMigrationFile(join(fixtures, name));
      await direct.start(file, { complete: true }).catch((error: Error) => {
        throw new Error(`${name} (start --complete): ${error.message}`);
      });

      const before = await schemaSnapshot(b.url);
      await careful.start(file).catch((error: Error) => {
        throw new Error(`${name} (start): ${error.message}`);
      });
      await careful.rollback().catch((error: Error) => {
        throw new Error(`${name} (rollback): ${error.message}`);
      });
      expect(await schemaSnapshot(b.url), `${name}: schema after start + rollback`).toEqual(before);
      await careful.start(file);
      await careful.complete().catch((error: Error) => {
        throw new Error(`${name} (complete): ${error.message}`);
      });
    }
    const [left, right] = await Promise.all([schemaSnapshot(a.url), schemaSnapshot(b.url)]);
    expect(stripVersionSchemas(right)).toEqual(stripVersionSchemas(left));
  });
});

/** The two runs name the same version schemas; only rolled-back attempts differ, and those are dropped. */
function stripVersionSchemas(snapshot: unknown): unknown {
  return snapshot;
}
