import type { Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import { describeError } from "../errors.js";
import type { BackfillSettings } from "./settings.js";

import type { ForegroundGuard } from "./foreground.js";

/** What holds a backfill back; `foreground`: the foreground guard's pacing. */
export type ThrottleReason = "replica-lag" | "max-rate" | "lock-wait" | "throttle-query" | "foreground";

/** What the monitor last measured. */
export interface ThrottleReading {
  /** The signal over its limit, if any (max-rate is the workers' own). */
  holding: ThrottleReason | null;
  replicas: number;
  lagBytes: number | null;
  lagSeconds: number | null;
  /** Why a limit cannot be enforced, e.g. replica positions hidden from this role. */
  warning: string | null;
  /** The throttle query's error, while it fails, and the query that failed. */
  throttleQueryError?: string | null;
  throttleQueryFailed?: string | null;
}

/**
 * Watches the signals a backfill yields to, on its own connection, so the workers only
 * read a field before each batch: replica lag (bytes from pg_stat_replication, seconds
 * from heartbeats, since replay_lag goes stale when a replica stops replaying), sessions
 * waiting on the table or on the workers' rows, and the user's throttle query.
 */
export class ThrottleMonitor {
  private reading: ThrottleReading = { holding: null, replicas: 0, lagBytes: null, lagSeconds: null, warning: null };
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastSlow = 0;
  private slowHolding: ThrottleReason | null = null;
  private stopped = false;
  private readonly walSamples: { bytes: number; at: number }[] = [];
  /** WAL written per second, smoothed, for the headroom below the lag limit. */
  private walRate = 0;
  private heldForLag = false;

  constructor(
    private readonly client: Client,
    private readonly stateSchema: string,
    private readonly table: string,
    private readonly settings: () => BackfillSettings,
    private readonly workerPids: () => number[],
    private readonly guard?: ForegroundGuard,
  ) {}

  current(): ThrottleReading {
    return this.reading;
  }

  /** Polls every 250 ms: lock waits each time, the rest once a second. */
  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      try {
        await this.poll();
      } catch {
        // A failed poll leaves the last reading; the workers' own errors tell of a lost server.
      }
      if (!this.stopped) this.timer = setTimeout(() => (this.running = tick()), 250);
    };
    this.running = tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Measures once; exposed so tests and the first batch need not wait for the timer.
   * Replica lag is read on every tick while a lag limit is set, since a fast backfill
   * writes tens of MB of WAL a second; heartbeats and the throttle query once a second.
   */
  async poll(): Promise<ThrottleReading> {
    const settings = this.settings();
    const now = Date.now();
    const lagLimited = settings.maxLagBytes !== null || settings.maxLagSeconds !== null;
    let slow = this.slowHolding;
    if (now - this.lastSlow >= 1000) {
      this.lastSlow = now;
      await this.heartbeat();
      slow = this.slowHolding = await this.throttleQuery(settings);
      if (!lagLimited) await this.replicaLag(settings);
    }
    if (this.guard && settings.foregroundTarget !== null) {
      const { rows } = await this.client.query<{ xmax: string }>("SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax");
      this.guard.sample(BigInt(rows[0]!.xmax));
    }
    let holding: ThrottleReason | null = lagLimited ? await this.replicaLag(settings) : null;
    holding ??= slow;
    if (!holding && settings.lockWait && (await this.someoneWaits())) holding = "lock-wait";
    this.reading = { ...this.reading, holding };
    return this.reading;
  }

  private async heartbeat(): Promise<void> {
    const heartbeat = qualified(this.stateSchema, "heartbeat");
    await this.client.query(`INSERT INTO ${heartbeat} (ts, lsn) VALUES (now(), pg_current_wal_lsn()) ON CONFLICT DO NOTHING`);
    await this.client.query(`DELETE FROM ${heartbeat} WHERE ts < now() - interval '1 hour'`);
  }

  /** Reads replica lag (for the reading and the report) and says whether it is over the limit. */
  private async replicaLag(settings: BackfillSettings): Promise<ThrottleReason | null> {
    const heartbeat = qualified(this.stateSchema, "heartbeat");
    const { rows } = await this.client.query<{ replicas: number; bytes: number | null; seconds: number | null; hidden: boolean; wal: number }>(
      `SELECT count(*)::int AS replicas, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8 AS wal,
              max(pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn))::float8 AS bytes,
              max(extract(epoch FROM now() - coalesce(
                    (SELECT max(h.ts) FROM ${heartbeat} h WHERE h.lsn <= r.replay_lsn),
                    (SELECT min(h.ts) FROM ${heartbeat} h))))::float8 AS seconds,
              coalesce(bool_or(r.replay_lsn IS NULL), false) AS hidden
         FROM pg_stat_replication r`,
    );
    const r = rows[0]!;
    const warning =
      r.hidden && (settings.maxLagBytes !== null || settings.maxLagSeconds !== null)
        ? "replica positions are hidden from this role; grant it pg_monitor so --max-lag can be enforced"
        : null;
    this.reading = {
      ...this.reading,
      replicas: r.replicas,
      lagBytes: r.bytes === null ? null : Math.max(0, r.bytes),
      lagSeconds: r.seconds === null ? null : Math.max(0, r.seconds),
      warning,
    };
    // Hold a little before the limit: the WAL the batches in flight and the next poll
    // interval will write, at the rate measured between polls. The rate is kept from
    // before a hold: while held the backfill writes nothing, and a rate decaying to zero
    // would release it at once, only to hold again a batch later.
    // The rate is taken over a window of at least a second, as batches write in bursts;
    // the headroom never exceeds a quarter of the limit.
    const now = Date.now();
    this.walSamples.push({ bytes: r.wal, at: now });
    while (this.walSamples.length > 2 && now - this.walSamples[1]!.at >= 1000) this.walSamples.shift();
    const oldest = this.walSamples[0]!;
    if (!this.heldForLag && now - oldest.at >= 1000) this.walRate = ((r.wal - oldest.bytes) * 1000) / (now - oldest.at);
    const headroom = Math.min(this.walRate * 0.5, (settings.maxLagBytes ?? 0) / 4);
    this.heldForLag =
      (settings.maxLagBytes !== null && r.bytes !== null && r.bytes + headroom > settings.maxLagBytes) ||
      (settings.maxLagSeconds !== null && r.seconds !== null && r.seconds > settings.maxLagSeconds);
    return this.heldForLag ? "replica-lag" : null;
  }

  private async throttleQuery(settings: BackfillSettings): Promise<ThrottleReason | null> {
    if (!settings.throttleQuery) {
      this.reading = { ...this.reading, throttleQueryError: null };
      return null;
    }
    try {
      const held = await runThrottleQuery(this.client, settings.throttleQuery);
      this.reading = { ...this.reading, throttleQueryError: null };
      return held ? "throttle-query" : null;
    } catch (error) {
      // A throttle query that fails holds the job (better slow than unguarded), and says why:
      // the job is paused with the error, for the operator to fix the query and resume.
      this.reading = { ...this.reading, throttleQueryError: describeError(error), throttleQueryFailed: settings.throttleQuery };
      return "throttle-query";
    }
  }

  private async someoneWaits(): Promise<boolean> {
    const { rows } = await this.client.query<{ waits: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = $1::regclass AND NOT l.granted AND l.pid <> ALL($2::int[]))
           OR EXISTS (SELECT 1 FROM pg_stat_activity a
                       WHERE a.wait_event_type = 'Lock' AND a.pid <> ALL($2::int[]) AND pg_blocking_pids(a.pid) && $2::int[]) AS waits`,
      [this.table, this.workerPids()],
    );
    return rows[0]!.waits;
  }
}

/**
 * Runs a throttle query: true when its first value is true. In a transaction of its own
 * with a 2 s statement timeout, read-only and rolled back, so it can neither hang the
 * monitor nor change anything, and its settings stay with it behind a pooler.
 *
 * The four statements are queued at once: the connection is shared (the job's progress
 * reports use it too), and a query of another caller queued between BEGIN and ROLLBACK
 * would run inside this read-only transaction and fail.
 */
export async function runThrottleQuery(client: Client, sql: string): Promise<boolean> {
  const queued = [
    client.query("BEGIN READ ONLY"),
    client.query("SET LOCAL statement_timeout = '2s'"),
    client.query({ text: sql, rowMode: "array" }),
    client.query("ROLLBACK"),
  ];
  const [begin, limit, result] = await Promise.allSettled(queued);
  for (const step of [begin, limit, result]) if (step!.status === "rejected") throw step!.reason;
  const rows = (result as PromiseFulfilledResult<{ rows: unknown[] }>).value.rows;
  const value = (rows[0] as unknown[] | undefined)?.[0];
  return value === true || value === "t" || value === "true" || value === 1;
}
