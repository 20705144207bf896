/**
 * The application that runs beside a migration in the demo, a rehearsal and the fault
 * scenarios: clients of the old and the new version, each on its own connection, taking
 * turns at a steady rate. A turn is the application's own statements (the caller's); this
 * runs each in a transaction pinned to the client's version with the product's own
 * `pinVersionSql`, as an application behind a transaction pooler must, times it into HDR
 * histograms, counts what it did, and counts failures apart from those an injected outage
 * explains (a killed primary, a cut network).
 */
import type pg from "pg";
import { connect, isConnectionLoss, sqlState } from "../db/connection.js";
import { pinVersionSql, type VersionTarget } from "../db/version-pin.js";
import { sleep } from "../util/time.js";
import type { LatencyHistograms } from "./latency.js";

/** One version of the application: what its clients are counted as, and the version schema they pin. */
export interface WorkloadVersion extends VersionTarget {
  label: "old" | "new";
}

export type Operation = "update" | "insert" | "read";

export interface TurnResult {
  op: Operation;
  /** Called once the turn's transaction committed: where a ledger kept in memory records the write. */
  committed?: () => void;
}

/** One turn of a client: its statements, inside a transaction already pinned to its version; `n` counts its turns from 1. */
export type Turn = (client: pg.Client, n: number) => Promise<TurnResult>;

export interface WorkloadOptions {
  /** Where the clients connect (through the proxy, in a rehearsal, so they follow a failover). */
  url: string;
  latency: LatencyHistograms;
  /** Turns per second per client; 0 runs flat out. */
  ratePerClient: number;
  /** The clients' application_name is `<applicationName>-<label>-<index>`. */
  applicationName: string;
  /** Distinct error messages kept for the report (default 12). */
  maxDistinctErrors?: number;
}

export interface VersionCounts {
  clients: number;
  updates: number;
  inserts: number;
  reads: number;
  /** Turns that failed with no injected outage to explain it. */
  failed: number;
  /** Turns that failed on a lost connection during (or just after) an injected outage. */
  outageErrors: number;
}

export interface QueryError {
  version: "old" | "new";
  message: string;
  count: number;
  /** Whether an injected outage explains it. */
  outage: boolean;
}

/** After an outage ends, connection errors are still its own for this long (a client finds out on its next query). */
const OUTAGE_GRACE_MS = 3000;
/**
 * SQLSTATE 25006, read_only_sql_transaction: in a failover the address clients use can
 * lead, for a moment, to a node that is not a primary yet. Patroni's REST API answers 200
 * on /primary as soon as its node holds the leader key, before PostgreSQL has finished
 * promoting, so HAProxy routes there while recovery still replays. During an injected
 * outage that is the outage's error, like a lost connection; outside one it is a failure.
 */
const READ_ONLY_TRANSACTION = "25006";

export class Workload {
  readonly counts: Record<"old" | "new", VersionCounts> = { old: emptyCounts(), new: emptyCounts() };
  private readonly errors = new Map<string, QueryError>();
  private readonly clients: VersionClient[] = [];
  private closed = false;
  private outageDepth = 0;
  private outageEndedAt = 0;
  private lastWriteAt = 0;
  private readonly writeWatchers = new Set<() => void>();

  constructor(private readonly options: WorkloadOptions) {}

  /** Connects `count` clients of a version, each taking the turns `turnFor(index)` gives, and sets them running. */
  async start(version: WorkloadVersion, count: number, turnFor: (index: number) => Turn): Promise<void> {
    const started: VersionClient[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const client = new VersionClient(this.options, version, i, turnFor(i), {
          counts: this.counts[version.label],
          onFailure: (error) => this.recordFailure(version.label, error),
          onWrite: () => this.recordWrite(),
        });
        started.push(client);
        await client.connect();
      }
    } catch (error) {
      await Promise.all(started.map((c) => c.stop()));
      throw error;
    }
    if (this.closed) {
      // Stopped while these were connecting: they must not start behind the cleanup's back.
      await Promise.all(started.map((c) => c.stop()));
      return;
    }
    for (const client of started) client.run();
    this.clients.push(...started);
    this.counts[version.label].clients += count;
  }

  /**
   * Stops the clients of one version, or all of them for good (no client starts after
   * that), waiting for their turns in flight.
   */
  async stop(label?: "old" | "new"): Promise<void> {
    if (label === undefined) this.closed = true;
    const stopping = this.clients.filter((c) => label === undefined || c.version.label === label);
    for (const client of stopping) this.clients.splice(this.clients.indexOf(client), 1);
    await Promise.all(stopping.map((c) => c.stop()));
  }

  get running(): { old: number; new: number } {
    return {
      old: this.clients.filter((c) => c.version.label === "old").length,
      new: this.clients.filter((c) => c.version.label === "new").length,
    };
  }

  /**
   * Measures how long the application could not write around a fault: from now until the
   * first write acknowledged after `end()` is called (or `endWithinMs` after it), the
   * longest stretch without an acknowledged write, counted from the last write before
   * the watch began. Null when no write was acknowledged after `end()` in time.
   */
  watchWrites(): { end(endWithinMs?: number): Promise<number | null> } {
    const watch = { longestMs: 0, since: this.lastWriteAt || Date.now() };
    const wrote = () => {
      const now = Date.now();
      watch.longestMs = Math.max(watch.longestMs, now - watch.since);
      watch.since = now;
    };
    this.writeWatchers.add(wrote);
    return {
      end: async (endWithinMs = 30_000) => {
        const ended = Date.now();
        while (watch.since < ended && Date.now() - ended < endWithinMs) await sleep(50);
        this.writeWatchers.delete(wrote);
        return watch.since >= ended ? watch.longestMs : null;
      },
    };
  }

  /**
   * Marks an injected outage: connection errors from now until `OUTAGE_GRACE_MS` after the
   * returned function is called are counted as the outage's, not as failed queries.
   */
  beginOutage(): () => void {
    this.outageDepth++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.outageDepth--;
      this.outageEndedAt = Date.now();
    };
  }

  get failedQueries(): number {
    return this.counts.old.failed + this.counts.new.failed;
  }

  get outageErrors(): number {
    return this.counts.old.outageErrors + this.counts.new.outageErrors;
  }

  /** Writes the clients saw committed. */
  get acknowledgedWrites(): number {
    return this.counts.old.updates + this.counts.old.inserts + this.counts.new.updates + this.counts.new.inserts;
  }

  /** The first distinct errors, with how often each occurred. */
  get firstErrors(): QueryError[] {
    return [...this.errors.values()];
  }

  private recordWrite(): void {
    this.lastWriteAt = Date.now();
    for (const wrote of this.writeWatchers) wrote();
  }

  private recordFailure(version: "old" | "new", error: unknown): void {
    const lost = isConnectionLoss(error) || sqlState(error) === READ_ONLY_TRANSACTION;
    const outage = lost && (this.outageDepth > 0 || Date.now() - this.outageEndedAt < OUTAGE_GRACE_MS);
    if (outage) this.counts[version].outageErrors++;
    else this.counts[version].failed++;
    const message = error instanceof Error ? error.message : String(error);
    const key = `${version}\u0000${outage}\u0000${message}`;
    const known = this.errors.get(key);
    if (known) known.count++;
    else if (this.errors.size < (this.options.maxDistinctErrors ?? 12)) this.errors.set(key, { version, message, count: 1, outage });
  }
}

function emptyCounts(): VersionCounts {
  return { clients: 0, updates: 0, inserts: 0, reads: 0, failed: 0, outageErrors: 0 };
}

/** What a client reports to its workload. */
interface ClientReports {
  counts: VersionCounts;
  onFailure: (error: unknown) => void;
  /** An acknowledged write (its transaction committed). */
  onWrite: () => void;
}

/** One application connection of one version; reconnects after a lost connection, as a pool would. */
class VersionClient {
  private client: pg.Client | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: WorkloadOptions,
    readonly version: WorkloadVersion,
    private readonly index: number,
    private readonly turn: Turn,
    private readonly reports: ClientReports,
  ) {}

  async connect(): Promise<void> {
    // Through connect(), so the application's sessions speak TLS as underway's own do.
    this.client = await connect(this.options.url, { applicationName: `${this.options.applicationName}-${this.version.label}-${this.index}` });
  }

  run(): void {
    this.running = true;
    this.loop = this.operate();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.client?.end().catch(() => {});
  }

  private async operate(): Promise<void> {
    const { ratePerClient, latency } = this.options;
    const { counts } = this.reports;
    const interval = ratePerClient > 0 ? 1000 / ratePerClient : 0;
    const pin = pinVersionSql(this.version);
    let due = performance.now();
    let n = 0;
    while (this.running) {
      n++;
      try {
        if (!this.client) await this.connect();
        const client = this.client!;
        const done = latency.begin();
        await client.query("BEGIN");
        await client.query(pin);
        const result = await this.turn(client, n);
        await client.query("COMMIT");
        done();
        result.committed?.();
        counts[result.op === "update" ? "updates" : result.op === "insert" ? "inserts" : "reads"]++;
        if (result.op !== "read") this.reports.onWrite();
      } catch (error) {
        this.reports.onFailure(error);
        if (isConnectionLoss(error) || (this.client && !isUsable(this.client))) {
          await this.client?.end().catch(() => {});
          this.client = undefined;
          await sleep(200);
        } else {
          await this.client?.query("ROLLBACK").catch(() => {});
          await sleep(20);
        }
      }
      if (interval > 0) {
        due += interval;
        const now = performance.now();
        // A client that fell behind (it waited on a lock or a reconnect) carries on at its pace rather than bursting.
        if (due < now - interval) due = now;
        if (due > now) await sleep(due - now);
      }
    }
  }
}

/** node-postgres marks a client that lost its connection; such a client only fails from then on. */
function isUsable(client: pg.Client): boolean {
  const internal = client as unknown as { _ending?: boolean; _connectionError?: boolean; connection?: { stream?: { destroyed?: boolean } } };
  return !internal._ending && !internal._connectionError && internal.connection?.stream?.destroyed !== true;
}
