import type { Client } from "../db/connection.js";
import { ident, identList, qualified } from "../db/ident.js";
import { serverProfile } from "../dialect/server-profile.js";
import { UnderwayError } from "../errors.js";

/** A key tuple, each value as PostgreSQL prints it (text keeps bigint and numeric exact). */
export type Key = string[];

/**
 * How a table's rows are paged: by a unique NOT NULL key (the primary key first), or,
 * when a table has none, by physical block ranges (TID range scans, PG 14+). `touch` is
 * the column a batch sets to itself to fire the trigger: never an identity column
 * declared ALWAYS or a generated column, which cannot be assigned.
 */
export type Paging =
  | { kind: "key"; columns: { name: string; type: string }[]; touch: string }
  | {
      kind: "ctid";
      touch: string;
      /**
       * The first transaction id after the job began (32-bit, as text). A row version
       * written by a later transaction was written through the dual-write trigger, or by
       * the backfill itself when its update moved a row into free space of a later page:
       * a batch leaves those alone, so no row is rewritten, or counted, twice.
       */
      since?: string;
    };

/** One slice of the key space: keys after `lower` (all when null) up to and including `upper`. */
export interface KeyRange {
  lower: Key | null;
  upper: Key;
}

export async function choosePaging(client: Client, schema: string, table: string): Promise<Paging> {
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
    [schema, table],
  );
  const { rows: info } = await client.query<{ touch: string | null }>(
    `SELECT (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                AND a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum LIMIT 1) AS touch
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table],
  );
  const touch = info[0]?.touch;
  if (!touch) throw new UnderwayError("BACKFILL_ABORTED", `cannot backfill ${schema}.${table}: it has no column that can be rewritten`);
  const key = rows[0]?.columns;
  if (key && key.length > 0) {
    // Types are printed for casts: qualify them so they resolve whatever the search path.
    const { rows: qualifiedTypes } = await client.query<{ t: string }>(
      `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attname = ANY($2::text[]) ORDER BY array_position($2::text[], a.attname::text)`,
      [qualified(schema, table), key.map((c) => c.name)],
    );
    return { kind: "key", columns: key.map((c, i) => ({ name: c.name, type: qualifiedTypes[i]?.t ?? c.type })), touch };
  }
  const dialect = await serverProfile(client);
  if (!dialect.tidRangeScan) throw new UnderwayError("BACKFILL_ABORTED", `cannot backfill ${schema}.${table}: it has no unique NOT NULL key, and ${dialect.name} has no ctid to page by; add a primary key`);
  return { kind: "ctid", touch };
}

/** The table's size in pages, for ctid paging. */
export async function tablePages(client: Client, schema: string, table: string): Promise<number> {
  const { rows } = await client.query<{ pages: string }>(
    `SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::int)::text AS pages`,
    [qualified(schema, table)],
  );
  return Number(rows[0]!.pages);
}

/** The statistics' row estimate, or a count when the table was never analysed. */
export async function estimateRows(client: Client, schema: string, table: string): Promise<number> {
  const ref = qualified(schema, table);
  const { rows } = await client.query<{ n: string }>(
    `SELECT greatest(reltuples, 0)::bigint::text AS n FROM pg_class WHERE oid = $1::regclass`,
    [ref],
  );
  const estimate = Number(rows[0]?.n ?? 0);
  if (estimate > 0) return estimate;
  const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ref}`);
  return Number(counted[0]!.n);
}

/**
 * The key space up to the largest key existing now, cut into about `parts` ranges of
 * similar row counts from a sample. Rows inserted later are written through the
 * dual-write trigger already, so the upper bound is what makes the backfill finish
 * under any insert rate.
 */
export async function splitKeyRanges(
  client: Client,
  schema: string,
  table: string,
  columns: { name: string; type: string }[],
  parts: number,
  rowsTotal: number,
): Promise<KeyRange[]> {
  const ref = qualified(schema, table);
  const select = columns.map((c, i) => `${ident(c.name)}::text AS k${i}`).join(", ");
  const order = identList(columns.map((c) => c.name));
  const desc = columns.map((c) => `${ident(c.name)} DESC`).join(", ");
  const { rows: top } = await client.query<Record<string, string>>(`SELECT ${select} FROM ${ref} ORDER BY ${desc} LIMIT 1`);
  if (!top[0]) return [];
  const upper = columns.map((_, i) => top[0]![`k${i}`]!);
  if (parts <= 1 || rowsTotal < 10_000) return [{ lower: null, upper }];
  const percent = Math.min(100, Math.max(0.01, (20_000 / rowsTotal) * 100));
  // Only keys up to the maximum: rows inserted since are not the backfill's business.
  const { rows: sample } = await client.query<Record<string, string>>(
    `SELECT ${select} FROM ${ref} TABLESAMPLE SYSTEM (${percent.toFixed(4)})
      WHERE (${order}) <= (${columns.map((c, i) => `$${i + 1}::${c.type}`).join(", ")}) ORDER BY ${order}`,
    upper,
  );
  const bounds: Key[] = [];
  for (let i = 1; i < parts; i++) {
    const row = sample[Math.floor((i * sample.length) / parts)];
    if (!row) continue;
    const key = columns.map((_, j) => row[`k${j}`]!);
    const previous = bounds[bounds.length - 1];
    if (!previous || previous.join("\u0000") !== key.join("\u0000")) bounds.push(key);
  }
  const ranges: KeyRange[] = [];
  let lower: Key | null = null;
  for (const bound of bounds) {
    ranges.push({ lower, upper: bound });
    lower = bound;
  }
  ranges.push({ lower, upper });
  return ranges;
}

/**
 * One batch over a key range, in two statements. `bound` reads up to `limit` keys after
 * `after` (all from the start when absent), up to `upper`, from the key's index, and
 * returns how many it found and the last one. `update` then rewrites exactly that key
 * range: with `set`, the new columns computed by the statement itself; without, by setting
 * a column to itself (the dual-write trigger computes the new columns).
 * A plain range predicate lets the planner scan just the range; a join against the batch
 * of keys let it read the index from its first entry, making each batch dearer than the
 * last.
 */
export function keyBatchSql(
  schema: string,
  table: string,
  columns: { name: string; type: string }[],
  touch: string,
  hasLower: boolean,
  set?: string,
): { bound: string; update: string } {
  const ref = qualified(schema, table);
  const keyList = identList(columns.map((c) => c.name));
  const tuple = (offset: number) => `(${columns.map((c, i) => `$${offset + i}::${c.type}`).join(", ")})`;
  const n = columns.length;
  const afterBound = hasLower ? ` AND (${keyList}) > ${tuple(n + 1)}` : "";
  const limit = `$${hasLower ? 2 * n + 1 : n + 1}::int`;
  // Qualified, so ORDER BY sorts the key itself and not a same-named text output column.
  const desc = columns.map((c) => `s.${ident(c.name)} DESC`).join(", ");
  const bound = `WITH s AS (
      SELECT ${keyList} FROM ${ref} WHERE (${keyList}) <= ${tuple(1)}${afterBound} ORDER BY ${keyList} LIMIT ${limit}
    )
    SELECT (SELECT count(*) FROM s)::int AS selected,
           (SELECT ARRAY[${columns.map((c) => `s.${ident(c.name)}::text`).join(", ")}] FROM s ORDER BY ${desc} LIMIT 1) AS last`;
  const update = `UPDATE ${ref} SET ${set ?? `${ident(touch)} = ${ident(touch)}`} WHERE (${keyList}) <= ${tuple(1)}${afterBound}`;
  return { bound, update };
}

/**
 * One batch over pages [from, to) of a table without a usable key. With `since` ($3),
 * only row versions older than the job (frozen ones included: their age is the largest).
 * `set` as for `keyBatchSql`.
 */
export function ctidBatchSql(schema: string, table: string, touch: string, since?: string, set?: string): string {
  const older = since === undefined ? "" : " AND age(xmin) > age($3::xid)";
  return `UPDATE ${qualified(schema, table)} SET ${set ?? `${ident(touch)} = ${ident(touch)}`} WHERE ctid >= $1::tid AND ctid < $2::tid${older}`;
}

/**
 * The next transaction id to be assigned, as a 32-bit xid: every transaction from it on
 * began after this moment, so after the dual-write trigger was in place.
 */
export async function nextTransactionId(client: Client): Promise<string> {
  const { rows } = await client.query<{ xid: string }>(
    "SELECT greatest(3, (pg_snapshot_xmax(pg_current_snapshot())::text::numeric % 4294967296))::text AS xid",
  );
  return rows[0]!.xid;
}
