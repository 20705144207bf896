/**
 * The ledgers that make lost writes visible, in two forms.
 *
 * The table ledger: every write of the workload appends to `underway_ledger.ledger` in
 * the same transaction as the write itself, so the database holds both or neither,
 * whatever fails (a kill, a failover that loses the last commits of asynchronous
 * replication, a cut connection). At the end each touched row's witness column must equal
 * what the ledger says: the sum of its deltas (a number) or its last value (text). A row
 * that disagrees is a write the database acknowledged and then lost or overwrote.
 *
 * The memory ledger: the client records a write once its commit is acknowledged; enough
 * when the database itself is not what fails (the demo), and it leaves the database alone.
 */
import type { Client } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";

export const LEDGER_SCHEMA = "underway_ledger";
export const LEDGER_TABLE = qualified(LEDGER_SCHEMA, "ledger");

/**
 * How a witness column is written. `delta`: `w = coalesce(w, 0) + d`, the ledger keeps
 * every `d` (the initial value is the first entry), so a lost write anywhere in the
 * history shows in the sum. `token`: `w = 'unique text'`, the ledger keeps each value and
 * the last one must be in the row.
 */
export type WitnessKind = "delta" | "token";

/** Creates the ledger (as the connected role, which then owns it). Idempotent. */
export async function createLedger(client: Client): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(LEDGER_SCHEMA)}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${LEDGER_TABLE} (
       id bigserial PRIMARY KEY,
       tbl text NOT NULL,
       key text NOT NULL,
       kind text NOT NULL CHECK (kind IN ('initial', 'update', 'insert')),
       delta numeric,
       token text,
       version text NOT NULL,
       at timestamptz NOT NULL DEFAULT clock_timestamp()
     )`,
  );
  await client.query(`CREATE INDEX IF NOT EXISTS ledger_tbl_key ON ${LEDGER_TABLE} (tbl, key, id)`);
}

/** A table the ledger follows, by its physical names. */
export interface LedgerTable {
  schema: string;
  table: string;
  key: string[];
  witness: string;
  witnessKind: WitnessKind;
}

/**
 * Picks up to `limit` random rows of a table and records their witness values as the
 * ledger's first entries; returns their keys (each key column as text). Run it while
 * nothing else writes the table.
 */
export async function recordInitialValues(client: Client, t: LedgerTable, limit: number): Promise<string[][]> {
  const delta = t.witnessKind === "delta" ? `coalesce(${ident(t.witness)}, 0)::numeric` : "NULL::numeric";
  const token = t.witnessKind === "token" ? `${ident(t.witness)}::text` : "NULL::text";
  const { rows } = await client.query<{ parts: string[] }>(
    `WITH picked AS (
       SELECT ${keySql(t.key)} AS key, ARRAY[${t.key.map((k) => `${ident(k)}::text`).join(", ")}] AS parts, ${delta} AS delta, ${token} AS token
         FROM ${qualified(t.schema, t.table)} ORDER BY random() LIMIT ${Math.max(1, Math.floor(limit))}),
     recorded AS (
       INSERT INTO ${LEDGER_TABLE} (tbl, key, kind, delta, token, version)
       SELECT $1, key, 'initial', delta, token, 'initial' FROM picked)
     SELECT parts FROM picked`,
    [t.table],
  );
  return rows.map((r) => r.parts);
}

/** One write, appended in the write's own transaction: `key` as `keySql` makes it, the witness's delta or token. */
export async function appendToLedger(
  client: Client,
  entry: { table: string; key: string; kind: "update" | "insert"; witnessKind: WitnessKind; value: unknown; version: string },
): Promise<void> {
  await client.query(`INSERT INTO ${LEDGER_TABLE} (tbl, key, kind, delta, token, version) VALUES ($1, $2, $3, $4, $5, $6)`, [
    entry.table,
    entry.key,
    entry.kind,
    entry.witnessKind === "delta" ? entry.value : null,
    entry.witnessKind === "token" ? entry.value : null,
    entry.version,
  ]);
}

/**
 * The memory ledger of a table with a numeric key and balance: the deltas of the
 * acknowledged updates of each row, and each acknowledged insert's balance.
 */
export class MemoryLedger {
  /** Row id to the sum of committed deltas. */
  readonly deltas = new Map<number, number>();
  /** Inserted row id to its balance. */
  readonly inserted = new Map<number, number>();

  addDelta(id: number, delta: number): void {
    this.deltas.set(id, (this.deltas.get(id) ?? 0) + delta);
  }
}

/** The text a row's key is stored as: a JSON array of its key columns' text values. */
export function keySql(columns: readonly string[], alias?: string): string {
  const prefix = alias ? `${ident(alias)}.` : "";
  return `to_jsonb(ARRAY[${columns.map((c) => `${prefix}${ident(c)}::text`).join(", ")}])::text`;
}

/** A table as one version of the application sees it. */
export interface TableView {
  /** The physical table, the ledger's name for it. */
  table: string;
  /** The qualified relation the version reads and writes: its view, or the table itself. */
  relation: string;
  /** Key and witness columns under this version's names. */
  key: string[];
  witness: string;
  witnessKind: WitnessKind;
  /** Columns to copy for an insert (no key, no generated column); empty: no inserts. */
  insertColumns: string[];
}

/** What the audit found for one table. */
export interface TableAudit {
  table: string;
  /** Rows the ledger knows. */
  rows: number;
  /** Rows whose witness disagrees with the ledger, or that are gone. */
  lost: number;
  /** Writes the ledger holds for the table (not counting the initial values). */
  writes: number;
  /** For delta witnesses: the ledger's total and the table's, over the rows the ledger knows. */
  expectedSum: string | null;
  actualSum: string | null;
  /** A few of the rows that disagree, for the report. */
  examples: { key: string; expected: string | null; actual: string | null }[];
}

/** Compares every row the ledger knows with the table, read through `view`. */
export async function auditTable(client: Client, view: TableView): Promise<TableAudit> {
  const expected =
    view.witnessKind === "delta"
      ? `SELECT key, sum(delta)::text AS value, count(*) FILTER (WHERE kind <> 'initial') AS writes FROM ${LEDGER_TABLE} WHERE tbl = $1 GROUP BY key`
      : `SELECT DISTINCT ON (key) key, token AS value,
                (SELECT count(*) FROM ${LEDGER_TABLE} l2 WHERE l2.tbl = $1 AND l2.key = l.key AND l2.kind <> 'initial') AS writes
           FROM ${LEDGER_TABLE} l WHERE tbl = $1 ORDER BY key, id DESC`;
  const actualValue = view.witnessKind === "delta" ? `coalesce(t.${ident(view.witness)}, 0)::numeric::text` : `t.${ident(view.witness)}::text`;
  const { rows } = await client.query<{
    rows: number;
    lost: number;
    writes: string;
    expected_sum: string | null;
    actual_sum: string | null;
    examples: { key: string; expected: string | null; actual: string | null }[] | null;
  }>(
    `WITH expected AS (${expected}),
          compared AS (
            SELECT e.key, e.value AS expected, e.writes, a.value AS actual, a.found
              FROM expected e
              LEFT JOIN LATERAL (
                SELECT ${actualValue} AS value, true AS found FROM ${view.relation} t WHERE ${keySql(view.key, "t")} = e.key
              ) a ON true)
     SELECT count(*)::int AS rows,
            count(*) FILTER (WHERE found IS NULL OR expected IS DISTINCT FROM actual
                             ${view.witnessKind === "delta" ? "AND expected::numeric IS DISTINCT FROM actual::numeric" : ""})::int AS lost,
            coalesce(sum(writes), 0)::text AS writes,
            ${view.witnessKind === "delta" ? "sum(expected::numeric)::text" : "NULL"} AS expected_sum,
            ${view.witnessKind === "delta" ? "sum(actual::numeric)::text" : "NULL"} AS actual_sum,
            (SELECT json_agg(x) FROM (SELECT key, expected, actual FROM compared
                                       WHERE found IS NULL OR expected IS DISTINCT FROM actual
                                       ${view.witnessKind === "delta" ? "AND expected::numeric IS DISTINCT FROM actual::numeric" : ""}
                                       LIMIT 5) x) AS examples
       FROM compared`,
    [view.table],
  );
  const r = rows[0]!;
  return {
    table: view.table,
    rows: r.rows,
    lost: r.lost,
    writes: Number(r.writes),
    expectedSum: r.expected_sum,
    actualSum: r.actual_sum,
    examples: r.examples ?? [],
  };
}
