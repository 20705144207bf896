/** create_table: a new table with its columns and table constraints, visible to the new version only until complete. */
import * as z from "zod";

import { article, buildColumn, buildIndexParameters, buildTableReference, duplicates, forbid, given, knownColumns, operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { canonical, checkedLater, closed, identifier, keyword, optional, rawColumn, rawIndexParameters, rawTableReference } from "../raw.js";
import type { ColumnInput } from "../raw.js";
import type {
  CheckTableConstraint,
  Column,
  ExcludeTableConstraint,
  IndexParameters,
  PrimaryKeyTableConstraint,
  TableConstraint,
  UniqueTableConstraint,
} from "../types.js";

export interface CreateTableOperation {
  kind: "create_table";
  name: string;
  columns: Column[];
  constraints: TableConstraint[];
  comment?: string;
}

const TABLE_CONSTRAINT_TYPES = ["unique", "check", "primary_key", "foreign_key", "exclude"] as const;

const rawTableConstraint = closed({
  name: identifier,
  type: keyword(TABLE_CONSTRAINT_TYPES),
  columns: optional(z.array(identifier)),
  check: optional(z.string()),
  no_inherit: optional(z.boolean()),
  nulls_not_distinct: optional(z.boolean()),
  deferrable: optional(z.boolean()),
  initially_deferred: optional(z.boolean()),
  references: optional(rawTableReference),
  exclude: optional(
    closed({
      index_method: optional(z.string()),
      elements: optional(z.string()),
      predicate: optional(z.string()),
    }),
  ),
  index_parameters: optional(rawIndexParameters),
});

export type TableConstraintInput = z.input<typeof rawTableConstraint>;

const rawCreateTable = closed({
  name: identifier,
  columns: z.array(checkedLater<ColumnInput>()),
  constraints: optional(z.array(checkedLater<TableConstraintInput>())),
  comment: optional(z.string()),
});

export type CreateTableInput = z.input<typeof rawCreateTable>;

function buildCreateTable(raw: z.output<typeof rawCreateTable>, path: Path, problems: Problems): CreateTableOperation {
  const columns: Column[] = [];
  raw.columns.forEach((value, i) => {
    const parsed = problems.parse(rawColumn, value, [...path, "columns", i]);
    if (parsed !== undefined) columns.push(buildColumn(problems, parsed, [...path, "columns", i]));
  });
  // pgroll creates a table without columns, as PostgreSQL does; so does underway.
  const names = columns.map((c) => c.name);
  columns.forEach((column, i) => {
    const first = names.indexOf(column.name);
    if (first !== i) problems.add([...path, "columns", i, "name"], `duplicate column "${column.name}" (also columns[${first}])`);
  });

  const constraints: TableConstraint[] = [];
  (raw.constraints ?? []).forEach((value, i) => {
    const constraintPath = [...path, "constraints", i];
    const parsed = problems.parse(rawTableConstraint, value, constraintPath);
    if (parsed === undefined) return;
    const constraint = buildTableConstraint(parsed, constraintPath, names, problems);
    if (constraint !== undefined) constraints.push(constraint);
  });

  const pkColumns = columns.filter((c) => c.pk).map((c) => c.name);
  let primaryKeys = 0;
  constraints.forEach((constraint, i) => {
    if (constraint.type !== "primary_key") return;
    primaryKeys++;
    if (pkColumns.length > 0) {
      problems.add(
        [...path, "constraints", i],
        `the primary key is already set by pk: true on ${pkColumns.join(", ")}; set it in one place`,
      );
    } else if (primaryKeys > 1) {
      problems.add([...path, "constraints", i], "a table has at most one primary key constraint");
    }
  });

  const constraintNames = [
    ...columns.flatMap((c) => [c.check?.name, c.references?.name]),
    ...constraints.map((c) => c.name),
  ].filter(given);
  for (const name of new Set(duplicates(constraintNames))) {
    problems.add(path, `constraint name "${name}" is used more than once`);
  }

  const operation: CreateTableOperation = { kind: "create_table", name: raw.name, columns, constraints };
  if (given(raw.comment)) operation.comment = raw.comment;
  return operation;
}

function buildTableConstraint(
  raw: z.output<typeof rawTableConstraint>,
  path: Path,
  tableColumns: readonly string[],
  problems: Problems,
): TableConstraint | undefined {
  const type = canonical(TABLE_CONSTRAINT_TYPES, raw.type);
  const columns = raw.columns ?? [];
  const deferrable = raw.deferrable ?? false;
  const initiallyDeferred = raw.initially_deferred ?? false;
  if (initiallyDeferred && !deferrable) problems.add([...path, "initially_deferred"], "requires deferrable: true");
  const needColumns = (): void => {
    if (columns.length === 0) problems.add([...path, "columns"], `${article(type)} ${type} constraint must list at least one column`);
    for (const column of new Set(duplicates(columns))) problems.add([...path, "columns"], `lists "${column}" twice`);
    knownColumns(problems, columns, [...path, "columns"], tableColumns);
  };
  const indexParameters = (): IndexParameters | undefined =>
    given(raw.index_parameters) ? buildIndexParameters(problems, raw.index_parameters, [...path, "index_parameters"], tableColumns) : undefined;
  const withIndexParameters = <T extends object>(constraint: T): T => {
    const parameters = indexParameters();
    return parameters === undefined || Object.keys(parameters).length === 0 ? constraint : { ...constraint, index_parameters: parameters };
  };

  switch (type) {
    case "unique":
      forbid(problems, raw, ["check", "no_inherit", "references", "exclude"], path, type);
      needColumns();
      return withIndexParameters<UniqueTableConstraint>({
        name: raw.name,
        type,
        columns,
        nulls_not_distinct: raw.nulls_not_distinct ?? false,
        deferrable,
        initially_deferred: initiallyDeferred,
      });
    case "primary_key":
      forbid(problems, raw, ["check", "no_inherit", "nulls_not_distinct", "references", "exclude"], path, type);
      needColumns();
      return withIndexParameters<PrimaryKeyTableConstraint>({
        name: raw.name,
        type,
        columns,
        deferrable,
        initially_deferred: initiallyDeferred,
      });
    case "check": {
      forbid(problems, 
        raw,
        ["deferrable", "initially_deferred", "nulls_not_distinct", "index_parameters", "references", "exclude"],
        path,
        type,
      );
      if (!given(raw.check) || raw.check.trim() === "") {
        problems.add([...path, "check"], "a check constraint needs its check expression");
        return undefined;
      }
      const constraint: CheckTableConstraint = { name: raw.name, type, check: raw.check, no_inherit: raw.no_inherit ?? false };
      if (columns.length > 0) {
        knownColumns(problems, columns, [...path, "columns"], tableColumns);
        constraint.columns = columns;
      }
      return constraint;
    }
    case "foreign_key":
      forbid(problems, raw, ["check", "no_inherit", "nulls_not_distinct", "index_parameters", "exclude"], path, type);
      needColumns();
      if (!given(raw.references)) {
        problems.add([...path, "references"], "a foreign_key constraint needs references");
        return undefined;
      }
      return {
        name: raw.name,
        type,
        columns,
        references: buildTableReference(problems, raw.references, [...path, "references"], columns),
        deferrable,
        initially_deferred: initiallyDeferred,
      };
    case "exclude": {
      forbid(problems, raw, ["check", "no_inherit", "nulls_not_distinct", "references", "columns"], path, type);
      const exclude = raw.exclude;
      if (!given(exclude)) {
        problems.add([...path, "exclude"], "an exclude constraint needs exclude: {index_method, elements}");
        return undefined;
      }
      if (!given(exclude.index_method) || exclude.index_method.trim() === "") {
        problems.add([...path, "exclude", "index_method"], "missing required field");
      }
      if (!given(exclude.elements) || exclude.elements.trim() === "") {
        problems.add([...path, "exclude", "elements"], "missing required field");
      }
      const normalized: ExcludeTableConstraint["exclude"] = {
        index_method: exclude.index_method ?? "",
        elements: exclude.elements ?? "",
      };
      if (given(exclude.predicate) && exclude.predicate.trim() !== "") normalized.predicate = exclude.predicate;
      return withIndexParameters<ExcludeTableConstraint>({
        name: raw.name,
        type,
        exclude: normalized,
        deferrable,
        initially_deferred: initiallyDeferred,
      });
    }
  }
}

export const createTableFormat = operationFormat(rawCreateTable, buildCreateTable);
