import type { Client } from "../db/connection.js";
import { literal, qualified } from "../db/ident.js";
import { stateSchemaExists } from "./state-schema.js";

/**
 * The `leases` table: one row per migration guard, naming its holder. Behind a pooler the
 * row is the guard itself (taken only while free, expired or already this owner's); on a
 * direct connection it only records who holds the advisory lock. What a guard is and when
 * it may be taken over is run/migration-guard.ts's business; this file only keeps rows.
 */

/** A lease row as read back. */
export interface LeaseRow {
  owner: string;
  /** What the holder wrote of itself (host, pid, application, backend pid, pooled, since). */
  holder: Record<string, unknown> | null;
  /** `YYYY-MM-DD HH24:MI:SS`, in the server's time zone. */
  expiresAt: string;
  expired: boolean;
}

function leases(stateSchema: string): string {
  return qualified(stateSchema, "leases");
}

/** The lease named `name`, if the state schema exists and has one. */
export async function readLease(client: Client, stateSchema: string, name: string): Promise<LeaseRow | null> {
  if (!(await stateSchemaExists(client, stateSchema))) return null;
  const { rows } = await client.query<{ owner: string; holder: Record<string, unknown> | null; expires_at: string; expired: boolean }>(
    `SELECT owner, holder, to_char(expires_at, 'YYYY-MM-DD HH24:MI:SS') AS expires_at, expires_at < now() AS expired
       FROM ${leases(stateSchema)} WHERE name = $1`,
    [name],
  );
  const row = rows[0];
  return row ? { owner: row.owner, holder: row.holder, expiresAt: row.expires_at, expired: row.expired } : null;
}

/**
 * Writes the lease for `owner` for `ttlSeconds`: only if it is free, expired or already
 * `owner`'s, unless `overwrite` (the advisory lock already decided who holds the guard).
 * Returns whether `owner` has it now.
 */
export async function takeLease(
  client: Client,
  stateSchema: string,
  lease: { name: string; owner: string; ttlSeconds: number; holder: Record<string, unknown>; overwrite: boolean },
): Promise<boolean> {
  const { rows } = await client.query(
    `INSERT INTO ${leases(stateSchema)} AS l (name, owner, expires_at, holder) VALUES ($1, $2, now() + make_interval(secs => $3), $4)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at, holder = excluded.holder
       WHERE $5 OR l.expires_at < now() OR l.owner = excluded.owner
     RETURNING owner`,
    [lease.name, lease.owner, lease.ttlSeconds, JSON.stringify(lease.holder), lease.overwrite],
  );
  return rows.length > 0;
}

/** Extends `owner`'s lease by `ttlSeconds` from now; a lease taken over meanwhile is left as it is. */
export async function renewLease(client: Client, stateSchema: string, name: string, owner: string, ttlSeconds: number): Promise<void> {
  await client.query(`UPDATE ${leases(stateSchema)} SET expires_at = now() + make_interval(secs => $3) WHERE name = $1 AND owner = $2`, [name, owner, ttlSeconds]);
}

/** Deletes the lease: `owner`'s only, when given (a release), else whoever's (unlock). */
export async function dropLease(client: Client, stateSchema: string, name: string, owner?: string): Promise<void> {
  if (owner === undefined) {
    await client.query(`DELETE FROM ${leases(stateSchema)} WHERE name = $1`, [name]);
    return;
  }
  await client.query(`DELETE FROM ${leases(stateSchema)} WHERE name = $1 AND owner = $2`, [name, owner]);
}

/** A predicate, for another statement's WHERE, that holds while `owner` still has the lease. */
export function leaseFenceSql(stateSchema: string, name: string, owner: string): string {
  return `EXISTS (SELECT 1 FROM ${leases(stateSchema)} WHERE name = ${literal(name)} AND owner = ${literal(owner)})`;
}
