import type { Client } from "../db/connection.js";
import { sqlState } from "../db/connection.js";
import { ident } from "../db/ident.js";
import { UnderwayError } from "../errors.js";
import type { SqlCheck } from "../plan/operations/plan-context.js";
import { referencedColumns } from "../plan/sql-expression.js";

/**
 * Checks the SQL a migration file carries (`up`, `down`, `check`, defaults, types) against
 * the database before anything changes: each is planned, not run, by the server's own
 * parser and analyser (`EXPLAIN`), in a transaction that is rolled back, with the names it
 * may use bound to NULLs of their types, as the trigger or the constraint will bind them.
 * So a misspelt column, an unknown function or type, or a value that cannot become the
 * column's type is an error naming the file, the field and the place in the user's text,
 * and the database is untouched.
 *
 * What an earlier `sql` operation of the same migration may create (a type, a function)
 * does not exist yet; a check that fails only for want of such a name is left to `start`.
 * Tables the migration creates are stood in for by temporary tables of the same shape.
 */
export async function validateSql(
  client: Client,
  schema: string,
  checks: SqlCheck[],
  context: { file: string; createdTables: { name: string; columns: { name: string; type: string }[] }[]; sqlOperations: number[] },
): Promise<void> {
  if (checks.length === 0) return;
  const problems: { origin: string; message: string; detail: string }[] = [];
  await client.query("BEGIN");
  try {
    await client.query("SELECT set_config('search_path', $1, true)", [ident(schema)]);
    for (const table of context.createdTables) {
      await attempt(client, `CREATE TEMP TABLE ${ident(table.name)} (${table.columns.map((c) => `${ident(c.name)} ${plainType(c.type)}`).join(", ") || ""}) ON COMMIT DROP`);
    }
    for (const check of checks) {
      if (check.kind === "expression" && referencedColumns(check.sql).qualifiesNew) continue;
      const { text, start } = probe(check);
      const error = await attempt(client, text);
      if (!error) continue;
      const state = sqlState(error) ?? "";
      const missing = ["42P01", "42883", "42704", "3F000", "42703"].includes(state);
      if (missing && context.sqlOperations.some((i) => i < check.operation)) continue;
      // A data error (class 22) comes from a constant the planner folded ('abc'::integer):
      // an expression fails on the rows it is evaluated for, which the trigger and the
      // backfill handle (as pgroll leaves it); a type or a default must hold at once.
      if (state.startsWith("22") && (check.kind === "expression" || check.kind === "check")) continue;
      const position = Number((error as { position?: string }).position ?? 0) - 1 - start;
      const inText = position >= 0 && position <= check.sql.length;
      const where = inText ? ` (at character ${position + 1} of ${JSON.stringify(check.sql)})` : ` (in ${JSON.stringify(check.sql)})`;
      // PostgreSQL's hint names the probe's alias ("bound.amount"); the user knows the column as amount.
      const hint = String((error as { hint?: string }).hint ?? "").replace(/"bound\./g, '"');
      const detail = String((error as { detail?: string }).detail ?? "");
      problems.push({
        origin: check.origin,
        message: `${error instanceof Error ? error.message : String(error)}${where}${detail ? `: ${detail}` : ""}${hint ? `; ${hint}` : ""}`,
        detail: inText ? `${check.sql}\n${" ".repeat(position)}^` : check.sql,
      });
    }
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
  if (problems.length === 0) return;
  const first = problems[0]!;
  throw new UnderwayError("INVALID_MIGRATION", `${context.file}: ${first.origin}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ""}`, {
    detail: problems.map((p) => `${p.origin}: ${p.message}\n${p.detail}`).join("\n"),
  });
}

/** The statement that checks one piece of SQL, and where the user's text starts in it. */
function probe(check: SqlCheck): { text: string; start: number } {
  const bound =
    check.bindings.length === 0
      ? ""
      : ` FROM (SELECT ${check.bindings.map((b) => `NULL::${plainType(b.type)} AS ${ident(b.name)}`).join(", ")}) AS bound`;
  switch (check.kind) {
    case "type": {
      const prefix = "EXPLAIN (COSTS OFF) SELECT NULL::";
      return { text: `${prefix}${plainType(check.sql)}`, start: prefix.length };
    }
    case "check": {
      const prefix = "EXPLAIN (COSTS OFF) SELECT CAST((";
      return { text: `${prefix}${check.sql}) AS boolean)${bound}`, start: prefix.length };
    }
    case "default":
    case "expression": {
      // pgroll's files may write an expression as `SELECT ...`: in parentheses it is a scalar subquery.
      const prefix = "EXPLAIN (COSTS OFF) SELECT CAST((";
      const sql = check.sql.trim().replace(/;+\s*$/, "");
      return { text: `${prefix}${sql}) AS ${plainType(check.target ?? "text")})${bound}`, start: prefix.length - (check.sql.length - check.sql.trimStart().length) };
    }
  }
}

/** serial and friends are not types but a column with a sequence: the integer type underneath. */
function plainType(type: string): string {
  const t = type.trim().toLowerCase();
  const serial: Record<string, string> = { smallserial: "smallint", serial2: "smallint", serial: "integer", serial4: "integer", bigserial: "bigint", serial8: "bigint" };
  return serial[t] ?? type;
}

/** Runs a statement in a savepoint; returns its error, if any, with the transaction still usable. */
async function attempt(client: Client, text: string): Promise<unknown> {
  await client.query("SAVEPOINT uw_check");
  try {
    await client.query(text);
    await client.query("RELEASE SAVEPOINT uw_check");
    return null;
  } catch (error) {
    await client.query("ROLLBACK TO SAVEPOINT uw_check");
    return error;
  }
}
