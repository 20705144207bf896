/**
 * create_constraint: a unique, check, foreign key or primary key constraint over existing
 * columns, added NOT VALID (or through an index built concurrently) on copies of the columns
 * and validated at complete.
 */
import * as z from "zod";

import { article, buildIndexParameters, buildTableReference, duplicates, forbid, given, operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { canonical, closed, identifier, keyword, optional, rawColumnMap, rawIndexParameters, rawTableReference, sqlText } from "../raw.js";
import type { IndexParameters, TableForeignKeyReference } from "../types.js";

export interface CreateConstraintOperation {
  kind: "create_constraint";
  table: string;
  name: string;
  type: "unique" | "check" | "foreign_key" | "primary_key";
  columns: string[];
  check?: string;
  references?: TableForeignKeyReference;
  /** One SQL expression per column in `columns`. */
  up: Record<string, string>;
  /** One SQL expression per column in `columns`. */
  down: Record<string, string>;
  no_inherit: boolean;
  index_parameters?: IndexParameters;
  /** underway addition (unique only). */
  nulls_not_distinct: boolean;
  /** underway addition (unique, primary_key, foreign_key). */
  deferrable: boolean;
  /** underway addition (unique, primary_key, foreign_key). */
  initially_deferred: boolean;
}

const CREATE_CONSTRAINT_TYPES = ["unique", "check", "foreign_key", "primary_key"] as const;

const rawCreateConstraint = closed({
  table: identifier,
  name: identifier,
  type: keyword(CREATE_CONSTRAINT_TYPES),
  columns: optional(z.array(identifier)),
  check: optional(sqlText),
  references: optional(rawTableReference),
  up: rawColumnMap,
  down: rawColumnMap,
  no_inherit: optional(z.boolean()),
  index_parameters: optional(rawIndexParameters),
  nulls_not_distinct: optional(z.boolean()),
  deferrable: optional(z.boolean()),
  initially_deferred: optional(z.boolean()),
});

export type CreateConstraintInput = z.input<typeof rawCreateConstraint>;

function buildCreateConstraint(raw: z.output<typeof rawCreateConstraint>, path: Path, problems: Problems): CreateConstraintOperation {
  const type = canonical(CREATE_CONSTRAINT_TYPES, raw.type);
  const columns = raw.columns ?? [];
  if (type !== "check" && columns.length === 0) {
    problems.add([...path, "columns"], `${article(type)} ${type} constraint must list at least one column`);
  }
  for (const column of new Set(duplicates(columns))) problems.add([...path, "columns"], `lists "${column}" twice`);

  const rawFields = raw as Record<string, unknown>;
  const allowedByType: Record<typeof type, readonly string[]> = {
    unique: ["index_parameters", "nulls_not_distinct", "deferrable", "initially_deferred"],
    primary_key: ["index_parameters", "deferrable", "initially_deferred"],
    foreign_key: ["references", "deferrable", "initially_deferred"],
    check: ["check", "no_inherit"],
  };
  const typed = ["check", "references", "no_inherit", "index_parameters", "nulls_not_distinct", "deferrable", "initially_deferred"];
  forbid(problems, rawFields, typed.filter((f) => !allowedByType[type].includes(f)), path, type);

  const deferrable = raw.deferrable ?? false;
  const initiallyDeferred = raw.initially_deferred ?? false;
  if (initiallyDeferred && !deferrable) problems.add([...path, "initially_deferred"], "requires deferrable: true");

  // Every constrained column is duplicated and kept in step by triggers, so pgroll needs an
  // `up` and a `down` for each one; an entry for any other column would never be used.
  for (const direction of ["up", "down"] as const) {
    const map = raw[direction];
    for (const column of columns) {
      if (!(column in map)) problems.add([...path, direction], `missing an entry for column "${column}"`);
    }
    for (const key of Object.keys(map)) {
      if (!columns.includes(key)) problems.add([...path, direction, key], "not one of the constraint's columns");
    }
  }

  const operation: CreateConstraintOperation = {
    kind: "create_constraint",
    table: raw.table,
    name: raw.name,
    type,
    columns,
    up: { ...raw.up },
    down: { ...raw.down },
    no_inherit: raw.no_inherit ?? false,
    nulls_not_distinct: raw.nulls_not_distinct ?? false,
    deferrable,
    initially_deferred: initiallyDeferred,
  };
  if (type === "check") {
    if (!given(raw.check)) problems.add([...path, "check"], "a check constraint needs its check expression");
    else operation.check = raw.check;
  }
  if (type === "foreign_key") {
    if (!given(raw.references)) problems.add([...path, "references"], "a foreign_key constraint needs references");
    else operation.references = buildTableReference(problems, raw.references, [...path, "references"], columns);
  }
  if (given(raw.index_parameters) && (type === "unique" || type === "primary_key")) {
    const parameters = buildIndexParameters(problems, raw.index_parameters, [...path, "index_parameters"]);
    if (Object.keys(parameters).length > 0) operation.index_parameters = parameters;
  }
  return operation;
}

export const createConstraintFormat = operationFormat(rawCreateConstraint, buildCreateConstraint);
