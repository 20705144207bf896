/** drop_column: a column the new version no longer has; it is dropped at complete. */
import type * as z from "zod";

import { given, operationFormat } from "../build.js";
import { closed, identifier, optional, sqlText } from "../raw.js";

export interface DropColumnOperation {
  kind: "drop_column";
  table: string;
  column: string;
  /** Value for the dropped column when a row is written through the new version. */
  down?: string;
}

const rawDropColumn = closed({ table: identifier, column: identifier, down: optional(sqlText) });

export type DropColumnInput = z.input<typeof rawDropColumn>;

function buildDropColumn(raw: z.output<typeof rawDropColumn>): DropColumnOperation {
  const operation: DropColumnOperation = { kind: "drop_column", table: raw.table, column: raw.column };
  if (given(raw.down)) operation.down = raw.down;
  return operation;
}

export const dropColumnFormat = operationFormat(rawDropColumn, buildDropColumn);
