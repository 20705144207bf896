/**
 * The demo's application: the harness's workload (see harness/workload.ts) whose clients
 * run short transactions against `accounts`, each pinned to its version, and keep a
 * memory ledger of every write the database acknowledged, so the end of the demo can
 * prove that none was lost.
 */
import { ident } from "../db/ident.js";
import type { LatencyHistograms } from "../harness/latency.js";
import { MemoryLedger } from "../harness/ledger.js";
import { Workload, type QueryError as WorkloadError, type Turn, type VersionCounts as WorkloadCounts, type WorkloadVersion } from "../harness/workload.js";

/** One version of the application: where it finds `accounts` and what it calls the columns. */
export interface AppVersion extends WorkloadVersion {
  /** The version schema the client reads and writes through. */
  versionSchema: string;
  /** The base schema, after the version schema in search_path. */
  schema: string;
  /** `owner` in the old version, `holder` in the new one. */
  nameColumn: string;
}

/** A version's counts as the summary shows them: the demo injects no outage, so every failure is a failed query. */
export type VersionCounts = Omit<WorkloadCounts, "outageErrors">;

/** The first distinct error messages, with how often each occurred. */
export type QueryError = Omit<WorkloadError, "outage">;

/** Shares of the operations a client runs. */
const UPDATE_SHARE = 0.7;
const INSERT_SHARE = 0.1;

export class AccountsWorkload extends Workload {
  /**
   * Every acknowledged write. Updates touch rows `1..rows` only, so their expected balance
   * is the initial one plus the deltas; inserted rows are expected with the balance they
   * were inserted with.
   */
  readonly ledger = new MemoryLedger();

  /**
   * @param rows the ids `1..rows` that updates and reads pick from
   * @param ratePerClient statements per second per client; 0 runs each client flat out
   */
  constructor(
    url: string,
    private readonly rows: number,
    latency: LatencyHistograms,
    ratePerClient: number,
  ) {
    super({ url, latency, ratePerClient, applicationName: "underway-demo", maxDistinctErrors: 10 });
  }

  /** Connects `count` clients of a version and sets them running. */
  startVersion(version: AppVersion, count: number): Promise<void> {
    return this.start(version, count, (index) => accountsTurn(this.ledger, this.rows, version, index));
  }

  summaryCounts(label: "old" | "new"): VersionCounts {
    const { outageErrors: _, ...counts } = this.counts[label];
    return counts;
  }

  get summaryErrors(): QueryError[] {
    return this.firstErrors.map(({ outage: _, ...error }) => error);
  }
}

/** A turn on a random account: 70% updates of its balance, 10% inserts, the rest reads. */
function accountsTurn(ledger: MemoryLedger, rows: number, version: AppVersion, index: number): Turn {
  const name = ident(version.nameColumn);
  return async (client, n) => {
    const dice = Math.random();
    const id = 1 + Math.floor(Math.random() * rows);
    if (dice < UPDATE_SHARE) {
      const delta = Math.random() < 0.5 ? -1 - Math.floor(Math.random() * 5) : 1 + Math.floor(Math.random() * 5);
      const result = await client.query("UPDATE accounts SET balance = balance + $1, updated_at = now() WHERE id = $2", [delta, id]);
      if (result.rowCount !== 1) throw new Error(`update of account ${id} changed ${result.rowCount} rows`);
      return { op: "update", committed: () => ledger.addDelta(id, delta) };
    }
    if (dice < UPDATE_SHARE + INSERT_SHARE) {
      const balance = Math.floor(Math.random() * 1000);
      const result = await client.query<{ id: string }>(`INSERT INTO accounts (${name}, balance) VALUES ($1, $2) RETURNING id`, [
        `${version.label} client ${index} #${n}`,
        balance,
      ]);
      const inserted = Number(result.rows[0]!.id);
      return { op: "insert", committed: () => ledger.inserted.set(inserted, balance) };
    }
    const result = await client.query(`SELECT id, ${name}, balance FROM accounts WHERE id = $1`, [id]);
    if (result.rowCount !== 1) throw new Error(`account ${id} not found`);
    return { op: "read" };
  };
}
