/** create_index: an index built CONCURRENTLY at start, so writes go on while it builds. */
import * as z from "zod";

import { given, operationFormat } from "../build.js";
import { describeValueType, type Path, type Problems } from "../problems.js";
import { canonical, checkedLater, closed, identifier, keyword, optional, sqlText } from "../raw.js";

export type IndexMethod = "btree" | "hash" | "gist" | "spgist" | "gin" | "brin";

export interface IndexColumn {
  column: string;
  collate?: string;
  sort?: "ASC" | "DESC";
  nulls?: "FIRST" | "LAST";
  opclass?: { name: string; params: string[] };
}

export interface CreateIndexOperation {
  kind: "create_index";
  name: string;
  table: string;
  /** In the order the file lists them, whichever of pgroll's three forms it used. */
  columns: IndexColumn[];
  method?: IndexMethod;
  predicate?: string;
  storage_parameters?: string;
  unique: boolean;
  /** underway addition: `NULLS NOT DISTINCT` on a unique index (PostgreSQL 15+). */
  nulls_not_distinct: boolean;
}

const INDEX_METHODS = ["btree", "hash", "gist", "spgist", "gin", "brin"] as const;
const SORT_ORDERS = ["ASC", "DESC"] as const;
const NULLS_ORDERS = ["FIRST", "LAST"] as const;

const rawIndexColumnSettings = {
  collate: optional(sqlText),
  sort: optional(keyword(SORT_ORDERS)),
  nulls: optional(keyword(NULLS_ORDERS)),
  opclass: optional(
    closed({
      name: identifier,
      params: optional(z.array(sqlText)),
    }),
  ),
};
const rawIndexColumnSettingsSchema = closed(rawIndexColumnSettings);
const rawIndexColumnItem = closed({ column: identifier, ...rawIndexColumnSettings });

/** One column of `columns` in the list-of-objects spelling, the one pgroll writes today. */
export type IndexColumnInput = z.input<typeof rawIndexColumnItem>;

/** The three spellings of `columns` pgroll has accepted (see `indexColumns`). */
export type IndexColumnsInput = (string | IndexColumnInput)[] | Record<string, z.input<typeof rawIndexColumnSettingsSchema> | null>;

const rawCreateIndex = closed({
  name: identifier,
  table: identifier,
  columns: checkedLater<IndexColumnsInput>(),
  method: optional(keyword(INDEX_METHODS)),
  predicate: optional(sqlText),
  storage_parameters: optional(sqlText),
  unique: optional(z.boolean()),
  nulls_not_distinct: optional(z.boolean()),
});

export type CreateIndexInput = z.input<typeof rawCreateIndex>;

function buildCreateIndex(raw: z.output<typeof rawCreateIndex>, path: Path, problems: Problems): CreateIndexOperation {
  const columns = indexColumns(raw.columns, [...path, "columns"], problems);
  const unique = raw.unique ?? false;
  const nullsNotDistinct = raw.nulls_not_distinct ?? false;
  const operation: CreateIndexOperation = {
    kind: "create_index",
    name: raw.name,
    table: raw.table,
    columns,
    unique,
    nulls_not_distinct: nullsNotDistinct,
  };
  if (given(raw.method)) {
    operation.method = canonical(INDEX_METHODS, raw.method);
    if (unique && operation.method !== "btree") {
      problems.add([...path, "unique"], `PostgreSQL builds unique indexes with btree only, not ${operation.method}`);
    }
    if ((operation.method === "hash" || operation.method === "spgist") && columns.length > 1) {
      problems.add([...path, "columns"], `a ${operation.method} index covers one column only`);
    }
  }
  if (nullsNotDistinct && !unique) problems.add([...path, "nulls_not_distinct"], "only applies to a unique index (unique: true)");
  if (given(raw.predicate)) operation.predicate = raw.predicate;
  if (given(raw.storage_parameters)) operation.storage_parameters = raw.storage_parameters;
  return operation;
}

/**
 * pgroll has accepted three spellings: a list of names (before v0.10), a mapping from name to
 * settings (v0.10 until its list-of-objects change), and a list of `{column, ...settings}`.
 * All become the last; a mapping keeps the order the file wrote it in.
 */
function indexColumns(raw: unknown, path: Path, problems: Problems): IndexColumn[] {
  const columns: IndexColumn[] = [];
  const settings = (column: string, value: z.output<typeof rawIndexColumnSettingsSchema>): IndexColumn => {
    const out: IndexColumn = { column };
    if (given(value.collate)) out.collate = value.collate;
    if (given(value.sort)) out.sort = canonical(SORT_ORDERS, value.sort);
    if (given(value.nulls)) out.nulls = canonical(NULLS_ORDERS, value.nulls);
    if (given(value.opclass)) out.opclass = { name: value.opclass.name, params: value.opclass.params ?? [] };
    return out;
  };

  if (raw === undefined) {
    problems.add(path, "missing required field");
    return columns;
  }
  if ((Array.isArray(raw) ? raw.length : typeof raw === "object" && raw !== null ? Object.keys(raw).length : -1) === 0) {
    problems.add(path, "must list at least one column");
    return columns;
  }
  if (Array.isArray(raw)) {
    raw.forEach((item, i) => {
      if (typeof item === "string") {
        const name = problems.parse(identifier, item, [...path, i]);
        if (name !== undefined) columns.push({ column: name });
      } else {
        const parsed = problems.parse(rawIndexColumnItem, item, [...path, i]);
        if (parsed !== undefined) columns.push(settings(parsed.column, parsed));
      }
    });
  } else if (typeof raw === "object" && raw !== null) {
    for (const [name, value] of Object.entries(raw)) {
      if (problems.parse(identifier, name, [...path, name]) === undefined) continue;
      const parsed = problems.parse(rawIndexColumnSettingsSchema, value ?? {}, [...path, name]);
      if (parsed !== undefined) columns.push(settings(name, parsed));
    }
  } else {
    problems.add(path, `expected list of columns, got ${describeValueType(raw)}`);
    return columns;
  }
  return columns;
}

export const createIndexFormat = operationFormat(rawCreateIndex, buildCreateIndex);
