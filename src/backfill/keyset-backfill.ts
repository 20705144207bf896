import type { Client } from "../db/connection.js";
import { ident, identList, literal, qualified } from "../db/ident.js";
import { UnderwayError } from "../errors.js";
import { isLockConflict, sleep } from "../engine/lock-retry.js";
import type { Backfill, BackfillProgress, BackfillResult, BackfillTarget } from "./backfill.js";

export interface BatchSizing {
  initial: number;
  min: number;
  max: number;
  /** The batch duration the size servoes toward. */
  targetMs: number;
}

export const defaultBatchSizing: BatchSizing = { initial: 1000, min: 50, max: 50_000, targetMs: 200 };

/** How rows are paged: by a unique NOT NULL key, or by physical block ranges. */
type Paging =
  | { kind: "key"; columns: { name: string; type: string }[] }
  | { kind: "ctid"; touch: string; pages: number };

/**
 * Backfill in short autocommit batches, keyset-paged over the primary key (or a unique
 * NOT NULL index), up to the largest key that existed when it started: rows inserted
 * later were written through the trigger, so a high insert rate cannot keep it running.
 * A table with neither is paged by ctid block ranges (TID range scans, PG 14+), never
 * rescanned from the start. Each batch is an UPDATE that sets a key column to itself:
 * the dual-write trigger does the real work.
 */
export class KeysetBackfill implements Backfill {
  constructor(private readonly sizing: BatchSizing = defaultBatchSizing) {}

  async run(
    client: Client,
    target: BackfillTarget,
    onProgress?: (progress: BackfillProgress) => void,
  ): Promise<BackfillResult> {
    const started = Date.now();
    const table = qualified(target.schema, target.table);
    // The backfill writes as the old version: the trigger computes new columns from old ones.
    await client.query("SELECT set_config('underway.version', $1, false)", [target.schema]);
    await client.query("SET lock_timeout = '2s'");
    const paging = await choosePaging(client, target);
    const rowsTotal = await estimateRows(client, table);
    let batchSize = this.sizing.initial;
    let rowsDone = 0;
    let batches = 0;
    const report = () =>
      onProgress?.({
        table: target.table,
        rowsDone,
        rowsTotal: Math.max(rowsTotal, rowsDone),
        batchSize,
        rowsPerSecond: rowsDone / Math.max(0.001, (Date.now() - started) / 1000),
      });

    const adjust = (ms: number) => {
      // Grow gently, cut hard: an overshooting batch holds row locks longer than planned.
      if (ms > this.sizing.targetMs * 2) batchSize = Math.max(this.sizing.min, Math.floor(batchSize / 2));
      else if (ms < this.sizing.targetMs) batchSize = Math.min(this.sizing.max, Math.ceil(batchSize * Math.min(1.5, this.sizing.targetMs / Math.max(ms, 1))));
    };

    if (paging.kind === "key") {
      const cols = paging.columns;
      const keyList = identList(cols.map((c) => c.name));
      const desc = cols.map((c) => `${ident(c.name)} DESC`).join(", ");
      const { rows: upperRows } = await client.query<Record<string, string>>(
        `SELECT ${cols.map((c, i) => `${ident(c.name)}::text AS k${i}`).join(", ")} FROM ${table} ORDER BY ${desc} LIMIT 1`,
      );
      const upper = upperRows[0];
      if (!upper) return { rows: 0, batches: 0, seconds: 0 };
      const upperKey = cols.map((_, i) => upper[`k${i}`]!);
      const tuple = (offset: number) => `(${cols.map((c, i) => `$${offset + i}::${c.type}`).join(", ")})`;
      let cursor: string[] | null = null;
      for (;;) {
        const params: unknown[] = [...upperKey];
        let where = `(${keyList}) <= ${tuple(1)}`;
        if (cursor) {
          where += ` AND (${keyList}) > ${tuple(params.length + 1)}`;
          params.push(...cursor);
        }
        params.push(batchSize);
        const limit = `$${params.length}`;
        const sql = `WITH batch AS (
            SELECT ${keyList} FROM ${table} WHERE ${where} ORDER BY ${keyList} LIMIT ${limit}
          ), touched AS (
            UPDATE ${table} AS t SET ${ident(cols[0]!.name)} = t.${ident(cols[0]!.name)} FROM batch
             WHERE (${cols.map((c) => `t.${ident(c.name)}`).join(", ")}) = (${cols.map((c) => `batch.${ident(c.name)}`).join(", ")})
            RETURNING 1
          )
          SELECT (SELECT count(*) FROM touched)::int AS touched, (SELECT count(*) FROM batch)::int AS selected,
                 ${cols.map((c, i) => `(SELECT ${ident(c.name)}::text FROM batch ORDER BY ${desc} LIMIT 1) AS k${i}`).join(", ")}`;
        const t0 = Date.now();
        let result;
        try {
          result = await client.query<Record<string, string | number | null>>(sql, params);
        } catch (error) {
          if (isLockConflict(error)) {
            batchSize = Math.max(this.sizing.min, Math.floor(batchSize / 2));
            await sleep(200);
            continue;
          }
          throw error;
        }
        const row = result.rows[0]!;
        const selected = Number(row.selected);
        rowsDone += Number(row.touched);
        batches++;
        if (selected === 0 || row.k0 === null) break;
        cursor = cols.map((_, i) => String(row[`k${i}`]));
        adjust(Date.now() - t0);
        report();
        if (selected < Number(params[params.length - 1])) break;
      }
    } else {
      let page = 0;
      let pagesPerBatch = 8;
      while (page < paging.pages) {
        const t0 = Date.now();
        let result;
        try {
          result = await client.query(
            `UPDATE ${table} SET ${ident(paging.touch)} = ${ident(paging.touch)} WHERE ctid >= $1::tid AND ctid < $2::tid`,
            [`(${page},0)`, `(${page + pagesPerBatch},0)`],
          );
        } catch (error) {
          if (isLockConflict(error)) {
            pagesPerBatch = Math.max(1, Math.floor(pagesPerBatch / 2));
            await sleep(200);
            continue;
          }
          throw error;
        }
        rowsDone += result.rowCount ?? 0;
        batches++;
        page += pagesPerBatch;
        const ms = Date.now() - t0;
        if (ms > this.sizing.targetMs * 2) pagesPerBatch = Math.max(1, Math.floor(pagesPerBatch / 2));
        else if (ms < this.sizing.targetMs) pagesPerBatch = Math.min(4096, Math.ceil(pagesPerBatch * 1.5));
        batchSize = pagesPerBatch;
        report();
      }
    }
    report();
    return { rows: rowsDone, batches, seconds: (Date.now() - started) / 1000 };
  }
}

async function choosePaging(client: Client, target: BackfillTarget): Promise<Paging> {
  // The primary key first, else the narrowest unique, non-partial, non-expression index on NOT NULL columns.
  const { rows } = await client.query<{ columns: { name: string; type: string }[] }>(
    `SELECT json_agg(json_build_object('name', a.attname::text, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY k.ord) AS columns
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
        AND k.ord <= i.indnkeyatts
      GROUP BY i.indexrelid, i.indisprimary
     HAVING bool_and(a.attnotnull) AND bool_and(k.attnum > 0)
      ORDER BY i.indisprimary DESC, count(*), i.indexrelid
      LIMIT 1`,
    [target.schema, target.table],
  );
  const key = rows[0]?.columns;
  if (key && key.length > 0) return { kind: "key", columns: key };
  const { rows: info } = await client.query<{ pages: string; touch: string | null }>(
    `SELECT (pg_relation_size(c.oid) / current_setting('block_size')::int)::text AS pages,
            (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                AND a.attgenerated = '' ORDER BY a.attnum LIMIT 1) AS touch
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [target.schema, target.table],
  );
  const touch = info[0]?.touch;
  if (!touch) {
    throw new UnderwayError("BACKFILL_ABORTED", `cannot backfill ${literal(target.table)}: no column to rewrite`);
  }
  return { kind: "ctid", touch, pages: Number(info[0]!.pages) };
}

async function estimateRows(client: Client, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT greatest(reltuples, 0)::bigint::text AS n FROM pg_class WHERE oid = $1::regclass`,
    [table],
  );
  const estimate = Number(rows[0]?.n ?? 0);
  if (estimate > 0) return estimate;
  // Never analysed: count, which is cheap exactly when statistics are missing on a small table.
  const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
  return Number(counted[0]!.n);
}
