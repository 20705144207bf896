/**
 * The application a rehearsal runs beside the migration: the harness's workload (see
 * harness/workload.ts) whose clients update, insert and read rows of the workload tables,
 * each write appended to the table ledger in its own transaction (harness/ledger.ts).
 */
import type pg from "pg";
import { ident } from "../db/ident.js";
import type { LatencyHistograms } from "../harness/latency.js";
import { appendToLedger, createLedger, keySql, recordInitialValues, type TableView } from "../harness/ledger.js";
import { Workload, type Turn } from "../harness/workload.js";
import { tableView, type AppVersion, type WorkloadTable } from "./workload-tables.js";

export type { QueryError, VersionCounts } from "../harness/workload.js";

export interface LedgerWorkloadOptions {
  /** Where the clients connect (through the proxy, in a rehearsal, so they follow a failover). */
  url: string;
  tables: WorkloadTable[];
  histograms: LatencyHistograms;
  /** Statements per second per client; 0 runs flat out. */
  ratePerClient: number;
  /** Rows per table the clients update (picked at random once); default 500. */
  workingSet?: number;
}

export class LedgerWorkload extends Workload {
  private readonly keys = new Map<string, string[][]>();

  constructor(private readonly ledgerOptions: LedgerWorkloadOptions) {
    super({ url: ledgerOptions.url, latency: ledgerOptions.histograms, ratePerClient: ledgerOptions.ratePerClient, applicationName: "underway-rehearse" });
  }

  /**
   * Creates the ledger and records the initial witness values of the working set. Run it
   * before any client starts and before the migration: the initial values must be read
   * while nothing else writes.
   */
  async prepare(client: pg.Client): Promise<void> {
    await createLedger(client);
    for (const t of this.ledgerOptions.tables) this.keys.set(t.table, await recordInitialValues(client, t, this.ledgerOptions.workingSet ?? 500));
  }

  /** Connects `count` clients of a version and sets them running; tables the version cannot see are left out. */
  async startVersion(version: AppVersion, schema: string, count: number): Promise<void> {
    const views = this.ledgerOptions.tables
      .map((t) => ({ view: tableView(t, version), keys: this.keys.get(t.table) ?? [] }))
      .filter((v): v is { view: TableView; keys: string[][] } => v.view !== null && v.keys.length > 0);
    // A version that sees no table has nothing to do.
    if (views.length === 0) return;
    await this.start({ label: version.label, versionSchema: version.versionSchema ?? schema, schema }, count, (index) => ledgerTurn(views, version.label, index));
  }
}

/** A turn on a random working-set row of one table after the other: 60% updates, 10% inserts (where the table takes them), the rest reads. */
function ledgerTurn(views: { view: TableView; keys: string[][] }[], label: "old" | "new", index: number): Turn {
  return async (client, n) => {
    const { view, keys } = views[n % views.length]!;
    const key = keys[Math.floor(Math.random() * keys.length)]!;
    const where = view.key.map((k, i) => `${ident(k)} = $${i + 1}`).join(" AND ");
    const dice = Math.random();
    if (dice < 0.6 || (dice < 0.7 && view.insertColumns.length === 0)) {
      const value = view.witnessKind === "delta" ? (Math.random() < 0.5 ? -1 : 1) * (1 + Math.floor(Math.random() * 5)) : `${label}-${index}-${n}`;
      const set = view.witnessKind === "delta" ? `coalesce(${ident(view.witness)}, 0) + $${key.length + 1}` : `$${key.length + 1}`;
      const result = await client.query(`UPDATE ${view.relation} SET ${ident(view.witness)} = ${set} WHERE ${where}`, [...key, value]);
      if (result.rowCount !== 1) throw new Error(`update of ${view.table} ${JSON.stringify(key)} changed ${result.rowCount} rows`);
      await appendToLedger(client, { table: view.table, key: JSON.stringify(key), kind: "update", witnessKind: view.witnessKind, value, version: label });
      return { op: "update" };
    }
    if (dice < 0.7) {
      const columns = view.insertColumns.map(ident).join(", ");
      const witness = view.witnessKind === "delta" ? `coalesce(${ident(view.witness)}, 0)::numeric` : `${ident(view.witness)}::text`;
      const { rows } = await client.query<{ key: string; witness: string | null }>(
        `INSERT INTO ${view.relation} (${columns}) SELECT ${columns} FROM ${view.relation} WHERE ${where}
         RETURNING ${keySql(view.key)} AS key, ${witness} AS witness`,
        key,
      );
      if (rows.length !== 1) throw new Error(`insert into ${view.table} copied ${rows.length} rows`);
      await appendToLedger(client, { table: view.table, key: rows[0]!.key, kind: "insert", witnessKind: view.witnessKind, value: rows[0]!.witness, version: label });
      return { op: "insert" };
    }
    const result = await client.query(`SELECT * FROM ${view.relation} WHERE ${where}`, key);
    if (result.rowCount !== 1) throw new Error(`read of ${view.table} ${JSON.stringify(key)} found ${result.rowCount} rows`);
    return { op: "read" };
  };
}
