/** rename_table: a table under a new name in the new version; it takes the name at complete. */
import type * as z from "zod";

import { operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { closed, identifier } from "../raw.js";

export interface RenameTableOperation {
  kind: "rename_table";
  from: string;
  to: string;
}

const rawRenameTable = closed({ from: identifier, to: identifier });

export type RenameTableInput = z.input<typeof rawRenameTable>;

function buildRenameTable(raw: z.output<typeof rawRenameTable>, path: Path, problems: Problems): RenameTableOperation {
  if (raw.from === raw.to) problems.add([...path, "to"], `is the same as from ("${raw.from}")`);
  return { kind: "rename_table", from: raw.from, to: raw.to };
}

export const renameTableFormat = operationFormat(rawRenameTable, buildRenameTable);
