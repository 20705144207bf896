/**
 * The application a rehearsal runs beside the migration: clients of the old and the new
 * version, each on its own connection, updating, inserting and reading rows of the
 * workload tables at a steady rate. Every write appends to the ledger in its own
 * transaction (see ledger.ts); latencies go to HDR histograms; failures are counted, apart
 * from those that an injected outage explains (a killed primary, a cut network).
 */
import type pg from "pg";
import { connect, isConnectionLoss, sqlState } from "../db/connection.js";
import { ident } from "../db/ident.js";
import type { LatencyHistograms } from "./latency.js";
import { LEDGER_TABLE, createLedger, keySql, type TableView } from "./ledger.js";
import { tableView, type AppVersion, type WorkloadTable } from "./workload-tables.js";

export interface WorkloadOptions {
  /** Where the clients connect (through the proxy, in a rehearsal, so they follow a failover). */
  url: string;
  tables: WorkloadTable[];
  histograms: LatencyHistograms;
  /** Statements per second per client; 0 runs flat out. */
  ratePerClient: number;
  /** Rows per table the clients update (picked at random once); default 500. */
  workingSet?: number;
}

export interface VersionCounts {
  clients: number;
  updates: number;
  inserts: number;
  reads: number;
  /** Queries that failed with no injected outage to explain it. */
  failed: number;
  /** Queries that failed on a lost connection during (or just after) an injected outage. */
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
const MAX_DISTINCT_ERRORS = 12;

export class LedgerWorkload {
  readonly counts: Record<"old" | "new", VersionCounts> = {
    old: emptyCounts(),
    new: emptyCounts(),
  };
  private readonly errors = new Map<string, QueryError>();
  private readonly clients: VersionClient[] = [];
  private readonly keys = new Map<string, string[][]>();
  private outageDepth = 0;
  private outageEndedAt = 0;
  private lastWriteAt = 0;
  private readonly writeWatchers = new Set<() => void>();

  constructor(private readonly options: WorkloadOptions) {}

  /**
   * Creates the ledger and records the initial witness values of the working set. Run it
   * before any client starts and before the migration: the initial values must be read
   * while nothing else writes.
   */
  async prepare(client: pg.Client): Promise<void> {
    await createLedger(client);
    const limit = this.options.workingSet ?? 500;
    for (const t of this.options.tables) {
      const table = `${ident(t.schema)}.${ident(t.table)}`;
      const delta = t.witnessKind === "delta" ? `coalesce(${ident(t.witness)}, 0)::numeric` : "NULL::numeric";
      const token = t.witnessKind === "token" ? `${ident(t.witness)}::text` : "NULL::text";
      const { rows } = await client.query<{ parts: string[] }>(
        `WITH picked AS (
           SELECT ${keySql(t.key)} AS key, ARRAY[${t.key.map((k) => `${ident(k)}::text`).join(", ")}] AS parts, ${delta} AS delta, ${token} AS token
             FROM ${table} ORDER BY random() LIMIT ${Math.max(1, Math.floor(limit))}),
         recorded AS (
           INSERT INTO ${LEDGER_TABLE} (tbl, key, kind, delta, token, version)
           SELECT $1, key, 'initial', delta, token, 'initial' FROM picked)
         SELECT parts FROM picked`,
        [t.table],
      );
      this.keys.set(t.table, rows.map((r) => r.parts));
    }
  }

  /** Connects `count` clients of a version and sets them running; tables the version cannot see are left out. */
  async start(version: AppVersion, schema: string, count: number): Promise<void> {
    const views = this.options.tables
      .map((t) => ({ view: tableView(t, version), keys: this.keys.get(t.table) ?? [] }))
      .filter((v): v is { view: TableView; keys: string[][] } => v.view !== null && v.keys.length > 0);
    const started: VersionClient[] = [];
    for (let i = 0; i < count; i++) {
      const client = new VersionClient(
        {
          url: this.options.url,
          ratePerClient: this.options.ratePerClient,
          histograms: this.options.histograms,
          counts: this.counts[version.label],
          onFailure: (error) => this.recordFailure(version.label, error),
          onWrite: () => this.recordWrite(),
        },
        version,
        schema,
        views,
        i,
      );
      await client.connect();
      started.push(client);
    }
    for (const client of started) client.run();
    this.clients.push(...started);
    this.counts[version.label].clients += count;
  }

  /** Stops the clients of one version (or all), waiting for their statements in flight. */
  async stop(label?: "old" | "new"): Promise<void> {
    const stopping = this.clients.filter((c) => label === undefined || c.version.label === label);
    for (const client of stopping) this.clients.splice(this.clients.indexOf(client), 1);
    await Promise.all(stopping.map((c) => c.stop()));
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

  private recordWrite(): void {
    this.lastWriteAt = Date.now();
    for (const wrote of this.writeWatchers) wrote();
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

  get firstErrors(): QueryError[] {
    return [...this.errors.values()];
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
    else if (this.errors.size < MAX_DISTINCT_ERRORS) this.errors.set(key, { version, message, count: 1, outage });
  }
}


function emptyCounts(): VersionCounts {
  return { clients: 0, updates: 0, inserts: 0, reads: 0, failed: 0, outageErrors: 0 };
}

/** What a client shares with its workload. */
interface ClientContext {
  url: string;
  ratePerClient: number;
  histograms: LatencyHistograms;
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
    private readonly context: ClientContext,
    readonly version: AppVersion,
    private readonly schema: string,
    private readonly views: { view: TableView; keys: string[][] }[],
    private readonly index: number,
  ) {}

  async connect(): Promise<void> {
    // Through connect(), so the application's sessions speak TLS as underway's own do.
    const client = await connect(this.context.url, { applicationName: `underway-rehearse-${this.version.label}-${this.index}` });
    this.client = client;
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
    const { ratePerClient, histograms, counts } = this.context;
    const interval = ratePerClient > 0 ? 1000 / ratePerClient : 0;
    const pin = {
      text: "SELECT set_config('search_path', $1, true), set_config('underway.version', $2, true)",
      values: [`${ident(this.version.versionSchema ?? this.schema)}, ${ident(this.schema)}`, this.version.versionSchema ?? this.schema],
    };
    let due = performance.now();
    let n = 0;
    while (this.running && this.views.length > 0) {
      n++;
      const { view, keys } = this.views[n % this.views.length]!;
      const key = keys[Math.floor(Math.random() * keys.length)]!;
      const where = view.key.map((k, i) => `${ident(k)} = $${i + 1}`).join(" AND ");
      const dice = Math.random();
      try {
        if (!this.client) await this.connect();
        const client = this.client!;
        const done = histograms.begin();
        if (dice < 0.6 || (dice < 0.7 && view.insertColumns.length === 0)) {
          const value = view.witnessKind === "delta" ? (Math.random() < 0.5 ? -1 : 1) * (1 + Math.floor(Math.random() * 5)) : `${this.version.label}-${this.index}-${n}`;
          const set = view.witnessKind === "delta" ? `coalesce(${ident(view.witness)}, 0) + $${key.length + 1}` : `$${key.length + 1}`;
          await client.query("BEGIN");
          await client.query(pin);
          const result = await client.query(`UPDATE ${view.relation} SET ${ident(view.witness)} = ${set} WHERE ${where}`, [...key, value]);
          if (result.rowCount !== 1) throw new Error(`update of ${view.table} ${JSON.stringify(key)} changed ${result.rowCount} rows`);
          await client.query(
            `INSERT INTO ${LEDGER_TABLE} (tbl, key, kind, delta, token, version) VALUES ($1, $2, 'update', $3, $4, $5)`,
            [view.table, JSON.stringify(key), view.witnessKind === "delta" ? value : null, view.witnessKind === "token" ? value : null, this.version.label],
          );
          await client.query("COMMIT");
          done();
          this.context.onWrite();
          counts.updates++;
        } else if (dice < 0.7) {
          const columns = view.insertColumns.map(ident).join(", ");
          const witness = view.witnessKind === "delta" ? `coalesce(${ident(view.witness)}, 0)::numeric` : `${ident(view.witness)}::text`;
          await client.query("BEGIN");
          await client.query(pin);
          const { rows } = await client.query<{ key: string; witness: string | null }>(
            `INSERT INTO ${view.relation} (${columns}) SELECT ${columns} FROM ${view.relation} WHERE ${where}
             RETURNING ${keySql(view.key)} AS key, ${witness} AS witness`,
            key,
          );
          if (rows.length !== 1) throw new Error(`insert into ${view.table} copied ${rows.length} rows`);
          await client.query(
            `INSERT INTO ${LEDGER_TABLE} (tbl, key, kind, delta, token, version) VALUES ($1, $2, 'insert', $3, $4, $5)`,
            [view.table, rows[0]!.key, view.witnessKind === "delta" ? rows[0]!.witness : null, view.witnessKind === "token" ? rows[0]!.witness : null, this.version.label],
          );
          await client.query("COMMIT");
          done();
          this.context.onWrite();
          counts.inserts++;
        } else {
          const result = await client.query(`SELECT * FROM ${view.relation} WHERE ${where}`, key);
          done();
          if (result.rowCount !== 1) throw new Error(`read of ${view.table} ${JSON.stringify(key)} found ${result.rowCount} rows`);
          counts.reads++;
        }
      } catch (error) {
        this.context.onFailure(error);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
