/** rename_column: a column under a new name in the new version; the table keeps the old name until complete. */
import type * as z from "zod";

import { operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { closed, identifier } from "../raw.js";

export interface RenameColumnOperation {
  kind: "rename_column";
  table: string;
  from: string;
  to: string;
}

const rawRenameColumn = closed({ table: identifier, from: identifier, to: identifier });

export type RenameColumnInput = z.input<typeof rawRenameColumn>;

function buildRenameColumn(raw: z.output<typeof rawRenameColumn>, path: Path, problems: Problems): RenameColumnOperation {
  if (raw.from === raw.to) problems.add([...path, "to"], `is the same as from ("${raw.from}")`);
  return { kind: "rename_column", table: raw.table, from: raw.from, to: raw.to };
}

export const renameColumnFormat = operationFormat(rawRenameColumn, buildRenameColumn);
