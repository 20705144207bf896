/** add_column: a new column on an existing table; `up` fills it for rows the old version writes, and for the backfill. */
import type * as z from "zod";

import { buildColumn, given, operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { closed, identifier, optional, rawColumn, sqlText } from "../raw.js";
import type { Column } from "../types.js";

export interface AddColumnOperation {
  kind: "add_column";
  table: string;
  column: Column;
  /** Value of the new column for rows written through the old version, and for the backfill. */
  up?: string;
}

const rawAddColumn = closed({
  table: identifier,
  column: rawColumn,
  up: optional(sqlText),
});

export type AddColumnInput = z.input<typeof rawAddColumn>;

function buildAddColumn(raw: z.output<typeof rawAddColumn>, path: Path, problems: Problems): AddColumnOperation {
  const column = buildColumn(problems, raw.column, [...path, "column"]);
  if (column.pk) {
    problems.add(
      [...path, "column", "pk"],
      "adding a primary key column to an existing table is not supported; add the column, then create_constraint with type primary_key",
    );
  }
  if (column.generated !== undefined) {
    problems.add([...path, "column", "generated"], "a generated column cannot be added to an existing table");
  }
  const operation: AddColumnOperation = { kind: "add_column", table: raw.table, column };
  if (given(raw.up)) operation.up = raw.up;
  return operation;
}

export const addColumnFormat = operationFormat(rawAddColumn, buildAddColumn);
