import type { Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import { UnderwayError } from "../errors.js";

/**
 * Keeps two processes from running phases of the same schema's migrations at once.
 * PostgreSQL uses a session advisory lock; engines whose advisory locks are no-ops
 * (CockroachDB) use `LeaseGuard`, a row with an expiry in the state schema.
 */
export interface MigrationGuard {
  /** Takes the guard or throws MIGRATION_LOCKED naming the holder. */
  acquire(): Promise<void>;
  release(): Promise<void>;
}

/** The advisory lock key pair: a fixed class id, and a hash of state schema and schema. */
const LOCK_CLASS = 0x756e6477; // "undw"

export class AdvisoryLockGuard implements MigrationGuard {
  private held = false;

  /**
   * @param graceMs how long to keep trying before refusing: the session of a process that
   *   was just killed holds the lock until the server notices it is gone.
   */
  constructor(
    private readonly client: Client,
    private readonly stateSchema: string,
    private readonly schema: string,
    private readonly graceMs = 5000,
  ) {}

  async acquire(): Promise<void> {
    const key = `${this.stateSchema}.${this.schema}`;
    const deadline = Date.now() + this.graceMs;
    for (;;) {
      const { rows } = await this.client.query<{ ok: boolean }>(
        "SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS ok",
        [LOCK_CLASS | 0, key],
      );
      if (rows[0]!.ok) {
        this.held = true;
        return;
      }
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { rows: holders } = await this.client.query<{ pid: number; app: string; since: string }>(
      `SELECT l.pid, a.application_name AS app, to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS') AS since
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = ($1::int)::oid AND l.objid = (hashtext($2))::oid AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [LOCK_CLASS | 0, key],
    );
    const holder = holders[0];
    throw new UnderwayError(
      "MIGRATION_LOCKED",
      `another underway process is working on schema "${this.schema}"` +
        (holder ? ` (pid ${holder.pid}, ${holder.app || "no application name"}, connected since ${holder.since})` : ""),
    );
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    await this.client.query("SELECT pg_advisory_unlock($1::int, hashtext($2))", [
      LOCK_CLASS | 0,
      `${this.stateSchema}.${this.schema}`,
    ]);
  }
}

/**
 * A lease row with an expiry, for engines without working advisory locks. The holder
 * must call `renew()` more often than `ttlSeconds`; a dead holder's lease lapses.
 */
export class LeaseGuard implements MigrationGuard {
  constructor(
    private readonly client: Client,
    private readonly stateSchema: string,
    private readonly name: string,
    private readonly owner: string,
    private readonly ttlSeconds = 30,
  ) {}

  async acquire(): Promise<void> {
    const leases = qualified(this.stateSchema, "leases");
    const { rows } = await this.client.query<{ owner: string }>(
      `INSERT INTO ${leases} AS l (name, owner, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE l.expires_at < now() OR l.owner = excluded.owner
       RETURNING owner`,
      [this.name, this.owner, this.ttlSeconds],
    );
    if (rows.length === 0) {
      throw new UnderwayError("MIGRATION_LOCKED", `lease "${this.name}" is held by another underway process`);
    }
  }

  async renew(): Promise<void> {
    await this.acquire();
  }

  async release(): Promise<void> {
    await this.client.query(`DELETE FROM ${qualified(this.stateSchema, "leases")} WHERE name = $1 AND owner = $2`, [
      this.name,
      this.owner,
    ]);
  }
}
