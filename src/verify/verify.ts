import type { Client } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";
import type { DualWriteTable } from "../engine/dual-write.js";
import { asValueExpression } from "../engine/sql-expression.js";
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
): Promise<VerifyReport> {
  const tables: VerifyTableReport[] = [];
  for (const spec of specs) tables.push(await verifyTable(client, spec, onProgress));
  return { ok: tables.every((t) => t.mismatches === 0), tables };
}

async function verifyTable(client: Client, spec: DualWriteTable, onProgress?: (progress: VerifyProgress) => void): Promise<VerifyTableReport> {
  const ref = qualified(spec.schema, spec.table);
  const report: VerifyTableReport = { table: spec.table, rowsChecked: 0, mismatches: 0, ranges: [], unverifiable: [] };
  const { rows: typeRows } = await client.query<{ name: string; type: string }>(
    `SELECT attname::text AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [ref],
  );
  const types = new Map(typeRows.map((r) => [r.name, r.type]));
  const bind = (bindings: { name: string; physical: string }[]) =>
    bindings.map((b) => `t.${ident(b.physical)} AS ${ident(b.name)}`).join(", ") || "1 AS \"?\"";
  const evaluate = (expression: string, bindings: { name: string; physical: string }[], target: string) =>
    `(SELECT CAST(${asValueExpression(expression)} AS ${types.get(target) ?? "text"}) FROM (SELECT ${bind(bindings)}) AS bound)`;

  const candidates: (Check & { expressions: { sql: string; text: string }[] })[] = [];
  for (const pair of spec.pairs) {
    const up = spec.up.find((a) => a.target === pair.new);
    const down = spec.down.find((a) => a.target === pair.old);
    if (!up || !down) continue;
    const upValue = evaluate(up.expression, spec.oldBindings, pair.new);
    const downValue = evaluate(down.expression, spec.newBindings, pair.old);
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
    const value = evaluate(up.expression, spec.oldBindings, up.target);
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
        reason = `expression ${JSON.stringify(expression.text)} fails: ${error instanceof Error ? error.message : String(error)}`;
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
  if (paging.kind === "key") {
    const keys = paging.columns;
    const keyList = keys.map((c) => ident(c.name)).join(", ");
    const tuple = keys.map((c, i) => `$${i + 1}::${c.type}`).join(", ");
    const asText = (dir: string) =>
      `(SELECT ARRAY[${keys.map((c) => `c.${ident(c.name)}::text`).join(", ")}] FROM chunk c ORDER BY ${keys.map((c) => `c.${ident(c.name)} ${dir}`).join(", ")} LIMIT 1)`;
    let cursor: Key | null = null;
    for (;;) {
      const where = cursor ? `WHERE (${keyList}) > (${tuple})` : "";
      const { rows } = await client.query<Record<string, unknown>>(
        `WITH chunk AS (SELECT * FROM ${ref} ${where} ORDER BY ${keyList} LIMIT ${CHUNK})
         SELECT count(*)::int AS checked, ${counts}, ${asText("ASC")} AS first, ${asText("DESC")} AS last FROM chunk AS t`,
        cursor ?? [],
      );
      const row = rows[0]!;
      const checked = Number(row.checked);
      if (checked === 0) break;
      report.rowsChecked += checked;
      record(row.first as Key, row.last as Key, row);
      onProgress?.({ table: spec.table, rowsChecked: report.rowsChecked });
      cursor = row.last as Key;
      if (checked < CHUNK) break;
    }
  } else {
    const pages = await tablePages(client, spec.schema, spec.table);
    const step = 256;
    for (let from = 0; from < pages; from += step) {
      const { rows } = await client.query<Record<string, unknown>>(
        `SELECT count(*)::int AS checked, ${counts} FROM ${ref} AS t WHERE ctid >= $1::tid AND ctid < $2::tid`,
        [`(${from},0)`, `(${from + step},0)`],
      );
      const row = rows[0]!;
      report.rowsChecked += Number(row.checked);
      record([String(from)], [String(Math.min(pages, from + step) - 1)], row);
      onProgress?.({ table: spec.table, rowsChecked: report.rowsChecked });
    }
  }
  return report;
}
