/**
 * The demo's data: filling `accounts` with rows whose balances follow from their ids, and
 * auditing the table at the end against the initial balances plus every write the
 * workload saw acknowledged.
 */
import type { Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import { DEMO_TABLE } from "./demo-migrations.js";
import type { MemoryLedger } from "../harness/ledger.js";

/** Initial balance of row `id`: spread out, so a backfill that copied the wrong value would show. */
const initialBalance = (id: string) => `((${id} * 7919) % 10000)`;

const CHUNK_ROWS = 100_000;

/**
 * Inserts rows `1..rows` in chunks (ids given explicitly so balances can be recomputed
 * from them), moves the identity past them, and analyzes the table.
 */
export async function fillAccounts(
  client: Client,
  schema: string,
  rows: number,
  onProgress: (rowsDone: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const table = qualified(schema, DEMO_TABLE);
  for (let first = 1; first <= rows; first += CHUNK_ROWS) {
    signal.throwIfAborted();
    const last = Math.min(rows, first + CHUNK_ROWS - 1);
    await client.query(
      `INSERT INTO ${table} (id, owner, balance) OVERRIDING SYSTEM VALUE
       SELECT g, 'owner ' || g, ${initialBalance("g")} FROM generate_series($1::bigint, $2::bigint) g`,
      [first, last],
    );
    onProgress(last);
  }
  await client.query(`SELECT setval(pg_get_serial_sequence($1, 'id'), $2)`, [table, rows]);
  signal.throwIfAborted();
  await client.query(`ANALYZE ${table}`);
}

export interface AccountsAudit {
  /** Rows the ledger expects: the initial ones plus every acknowledged insert. */
  expectedRows: number;
  actualRows: number;
  /** Expected rows that are gone, or whose balance is not the initial one plus the acknowledged deltas. */
  lostWrites: number;
  /** Rows nobody saw inserted (an insert that failed on the client yet committed). */
  unexpectedRows: number;
  expectedBalanceSum: number;
  actualBalanceSum: number;
}

/** Compares every row of the table with what the ledger says it must hold. */
export async function auditAccounts(client: Client, schema: string, rows: number, ledger: MemoryLedger): Promise<AccountsAudit> {
  const table = qualified(schema, DEMO_TABLE);
  const { rows: result } = await client.query<{
    expected_rows: string;
    actual_rows: string;
    missing: string;
    wrong: string;
    unexpected: string;
    expected_sum: string;
    actual_sum: string;
  }>(
    `WITH deltas AS (
       SELECT id, delta FROM unnest($1::bigint[], $2::bigint[]) AS d(id, delta)
     ), expected AS (
       SELECT g AS id, ${initialBalance("g")} + coalesce(d.delta, 0) AS balance
         FROM generate_series(1, $5::bigint) g LEFT JOIN deltas d ON d.id = g
       UNION ALL
       SELECT i.id, i.balance + coalesce(d.delta, 0)
         FROM unnest($3::bigint[], $4::bigint[]) AS i(id, balance) LEFT JOIN deltas d ON d.id = i.id
     )
     SELECT count(e.id)::text AS expected_rows,
            count(a.id)::text AS actual_rows,
            count(*) FILTER (WHERE a.id IS NULL)::text AS missing,
            count(*) FILTER (WHERE a.id IS NOT NULL AND e.id IS NOT NULL AND a.balance <> e.balance)::text AS wrong,
            count(*) FILTER (WHERE e.id IS NULL)::text AS unexpected,
            coalesce(sum(e.balance), 0)::text AS expected_sum,
            coalesce(sum(a.balance), 0)::text AS actual_sum
       FROM ${table} a FULL JOIN expected e ON e.id = a.id`,
    [[...ledger.deltas.keys()], [...ledger.deltas.values()], [...ledger.inserted.keys()], [...ledger.inserted.values()], rows],
  );
  const r = result[0]!;
  return {
    expectedRows: Number(r.expected_rows),
    actualRows: Number(r.actual_rows),
    lostWrites: Number(r.missing) + Number(r.wrong),
    unexpectedRows: Number(r.unexpected),
    expectedBalanceSum: Number(r.expected_sum),
    actualBalanceSum: Number(r.actual_sum),
  };
}
