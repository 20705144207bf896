/** drop_multicolumn_constraint: a constraint dropped at complete; `up`/`down` keep its columns' copies in step until then. */
import type * as z from "zod";

import { operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { closed, identifier, optional, rawColumnMap } from "../raw.js";

export interface DropMultiColumnConstraintOperation {
  kind: "drop_multicolumn_constraint";
  table: string;
  name: string;
  up: Record<string, string>;
  down: Record<string, string>;
}

const rawDropMultiColumnConstraint = closed({
  table: identifier,
  name: identifier,
  up: optional(rawColumnMap),
  down: rawColumnMap,
});

export type DropMultiColumnConstraintInput = z.input<typeof rawDropMultiColumnConstraint>;

function buildDropMultiColumnConstraint(raw: z.output<typeof rawDropMultiColumnConstraint>, path: Path, problems: Problems): DropMultiColumnConstraintOperation {
  const down = { ...raw.down };
  const up = { ...(raw.up ?? {}) };
  if (Object.keys(down).length === 0) {
    problems.add([...path, "down"], "must give a down expression for each column the constraint covers");
  }
  // `down` must name exactly the constraint's columns and `up` may name only those, so an
  // `up` entry without a `down` entry is wrong whatever the constraint turns out to cover.
  for (const key of Object.keys(up)) {
    if (!(key in down)) problems.add([...path, "up", key], "has no matching down entry; up and down cover the constraint's columns");
  }
  return { kind: "drop_multicolumn_constraint", table: raw.table, name: raw.name, up, down };
}

export const dropMultiColumnConstraintFormat = operationFormat(rawDropMultiColumnConstraint, buildDropMultiColumnConstraint);
