/**
 * The SQL that masks one column as the source reads it: pure functions from a column's
 * type and rule to a select-list expression. Every masked value is computed from
 * `sha256(salt || value::text)`, so it depends on the value and the salt only, not on the
 * table or column: the same email hashes to the same digest in `users` and in `orders`,
 * and foreign keys still match. The salt is a bind parameter of the reading query, never
 * part of the SQL text nor of the copy.
 */
import type { PersonalKind } from "./detect.js";

/** A column as the masking sees it (read from the source's catalog). */
export interface MaskColumn {
  table: string;
  column: string;
  /** The declared type with its modifier, as `format_type` writes it (a domain keeps its name). */
  type: string;
  /** The base type without modifier (`character varying`, `integer`; a domain's base type). */
  baseType: string;
  /** `varchar(n)` / `char(n)`: n. */
  length: number | null;
  /** `numeric(p, s)`: p and s. */
  precision: number | null;
  scale: number | null;
  /** pg_type.typcategory of the base type: `A` arrays, `E` enums... */
  category: string;
  notNull: boolean;
  /** In a primary key or a unique index (alone or with other columns). */
  unique: boolean;
}

export type ResolvedRule = { rule: "keep" } | { rule: "null" } | { rule: "hash" } | { rule: "fake"; kind: PersonalKind | null };

/** A masked value: its SQL, and how many bits of the digest it keeps (for uniqueness). */
interface Masked {
  sql: string;
  bits: number;
}

/**
 * Below this many bits of the digest left in a value, distinct inputs of a unique column
 * may collide in a sample of a few million rows (birthday bound: about 2^32 values for 64
 * bits), so the copy refuses rather than break a unique index.
 */
export const UNIQUE_BITS = 64;

const TEXT_TYPES = new Set(["text", "character varying", "character", "citext", "name"]);

/**
 * The select-list expression for `column` under `rule`, reading the original from `value`
 * and the salt from `salt` (a placeholder such as `$1`), cast to the column's type; or why
 * the rule cannot apply to it. NULL stays NULL under every rule.
 *
 * @example
 * maskExpression(usersEmail, { rule: "hash" }, 't."email"', "$1").sql
 * // CASE WHEN t."email" IS NULL THEN NULL ELSE encode(sha256(...), 'hex') END::text
 */
export function maskExpression(column: MaskColumn, rule: ResolvedRule, value: string, salt: string): { sql: string } | { error: string } {
  if (rule.rule === "keep") return { sql: value };
  if (rule.rule === "null") {
    return column.notNull ? { error: "is NOT NULL: the null rule cannot apply (use hash or fake)" } : { sql: `NULL::${column.type}` };
  }
  const masked = rule.rule === "hash" ? hashed(column, value, salt) : faked(column, rule.kind, value, salt);
  if ("error" in masked) return masked;
  if (column.unique && masked.bits < UNIQUE_BITS) {
    return { error: `is unique, and ${rule.rule} of ${column.type} keeps only ${Math.floor(masked.bits)} bits: masked values could collide (use ${rule.rule === "fake" ? "hash, " : ""}keep, or a wider type)` };
  }
  return { sql: `(CASE WHEN ${value} IS NULL THEN NULL ELSE ${masked.sql} END)::${column.type}` };
}

/** The digest of a value as bytea. */
function digest(value: string, salt: string): string {
  return `sha256(convert_to(${salt} || (${value})::text, 'UTF8'))`;
}

/** Its hex form (64 characters). */
function hex(value: string, salt: string): string {
  return `encode(${digest(value, salt)}, 'hex')`;
}

/** The first 32 bits of the digest as a non-negative bigint. */
function u32(value: string, salt: string): string {
  return `('x00000000' || left(${hex(value, salt)}, 8))::bit(64)::bigint`;
}

/** A deterministic value of the column's own type; distinct inputs stay distinct while `bits` allows. */
function hashed(column: MaskColumn, value: string, salt: string): Masked | { error: string } {
  const h = hex(value, salt);
  if (column.category === "A") return { error: `is an array (${column.type}): hash cannot mask it (use null or keep)` };
  if (column.category === "E") return { error: `is an enum (${column.type}): hash cannot mask it (use fake, null or keep)` };
  if (TEXT_TYPES.has(column.baseType)) return text(h, 256, column.length);
  switch (column.baseType) {
    case "bytea":
      return { sql: digest(value, salt), bits: 256 };
    case "uuid":
      return { sql: `left(${h}, 32)::uuid`, bits: 128 };
    case "bigint":
      return { sql: `('x' || left(${h}, 16))::bit(64)::bigint`, bits: 64 };
    case "integer":
      return { sql: `('x' || left(${h}, 8))::bit(32)::integer`, bits: 32 };
    case "smallint":
      return { sql: `(('x' || left(${h}, 4))::bit(16)::integer - 32768)::smallint`, bits: 16 };
    case "numeric": {
      if (column.precision === null) return { sql: `('x' || left(${h}, 16))::bit(64)::bigint::numeric`, bits: 64 };
      const digits = column.precision - (column.scale ?? 0);
      if (digits < 1) return { error: `is ${column.type}, with no integer digits to hash into (use null or keep)` };
      return { sql: `(('x' || left(${h}, 16))::bit(64)::bigint::numeric % 1${"0".repeat(Math.min(digits, 18))})`, bits: Math.min(digits, 18) * Math.log2(10) };
    }
    case "real":
    case "double precision":
      return { sql: `${u32(value, salt)}::double precision`, bits: 32 };
    case "boolean":
      return { sql: `get_byte(${digest(value, salt)}, 0) % 2 = 0`, bits: 1 };
    case "date":
      return { sql: `date '1900-01-01' + (${u32(value, salt)} % 54000)::integer`, bits: Math.log2(54000) };
    case "timestamp without time zone":
    case "timestamp with time zone":
      return { sql: `${column.baseType} '1970-01-01 00:00:00+00' + ${u32(value, salt)} * interval '1 second'`, bits: 32 };
    case "inet":
    case "cidr": {
      // An address of the unique-local IPv6 range fd00::/8, 120 bits of the digest.
      const groups = [`'fd' || substr(${h}, 1, 2)`, ...Array.from({ length: 7 }, (_, i) => `substr(${h}, ${3 + i * 4}, 4)`)];
      return { sql: `(${groups.join(" || ':' || ")} || '/128')::${column.baseType}`, bits: 120 };
    }
    case "macaddr":
      return { sql: `left(${h}, 12)::macaddr`, bits: 48 };
    case "json":
    case "jsonb":
      return { sql: `to_${column.baseType}(${h})`, bits: 256 };
    default:
      return { error: `is ${column.type}: no type-correct hash for it (use fake, null or keep)` };
  }
}

/** A text value cut to the column's length; each hex character left keeps 4 bits. */
function text(sql: string, bits: number, length: number | null, fixed = 0): Masked {
  if (length === null) return { sql, bits };
  return { sql: `left(${sql}, ${length})`, bits: Math.min(bits, Math.max(0, length - fixed) * 4) };
}

const FIRST = ["Alex", "Sam", "Robin", "Kim", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Riley", "Avery", "Quinn", "Drew", "Rowan", "Sasha", "Noa"];
const LAST = ["Smith", "Garcia", "Kowalski", "Nguyen", "Okafor", "Müller", "Rossi", "Tanaka", "Silva", "Novak", "Dubois", "Jensen", "Haddad", "Kim", "Ivanova", "Moreau"];
const STREETS = ["Main Street", "Oak Avenue", "Station Road", "Mill Lane", "High Street", "Park Road", "Church Street", "Elm Way"];
const CITIES = ["Springfield", "Riverton", "Fairview", "Lakeside", "Greenville", "Oakdale", "Ashford", "Kingsport"];

function pick(list: readonly string[], byte: string): string {
  return `(ARRAY[${list.map((s) => `'${s}'`).join(", ")}])[1 + ${byte} % ${list.length}]`;
}

/**
 * A plausible value: for text, by what the column seems to hold (`user-<hex>@example.invalid`
 * for an email, a +1 555 number for a phone...); a date or timestamp falls in 1940-2005;
 * an address of 10.0.0.0/8; other types take the hash.
 */
function faked(column: MaskColumn, kind: PersonalKind | null, value: string, salt: string): Masked | { error: string } {
  const d = digest(value, salt);
  const h = hex(value, salt);
  const n = u32(value, salt);
  const byte = (i: number) => `get_byte(${d}, ${i})`;
  const ipv4 = `'10.' || ${byte(0)} || '.' || ${byte(1)} || '.' || ${byte(2)}`;
  if (column.category === "E") return { sql: `(enum_range(NULL::${column.type}))[1 + ${byte(0)} % cardinality(enum_range(NULL::${column.type}))]`, bits: 0 };
  if (TEXT_TYPES.has(column.baseType)) {
    switch (kind) {
      case "email":
        return text(`'user-' || left(${h}, 16) || '@example.invalid'`, 64, column.length, 5);
      case "username":
        return text(`'user-' || left(${h}, 16)`, 64, column.length, 5);
      case "phone":
        return text(`'+1 555 ' || lpad((${n} % 10000000)::text, 7, '0')`, Math.log2(1e7), column.length, 7);
      case "first_name":
        return text(pick(FIRST, byte(0)), 4, column.length);
      case "last_name":
        return text(pick(LAST, byte(1)), 4, column.length);
      case "name":
        return text(`${pick(FIRST, byte(0))} || ' ' || ${pick(LAST, byte(1))}`, 8, column.length);
      case "address":
        return text(`(1 + ${n} % 9999)::text || ' ' || ${pick(STREETS, byte(4))}`, Math.log2(9999 * 8), column.length);
      case "city":
        return text(pick(CITIES, byte(0)), 3, column.length);
      case "postal":
        return text(`lpad((${n} % 100000)::text, 5, '0')`, Math.log2(1e5), column.length);
      case "ip":
        return text(ipv4, 24, column.length);
      case "birth":
        return text(`(date '1940-01-01' + (${n} % 23741)::integer)::text`, Math.log2(23741), column.length);
      default:
        return text(`'fake-' || left(${h}, 16)`, 64, column.length, 5);
    }
  }
  switch (column.baseType) {
    case "date":
      return { sql: `date '1940-01-01' + (${n} % 23741)::integer`, bits: Math.log2(23741) };
    case "timestamp without time zone":
    case "timestamp with time zone":
      return { sql: `${column.baseType} '1940-01-01 00:00:00+00' + (${n} % 2050000000) * interval '1 second'`, bits: 31 };
    case "inet":
    case "cidr":
      return { sql: `(${ipv4})::${column.baseType}`, bits: 24 };
    default:
      return hashed(column, value, salt);
  }
}
