/**
 * Quoting for identifiers and literals. Every identifier that reaches SQL goes
 * through `ident`; user expressions (`up`, `down`, `check`) are the only raw SQL
 * taken from migration files, and they never become identifiers.
 */

/** Quotes one identifier: `ident('a"b')` is `"a""b"`. */
export function ident(name: string): string {
  if (name.length === 0) throw new Error("empty identifier");
  if (name.includes("\u0000")) throw new Error("identifier contains a NUL byte");
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a schema-qualified name: `qualified('public', 'users')` is `"public"."users"`. */
export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** Quotes a string literal, standard_conforming_strings style: `literal("it's")` is `'it''s'`. */
export function literal(value: string): string {
  if (value.includes("\u0000")) throw new Error("string literal contains a NUL byte");
  return `'${value.replaceAll("'", "''")}'`;
}

/** A comma-separated list of quoted identifiers. */
export function identList(names: readonly string[]): string {
  return names.map(ident).join(", ");
}
