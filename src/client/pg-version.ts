import type pg from "pg";
import { pinVersionSql, type VersionTarget } from "../db/version-pin.js";

// The statement lives with the connection code, so the harness's clients pin with it too.
export { pinVersionSql, type VersionTarget };

/**
 * Runs `fn` in a transaction on a node-postgres pool, pinned to one version.
 *
 * @example
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * await withVersion(pool, { versionSchema: "public_02_rename_widen" }, (client) =>
 *   client.query("UPDATE accounts SET holder = $1 WHERE id = $2", ["Ada", 1]),
 * );
 */
export async function withVersion<T>(
  pool: pg.Pool,
  target: VersionTarget,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(pinVersionSql(target));
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
