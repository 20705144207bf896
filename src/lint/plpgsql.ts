/**
 * The SQL statements inside a `DO` block, found with PostgreSQL's own PL/pgSQL parser.
 * Drizzle Kit, for one, wraps each foreign key in
 * `DO $$ BEGIN ALTER TABLE ... EXCEPTION WHEN duplicate_object ...`, so what a block runs
 * is linted and learned from like the file's own statements.
 */
import type { DoStmt } from "libpg-query";

import { nodeAs, stringValue } from "./ast.js";
import { parsePlPgSql } from "./sql-parser.js";

/** One statement of a block: its text and the block line (1-based) it is on. */
export interface BlockStatement {
  query: string;
  lineno: number;
}

/** The SQL a PL/pgSQL body runs: static statements, and EXECUTE of a string constant. */
function plpgsqlStatements(tree: unknown): BlockStatement[] {
  const found: BlockStatement[] = [];
  const visit = (value: unknown, lineno: number): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, lineno);
      return;
    }
    if (typeof value !== "object" || value === null) return;
    const record = value as Record<string, unknown>;
    const line = typeof record.lineno === "number" ? record.lineno : lineno;
    const execsql = record.PLpgSQL_stmt_execsql as { lineno?: number; sqlstmt?: { PLpgSQL_expr?: { query?: string } } } | undefined;
    if (execsql?.sqlstmt?.PLpgSQL_expr?.query !== undefined) found.push({ query: execsql.sqlstmt.PLpgSQL_expr.query, lineno: execsql.lineno ?? line });
    const dynamic = record.PLpgSQL_stmt_dynexecute as { lineno?: number; query?: { PLpgSQL_expr?: { query?: string } } } | undefined;
    const literal = dynamic?.query?.PLpgSQL_expr?.query;
    if (literal !== undefined && /^'(?:[^']|'')*'$/s.test(literal.trim())) {
      found.push({ query: literal.trim().slice(1, -1).replace(/''/g, "'"), lineno: dynamic?.lineno ?? line });
    }
    for (const key in record) visit(record[key], line);
  };
  visit(tree, 1);
  return found;
}

/**
 * The statements a DO block runs, in order; undefined when the block is not PL/pgSQL or
 * does not parse. `text` is the whole DO statement.
 *
 * @example
 * doBlockStatements(stmt, "DO $$ BEGIN CREATE INDEX i ON t (a); END $$"); // [{ query: "CREATE INDEX i ON t (a)", lineno: 1 }]
 */
export function doBlockStatements(stmt: DoStmt, text: string): BlockStatement[] | undefined {
  const language = (stmt.args ?? []).map((a) => nodeAs(a, "DefElem")).find((d) => d?.defname === "language");
  if (language !== undefined && stringValue(language.arg)?.toLowerCase() !== "plpgsql") return undefined;
  let tree: unknown;
  try {
    tree = parsePlPgSql(text);
  } catch {
    return undefined;
  }
  return plpgsqlStatements(tree);
}
