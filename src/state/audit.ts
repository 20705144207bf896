import { hostname, userInfo } from "node:os";
import type { Client } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";

/**
 * The audit trail: one row for every action that changes a migration's state (start,
 * each step, complete, rollback, resume, pause, cancel, throttle, unlock, a dashboard
 * control), kept in the state schema after the migration ends. Who acted is taken twice:
 * from the database (the role the statements ran as, the session's role, its
 * application_name and client address, filled in by the server) and from the process
 * (OS user, host, pid, and where the action came from: the CLI, the dashboard, a library
 * caller). The table is append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, so a
 * mistake cannot rewrite it (its owner can still drop the trigger; the trail guards
 * against slips, not against the owner).
 */

/** Where an action came from, and anything that source knows of the caller (the dashboard: the request's address). */
export interface AuditActor {
  /** `cli`, `dashboard`, `library` (the default), or an application's own word. */
  source: string;
  detail?: Record<string, unknown>;
}

/** How an action ended, as far as the row says. A phase writes `begun` first, then one of the others. */
export type AuditOutcome = "begun" | "done" | "failed" | "stopped";

/** What an action writes. */
export interface AuditRecord {
  migration: string | null;
  action: string;
  outcome: AuditOutcome;
  /** The migration file's checksum, when the action concerns one. */
  checksum?: string | null;
  detail?: Record<string, unknown>;
}

/** One row of the trail as read back. */
export interface AuditEntry {
  id: number;
  at: Date;
  schema: string;
  migration: string | null;
  action: string;
  outcome: AuditOutcome;
  checksum: string | null;
  detail: Record<string, unknown>;
  who: {
    /** current_user: the role whose privileges the action used. */
    databaseRole: string;
    /** session_user: the role that logged in. */
    sessionRole: string;
    applicationName: string | null;
    /** The client address the server saw (a pooler's, behind one); null over a Unix socket. */
    clientAddress: string | null;
    osUser: string | null;
    host: string | null;
    pid: number | null;
    source: string;
  };
}

export const LIBRARY_ACTOR: AuditActor = { source: "library" };

/** The DDL of the trail (part of the state schema; `__STATE__` is the quoted state schema). */
export function auditDdl(stateSchema: string): string[] {
  const audit = qualified(stateSchema, "audit");
  return [
    `CREATE TABLE IF NOT EXISTS ${audit} (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      schema text NOT NULL,
      migration text,
      action text NOT NULL,
      outcome text NOT NULL CHECK (outcome IN ('begun', 'done', 'failed', 'stopped')),
      checksum text,
      detail jsonb NOT NULL DEFAULT '{}',
      database_role text NOT NULL DEFAULT current_user,
      session_role text NOT NULL DEFAULT session_user,
      application_name text DEFAULT current_setting('application_name', true),
      client_address inet DEFAULT inet_client_addr(),
      os_user text,
      host text,
      pid integer,
      source text NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS audit_migration ON ${audit} (schema, migration, id)`,
    `CREATE OR REPLACE FUNCTION __STATE__.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
      RAISE EXCEPTION 'the audit trail of underway is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END
    $fn$`,
    `CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON ${audit} FOR EACH ROW EXECUTE FUNCTION __STATE__.audit_append_only()`,
    `CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON ${audit} FOR EACH STATEMENT EXECUTE FUNCTION __STATE__.audit_append_only()`,
  ];
}

/** This process as the trail names it. */
function processIdentity(): { osUser: string | null; host: string | null; pid: number } {
  let osUser: string | null = null;
  try {
    osUser = userInfo().username;
  } catch {
    // A uid with no passwd entry (some containers): the environment may still say.
    osUser = process.env.USER ?? process.env.LOGNAME ?? (typeof process.getuid === "function" ? `uid ${process.getuid()}` : null);
  }
  let host: string | null = null;
  try {
    host = hostname();
  } catch {
    host = null;
  }
  return { osUser, host, pid: process.pid };
}

/**
 * Appends one row to the trail on `client` (inside the caller's transaction when it has
 * one, so a step's row commits with the step). A state schema made by an earlier release
 * that has no trail yet gets it first, unless `client` is inside a transaction.
 */
export async function recordAudit(
  client: Client,
  where: { stateSchema: string; schema: string },
  actor: AuditActor,
  record: AuditRecord,
): Promise<AuditEntry> {
  const me = processIdentity();
  const detail = { ...(actor.detail ?? {}), ...(record.detail ?? {}) };
  const { rows } = await client.query(
    `INSERT INTO ${qualified(where.stateSchema, "audit")} (schema, migration, action, outcome, checksum, detail, os_user, host, pid, source)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
    [where.schema, record.migration, record.action, record.outcome, record.checksum ?? null, JSON.stringify(detail), me.osUser, me.host, me.pid, actor.source],
  );
  return toEntry(rows[0]);
}

/** Creates the trail in a state schema that lacks it (one written by an earlier release). */
export async function ensureAuditTrail(client: Client, stateSchema: string): Promise<void> {
  const { rows } = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [qualified(stateSchema, "audit")]);
  if (rows[0]!.ok) return;
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`underway-init:${stateSchema}`]);
    for (const statement of auditDdl(stateSchema)) await client.query(statement.replaceAll("__STATE__", ident(stateSchema)));
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** The trail of a schema, oldest first; of one migration when named; the newest `limit` rows when given. */
export async function readAuditTrail(
  client: Client,
  where: { stateSchema: string; schema: string },
  filter: { migration?: string; limit?: number } = {},
): Promise<AuditEntry[]> {
  const { rows: exists } = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [qualified(where.stateSchema, "audit")]);
  if (!exists[0]!.ok) return [];
  const { rows } = await client.query(
    `SELECT * FROM (
       SELECT * FROM ${qualified(where.stateSchema, "audit")}
        WHERE schema = $1 AND ($2::text IS NULL OR migration = $2)
        ORDER BY id DESC LIMIT $3
     ) newest ORDER BY id`,
    [where.schema, filter.migration ?? null, filter.limit ?? null],
  );
  return rows.map(toEntry);
}

function toEntry(row: Record<string, unknown>): AuditEntry {
  return {
    id: Number(row.id),
    at: row.at as Date,
    schema: row.schema as string,
    migration: (row.migration as string | null) ?? null,
    action: row.action as string,
    outcome: row.outcome as AuditOutcome,
    checksum: (row.checksum as string | null) ?? null,
    detail: (row.detail as Record<string, unknown>) ?? {},
    who: {
      databaseRole: row.database_role as string,
      sessionRole: row.session_role as string,
      applicationName: (row.application_name as string | null) ?? null,
      clientAddress: (row.client_address as string | null) ?? null,
      osUser: (row.os_user as string | null) ?? null,
      host: (row.host as string | null) ?? null,
      pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
      source: row.source as string,
    },
  };
}

/** One entry as a line for a person: `2026-12-02 12:00:01  02_widen  pause done  app (cli, alice@build-7 pid 4242)  accounts`. */
export function auditLine(entry: AuditEntry): string {
  const at = entry.at.toISOString().replace("T", " ").slice(0, 19);
  const who = entry.who;
  const role = who.sessionRole === who.databaseRole ? who.databaseRole : `${who.sessionRole} as ${who.databaseRole}`;
  const process = [who.osUser && who.host ? `${who.osUser}@${who.host}` : (who.osUser ?? who.host), who.pid !== null ? `pid ${who.pid}` : null].filter(Boolean).join(" ");
  const by = `${role} (${[who.source, process].filter((s) => s).join(", ")})`;
  return `${at}  ${(entry.migration ?? "-").padEnd(28)} ${`${entry.action} ${entry.outcome}`.padEnd(22)} ${by}${describeDetail(entry.detail)}`;
}

function describeDetail(detail: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof detail.step === "string") parts.push(detail.step);
  if (Array.isArray(detail.tables) && detail.tables.length > 0) parts.push(detail.tables.join(", "));
  if (detail.settings && typeof detail.settings === "object") {
    parts.push(Object.entries(detail.settings as Record<string, unknown>).map(([k, v]) => `${k}=${v === null ? "none" : String(v)}`).join(" "));
  }
  if (typeof detail.remote === "string") parts.push(`from ${detail.remote}`);
  if (typeof detail.error === "string") parts.push(detail.error);
  return parts.length > 0 ? `  ${parts.join("; ")}` : "";
}
