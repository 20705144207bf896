/**
 * Typed access to libpg_query's parse tree. A `Node` is an object with exactly one key,
 * the node's type (`{ AlterTableStmt: {...} }`); these helpers read it without casts at
 * every call site.
 */
import type { Node, RangeVar, TypeName } from "libpg-query";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
/** pgsql-deparser (CommonJS), required the first time a type is printed, so a lint with no type change never loads it. */
let deparser: typeof import("pgsql-deparser") | undefined;

type KeysOf<T> = T extends unknown ? keyof T : never;
type ValueOf<T, K extends PropertyKey> = T extends unknown ? (K extends keyof T ? T[K] : never) : never;

export type NodeKind = KeysOf<Node>;
export type NodeOf<K extends NodeKind> = ValueOf<Node, K>;

/** The type name of a node: `"AlterTableStmt"`, `"ColumnRef"`, ... */
export function kindOf(node: Node): NodeKind {
  for (const key in node) return key as NodeKind;
  throw new Error("empty parse tree node");
}

/** The node's payload when it is of `kind`, else undefined. */
export function nodeAs<K extends NodeKind>(node: Node | undefined, kind: K): NodeOf<K> | undefined {
  if (node === undefined || !(kind in node)) return undefined;
  return (node as Record<string, unknown>)[kind] as NodeOf<K>;
}

/** The `sval` of a String node. */
export function stringValue(node: Node | undefined): string | undefined {
  return nodeAs(node, "String")?.sval;
}

/** A dotted name from a list of String nodes (`["public", "users"]` -> `public.users`). */
export function dottedName(nodes: Node[] | undefined): string {
  return (nodes ?? []).map((n) => stringValue(n) ?? "?").join(".");
}

/** `schema.table` or `table`, as written (the parser has already folded unquoted names). */
export function relationName(relation: RangeVar | undefined): string {
  if (relation === undefined) return "?";
  return relation.schemaname ? `${relation.schemaname}.${relation.relname ?? "?"}` : (relation.relname ?? "?");
}

/** A type's name without the `pg_catalog.` the parser adds to built-in types (`int4`, `varchar`). */
export function typeBaseName(type: TypeName | undefined): string {
  const names = (type?.names ?? []).map((n) => stringValue(n) ?? "");
  if (names.length === 2 && names[0] === "pg_catalog") return names[1]!;
  return names.join(".");
}

/**
 * A type as a person writes it: `bigint`, `varchar(20)`, `interval(3)` (the parse tree holds
 * `int8`, and `interval(32767,3)`: the first modifier of an interval is its field mask).
 */
export function typeText(type: TypeName | undefined): string {
  if (type === undefined) return "?";
  try {
    deparser ??= require("pgsql-deparser") as typeof import("pgsql-deparser");
    return deparser.deparseSync({ TypeName: type }, { pretty: false });
  } catch {
    const mods = typeModifiers(type);
    return `${typeBaseName(type)}${mods && mods.length > 0 ? `(${mods.join(",")})` : ""}`;
  }
}

/** Integer type modifiers (`varchar(20)` -> [20], `numeric(10,2)` -> [10, 2]); undefined when any is not an integer constant. */
export function typeModifiers(type: TypeName | undefined): number[] | undefined {
  const mods: number[] = [];
  for (const mod of type?.typmods ?? []) {
    const constant = nodeAs(mod, "A_Const");
    // The tree leaves out an ival of 0, but keeps the (empty) ival object.
    if (constant?.ival === undefined) return undefined;
    mods.push(constant.ival.ival ?? 0);
  }
  return mods;
}

/** The names of the columns an expression reads (ColumnRef's last field). */
export function columnsIn(node: unknown): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (typeof value === "object" && value !== null) {
      const ref = (value as { ColumnRef?: { fields?: Node[] } }).ColumnRef;
      if (ref !== undefined) {
        const last = ref.fields?.[ref.fields.length - 1];
        const name = stringValue(last);
        if (name !== undefined) found.add(name);
        return;
      }
      for (const key in value) visit((value as Record<string, unknown>)[key]);
    }
  };
  visit(node);
  return [...found];
}

/** Every function name (lower case, without schema) called anywhere inside a node. */
export function functionsCalled(node: unknown): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (typeof value === "object" && value !== null) {
      const call = (value as { FuncCall?: { funcname?: Node[] } }).FuncCall;
      if (call !== undefined) {
        const names = call.funcname ?? [];
        found.push((stringValue(names[names.length - 1]) ?? "").toLowerCase());
      }
      for (const key in value) visit((value as Record<string, unknown>)[key]);
    }
  };
  visit(node);
  return found;
}
