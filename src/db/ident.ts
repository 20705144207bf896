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

/**
 * An identifier as a person writes it: bare when PostgreSQL reads it back the same
 * (lower case, no special characters), quoted otherwise. For messages and for settings
 * such as search_path that users paste; SQL that underway runs uses `ident`.
 */
export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) && !RESERVED.has(name) ? name : ident(name);
}

const RESERVED = new Set(["all", "analyse", "analyze", "and", "any", "array", "as", "asc", "both", "case", "cast", "check", "collate", "column", "constraint", "create", "current_catalog", "current_date", "current_role", "current_time", "current_timestamp", "current_user", "default", "deferrable", "desc", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign", "from", "grant", "group", "having", "in", "initially", "intersect", "into", "lateral", "leading", "limit", "localtime", "localtimestamp", "not", "null", "offset", "on", "only", "or", "order", "placing", "primary", "references", "returning", "select", "session_user", "some", "symmetric", "system_user", "table", "then", "to", "trailing", "true", "union", "unique", "user", "using", "variadic", "when", "where", "window", "with"]);

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
