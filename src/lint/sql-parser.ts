/**
 * SQL text to statements, through PostgreSQL's own parser (libpg_query compiled to
 * WebAssembly: no native build, the grammar of PostgreSQL 18). Each statement keeps its
 * text and exact position, so every finding can name a line and a column.
 */
import type { Node, RawStmt } from "libpg-query";

import { UnderwayError } from "../errors.js";

/** One top-level statement of a SQL text. */
export interface SqlStatement {
  /** The parse tree of the statement. */
  node: Node;
  /** The statement as written, without the terminating semicolon. */
  text: string;
  /** Offset (UTF-16 code units) of the statement's first character in the whole text. */
  start: number;
  /** 1-based line and column (UTF-16 code units) of the first character. */
  line: number;
  column: number;
}

/** Where a position is, in a text. */
export interface TextPosition {
  line: number;
  column: number;
}

type Parser = typeof import("libpg-query");

let ready: Promise<void> | undefined;
let parser: Parser | undefined;

/**
 * Loads the WebAssembly parser once per process; every other function of this module
 * needs it loaded first.
 *
 * libpg-query compiles its WebAssembly as soon as it is imported, so it is imported here
 * and nowhere else: a process that never lints (`import "underway"`, `underway --help`)
 * never pays for it.
 *
 * @example
 * await loadSqlParser();
 * const statements = parseSql("ALTER TABLE users ADD COLUMN age int;");
 */
export function loadSqlParser(): Promise<void> {
  ready ??= import("libpg-query").then(async (loaded) => {
    await loaded.loadModule();
    parser = loaded;
  });
  return ready;
}

function loadedParser(): Parser {
  if (parser === undefined) throw new Error("the SQL parser is not loaded: await loadSqlParser() first");
  return parser;
}

/**
 * The PL/pgSQL parse tree of a `DO` statement or a function definition. The parser must be
 * loaded (`loadSqlParser`).
 *
 * @throws Error from libpg_query when the PL/pgSQL does not parse.
 */
export function parsePlPgSql(text: string): unknown {
  return loadedParser().parsePlPgSQLSync(text);
}

/**
 * Maps offsets of a text to lines and columns, and libpg_query's byte offsets (it counts
 * UTF-8 bytes) to string offsets.
 */
export class TextMap {
  private readonly lineStarts: number[] = [0];
  private readonly byteToChar: Int32Array | undefined;

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    // Pure ASCII, the usual case, needs no table: a byte is a character.
    if (Buffer.byteLength(text, "utf8") !== text.length) {
      const table = new Int32Array(Buffer.byteLength(text, "utf8") + 1);
      let byte = 0;
      for (let i = 0; i < text.length; i++) {
        const code = text.codePointAt(i)!;
        const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
        for (let k = 0; k < width; k++) table[byte + k] = i;
        byte += width;
        if (code >= 0x10000) i++;
      }
      table[byte] = text.length;
      this.byteToChar = table;
    }
  }

  /** String offset of a UTF-8 byte offset. */
  charOffset(byteOffset: number): number {
    if (this.byteToChar === undefined) return byteOffset;
    return this.byteToChar[Math.min(Math.max(byteOffset, 0), this.byteToChar.length - 1)]!;
  }

  /** 1-based line and column of a string offset. */
  position(offset: number): TextPosition {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - this.lineStarts[low]! + 1 };
  }

  /** 1-based line and column of a libpg_query location (a byte offset). */
  positionOfByte(byteOffset: number): TextPosition {
    return this.position(this.charOffset(byteOffset));
  }
}

/** The text could not be parsed; `line` and `column` say where the parser gave up. */
export class SqlSyntaxError extends UnderwayError {
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super("INVALID_ARGUMENT", `${line}:${column}: ${reason}`);
  }
}

/** Skips whitespace and comments, which belong to no statement. */
function skipTrivia(text: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) i++;
    else if (c === 45 && text.charCodeAt(i + 1) === 45) {
      const end = text.indexOf("\n", i);
      i = end === -1 ? to : end + 1;
    } else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      // Block comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < to && depth > 0) {
        if (text.startsWith("/*", i)) (depth++, (i += 2));
        else if (text.startsWith("*/", i)) (depth--, (i += 2));
        else i++;
      }
    } else break;
  }
  return i;
}

/**
 * Splits and parses a SQL text into its statements.
 *
 * @throws SqlSyntaxError where the parser stopped, with line and column.
 *
 * @example
 * await loadSqlParser();
 * for (const s of parseSql(text)) console.log(s.line, s.column, Object.keys(s.node)[0]);
 */
export function parseSql(text: string, map: TextMap = new TextMap(text)): SqlStatement[] {
  if (text.trim() === "") return [];
  let raw: RawStmt[];
  try {
    raw = loadedParser().parseSync(text).stmts ?? [];
  } catch (error) {
    const details = (error as { sqlDetails?: { message: string; cursorPosition: number } }).sqlDetails;
    if (details === undefined) throw error;
    // The cursor position counts characters (PostgreSQL converts it), not bytes.
    const at = map.position(Math.min(details.cursorPosition, text.length));
    throw new SqlSyntaxError(details.message, at.line, at.column);
  }
  const statements: SqlStatement[] = [];
  for (const stmt of raw) {
    if (stmt.stmt === undefined) continue;
    const from = map.charOffset(stmt.stmt_location ?? 0);
    const to = stmt.stmt_len === undefined || stmt.stmt_len === 0 ? text.length : map.charOffset((stmt.stmt_location ?? 0) + stmt.stmt_len);
    const start = skipTrivia(text, from, to);
    const { line, column } = map.position(start);
    statements.push({ node: stmt.stmt, text: text.slice(start, to).trimEnd(), start, line, column });
  }
  return statements;
}
