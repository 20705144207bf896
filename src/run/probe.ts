import type { Client } from "../db/connection.js";
import { ident } from "../db/ident.js";

/**
 * Whether `ADD COLUMN c <type> DEFAULT <expression>` would rewrite the table. PostgreSQL
 * stores a non-volatile default in the catalog (PG 11+) and rewrites for a volatile one;
 * rather than guess volatility from the text, add the column to a one-row temporary
 * table, see whether its file changed, and roll the probe back.
 */
export async function columnDefaultRewrites(client: Client, type: string, expression: string): Promise<boolean> {
  const probe = "_uw_default_probe";
  const filenode = `SELECT pg_relation_filenode(${`'pg_temp.${probe}'`}::regclass)::text AS f`;
  try {
    await client.query("BEGIN");
    await client.query(`CREATE TEMP TABLE ${ident(probe)} (x int) ON COMMIT DROP`);
    await client.query(`INSERT INTO pg_temp.${ident(probe)} VALUES (1)`);
    const { rows: before } = await client.query<{ f: string }>(filenode);
    await client.query(`ALTER TABLE pg_temp.${ident(probe)} ADD COLUMN c ${type} DEFAULT ${expression}`);
    const { rows: after } = await client.query<{ f: string }>(filenode);
    return before[0]!.f !== after[0]!.f;
  } catch {
    // If the probe cannot run (no TEMP privilege, say), assume the worst: the safe path only costs a backfill.
    return true;
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
}

/**
 * Whether the server accepts `sql` (a query is EXPLAINed, a CREATE of a temporary object
 * run), in a transaction rolled back: names resolve, types fit.
 */
export async function sqlCompiles(client: Client, schema: string, sql: string): Promise<boolean> {
  try {
    await client.query("BEGIN");
    await client.query("SELECT set_config('search_path', $1, true)", [ident(schema)]);
    // DDL cannot be EXPLAINed; it runs, and is rolled back with the transaction.
    await client.query(/^\s*(CREATE|ALTER)\b/i.test(sql) ? sql : `EXPLAIN (COSTS OFF) ${sql}`);
    return true;
  } catch {
    return false;
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
}
