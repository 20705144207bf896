/**
 * The demo's application: clients of one schema version each, on their own connection,
 * running short autocommit statements against `accounts` at a steady rate, and keeping a
 * ledger of every write the database acknowledged, so the end of the demo can prove that
 * none was lost.
 */
import type pg from "pg";
import { connect } from "../db/connection.js";
import { ident } from "../db/ident.js";
import type { LatencyRecorder } from "./latency.js";

/** One version of the application: where it finds `accounts` and what it calls the columns. */
export interface AppVersion {
  label: "old" | "new";
  /** The version schema the client reads and writes through. */
  versionSchema: string;
  /** The base schema, after the version schema in search_path. */
  schema: string;
  /** `owner` in the old version, `holder` in the new one. */
  nameColumn: string;
}

/**
 * Every acknowledged write. Updates touch rows `1..rows` only, so their expected balance
 * is the initial one plus the deltas; inserted rows are expected with the balance they
 * were inserted with.
 */
export class Ledger {
  /** Row id to the sum of committed deltas. */
  readonly deltas = new Map<number, number>();
  /** Inserted row id to its balance. */
  readonly inserted = new Map<number, number>();

  addDelta(id: number, delta: number): void {
    this.deltas.set(id, (this.deltas.get(id) ?? 0) + delta);
  }
}

export interface VersionCounts {
  clients: number;
  updates: number;
  inserts: number;
  reads: number;
  failed: number;
}

/** The first distinct error messages, with how often each occurred. */
export interface QueryError {
  version: "old" | "new";
  message: string;
  count: number;
}

const MAX_DISTINCT_ERRORS = 10;

/** Shares of the operations a client runs. */
const UPDATE_SHARE = 0.7;
const INSERT_SHARE = 0.1;

export class Workload {
  readonly ledger = new Ledger();
  readonly counts: Record<"old" | "new", VersionCounts> = {
    old: { clients: 0, updates: 0, inserts: 0, reads: 0, failed: 0 },
    new: { clients: 0, updates: 0, inserts: 0, reads: 0, failed: 0 },
  };
  private readonly errors = new Map<string, QueryError>();
  private readonly clients: VersionClient[] = [];
  private closed = false;

  /**
   * @param rows the ids `1..rows` that updates and reads pick from
   * @param ratePerClient statements per second per client; 0 runs each client flat out
   */
  constructor(
    private readonly url: string,
    private readonly rows: number,
    private readonly recorder: LatencyRecorder,
    private readonly ratePerClient: number,
  ) {}

  /** Connects `count` clients of a version and sets them running. */
  async start(version: AppVersion, count: number): Promise<void> {
    const started: VersionClient[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const client = new VersionClient(
          {
            rows: this.rows,
            recorder: this.recorder,
            ratePerClient: this.ratePerClient,
            ledger: this.ledger,
            counts: this.counts[version.label],
            onFailure: (error) => this.recordFailure(version.label, error),
          },
          version,
          i,
        );
        started.push(client);
        await client.connect(this.url);
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
   * that), waiting for their statements in flight.
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

  get failedQueries(): number {
    return this.counts.old.failed + this.counts.new.failed;
  }

  get firstErrors(): QueryError[] {
    return [...this.errors.values()];
  }

  private recordFailure(version: "old" | "new", error: unknown): void {
    this.counts[version].failed++;
    const message = error instanceof Error ? error.message : String(error);
    const key = `${version}\u0000${message}`;
    const known = this.errors.get(key);
    if (known) known.count++;
    else if (this.errors.size < MAX_DISTINCT_ERRORS) this.errors.set(key, { version, message, count: 1 });
  }
}

/** What a client shares with its workload. */
interface ClientContext {
  rows: number;
  recorder: LatencyRecorder;
  ratePerClient: number;
  ledger: Ledger;
  counts: VersionCounts;
  onFailure: (error: unknown) => void;
}

/** One application connection of one version. */
class VersionClient {
  private client: pg.Client | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly context: ClientContext,
    readonly version: AppVersion,
    private readonly index: number,
  ) {}

  async connect(url: string): Promise<void> {
    const client = await connect(url, { applicationName: `underway-demo-${this.version.label}-${this.index}` });
    this.client = client;
    // Session settings are right for a dedicated connection; behind a transaction-mode
    // pooler a client would pin the version per transaction instead (pinVersionSql).
    await client.query("SELECT set_config('search_path', $1, false), set_config('underway.version', $2, false)", [
      `${ident(this.version.versionSchema)}, ${ident(this.version.schema)}`,
      this.version.versionSchema,
    ]);
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
    const client = this.client!;
    const { rows, recorder, ratePerClient, ledger, counts } = this.context;
    const { label, nameColumn } = this.version;
    const name = ident(nameColumn);
    const interval = ratePerClient > 0 ? 1000 / ratePerClient : 0;
    let due = performance.now();
    let n = 0;
    while (this.running) {
      n++;
      const dice = Math.random();
      const id = 1 + Math.floor(Math.random() * rows);
      const done = recorder.begin();
      try {
        if (dice < UPDATE_SHARE) {
          const delta = Math.random() < 0.5 ? -1 - Math.floor(Math.random() * 5) : 1 + Math.floor(Math.random() * 5);
          const result = await client.query("UPDATE accounts SET balance = balance + $1, updated_at = now() WHERE id = $2", [delta, id]);
          done();
          if (result.rowCount !== 1) throw new Error(`update of account ${id} changed ${result.rowCount} rows`);
          ledger.addDelta(id, delta);
          counts.updates++;
        } else if (dice < UPDATE_SHARE + INSERT_SHARE) {
          const balance = Math.floor(Math.random() * 1000);
          const result = await client.query<{ id: string }>(`INSERT INTO accounts (${name}, balance) VALUES ($1, $2) RETURNING id`, [
            `${label} client ${this.index} #${n}`,
            balance,
          ]);
          done();
          ledger.inserted.set(Number(result.rows[0]!.id), balance);
          counts.inserts++;
        } else {
          const result = await client.query(`SELECT id, ${name}, balance FROM accounts WHERE id = $1`, [id]);
          done();
          if (result.rowCount !== 1) throw new Error(`account ${id} not found`);
          counts.reads++;
        }
      } catch (error) {
        this.context.onFailure(error);
        // A broken connection fails at once; do not spin on it.
        await sleep(20);
      }
      if (interval > 0) {
        due += interval;
        const now = performance.now();
        // A client that fell behind (a query waited on a lock) carries on at its pace rather than bursting.
        if (due < now - interval) due = now;
        if (due > now) await sleep(due - now);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
