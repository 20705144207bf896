import { hostname } from "node:os";
import { localProcess } from "../util/local-process.js";
import { randomBytes } from "node:crypto";
import type { Client } from "../db/connection.js";
import { connect, isPooled } from "../db/connection.js";
import { UnderwayError } from "../errors.js";
import { stateSchemaExists } from "../state/state-schema.js";
import { dropLease, leaseFenceSql, readLease, renewLease, takeLease } from "../state/lease-store.js";

/**
 * Keeps two processes from running phases of the same schema's migrations at once.
 *
 * On a direct connection it is a session advisory lock: the server frees it the moment the
 * holder's connection ends, however the process died. Behind a pooler (PgBouncer and its
 * kind answer with a backend key of their own) a session lock would stay on a pooled server
 * connection after underway is gone, blocking every later command; there the guard is a
 * lease row in the state schema, renewed while the process lives and taken over once it
 * expires or its holder, on the same host, is no longer running. Either way the holder is
 * recorded (host, pid, application name, since when), so a refusal names the process.
 */
export interface MigrationGuard {
  /** Takes the guard or throws MIGRATION_LOCKED naming the holder. */
  acquire(): Promise<void>;
  release(): Promise<void>;
  /** A predicate for the progress update of each step: false once the guard is lost (leases). */
  fence(): string | null;
}

/** Who holds a guard, as recorded in the state schema. */
export interface GuardHolder {
  owner: string;
  host: string;
  pid: number;
  application: string;
  /** The holder's backend on the server (a pooled connection behind a pooler). */
  backendPid: number | null;
  pooled: boolean;
  since: string;
  expiresAt: string | null;
  expired: boolean;
}

/** The advisory lock key pair: a fixed class id, and a hash of state schema and schema. */
const LOCK_CLASS = 0x756e6477; // "undw"
const LEASE_TTL_SECONDS = 15;

export function guardName(schema: string): string {
  return `guard:${schema}`;
}

/**
 * A holder's identity in the lease row. A process that reconnects (a failover, a pooler
 * that dropped it) passes the identity it had, so it takes back its own lease at once
 * instead of waiting for it to run out.
 */
export function newGuardOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

/** The guard for this connection: an advisory lock when direct, a lease behind a pooler. */
export async function createGuard(
  client: Client,
  databaseUrl: string,
  stateSchema: string,
  schema: string,
  graceMs = 5000,
  owner = newGuardOwner(),
): Promise<MigrationGuard> {
  return isPooled(client)
    ? new LeaseGuard(client, databaseUrl, stateSchema, schema, graceMs, LEASE_TTL_SECONDS, owner)
    : new AdvisoryLockGuard(client, stateSchema, schema, graceMs, owner);
}

/** The recorded holder of a schema's guard, if the state schema has one. */
export async function guardHolder(client: Client, stateSchema: string, schema: string): Promise<GuardHolder | null> {
  const row = await readLease(client, stateSchema, guardName(schema));
  if (!row) return null;
  const h = row.holder ?? {};
  return {
    owner: row.owner,
    host: String(h.host ?? "?"),
    pid: Number(h.pid ?? 0),
    application: String(h.application ?? "underway"),
    backendPid: typeof h.backendPid === "number" ? h.backendPid : null,
    pooled: h.pooled === true,
    since: String(h.since ?? "?"),
    expiresAt: h.pooled === true ? row.expiresAt : null,
    expired: h.pooled === true ? row.expired : false,
  };
}

/** A holder in a message: `host example:4242 (underway, connected since ...)`. */
export function describeHolder(holder: GuardHolder): string {
  return `process ${holder.pid} on ${holder.host} (${holder.application}, since ${holder.since}${holder.backendPid !== null ? `, server pid ${holder.backendPid}` : ""})`;
}

/**
 * Whether the holder is a live process on this host: then there is nothing to wait for
 * (the grace period is for a session whose process was just killed), and a second
 * command is refused at once.
 */
export function holderIsAlive(holder: GuardHolder): boolean {
  return localProcess(holder.host, holder.pid) === "alive";
}

/** Whether the holder process is gone, as far as this host can tell. */
export function holderIsGone(holder: GuardHolder): boolean {
  return localProcess(holder.host, holder.pid) === "gone";
}

async function recordHolder(client: Client, stateSchema: string, schema: string, owner: string, pooled: boolean, ttlSeconds: number | null): Promise<boolean> {
  if (!(await stateSchemaExists(client, stateSchema))) return true;
  const { rows: me } = await client.query<{ pid: number; since: string }>(
    "SELECT pg_backend_pid() AS pid, to_char(now(), 'YYYY-MM-DD HH24:MI:SS') AS since",
  );
  const holder = {
    host: hostname(),
    pid: process.pid,
    application: "underway",
    backendPid: pooled ? null : me[0]!.pid,
    pooled,
    since: me[0]!.since,
  };
  // A lease is taken only if free, expired or ours; the advisory lock's record is overwritten, as the lock says who holds it.
  return takeLease(client, stateSchema, { name: guardName(schema), owner, ttlSeconds: ttlSeconds ?? 315_360_000, holder, overwrite: ttlSeconds === null });
}

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
    private readonly owner = newGuardOwner(),
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
        await recordHolder(this.client, this.stateSchema, this.schema, this.owner, false, null).catch(() => undefined);
        return;
      }
      if (Date.now() >= deadline || (await this.holderLives())) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const { rows: holders } = await this.client.query<{ pid: number; app: string; since: string; state: string | null }>(
      `SELECT l.pid, a.application_name AS app, to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS') AS since, a.state
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = ($1::int)::oid AND l.objid = (hashtext($2))::oid AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [LOCK_CLASS | 0, key],
    );
    const backend = holders[0];
    const recorded = await guardHolder(this.client, this.stateSchema, this.schema).catch(() => null);
    const who =
      recorded && backend && recorded.backendPid === backend.pid
        ? describeHolder(recorded)
        : backend
          ? `server pid ${backend.pid}, ${backend.app || "no application name"}, connected since ${backend.since}${backend.state === "idle" ? ", idle" : ""}`
          : null;
    throw new UnderwayError(
      "MIGRATION_LOCKED",
      `another underway process is working on schema "${this.schema}"${who ? `: ${who}` : ""}; wait for it, or if it is gone run "underway unlock"`,
    );
  }

  /** Whether the lock's holder is the recorded one and that process is alive on this host. */
  private async holderLives(): Promise<boolean> {
    const recorded = await guardHolder(this.client, this.stateSchema, this.schema).catch(() => null);
    if (!recorded || recorded.backendPid === null || !holderIsAlive(recorded)) return false;
    const { rows } = await this.client.query<{ holds: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = ($1::int)::oid
                         AND l.objid = (hashtext($2))::oid AND l.granted AND l.pid = $3) AS holds`,
      [LOCK_CLASS | 0, `${this.stateSchema}.${this.schema}`, recorded.backendPid],
    );
    return rows[0]!.holds;
  }

  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    if (await stateSchemaExists(this.client, this.stateSchema).catch(() => false)) {
      await dropLease(this.client, this.stateSchema, guardName(this.schema), this.owner).catch(() => undefined);
    }
    await this.client.query("SELECT pg_advisory_unlock($1::int, hashtext($2))", [
      LOCK_CLASS | 0,
      `${this.stateSchema}.${this.schema}`,
    ]);
  }

  fence(): string | null {
    return null;
  }
}

/**
 * The guard behind a pooler: a lease row with an expiry, renewed every few seconds on a
 * connection of its own while the process lives. Each step's progress update is fenced on
 * the row still naming this holder, so a process that lost its lease (a long stall, a
 * partition, then another process took it over or `unlock` cleared it) stops instead of
 * running on beside the one that took over. A lease that ran out while nobody took it is
 * still this holder's: a failover can take longer than the lease, and the new primary may
 * lack the last renewals, so the renewal then simply extends it again.
 */
export class LeaseGuard implements MigrationGuard {
  private timer: NodeJS.Timeout | undefined;
  private renewer: Client | undefined;
  private held = false;

  constructor(
    private readonly client: Client,
    private readonly databaseUrl: string,
    private readonly stateSchema: string,
    private readonly schema: string,
    private readonly graceMs = 5000,
    private readonly ttlSeconds = LEASE_TTL_SECONDS,
    private readonly owner = newGuardOwner(),
  ) {}

  async acquire(): Promise<void> {
    if (!(await stateSchemaExists(this.client, this.stateSchema))) {
      throw new UnderwayError(
        "INVALID_STATE",
        `this connection goes through a connection pooler, where underway keeps its guard in the state schema "${this.stateSchema}", which does not exist yet: run "underway init" first`,
      );
    }
    const deadline = Date.now() + this.graceMs;
    for (;;) {
      if (await recordHolder(this.client, this.stateSchema, this.schema, this.owner, true, this.ttlSeconds)) break;
      const holder = await guardHolder(this.client, this.stateSchema, this.schema);
      if (holder && holderIsGone(holder)) {
        // The holder ran on this host and its process is gone: its lease need not run out.
        await dropLease(this.client, this.stateSchema, guardName(this.schema), holder.owner);
        continue;
      }
      if (Date.now() >= deadline || (holder && !holder.expired && holderIsAlive(holder))) {
        throw new UnderwayError(
          "MIGRATION_LOCKED",
          `another underway process is working on schema "${this.schema}"${holder ? `: ${describeHolder(holder)}, lease until ${holder.expiresAt}` : ""}; wait for it, or if it is gone run "underway unlock"`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    this.held = true;
    this.schedule(this.renewEveryMs());
  }

  private renewEveryMs(): number {
    return (this.ttlSeconds * 1000) / 3;
  }

  private schedule(ms: number): void {
    if (!this.held) return;
    this.timer = setTimeout(() => void this.renew(), ms);
    this.timer.unref?.();
  }

  /**
   * One renewal. A renewal that fails (the server went away, the pooler dropped the
   * connection) drops its connection and is tried again each second on a new one, so the
   * lease is extended as soon as the database answers again.
   */
  private async renew(): Promise<void> {
    if (!this.held) return;
    try {
      this.renewer ??= await connect(this.databaseUrl, { applicationName: "underway guard", queryTimeoutMs: 5000 });
      if (!this.held) {
        await this.renewer.end().catch(() => undefined);
        this.renewer = undefined;
        return;
      }
      await renewLease(this.renewer, this.stateSchema, guardName(this.schema), this.owner, this.ttlSeconds);
      this.schedule(this.renewEveryMs());
    } catch {
      // A lease taken over meanwhile is not taken back: the renewal names this holder, and the fence stops the phase.
      const lost = this.renewer;
      this.renewer = undefined;
      await lost?.end().catch(() => undefined);
      this.schedule(1000);
    }
  }

  async release(): Promise<void> {
    this.held = false;
    if (this.timer) clearTimeout(this.timer);
    await dropLease(this.client, this.stateSchema, guardName(this.schema), this.owner).catch(() => undefined);
    await this.renewer?.end().catch(() => undefined);
    this.renewer = undefined;
  }

  fence(): string {
    return leaseFenceSql(this.stateSchema, guardName(this.schema), this.owner);
  }
}

/** The guard as `status` shows it: who holds it, and whether that holder looks alive. */
export interface GuardState {
  held: boolean;
  /** How it is held: a session lock (direct connections) or a lease (behind a pooler). */
  kind: "advisory" | "lease" | null;
  holder: GuardHolder | null;
  /** The server session holding the advisory lock. */
  backend: { pid: number; application: string; state: string | null; since: string } | null;
  /** The holder is known to be gone (its process on this host, or its lease ran out). */
  gone: boolean;
}

export async function guardState(client: Client, stateSchema: string, schema: string): Promise<GuardState> {
  const key = `${stateSchema}.${schema}`;
  const { rows } = await client.query<{ pid: number; app: string; state: string | null; since: string }>(
    `SELECT l.pid, a.application_name AS app, a.state, to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS') AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.classid = ($1::int)::oid AND l.objid = (hashtext($2))::oid AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_CLASS | 0, key],
  );
  const recorded = await guardHolder(client, stateSchema, schema).catch(() => null);
  const backend = rows[0] ? { pid: rows[0].pid, application: rows[0].app, state: rows[0].state, since: rows[0].since } : null;
  if (backend) {
    const holder = recorded && recorded.backendPid === backend.pid ? recorded : null;
    return { held: true, kind: "advisory", holder, backend, gone: holder !== null && holderIsGone(holder) };
  }
  if (recorded?.pooled) {
    return { held: !recorded.expired, kind: "lease", holder: recorded, backend: null, gone: recorded.expired || holderIsGone(recorded) };
  }
  return { held: false, kind: null, holder: null, backend: null, gone: false };
}

/**
 * Clears the guard when its holder is gone: a lease is deleted, a session lock left on a
 * server connection (a pooled one, or one whose process died without the server noticing)
 * is freed by ending that session. A holder that may still be working is left alone unless
 * `force` says the operator knows it is not.
 */
export async function clearGuard(client: Client, stateSchema: string, schema: string, force: boolean): Promise<GuardState> {
  const state = await guardState(client, stateSchema, schema);
  if (!state.held && state.kind === null) return state;
  if (!state.gone && !force) {
    const who = state.holder ? describeHolder(state.holder) : state.backend ? `server pid ${state.backend.pid} (${state.backend.application || "no application name"}, ${state.backend.state ?? "?"} since ${state.backend.since})` : "unknown";
    throw new UnderwayError(
      "INVALID_STATE",
      `the guard of schema "${schema}" is held by ${who}, which may still be working; stop it first, or if you know it is gone, run "underway unlock --force"`,
    );
  }
  if (state.backend) await client.query("SELECT pg_terminate_backend($1)", [state.backend.pid]);
  if (await stateSchemaExists(client, stateSchema)) {
    await dropLease(client, stateSchema, guardName(schema));
  }
  return state;
}
