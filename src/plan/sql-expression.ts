import { ident } from "../db/ident.js";

/**
 * Small, conservative lexical helpers for the SQL expressions a migration file carries
 * (`up`, `down`, `check`, defaults). They never parse SQL; they only find where
 * identifiers stand, skipping string literals, quoted identifiers and comments.
 */

/**
 * The expression in a form that can stand after `:=` or inside parentheses. pgroll's
 * files write `up` either as an expression or as `SELECT ...`; wrapping both in
 * parentheses turns the second into a scalar subquery with the same value.
 */
export function asValueExpression(expression: string): string {
  const trimmed = expression.trim().replace(/;+\s*$/, "");
  return `(${trimmed})`;
}

/**
 * The expression as it can be evaluated on the stored row itself, when every column it
 * names is bound to the stored column of that name (`price` bound to `price`), and it names
 * no stored column its bindings leave out; null otherwise (a name the migration renamed
 * needs binding in a subquery). `stored` are the table's physical columns.
 */
export function onStoredRow(expression: string, bindings: readonly { name: string; physical: string }[], stored: ReadonlySet<string>): string | null {
  const byName = new Map(bindings.map((b) => [b.name, b.physical]));
  for (const name of referencedColumns(expression).names) {
    const bound = byName.get(name);
    if (bound === undefined ? stored.has(name) : bound !== name) return null;
  }
  return asValueExpression(expression);
}

/**
 * Replaces references to columns by other names: `renameIdentifiers("length(title) > 3", {title: "_uw_new_title"})`
 * gives `length("_uw_new_title") > 3`. Qualified references (`t.title`) and function
 * names (`title(...)`) are left alone; unquoted names match case-insensitively, as
 * PostgreSQL folds them.
 */
export function renameIdentifiers(expression: string, renames: Record<string, string>): string {
  const targets = new Map(Object.entries(renames));
  if (targets.size === 0) return expression;
  let out = "";
  let last = 0;
  for (const ref of columnReferences(expression)) {
    const replacement = targets.get(ref.name);
    if (replacement === undefined) continue;
    out += expression.slice(last, ref.start) + ident(replacement);
    last = ref.end;
  }
  return out + expression.slice(last);
}

/**
 * The names an expression may use as columns: every identifier that is not qualified
 * (`t.x`), not a qualifier itself, not a function name and not after `::` (a type), as
 * PostgreSQL would resolve it (unquoted names folded to lower case). `qualifiesNew` is
 * true when the expression names `NEW.something`, a trigger-row reference no list of
 * names covers.
 */
export function referencedColumns(expression: string): { names: Set<string>; qualifiesNew: boolean } {
  const names = new Set<string>();
  for (const ref of columnReferences(expression)) names.add(ref.name);
  return { names, qualifiesNew: /(^|[^A-Za-z0-9_$"])new\s*\.\s*("|[A-Za-z_])/i.test(stripLiterals(expression)) };
}

/** Where each possible column reference stands in an expression, skipping literals and comments. */
function* columnReferences(expression: string): Generator<{ name: string; start: number; end: number }> {
  let i = 0;
  const n = expression.length;
  let previousSignificant = "";
  while (i < n) {
    const ch = expression[i]!;
    // String literal, including E'' with backslash escapes.
    if (ch === "'" || ((ch === "E" || ch === "e") && expression[i + 1] === "'" && !isIdentChar(expression[i - 1]))) {
      i = skipString(expression, i);
      previousSignificant = "'";
      continue;
    }
    // Dollar-quoted string.
    if (ch === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(expression.slice(i));
      if (tag) {
        const end = expression.indexOf(tag[0], i + tag[0].length);
        i = end === -1 ? n : end + tag[0].length;
        previousSignificant = "'";
        continue;
      }
    }
    // Comments.
    if (ch === "-" && expression[i + 1] === "-") {
      const end = expression.indexOf("\n", i);
      i = end === -1 ? n : end;
      continue;
    }
    if (ch === "/" && expression[i + 1] === "*") {
      const end = expression.indexOf("*/", i + 2);
      i = end === -1 ? n : end + 2;
      continue;
    }
    // Quoted identifier.
    if (ch === '"') {
      let j = i + 1;
      let name = "";
      while (j < n) {
        if (expression[j] === '"') {
          if (expression[j + 1] === '"') {
            name += '"';
            j += 2;
            continue;
          }
          j++;
          break;
        }
        name += expression[j];
        j++;
      }
      if (previousSignificant !== "." && !followedByCall(expression, j)) yield { name, start: i, end: j };
      i = j;
      previousSignificant = '"';
      continue;
    }
    if (isIdentStart(ch)) {
      let j = i + 1;
      while (j < n && isIdentChar(expression[j])) j++;
      const word = expression.slice(i, j);
      if (previousSignificant !== "." && previousSignificant !== ":" && !followedByCall(expression, j) && !followedByDot(expression, j)) {
        yield { name: word.toLowerCase(), start: i, end: j };
      }
      i = j;
      previousSignificant = "a";
      continue;
    }
    if (!/\s/.test(ch)) previousSignificant = ch;
    i++;
  }
}

function skipString(expression: string, from: number): number {
  const n = expression.length;
  const escapes = expression[from] !== "'";
  let i = from + (escapes ? 2 : 1);
  while (i < n) {
    if (escapes && expression[i] === "\\") {
      i += 2;
      continue;
    }
    if (expression[i] === "'") {
      if (expression[i + 1] === "'") {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return n;
}

/** The expression with string literals blanked, for pattern checks that must not look inside them. */
function stripLiterals(expression: string): string {
  let out = "";
  let i = 0;
  while (i < expression.length) {
    const ch = expression[i]!;
    if (ch === "'" || ((ch === "E" || ch === "e") && expression[i + 1] === "'" && !isIdentChar(expression[i - 1]))) {
      const end = skipString(expression, i);
      out += " ".repeat(end - i);
      i = end;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

function isIdentStart(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z_\u0080-\uffff]/.test(ch);
}

function isIdentChar(ch: string | undefined): boolean {
  return ch !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(ch);
}

function followedByCall(expression: string, from: number): boolean {
  return /^\s*\(/.test(expression.slice(from, from + 64));
}

function followedByDot(expression: string, from: number): boolean {
  return /^\s*\.(?!\.)/.test(expression.slice(from, from + 64));
}

/** A dollar-quote tag that does not occur in any of the given texts. */
export function dollarTag(...texts: string[]): string {
  for (let n = 0; ; n++) {
    const tag = n === 0 ? "$uw$" : `$uw${n}$`;
    if (!texts.some((t) => t.includes(tag))) return tag;
  }
}
