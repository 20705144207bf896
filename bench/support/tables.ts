/**
 * Table helpers for the benchmarks: fresh copies of a table, and the server-side facts
 * (WAL position, sizes, settings) that explain a measurement.
 */
import type { Client } from "../../src/db/connection.js";
import { ident } from "../../src/db/ident.js";

/**
 * A fresh copy of `source` with the same columns and primary key: rows loaded first and
 * the key built after (as `pgbench -i` does), then vacuumed and analysed, so every copy
 * starts with the same layout, hint bits and statistics.
 *
 * Autovacuum is off for the copy: rewriting every row leaves as many dead tuples, and an
 * autovacuum started in the middle of one measurement (the backfill's, which takes many
 * transactions) but after the other (the UPDATE's, which is one) would be charged to one
 * side only. Its lock would also hold up the DDL that follows.
 */
export async function copyTable(db: Client, source: string, target: string, key: string): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS ${ident(target)}`);
  await db.query(
    `CREATE TABLE ${ident(target)} (LIKE ${ident(source)} INCLUDING DEFAULTS INCLUDING STORAGE) WITH (autovacuum_enabled = false)`,
  );
  await db.query(`INSERT INTO ${ident(target)} SELECT * FROM ${ident(source)}`);
  await db.query(`ALTER TABLE ${ident(target)} ADD PRIMARY KEY (${ident(key)})`);
  await db.query(`VACUUM (ANALYZE) ${ident(target)}`);
}

/** The current WAL insert position, as a byte count. */
export async function walPosition(db: Client): Promise<bigint> {
  const { rows } = await db.query<{ lsn: string }>(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS lsn`);
  return BigInt(rows[0]!.lsn.split(".")[0]!);
}

/** Heap plus indexes plus TOAST, in bytes. */
export async function totalSize(db: Client, table: string): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>(`SELECT pg_total_relation_size($1::regclass)::text AS bytes`, [ident(table)]);
  return Number(rows[0]!.bytes);
}

/** Flushes dirty buffers, so each measurement starts from a finished checkpoint. Needs a superuser. */
export async function checkpoint(admin: Client): Promise<void> {
  await admin.query("CHECKPOINT");
}

/** The settings that shape a write-heavy measurement, as the server reports them. */
export async function serverSettings(db: Client, names: string[]): Promise<Record<string, string>> {
  const { rows } = await db.query<{ name: string; value: string }>(
    `SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1::text[])`,
    [names],
  );
  const byName = new Map(rows.map((r) => [r.name, r.value]));
  return Object.fromEntries(names.filter((n) => byName.has(n)).map((n) => [n, byName.get(n)!]));
}
