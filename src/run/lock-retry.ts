import type { Client } from "../db/connection.js";
import { isLockConflict, isPooled } from "../db/connection.js";
import { UnderwayError } from "../errors.js";
import { ident } from "../db/ident.js";
import { sleepUnlessStopped, throwIfStopped } from "../util/interrupt.js";

/** How DDL waits for its locks. */
export interface LockPolicy {
  /** `lock_timeout` for each attempt, in milliseconds. */
  lockTimeoutMs: number;
  /** Attempts before giving up. */
  maxAttempts: number;
  /** First backoff delay; doubles each attempt, with full jitter, up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Stops waiting between attempts when it fires (the phase is being stopped). */
  signal?: AbortSignal | undefined;
}

export const defaultLockPolicy: LockPolicy = {
  lockTimeoutMs: 500,
  maxAttempts: 10,
  baseDelayMs: 250,
  maxDelayMs: 5000,
};

/** A session holding a lock that DDL waited for. */
export interface Blocker {
  pid: number;
  state: string | null;
  mode: string;
  transactionSeconds: number | null;
  query: string | null;
}

/** Called before each retry, so callers can report what is happening. */
export type RetryListener = (event: { attempt: number; delayMs: number; blockers: Blocker[] }) => void;

/**
 * Runs `attempt` in a transaction with `SET LOCAL lock_timeout`, retrying lock
 * conflicts with exponential backoff and full jitter. A waiting ALTER TABLE queues
 * every later query on the table behind it, so it must give up quickly and try again
 * rather than wait (PostgreSQL docs, "Explicit Locking": lock requests queue in order).
 */
export async function inLockedTransaction<T>(
  client: Client,
  policy: LockPolicy,
  what: { description: string; tables?: string[]; searchPath?: string },
  attempt: (client: Client) => Promise<T>,
  onRetry?: RetryListener,
): Promise<T> {
  return retryingLockConflicts(client, policy, what, onRetry, async (timeoutMs) => {
    await client.query("BEGIN");
    try {
      await client.query(`SET LOCAL lock_timeout = ${timeoutMs}`);
      // The transaction's own, so it holds behind a pooler too.
      if (what.searchPath !== undefined) await client.query("SELECT set_config('search_path', $1, true)", [ident(what.searchPath)]);
      const result = await attempt(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    }
  });
}

/**
 * Runs one statement outside a transaction (CREATE INDEX CONCURRENTLY and friends)
 * with the same lock discipline.
 */
export async function withLockRetry<T>(
  client: Client,
  policy: LockPolicy,
  what: { description: string; tables?: string[] },
  run: (client: Client) => Promise<T>,
  onRetry?: RetryListener,
): Promise<T> {
  return retryingLockConflicts(client, policy, what, onRetry, async (timeoutMs) => {
    // Behind a pooler a session SET may land on another server connection than the
    // statement and stay there for another client: no timeout then. The statements run
    // here (CREATE/DROP INDEX CONCURRENTLY) take SHARE UPDATE EXCLUSIVE, which does not
    // queue reads or writes behind it.
    if (isPooled(client)) return run(client);
    await client.query(`SET lock_timeout = ${timeoutMs}`);
    try {
      return await run(client);
    } finally {
      await client.query("RESET lock_timeout").catch(() => {});
    }
  });
}

async function deadlockTimeoutMs(client: Client): Promise<number> {
  const { rows } = await client.query<{ ms: string }>(
    "SELECT setting::int * CASE unit WHEN 's' THEN 1000 ELSE 1 END AS ms FROM pg_settings WHERE name = 'deadlock_timeout'",
  );
  return Number(rows[0]?.ms ?? 1000);
}

function timeoutOf(policy: LockPolicy): number {
  return Math.max(1, Math.floor(policy.lockTimeoutMs));
}

/**
 * One attempt after another while they fail on a lock conflict, naming the blockers at
 * the end. Autovacuum gives way to DDL, but only once the DDL has waited deadlock_timeout
 * (PostgreSQL docs, "The Autovacuum Daemon"); an attempt that gives up sooner never makes
 * it yield. So when the only blockers hold SHARE UPDATE EXCLUSIVE, autovacuum's lock, the
 * next attempt waits just past deadlock_timeout.
 */
async function retryingLockConflicts<T>(
  client: Client,
  policy: LockPolicy,
  what: { description: string; tables?: string[] },
  onRetry: RetryListener | undefined,
  attempt: (timeoutMs: number) => Promise<T>,
): Promise<T> {
  let timeoutMs = timeoutOf(policy);
  for (let n = 1; ; n++) {
    try {
      return await attempt(timeoutMs);
    } catch (error) {
      if (!isLockConflict(error)) throw error;
      const blockers = await findBlockers(client, what.tables ?? []);
      timeoutMs = timeoutOf(policy);
      if (blockers.length > 0 && blockers.every((b) => b.mode === "ShareUpdateExclusiveLock")) {
        timeoutMs = Math.max(timeoutMs, (await deadlockTimeoutMs(client)) + 250);
      }
      if (n >= policy.maxAttempts) throw lockTimeoutError(what.description, n, blockers, error);
      const delayMs = backoffDelay(policy, n);
      throwIfStopped(policy.signal, () => `while waiting for a lock for "${what.description}"`);
      onRetry?.({ attempt: n, delayMs, blockers });
      await sleepUnlessStopped(delayMs, policy.signal);
      throwIfStopped(policy.signal, () => `while waiting for a lock for "${what.description}"`);
    }
  }
}

function backoffDelay(policy: LockPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Sessions other than ours holding locks on the given relations (qualified, quoted names). */
export async function findBlockers(client: Client, tables: string[]): Promise<Blocker[]> {
  if (tables.length === 0) return [];
  try {
    const { rows } = await client.query<{
      pid: number;
      state: string | null;
      mode: string;
      seconds: number | null;
      query: string | null;
    }>(
      `SELECT l.pid, a.state, string_agg(DISTINCT l.mode, ', ') AS mode,
              extract(epoch FROM now() - a.xact_start)::float8 AS seconds, left(a.query, 200) AS query
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.granted AND l.pid <> pg_backend_pid()
          AND l.relation = ANY (SELECT to_regclass(t)::oid FROM unnest($1::text[]) t)
        GROUP BY l.pid, a.state, a.xact_start, a.query
        ORDER BY a.xact_start NULLS LAST`,
      [tables],
    );
    return rows.map((r) => ({
      pid: r.pid,
      state: r.state,
      mode: r.mode,
      transactionSeconds: r.seconds === null ? null : Math.round(r.seconds),
      query: r.query === null ? null : r.query.replace(/\s+/g, " ").trim(),
    }));
  } catch {
    return [];
  }
}

function lockTimeoutError(description: string, attempts: number, blockers: Blocker[], cause: unknown): UnderwayError {
  const first = blockers[0];
  const who = first
    ? `; blocked by pid ${first.pid} (${first.state ?? "unknown state"}${
        first.transactionSeconds === null ? "" : `, transaction open ${first.transactionSeconds}s`
      }, holding ${first.mode}): ${first.query ?? "query unknown"}`
    : "";
  const more = blockers.length > 1 ? ` (+${blockers.length - 1} more)` : "";
  return new UnderwayError(
    "LOCK_TIMEOUT",
    `${description}: lock not acquired after ${attempts} attempts${who}${more}`,
    {
      cause,
      detail: blockers.map((b) => `pid ${b.pid} ${b.state ?? ""} ${b.mode}: ${b.query ?? ""}`).join("\n"),
    },
  );
}
