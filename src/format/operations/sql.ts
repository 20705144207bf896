/** sql: statements of the file's own, run at start (alone in their migration) or, with onComplete, at complete. */
import * as z from "zod";

import { given, operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { closed, optional, sqlText } from "../raw.js";

export interface SqlOperation {
  kind: "sql";
  up: string;
  down?: string;
  /** Run `up` when the migration completes instead of when it starts (pgroll's `onComplete`). */
  on_complete: boolean;
}

const rawSql = closed({
  up: sqlText,
  down: optional(sqlText),
  onComplete: optional(z.boolean()),
  on_complete: optional(z.boolean()),
});

export type SqlInput = z.input<typeof rawSql>;

function buildSql(raw: z.output<typeof rawSql>, path: Path, problems: Problems): SqlOperation {
  if (given(raw.onComplete) && given(raw.on_complete)) {
    problems.add([...path, "on_complete"], "give onComplete or on_complete, not both");
  }
  const onComplete = raw.on_complete ?? raw.onComplete ?? false;
  const operation: SqlOperation = { kind: "sql", up: raw.up, on_complete: onComplete };
  if (given(raw.down)) {
    // After complete there is no rollback, so a down for an on-complete statement could never run.
    if (onComplete) problems.add([...path, "down"], "not allowed with onComplete: true (nothing rolls back after complete)");
    operation.down = raw.down;
  }
  return operation;
}

export const sqlFormat = operationFormat(rawSql, buildSql);
