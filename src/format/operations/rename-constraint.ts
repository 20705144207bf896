/** rename_constraint: a table's constraint under a new name. */
import type * as z from "zod";

import { operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { closed, identifier } from "../raw.js";

export interface RenameConstraintOperation {
  kind: "rename_constraint";
  table: string;
  from: string;
  to: string;
}

const rawRenameConstraint = closed({ table: identifier, from: identifier, to: identifier });

export type RenameConstraintInput = z.input<typeof rawRenameConstraint>;

function buildRenameConstraint(raw: z.output<typeof rawRenameConstraint>, path: Path, problems: Problems): RenameConstraintOperation {
  if (raw.from === raw.to) problems.add([...path, "to"], `is the same as from ("${raw.from}")`);
  return { kind: "rename_constraint", table: raw.table, from: raw.from, to: raw.to };
}

export const renameConstraintFormat = operationFormat(rawRenameConstraint, buildRenameConstraint);
