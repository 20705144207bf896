import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { loadMigrationFile, type MigrationFile } from "../../src/format/load.js";

/** Writes a migration to a temporary YAML file and loads it through the real loader. */
export async function migrationFile(name: string, operations: unknown[], extra: Record<string, unknown> = {}): Promise<MigrationFile> {
  const dir = await mkdtemp(join(tmpdir(), "underway-test-"));
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, YAML.stringify({ ...extra, operations }));
  return loadMigrationFile(path);
}
