/**
 * The SQL inside an underway (pgroll) migration file: the `up` of each `sql` operation,
 * with a way to map a position inside that SQL back to the file's own lines and columns.
 */
import YAML from "yaml";
import type { Scalar } from "yaml";

import type { TextPosition } from "./sql-parser.js";

export interface EmbeddedSql {
  /** The SQL as the operation gives it. */
  sql: string;
  /** `operations[3].sql.up` */
  path: string;
  /** Maps a position in `sql` to the file. */
  position: (at: TextPosition) => TextPosition;
}

function positionMapper(text: string, lineCounter: YAML.LineCounter, node: Scalar): (at: TextPosition) => TextPosition {
  const [start] = node.range ?? [0];
  const head = lineCounter.linePos(start);
  if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
    // The content starts on the line after the `|` or `>` header, at the block's indentation.
    const lines = text.split("\n");
    const first = lines.slice(head.line).find((l) => l.trim() !== "") ?? "";
    const indent = first.length - first.trimStart().length;
    return (at) => ({ line: head.line + at.line, column: indent + at.column });
  }
  const quote = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE" ? 1 : 0;
  return (at) => (at.line === 1 ? { line: head.line, column: head.col + quote + at.column - 1 } : { line: head.line + at.line - 1, column: at.column });
}

/**
 * Finds the `sql` operations' `up` strings of a migration file's text (YAML, or JSON,
 * which the YAML parser reads too).
 *
 * @example
 * for (const { sql, path } of embeddedSql(text)) console.log(path, sql);
 */
export function embeddedSql(text: string): EmbeddedSql[] {
  const lineCounter = new YAML.LineCounter();
  const document = YAML.parseDocument(text, { lineCounter, keepSourceTokens: false });
  const operations = document.get("operations", true);
  if (!YAML.isSeq(operations)) return [];
  const found: EmbeddedSql[] = [];
  operations.items.forEach((item, i) => {
    if (!YAML.isMap(item)) return;
    const sql = item.get("sql", true);
    if (!YAML.isMap(sql)) return;
    const up = sql.get("up", true);
    if (!YAML.isScalar(up) || typeof up.value !== "string") return;
    found.push({ sql: up.value, path: `operations[${i}].sql.up`, position: positionMapper(text, lineCounter, up) });
  });
  return found;
}
