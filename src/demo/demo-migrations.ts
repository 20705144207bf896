/**
 * The demo's two migrations, written as pgroll-format YAML files and read back through
 * `loadMigrationFile`, so the demo goes through the same loader and validation as a
 * user's files do.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadMigrationFile, type MigrationFile } from "../format/load.js";

export const DEMO_TABLE = "accounts";

/** The table the old version of the application uses. */
const CREATE_ACCOUNTS = `# The demo's starting point: the table version 1 of the application uses.
operations:
  - create_table:
      name: ${DEMO_TABLE}
      columns:
        - name: id
          type: bigint
          pk: true
          generated:
            identity:
              # BY DEFAULT, not ALWAYS: the keyset backfill rewrites rows with
              # "SET id = id", which PostgreSQL refuses for a GENERATED ALWAYS column
              # ("column id can only be updated to DEFAULT"). Back to ALWAYS once the
              # backfill touches another column.
              user_specified_values: BY DEFAULT
        - name: owner
          type: text
        - name: balance
          type: integer
        - name: updated_at
          type: timestamptz
          default: now()
`;

/** The breaking change: version 2 renames a column and widens another. */
const RENAME_AND_WIDEN = `# Version 2 of the application calls the owner the holder and needs 64-bit balances.
# Both are breaking changes for version 1, which keeps running until the rollout ends.
operations:
  - rename_column:
      table: ${DEMO_TABLE}
      from: owner
      to: holder
  - alter_column:
      table: ${DEMO_TABLE}
      column: balance
      type: bigint
      up: balance
      down: CASE WHEN balance > 2147483647 THEN 2147483647 WHEN balance < -2147483648 THEN -2147483648 ELSE balance::integer END
`;

export interface DemoMigrations {
  createAccounts: MigrationFile;
  renameAndWiden: MigrationFile;
  /** Removes the temporary directory holding the files. */
  remove(): Promise<void>;
}

/** Writes the two migration files to a temporary directory and loads them. */
export async function writeDemoMigrations(): Promise<DemoMigrations> {
  const dir = await mkdtemp(join(tmpdir(), "underway-demo-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const load = async (name: string, text: string) => {
      const path = join(dir, `${name}.yaml`);
      await writeFile(path, text);
      return loadMigrationFile(path);
    };
    return {
      createAccounts: await load("01_create_accounts", CREATE_ACCOUNTS),
      renameAndWiden: await load("02_rename_and_widen", RENAME_AND_WIDEN),
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
