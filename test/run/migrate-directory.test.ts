import { appendFile, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { UnderwayError } from "../../src/errors.js";
import { loadMigrationDir } from "../../src/format/load.js";
import { directoryState, migrateDirectory } from "../../src/run/migrate-directory.js";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";

const ITEMS = [{ create_table: { name: "items", columns: [{ name: "id", type: "bigint", pk: true }, { name: "name", type: "text" }] } }];

function addColumn(name: string) {
  return [{ add_column: { table: "items", column: { name, type: "text", nullable: true } } }];
}

async function write(dir: string, file: string, operations: unknown[]): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, YAML.stringify({ operations }));
  return path;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof UnderwayError)) throw new Error(`expected an UnderwayError, got ${String(error)}`);
  return error.code;
}

/** migrateDirectory, the library form of `underway migrate DIR`, on real PostgreSQL. */
describe("migrateDirectory", () => {
  let db: FreshDatabase;
  let dir: string;
  let migrator: Migrator;
  beforeAll(async () => {
    db = await freshDatabase("migrate_dir");
    dir = await mkdtemp(join(tmpdir(), "underway-migrate-dir-"));
    migrator = new Migrator({ databaseUrl: db.url });
    await write(dir, "01_items.yaml", ITEMS);
    await write(dir, "03_note.yaml", addColumn("note"));
  });
  afterAll(() => db?.drop());

  it("with dryRun lists the pending files in order and applies none", async () => {
    const result = await migrateDirectory(migrator, dir, { dryRun: true });
    expect(result.pending.map((p) => [p.file.name, p.outOfOrder, p.active])).toEqual([
      ["01_items", false, null],
      ["03_note", false, null],
    ]);
    expect(result.applied).toEqual([]);
    expect(await migrator.history()).toEqual([]);
  });

  it("applies each pending file in order, telling onMigration before each, and then nothing", async () => {
    const seen: string[] = [];
    const result = await migrateDirectory(migrator, dir, { onMigration: ({ file }) => seen.push(file.name) });
    expect(result.applied).toEqual(["01_items", "03_note"]);
    expect(seen).toEqual(["01_items", "03_note"]);
    expect((await migrator.history()).map((m) => [m.name, m.phase])).toEqual([
      ["01_items", "completed"],
      ["03_note", "completed"],
    ]);
    expect(await migrateDirectory(migrator, dir)).toMatchObject({ applied: [], pending: [], completed: ["01_items", "03_note"] });
  });

  it("refuses a pending file that sorts before an applied one unless allowOutOfOrder", async () => {
    await write(dir, "02_sku.yaml", addColumn("sku"));
    expect(await codeOf(migrateDirectory(migrator, dir))).toBe("INVALID_STATE");
    expect((await migrator.history()).map((m) => m.name)).toEqual(["01_items", "03_note"]);
    const result = await migrateDirectory(migrator, dir, { allowOutOfOrder: true });
    expect(result.pending.map((p) => [p.file.name, p.outOfOrder])).toEqual([["02_sku", true]]);
    expect(result.applied).toEqual(["02_sku"]);
  });

  it("refuses to run when a completed migration's file has changed since", async () => {
    await write(dir, "04_code.yaml", addColumn("code"));
    await appendFile(join(dir, "01_items.yaml"), "# edited later\n");
    expect(await codeOf(migrateDirectory(migrator, dir))).toBe("CHECKSUM_MISMATCH");
    expect((await migrator.history()).map((m) => m.name)).not.toContain("04_code");
    // directoryState is the same check on files and a history already in hand.
    const files = await loadMigrationDir(dir);
    expect(() => directoryState(files, [])).not.toThrow();
    expect(directoryState(files, []).pending.map((p) => p.file.name)).toEqual(["01_items", "02_sku", "03_note", "04_code"]);
    let code: string | null = null;
    try {
      directoryState(files, await migrator.history());
    } catch (error) {
      code = error instanceof UnderwayError ? error.code : String(error);
    }
    expect(code).toBe("CHECKSUM_MISMATCH");
  });
});
