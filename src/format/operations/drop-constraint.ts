/** drop_constraint: deprecated by pgroll in favour of drop_multicolumn_constraint; still read. */
import type * as z from "zod";

import { given, operationFormat } from "../build.js";
import { closed, identifier, optional, sqlText } from "../raw.js";

export interface DropConstraintOperation {
  kind: "drop_constraint";
  table: string;
  name: string;
  up?: string;
  down: string;
  /** Only in pgroll's earliest files: the constrained column. */
  column?: string;
}

const rawDropConstraint = closed({
  table: identifier,
  name: identifier,
  up: optional(sqlText),
  down: sqlText,
  column: optional(identifier),
});

export type DropConstraintInput = z.input<typeof rawDropConstraint>;

function buildDropConstraint(raw: z.output<typeof rawDropConstraint>): DropConstraintOperation {
  const operation: DropConstraintOperation = { kind: "drop_constraint", table: raw.table, name: raw.name, down: raw.down };
  if (given(raw.up)) operation.up = raw.up;
  if (given(raw.column)) operation.column = raw.column;
  return operation;
}

export const dropConstraintFormat = operationFormat(rawDropConstraint, buildDropConstraint);
