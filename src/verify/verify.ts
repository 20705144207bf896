import { sqlState, type Client } from "../db/connection.js";
import { ident, literal, qualified } from "../db/ident.js";
import type { DualWriteTable } from "../plan/dual-write.js";
import { asValueExpression, onStoredRow } from "../plan/sql-expression.js";
import { describeError } from "../errors.js";
import { choosePaging, tablePages, type Key } from "../backfill/paging.js";

/** A run of chunks with rows whose old and new representations disagree. */
export interface MismatchRange {
  column: string;
  /** First and last key of the chunks (page numbers for tables without a key). */
  from: Key;
  to: Key;
  rows: number;
}

export interface VerifyTableReport {
  table: string;
  rowsChecked: number;
  mismatches: number;
  ranges: MismatchRange[];
  /** Relations that cannot be checked, and why (a non-deterministic or failing expression). */
  unverifiable: { column: string; reason: string }[];
  /** Rows an expression fails on (`up` cannot convert them): their key (ctid without one) and the error. */
  failures: { key: Key; error: string }[];
  /** More rows fail than are listed. */
  failuresTruncated?: boolean;
}

export interface VerifyReport {
  ok: boolean;
  tables: VerifyTableReport[];
}

export interface VerifyProgress {
  table: string;
  rowsChecked: number;
}

/** One relation to check on every row: a column pair kept in step both ways, or a column filled by `up`. */
interface Check {
  column: string;
  /** SQL over the chunk row `t` that is true when the row is consistent. */
  consistent: string;
}

const CHUNK = 10_000;

/**
 * A data error (class 22: invalid input, out of range, division by zero; 23; a RAISE in a
 * user function) comes from one row's values. Anything else is not about the rows.
 */
function isRowDataError(error: unknown): boolean {
  const state = sqlState(error) ?? "";
  return state.startsWith("22") || state.startsWith("23") || state === "P0001" || state.startsWith("2F");
}
/** Failing rows listed per table before verify stops looking at it. */
const MAX_FAILURES = 20;

/**
 * Checks, chunk by chunk on the server, that the old and new representations agree on
 * every row: for a column kept in step both ways, the new value equals `up(old)` or the
 * old value equals `down(new)` (whichever version wrote the row last); for a column only
 * `up` fills, it is not NULL where `up(old)` is not. A row the backfill missed fails
 * both. Expressions are evaluated exactly as the trigger does, with each version's
 * column names bound to the row.
 */
export async function verifyDualWrite(
  client: Client,
  specs: DualWriteTable[],
  onProgress?: (progress: VerifyProgress) => void,
  stateSchema?: string,
): Promise<VerifyReport> {
  const tables: VerifyTableReport[] = [];
  for (const spec of specs) {
    const report = await verifyTable(client, spec, onProgress);
    tables.push(report);
    // Every row checked and none fails: the rows `up` once failed on are fixed (or gone).
    if (stateSchema && report.failures.length === 0 && report.mismatches === 0) await forgetUpFailures(client, stateSchema, spec.schema, [spec.table]);
  }
  return { ok: tables.every((t) => t.mismatches === 0), tables };
}

/** A row `up` failed on when an old-version client wrote it, as the trigger recorded it. */
export interface UpFailure {
  table: string;
  key: string | null;
  values: string | null;
  error: string;
  count: number;
}

/**
 * The recorded rows `up` failed on that still fail: each row with a key is looked up and
 * `up` evaluated on it again (a row fixed through the old version was recomputed by the
 * trigger; a deleted one is gone); those that pass are forgotten. Rows of a table without
 * a key cannot be looked up, and stay until a full `verify` passes.
 */
export async function unresolvedUpFailures(client: Client, stateSchema: string, specs: DualWriteTable[]): Promise<UpFailure[]> {
  const table = qualified(stateSchema, "up_failures");
  const { rows: exists } = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [table]);
  if (!exists[0]!.ok || specs.length === 0) return [];
  const schema = specs[0]!.schema;
  const { rows } = await client.query<{ id: string; table_name: string; key: Record<string, unknown> | null; key_text: string | null; values: string | null; error: string; count: string }>(
    `SELECT id::text, table_name, key, key_text, "values", error, count::text FROM ${table} WHERE schema = $1 AND table_name = ANY($2::text[]) ORDER BY id`,
    [schema, specs.map((s) => s.table)],
  );
  const unresolved: UpFailure[] = [];
  await client.query("BEGIN");
  try {
    for (const row of rows) {
      const spec = specs.find((s) => s.table === row.table_name)!;
      const resolved = row.key !== null && (await rowPasses(client, spec, row.key));
      if (resolved) await client.query(`DELETE FROM ${table} WHERE id = $1`, [row.id]);
      else unresolved.push({ table: row.table_name, key: row.key_text, values: row.values, error: row.error, count: Number(row.count) });
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
  return unresolved;
}

/** Forgets the recorded `up` failures of tables (a rollback, a clean verify). */
export async function forgetUpFailures(client: Client, stateSchema: string, schema: string, tables: string[]): Promise<void> {
  const table = qualified(stateSchema, "up_failures");
  const { rows: exists } = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [table]);
  if (!exists[0]!.ok) return;
  await client.query(`DELETE FROM ${table} WHERE schema = $1 AND table_name = ANY($2::text[])`, [schema, tables]);
}

/**
 * An expression's value on row `t`, its names bound to the row's columns. The subquery
 * always uses a value of the row (whether its first column is null, never itself null), so
 * it stays correlated and runs once per row: with no column used, the planner drops the
 * unused outputs, evaluates it once for the whole query, and `random()` gives every row one
 * value (and, twice, the same value about one time in ten). OFFSET 0 keeps `bound` a
 * subquery rather than flattened into the outer query.
 */
function valueOnRow(expression: string, bindings: { name: string; physical: string }[], type: string, rowColumn: string, stored: ReadonlySet<string>): string {
  // Named as stored: evaluated on the row itself, with no subquery per row (and per row anyway).
  const direct = onStoredRow(expression, bindings, stored);
  if (direct !== null) return `CAST(${direct} AS ${type})`;
  const bound = [...bindings.map((b) => `t.${ident(b.physical)} AS ${ident(b.name)}`), `(t.${ident(rowColumn)} IS NULL) AS "underway row"`];
  return `(SELECT CAST(${asValueExpression(expression)} AS ${type}) FROM (SELECT ${bound.join(", ")} OFFSET 0) AS bound WHERE bound."underway row" IS NOT NULL)`;
}

/** Whether one row, found by its key, is gone or now agrees with `up`. */
async function rowPasses(client: Client, spec: DualWriteTable, key: Record<string, unknown>): Promise<boolean> {
  const ref = qualified(spec.schema, spec.table);
  const columns = Object.keys(key);
  const { rows: typeRows } = await client.query<{ name: string; type: string }>(
    `SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [ref],
  );
  const types = new Map(typeRows.map((r) => [r.name, r.type]));
  if (columns.some((c) => !types.has(c))) return false;
  const agree = spec.up
    .map((a) => `t.${ident(a.target)} IS NOT DISTINCT FROM ${valueOnRow(a.expression, a.bindings ?? spec.oldBindings, types.get(a.target) ?? "text", typeRows[0]!.name, new Set(types.keys()))}`)
    .join(" AND ") || "true";
  const where = columns.map((c, i) => `t.${ident(c)} = ($1::jsonb ->> ${literal(c)})::${types.get(c)}`).join(" AND ");
  await client.query("SAVEPOINT uw_recheck");
  try {
    const { rows } = await client.query<{ ok: boolean }>(`SELECT (${agree}) AS ok FROM ${ref} AS t WHERE ${where}`, [JSON.stringify(key)]);
    await client.query("RELEASE SAVEPOINT uw_recheck");
    return rows.length === 0 || rows[0]!.ok === true;
  } catch (error) {
    await client.query("ROLLBACK TO SAVEPOINT uw_recheck");
    if (isRowDataError(error)) return false;
    throw error;
  }
}

async function verifyTable(client: Client, spec: DualWriteTable, onProgress?: (progress: VerifyProgress) => void): Promise<VerifyTableReport> {
  const ref = qualified(spec.schema, spec.table);
  const report: VerifyTableReport = { table: spec.table, rowsChecked: 0, mismatches: 0, ranges: [], unverifiable: [], failures: [] };
  const { rows: typeRows } = await client.query<{ name: string; type: string }>(
    `SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [ref],
  );
  const types = new Map(typeRows.map((r) => [r.name, r.type]));
  const stored = new Set(types.keys());
  const evaluate = (expression: string, bindings: { name: string; physical: string }[], target: string) =>
    valueOnRow(expression, bindings, types.get(target) ?? "text", typeRows[0]!.name, stored);

  const candidates: (Check & { expressions: { sql: string; text: string }[] })[] = [];
  for (const pair of spec.pairs) {
    const up = spec.up.find((a) => a.target === pair.new);
    const down = spec.down.find((a) => a.target === pair.old);
    if (!up || !down) continue;
    const upValue = evaluate(up.expression, up.bindings ?? spec.oldBindings, pair.new);
    const downValue = evaluate(down.expression, down.bindings ?? spec.newBindings, pair.old);
    candidates.push({
      column: pair.old,
      consistent: `(t.${ident(pair.new)} IS NOT DISTINCT FROM ${upValue} OR t.${ident(pair.old)} IS NOT DISTINCT FROM ${downValue})`,
      expressions: [
        { sql: upValue, text: up.expression },
        { sql: downValue, text: down.expression },
      ],
    });
  }
  const paired = new Set(spec.pairs.map((p) => p.new));
  for (const up of spec.up) {
    if (paired.has(up.target)) continue;
    // A column's own volatile default (nextval, now()): evaluating it would take values from
    // the sequence, and it could not be compared anyway.
    if (up.backfillOnly) {
      report.unverifiable.push({ column: up.target, reason: `filled from its volatile default ${JSON.stringify(up.expression)}` });
      continue;
    }
    const value = evaluate(up.expression, up.bindings ?? spec.oldBindings, up.target);
    candidates.push({
      column: up.target,
      consistent: `NOT (t.${ident(up.target)} IS NULL AND ${value} IS NOT NULL)`,
      expressions: [{ sql: value, text: up.expression }],
    });
  }

  // An expression that gives another value each time (random(), now()) cannot be checked
  // against a stored value; one that fails (it names a column that is gone) neither.
  const checks: Check[] = [];
  for (const candidate of candidates) {
    let reason: string | null = null;
    for (const expression of candidate.expressions) {
      if (/\bNEW\s*\./i.test(expression.text)) {
        reason = `expression ${JSON.stringify(expression.text)} refers to NEW`;
        break;
      }
      try {
        const { rows } = await client.query<{ differs: number }>(
          `SELECT count(*)::int AS differs FROM (SELECT * FROM ${ref} LIMIT 200) AS t WHERE ${expression.sql} IS DISTINCT FROM ${expression.sql}`,
        );
        if (rows[0]!.differs > 0) reason = `expression ${JSON.stringify(expression.text)} is not deterministic`;
      } catch (error) {
        // A row it cannot convert is found and reported by the scan; an expression that
        // cannot run at all (a column that is gone) cannot be checked.
        if (!isRowDataError(error)) {
          reason = `expression ${JSON.stringify(expression.text)} fails: ${describeError(error)}`;
        }
      }
      if (reason) break;
    }
    if (reason) report.unverifiable.push({ column: candidate.column, reason });
    else checks.push(candidate);
  }
  if (checks.length === 0) return report;

  const counts = checks.map((c, i) => `count(*) FILTER (WHERE NOT ${c.consistent})::int AS bad${i}`).join(", ");
  const record = (from: Key, to: Key, row: Record<string, unknown>) => {
    checks.forEach((check, i) => {
      const bad = Number(row[`bad${i}`]);
      if (bad === 0) return;
      report.mismatches += bad;
      const last = report.ranges[report.ranges.length - 1];
      if (last && last.column === check.column && last.to === previousTo) {
        last.to = to;
        last.rows += bad;
      } else report.ranges.push({ column: check.column, from, to, rows: bad });
    });
    previousTo = to;
  };
  let previousTo: Key | null = null;

  const paging = await choosePaging(client, spec.schema, spec.table);
  const failing = isRowDataError;
  if (paging.kind === "key") {
    const keys = paging.columns;
    const keyList = keys.map((c) => ident(c.name)).join(", ");
    const tuple = keys.map((c, i) => `$${i + 1}::${c.type}`).join(", ");
    const asText = (dir: string) =>
      `(SELECT ARRAY[${keys.map((c) => `c.${ident(c.name)}::text`).join(", ")}] FROM chunk c ORDER BY ${keys.map((c) => `c.${ident(c.name)} ${dir}`).join(", ")} LIMIT 1)`;
    // A one-column key gives the chunk's first and last keys by min and max in the same pass,
    // so the chunk is read once, straight from the index scan, never materialized and sorted.
    // (Only for types min and max are defined for: not uuid, for one.)
    const single =
      keys.length === 1 && /^(smallint|integer|bigint|numeric|text|character varying|date|timestamp)/.test(keys[0]!.type.replace(/^.*\./, "").replace(/"/g, ""))
        ? ident(keys[0]!.name)
        : null;
    const chunk = async (cursor: Key | null, limit: number) => {
      const where = cursor ? `WHERE (${keyList}) > (${tuple})` : "";
      const { rows } = await client.query<Record<string, unknown>>(
        single
          ? `SELECT count(*)::int AS checked, ${counts}, ARRAY[min(t.${single})::text] AS first, ARRAY[max(t.${single})::text] AS last
               FROM (SELECT * FROM ${ref} ${where} ORDER BY ${keyList} LIMIT ${limit}) AS t`
          : `WITH chunk AS (SELECT * FROM ${ref} ${where} ORDER BY ${keyList} LIMIT ${limit})
             SELECT count(*)::int AS checked, ${counts}, ${asText("ASC")} AS first, ${asText("DESC")} AS last FROM chunk AS t`,
        cursor ?? [],
      );
      const row = rows[0]!;
      // No row: min and max are null, as the subqueries' were.
      if (single && Number(row.checked) === 0) return { ...row, first: null, last: null };
      return row;
    };
    let cursor: Key | null = null;
    for (;;) {
      let row: Record<string, unknown>;
      let failedAt: { key: Key; error: unknown } | null = null;
      try {
        row = await chunk(cursor, CHUNK);
      } catch (error) {
        if (!failing(error)) throw error;
        // Find the first row an expression fails on: the smallest prefix of the chunk that fails.
        let good = 0;
        let bad = CHUNK;
        let lastError: unknown = error;
        while (bad - good > 1) {
          const mid = Math.floor((good + bad) / 2);
          try {
            await chunk(cursor, mid);
            good = mid;
          } catch (inner) {
            if (!failing(inner)) throw inner;
            bad = mid;
            lastError = inner;
          }
        }
        const found: { rows: { key: Key }[] } = await client.query<{ key: Key }>(
          `SELECT ARRAY[${keys.map((c) => `${ident(c.name)}::text`).join(", ")}] AS key FROM ${ref} ${cursor ? `WHERE (${keyList}) > (${tuple})` : ""} ORDER BY ${keyList} OFFSET ${bad - 1} LIMIT 1`,
          cursor ?? [],
        );
        failedAt = { key: found.rows[0]!.key, error: lastError };
        row = good > 0 ? await chunk(cursor, good) : { checked: 0, first: null, last: null };
      }
      const checked = Number(row.checked);
      if (checked > 0) {
        report.rowsChecked += checked;
        record(row.first as Key, row.last as Key, row);
      }
      if (failedAt) {
        report.rowsChecked += 1;
        report.mismatches += 1;
        report.failures.push({ key: failedAt.key, error: describeError(failedAt.error) });
        cursor = failedAt.key;
        if (report.failures.length >= MAX_FAILURES) {
          report.failuresTruncated = true;
          break;
        }
        onProgress?.({ table: spec.table, rowsChecked: report.rowsChecked });
        continue;
      }
      if (checked === 0) break;
      onProgress?.({ table: spec.table, rowsChecked: report.rowsChecked });
      cursor = row.last as Key;
      if (checked < CHUNK) break;
    }
  } else {
    const pages = await tablePages(client, spec.schema, spec.table);
    const step = 256;
    const range = async (from: number, to: number) => {
      const { rows } = await client.query<Record<string, unknown>>(
        `SELECT count(*)::int AS checked, ${counts} FROM ${ref} AS t WHERE ctid >= $1::tid AND ctid < $2::tid`,
        [`(${from},0)`, `(${to},0)`],
      );
      return rows[0]!;
    };
    for (let from = 0; from < pages; from += step) {
      const to = Math.min(pages, from + step);
      try {
        const row = await range(from, to);
        report.rowsChecked += Number(row.checked);
        record([String(from)], [String(to - 1)], row);
      } catch (error) {
        if (!failing(error)) throw error;
        // Page by page, then row by row within the failing pages.
        for (let page = from; page < to && report.failures.length < MAX_FAILURES; page++) {
          try {
            const row = await range(page, page + 1);
            report.rowsChecked += Number(row.checked);
            record([String(page)], [String(page)], row);
          } catch (pageError) {
            if (!failing(pageError)) throw pageError;
            const { rows: tids } = await client.query<{ tid: string }>(
              `SELECT ctid::text AS tid FROM ${ref} WHERE ctid >= $1::tid AND ctid < $2::tid`,
              [`(${page},0)`, `(${page + 1},0)`],
            );
            for (const { tid } of tids) {
              try {
                const { rows } = await client.query<Record<string, unknown>>(`SELECT count(*)::int AS checked, ${counts} FROM ${ref} AS t WHERE ctid = $1::tid`, [tid]);
                report.rowsChecked += Number(rows[0]!.checked);
                record([String(page)], [String(page)], rows[0]!);
              } catch (rowError) {
                if (!failing(rowError)) throw rowError;
                report.rowsChecked += 1;
                report.mismatches += 1;
                report.failures.push({ key: [tid], error: describeError(rowError) });
              }
            }
          }
        }
        if (report.failures.length >= MAX_FAILURES) {
          report.failuresTruncated = true;
          break;
        }
      }
      onProgress?.({ table: spec.table, rowsChecked: report.rowsChecked });
    }
  }
  return report;
}
