import type { Client } from "../db/connection.js";
import { ident, literal, qualified } from "../db/ident.js";
import { LEGACY_DUAL_WRITE_TRIGGER, assignmentInputs, type Assignment, type Binding, type DualWriteTable } from "../plan/dual-write.js";
import { asValueExpression, onStoredRow, referencedColumns } from "../plan/sql-expression.js";

/**
 * How a backfill batch fills the new columns. The dual-write trigger can do it (the batch
 * sets a column to itself and the trigger runs `up` row by row in PL/pgSQL), but that costs
 * more than rewriting the row. So where it gives the same values, the batch's UPDATE
 * computes every `up` itself and skips the trigger through its `WHEN` (a setting of the
 * batch's own transaction): `direct`. Everywhere else it keeps the trigger: `trigger`, with
 * the reason.
 */
export type BackfillWrite = { kind: "direct"; set: string; setting: string } | { kind: "trigger"; reason: string };

/**
 * The direct form of a table's backfill, or why it keeps the trigger. `columns` are the
 * table's physical columns now. The direct form is taken only where it cannot differ:
 *
 * - the plan and trigger were made by a release that gives the trigger its `WHEN`;
 * - every `up` reads only the old columns, so the order the trigger evaluates them in
 *   cannot matter (a copy of a copy reads what an earlier `up` wrote: trigger), and fills
 *   a column no other `up` fills;
 * - no `up` is a column's own volatile default (computed only where the row has none);
 * - no `up` names `NEW.`, a trigger variable, or a column of the table by a name its
 *   bindings do not give (the trigger would not see that column; the statement would).
 *
 * An expression that names its columns as they are stored is written as it is; one that
 * names them otherwise (a column renamed by the migration) is evaluated on the row in a
 * subquery that binds its names, as the trigger declares them.
 */
export function directBackfill(spec: DualWriteTable, columns: readonly string[]): BackfillWrite {
  if (!spec.backfillSkip) return { kind: "trigger", reason: "the migration was started by an earlier release" };
  const up = spec.up;
  if (up.length === 0) return { kind: "trigger", reason: "no up expression fills a column" };
  const targets = new Set<string>();
  for (const a of up) {
    if (targets.has(a.target)) return { kind: "trigger", reason: `two up expressions fill ${a.target}` };
    targets.add(a.target);
  }
  const physical = new Set(columns);
  const table = qualified(spec.schema, spec.table);
  const assignments: string[] = [];
  for (const a of up) {
    const value = directValue(a, a.bindings ?? spec.oldBindings, physical, targets, table);
    if (typeof value !== "string") return { kind: "trigger", reason: value.reason };
    assignments.push(`${ident(a.target)} = ${value}`);
  }
  return { kind: "direct", set: assignments.join(", "), setting: spec.backfillSkip };
}

function directValue(a: Assignment, bindings: Binding[], physical: Set<string>, targets: Set<string>, table: string): string | { reason: string } {
  const where = a.origin ?? a.target;
  if (a.backfillOnly) return { reason: `${where} is the column's own volatile default` };
  // What it reads itself, through its own bindings: the plan's `inputs` are expanded past a
  // column another `up` fills to that one's inputs, so they cannot tell a chain.
  const reads = a.inputs === null || a.inputs === undefined ? null : assignmentInputs(a.expression, bindings);
  if (reads === null) return { reason: `the columns ${where} reads cannot be told` };
  if (reads.some((c) => targets.has(c))) return { reason: `${where} reads a column another up fills` };
  const { names, qualifiesNew } = referencedColumns(a.expression);
  if (qualifiesNew) return { reason: `${where} names NEW` };
  if (/(^|[^A-Za-z0-9_$"])tg_[a-z_]+/i.test(a.expression)) return { reason: `${where} names a trigger variable` };
  const given = new Set(bindings.map((b) => b.name));
  for (const name of names) {
    if (!given.has(name) && physical.has(name)) return { reason: `${where} names the column ${name}, which its bindings do not give` };
  }
  const asStored = onStoredRow(a.expression, bindings, physical);
  if (asStored !== null) return asStored;
  // The names it reads, bound to the row's columns as the trigger declares them. The row's
  // value in the select list keeps the subquery correlated, so a volatile `up` runs per row.
  const used = bindings.filter((b) => names.has(b.name));
  const marker = used[0]?.physical ?? [...physical][0]!;
  const bound = [...used.map((b) => `${table}.${ident(b.physical)} AS ${ident(b.name)}`), `(${table}.${ident(marker)} IS NULL) AS "underway row"`];
  return `(SELECT ${asValueExpression(a.expression)} FROM (SELECT ${bound.join(", ")} OFFSET 0) AS bound WHERE bound."underway row" IS NOT NULL)`;
}

/**
 * Whether the table has a row trigger of its own that fires on UPDATE, besides underway's:
 * the trigger path fires it for every row the backfill rewrites (and lets a BEFORE trigger
 * change the row before `up` reads it), so the direct form is not taken. Read again after
 * each direct batch's UPDATE, under its lock, so a trigger created meanwhile is seen.
 */
export function userUpdateTriggersSql(tableParameter: string, ours: readonly string[]): string {
  return `EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = ${tableParameter}::regclass AND NOT g.tgisinternal
      AND g.tgenabled IN ('O', 'A') AND (g.tgtype & 1) = 1 AND (g.tgtype & 16) = 16
      AND g.tgname <> ALL (ARRAY[${ours.map(literal).join(", ") || "''"}]::name[]))`;
}

/** The names of underway's dual-write triggers on the table. */
export function ourTriggers(spec: DualWriteTable): string[] {
  const t = spec.triggers ?? { late: LEGACY_DUAL_WRITE_TRIGGER };
  return [t.late, ...(t.early ? [t.early] : [])];
}

/**
 * How the backfill of `spec`'s table writes, read from the database when the job starts:
 * the plan's direct form, unless the table has a row trigger of its own on UPDATE or the
 * trigger in place lacks the `WHEN` (it was made by an earlier release).
 */
export async function chooseBackfillWrite(client: Client, spec: DualWriteTable | undefined): Promise<BackfillWrite> {
  if (!spec) return { kind: "trigger", reason: "no dual-write plan for the table" };
  const ref = qualified(spec.schema, spec.table);
  const ours = ourTriggers(spec);
  const { rows } = await client.query<{ columns: string[]; user_triggers: boolean; skipping: boolean }>(
    `SELECT ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS columns,
            ${userUpdateTriggersSql("$1", ours)} AS user_triggers,
            coalesce(bool_and(strpos(pg_get_triggerdef(g.oid), $3::text) > 0), false) AS skipping
       FROM pg_trigger g WHERE g.tgrelid = $1::regclass AND g.tgname = ANY($2::name[])`,
    [ref, ours, spec.backfillSkip ?? null],
  );
  const row = rows[0]!;
  if (row.user_triggers) return { kind: "trigger", reason: `${spec.table} has a row trigger of its own on UPDATE` };
  if (spec.backfillSkip && !row.skipping) return { kind: "trigger", reason: "the dual-write trigger in place has no WHEN for the backfill" };
  return directBackfill(spec, row.columns);
}
