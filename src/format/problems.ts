/**
 * Problems found in a migration file, and their rendering: each names the path of the field it
 * is about (`operations[2].alter_column.type`) and says what is wrong in words a file's author
 * can act on, with "did you mean" for typos and a hint when YAML read text as a number.
 */
import type * as z from "zod";

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

export interface Problem {
  path: Path;
  message: string;
}

/** Renders `["operations", 2, "alter_column", "type"]` as `operations[2].alter_column.type`. */
export function formatPath(path: Path): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function describeValueType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  if (value instanceof Date) return "date";
  if (typeof value === "object") return "mapping";
  return typeof value;
}

function describeExpectedType(expected: string): string {
  if (expected === "object" || expected === "record" || expected === "map") return "mapping";
  if (expected === "array" || expected === "tuple" || expected === "set") return "list";
  return expected;
}

/** YAML and JSON give numbers and booleans where pgroll wants text; say how to fix it. */
function quoteHint(expected: string, input: unknown): string {
  if (expected !== "string") return "";
  if (typeof input === "number") return ` (quote it: "${String(input)}")`;
  if (typeof input === "boolean") {
    return " (quote it if it is text: YAML reads true/false, yes/no and on/off as booleans)";
  }
  return "";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function unknownFieldMessage(key: string, allowed: readonly string[]): string {
  const suggestion = closestMatch(key, allowed);
  return suggestion === undefined
    ? `unknown field (allowed: ${allowed.join(", ")})`
    : `unknown field (did you mean "${suggestion}"?)`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": {
      if (issue.input === undefined) return "missing required field";
      const expected = describeExpectedType(issue.expected);
      return `expected ${expected}, got ${describeValueType(issue.input)}${quoteHint(issue.expected, issue.input)}`;
    }
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(issue.input)}`;
    case "too_small":
      return issue.origin === "array" ? `must list at least ${String(issue.minimum)}` : issue.message;
    default:
      return issue.message;
  }
}

/** Collects problems; the first one found becomes the error. */
export class Problems {
  readonly list: Problem[] = [];

  add(path: Path, message: string): void {
    this.list.push({ path, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** Parses `value` with `schema`; on failure records its issues under `path` and returns undefined. */
  parse<T extends z.ZodType>(schema: T, value: unknown, path: Path): z.output<T> | undefined {
    const result = schema.safeParse(value, { reportInput: true });
    if (result.success) return result.data;
    for (const issue of result.error.issues) {
      this.add([...path, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))], describeIssue(issue));
    }
    return undefined;
  }
}
