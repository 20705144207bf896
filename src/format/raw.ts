/**
 * The raw shapes of a migration file, as zod schemas: which fields an operation has, their
 * types, and which keys are unknown. The `*Input` types are the same shapes for code that
 * writes files (`underway convert`), so a misspelt field is a compile error there.
 */
import * as z from "zod";

import { unknownFieldMessage } from "./problems.js";

/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1). */
export const MAX_IDENTIFIER_BYTES = 63;

/**
 * An object that rejects keys it does not list, with a "did you mean" for typos. pgroll
 * decodes with unknown fields disallowed too, so a misspelt key never passes silently.
 */
export function closed<T extends z.ZodRawShape>(shape: T): Closed<T> {
  const allowed = Object.keys(shape);
  // Unknown keys are checked first, and alone: a misspelt `typ:` would otherwise surface as
  // "type: missing required field", which hides the typo that caused it.
  const knownKeys = z.unknown().superRefine((value, ctx) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return;
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) ctx.addIssue({ code: "custom", path: [key], message: unknownFieldMessage(key, allowed) });
    }
  });
  return knownKeys.pipe(z.looseObject(shape)) as unknown as Closed<T>;
}

/** What `closed` gives: the strict object's output and, for code that writes files, its input. */
export type Closed<T extends z.ZodRawShape> = z.ZodType<z.output<z.ZodObject<T, z.core.$strict>>, z.input<z.ZodObject<T, z.core.$strict>>>;

/** Optional in pgroll's sense: absent or null both mean "not given" (Go decodes null as zero). */
export function optional<T extends z.ZodType>(schema: T) {
  return schema.nullish();
}

export const identifier = z.string().superRefine((value, ctx) => {
  if (value.trim() === "") {
    ctx.addIssue({ code: "custom", message: "must not be empty" });
    return;
  }
  if (value.includes("\0")) ctx.addIssue({ code: "custom", message: "must not contain a NUL character" });
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes > MAX_IDENTIFIER_BYTES) {
    ctx.addIssue({
      code: "custom",
      message: `"${value}" is ${bytes} bytes long; PostgreSQL identifiers are at most ${MAX_IDENTIFIER_BYTES} bytes`,
    });
  }
});

/** SQL taken from the file verbatim: an expression, a type, storage parameters. */
export const sqlText = z.string().superRefine((value, ctx) => {
  if (value.trim() === "") ctx.addIssue({ code: "custom", message: "must not be empty" });
});

/** A string compared without regard to case, like pgroll's `strings.ToUpper` before use. */
export function keyword<const V extends readonly string[]>(values: V) {
  return z.string().superRefine((value, ctx) => {
    if (!values.some((v) => v.toLowerCase() === value.trim().toLowerCase())) {
      ctx.addIssue({
        code: "custom",
        message: `expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(value)}`,
      });
    }
  });
}

/** The spelling `values` has for `value`, which `keyword` accepted in any case. */
export function canonical<const V extends readonly string[]>(values: V, value: string): V[number] {
  return values.find((v) => v.toLowerCase() === value.trim().toLowerCase()) ?? values[0]!;
}

export const FOREIGN_KEY_ACTIONS = ["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"] as const;
export const MATCH_TYPES = ["SIMPLE", "FULL", "PARTIAL"] as const;
export const USER_SPECIFIED_VALUES = ["ALWAYS", "BY DEFAULT"] as const;

export const rawCheckConstraint = closed({
  name: identifier,
  constraint: sqlText,
  no_inherit: optional(z.boolean()),
});

export const rawColumnReference = closed({
  name: identifier,
  table: identifier,
  column: identifier,
  on_delete: optional(keyword(FOREIGN_KEY_ACTIONS)),
  on_update: optional(keyword(FOREIGN_KEY_ACTIONS)),
  match_type: optional(keyword(MATCH_TYPES)),
  deferrable: optional(z.boolean()),
  initially_deferred: optional(z.boolean()),
});

export const rawTableReference = closed({
  table: identifier,
  columns: z.array(identifier),
  on_delete: optional(keyword(FOREIGN_KEY_ACTIONS)),
  on_update: optional(keyword(FOREIGN_KEY_ACTIONS)),
  match_type: optional(keyword(MATCH_TYPES)),
  on_delete_set_columns: optional(z.array(identifier)),
});

export const rawColumn = closed({
  name: identifier,
  type: sqlText,
  nullable: optional(z.boolean()),
  pk: optional(z.boolean()),
  unique: optional(z.boolean()),
  default: optional(sqlText),
  comment: optional(z.string()),
  check: optional(rawCheckConstraint),
  references: optional(rawColumnReference),
  generated: optional(
    closed({
      expression: optional(sqlText),
      identity: optional(
        closed({
          user_specified_values: optional(keyword(USER_SPECIFIED_VALUES)),
          sequence_options: optional(z.string()),
        }),
      ),
    }),
  ),
});

export const rawIndexParameters = closed({
  tablespace: optional(identifier),
  storage_parameters: optional(sqlText),
  include_columns: optional(z.array(identifier)),
});

/** `up`/`down` of create_constraint and drop_multicolumn_constraint: one SQL expression per column. */
export const rawColumnMap = z.record(z.string(), sqlText);

// What each shape is once parsed (the builders read these) and what a file may hold (code
// that writes files builds these).
export type RawCheckConstraint = z.output<typeof rawCheckConstraint>;
export type RawColumnReference = z.output<typeof rawColumnReference>;
export type RawTableReference = z.output<typeof rawTableReference>;
export type RawColumn = z.output<typeof rawColumn>;
export type RawIndexParameters = z.output<typeof rawIndexParameters>;

export type CheckConstraintInput = z.input<typeof rawCheckConstraint>;
export type ColumnReferenceInput = z.input<typeof rawColumnReference>;
export type TableReferenceInput = z.input<typeof rawTableReference>;
export type ColumnInput = z.input<typeof rawColumn>;
export type IndexParametersInput = z.input<typeof rawIndexParameters>;
export type ColumnMapInput = z.input<typeof rawColumnMap>;

/**
 * A value the builder parses later, on its own (each column of a create_table, so that one
 * bad column does not hide the problems of the others). Parsing takes it as it is; code that
 * writes files sees it typed as `Input`.
 */
export function checkedLater<Input>(): z.ZodType<unknown, Input> {
  return z.unknown() as z.ZodType<unknown, Input>;
}
