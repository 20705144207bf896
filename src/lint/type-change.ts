/**
 * Whether ALTER COLUMN ... TYPE rewrites the table. PostgreSQL skips the rewrite when the
 * conversion is binary coercible, or a length coercion its type's support function proves
 * a no-op (ATColumnChangeRequiresRewrite in tablecmds.c; varchar_support, numeric_support,
 * varbit_support, TemporalSimplify for timestamp, timestamptz, time and timetz, and
 * interval_support). So it depends on the old type: known when the linted SQL declared the
 * column, else only a guess.
 */
import type { ColumnRef, Node, TypeName } from "libpg-query";

import { nodeAs, stringValue, typeModifiers } from "./ast.js";

export type TypeChangeVerdict =
  /** No rewrite (only the brief ACCESS EXCLUSIVE of ALTER TABLE). */
  | "no-rewrite"
  /** No rewrite only while the session's TimeZone is UTC (timestamp <-> timestamptz, PostgreSQL 12+). */
  | "no-rewrite-in-utc"
  /** The old type is not known, and some old types convert without a rewrite. */
  | "maybe-no-rewrite"
  | "rewrite";

/** Target types a column may change to without a rewrite, when the old type is not known. */
const MAYBE_FREE = new Set(["text", "varchar", "numeric", "inet", "timestamptz", "timestamp", "time", "timetz", "interval", "citext", "varbit"]);

const TEMPORAL = new Set(["timestamp", "timestamptz", "time", "timetz"]);
/** MAX_TIMESTAMP_PRECISION, MAX_TIME_PRECISION and MAX_INTERVAL_PRECISION. */
const MAX_PRECISION = 6;

interface Shape {
  name: string;
  schema?: string;
  /** Integer modifiers; undefined when one is not an integer constant. */
  mods: number[] | undefined;
  array: boolean;
}

const ALIASES: Record<string, string> = { "character varying": "varchar", decimal: "numeric", "bit varying": "varbit" };

function shape(type: TypeName): Shape {
  const names = (type.names ?? []).map((n) => stringValue(n) ?? "");
  const last = (names[names.length - 1] ?? "").toLowerCase();
  const schema = names.length > 1 ? names[names.length - 2] : undefined;
  return {
    name: ALIASES[last] ?? last,
    ...(schema === undefined || schema === "pg_catalog" ? {} : { schema }),
    mods: typeModifiers(type),
    array: (type.arrayBounds?.length ?? 0) > 0,
  };
}

/** Two names of one type: the same name, and the same schema when both name one. */
function sameType(a: Shape, b: Shape): boolean {
  return a.name === b.name && a.array === b.array && (a.schema === undefined || b.schema === undefined || a.schema === b.schema);
}

function sameModifiers(a: number[] | undefined, b: number[] | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((m, i) => m === b[i]);
}

/** An interval's least significant field (intervaltypmodleastfield): 0 SECOND ... 5 YEAR. */
function leastField(range: number): number {
  const MONTH = 1 << 1;
  const YEAR = 1 << 2;
  const DAY = 1 << 3;
  const HOUR = 1 << 10;
  const MINUTE = 1 << 11;
  const SECOND = 1 << 12;
  const map = new Map<number, number>([
    [YEAR, 5],
    [MONTH, 4],
    [DAY, 3],
    [HOUR, 2],
    [MINUTE, 1],
    [SECOND, 0],
    [YEAR | MONTH, 4],
    [DAY | HOUR, 2],
    [DAY | HOUR | MINUTE, 1],
    [DAY | HOUR | MINUTE | SECOND, 0],
    [HOUR | MINUTE, 1],
    [HOUR | MINUTE | SECOND, 0],
    [MINUTE | SECOND, 0],
  ]);
  return map.get(range) ?? 0;
}

/** interval_support: no rewrite if the least field stays or gets finer and the sub-second precision does not drop. */
function intervalFree(old: number[], next: number[]): boolean {
  if (next.length === 0) return true;
  const FULL_PRECISION = 0xffff;
  const oldLeast = old.length === 0 ? 0 : leastField(old[0]!);
  const newLeast = leastField(next[0]!);
  const oldPrecision = old[1] ?? FULL_PRECISION;
  const newPrecision = next[1] ?? FULL_PRECISION;
  return newLeast <= oldLeast && (oldLeast > 0 || newPrecision >= MAX_PRECISION || newPrecision >= oldPrecision);
}

/** TemporalSimplify: no rewrite if the new precision is unlimited, the maximum, or not lower than the old one. */
function temporalFree(old: number[], next: number[]): boolean {
  if (next.length === 0) return true;
  const precision = next[0]!;
  return precision === MAX_PRECISION || (old.length > 0 && precision >= old[0]!);
}

/** Whether a length-limited type keeps every old value: unlimited, or a limit at least the old one. */
function limitNotLower(old: number[], next: number[]): boolean {
  return next.length === 0 || (old.length > 0 && next[0]! >= old[0]!);
}

function knownVerdict(old: Shape, next: Shape): TypeChangeVerdict {
  if (old.mods === undefined || next.mods === undefined) return sameType(old, next) ? "no-rewrite" : "rewrite";
  if (sameType(old, next) && sameModifiers(old.mods, next.mods)) return "no-rewrite";
  if (old.array || next.array) return "rewrite";
  const pair = `${old.name}->${next.name}`;
  if (old.name === next.name) {
    switch (old.name) {
      case "varchar":
      case "varbit":
        return limitNotLower(old.mods, next.mods) ? "no-rewrite" : "rewrite";
      case "numeric": {
        // numeric(p) is numeric(p, 0); only the precision may grow.
        if (next.mods.length === 0) return "no-rewrite";
        if (old.mods.length === 0) return "rewrite";
        return (old.mods[1] ?? 0) === (next.mods[1] ?? 0) && next.mods[0]! >= old.mods[0]! ? "no-rewrite" : "rewrite";
      }
      case "interval":
        return intervalFree(old.mods, next.mods) ? "no-rewrite" : "rewrite";
      default:
        return TEMPORAL.has(old.name) && temporalFree(old.mods, next.mods) ? "no-rewrite" : "rewrite";
    }
  }
  // Binary-coercible casts (pg_cast castmethod 'b', and citext's WITHOUT FUNCTION casts).
  if (pair === "varchar->text" || pair === "cidr->inet" || pair === "text->citext" || pair === "varchar->citext" || pair === "citext->text") return "no-rewrite";
  if ((pair === "text->varchar" || pair === "citext->varchar") && next.mods.length === 0) return "no-rewrite";
  if ((pair === "timestamp->timestamptz" || pair === "timestamptz->timestamp") && temporalFree(old.mods, next.mods)) return "no-rewrite-in-utc";
  return "rewrite";
}

/**
 * The verdict for changing a column of type `old` (undefined: not known) to `next`.
 *
 * @example
 * typeChangeVerdict(oldTypeName, newTypeName); // "no-rewrite" for timestamp(3) -> timestamp(6)
 */
export function typeChangeVerdict(old: TypeName | undefined, next: TypeName): TypeChangeVerdict {
  const target = shape(next);
  if (old !== undefined) return knownVerdict(shape(old), target);
  return !target.array && MAYBE_FREE.has(target.name) ? "maybe-no-rewrite" : "rewrite";
}

/**
 * Whether a USING expression only converts the column as PostgreSQL would without one:
 * the column itself, or the column cast to the new type (`c::t`, `"c"::t`, `CAST(c AS t)`,
 * `(c)::schema.t`). Django writes `USING "c"::t` for every type change.
 */
export function usingIsImplicitCast(expression: Node | undefined, column: string, type: TypeName): boolean {
  if (expression === undefined) return true;
  const isColumn = (node: Node | undefined): boolean => {
    const ref: ColumnRef | undefined = nodeAs(node, "ColumnRef");
    const fields = (ref?.fields ?? []).map((f) => stringValue(f));
    return fields.length >= 1 && fields.length <= 3 && fields[fields.length - 1] === column;
  };
  if (isColumn(expression)) return true;
  const cast = nodeAs(expression, "TypeCast");
  if (cast?.typeName === undefined || !isColumn(cast.arg)) return false;
  const written = shape(cast.typeName);
  const target = shape(type);
  return sameType(written, target) && (sameModifiers(written.mods, target.mods) || (written.mods?.length === 0 && target.mods?.length === 0));
}
