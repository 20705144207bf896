/**
 * Operation keys older pgroll releases read as operations of their own; each is an
 * alter_column with the matching field, and is built as one.
 */
import type * as z from "zod";

import { operationFormat } from "../build.js";
import type { Path, Problems } from "../problems.js";
import { closed, identifier, optional, rawCheckConstraint, rawColumnReference, sqlText } from "../raw.js";
import { buildAlterColumn, type AlterColumnOperation } from "./alter-column.js";

const rawSetNotNull = closed({ table: identifier, column: identifier, up: optional(sqlText), down: optional(sqlText) });
const rawDropNotNull = closed({ table: identifier, column: identifier, up: optional(sqlText), down: optional(sqlText) });
const rawSetUnique = closed({
  name: identifier,
  table: identifier,
  column: identifier,
  up: optional(sqlText),
  down: optional(sqlText),
});
const rawSetForeignKey = closed({
  table: identifier,
  column: identifier,
  references: rawColumnReference,
  up: optional(sqlText),
  down: optional(sqlText),
});
const rawSetCheckConstraint = closed({
  table: identifier,
  column: identifier,
  check: rawCheckConstraint,
  up: optional(sqlText),
  down: optional(sqlText),
});
const rawChangeType = closed({
  table: identifier,
  column: identifier,
  type: sqlText,
  up: optional(sqlText),
  down: optional(sqlText),
});

export type SetNotNullInput = z.input<typeof rawSetNotNull>;
export type DropNotNullInput = z.input<typeof rawDropNotNull>;
export type SetUniqueInput = z.input<typeof rawSetUnique>;
export type SetForeignKeyInput = z.input<typeof rawSetForeignKey>;
export type SetCheckConstraintInput = z.input<typeof rawSetCheckConstraint>;
export type ChangeTypeInput = z.input<typeof rawChangeType>;

export const setNotNullFormat = operationFormat(rawSetNotNull, (raw, path: Path, problems: Problems): AlterColumnOperation =>
  buildAlterColumn({ ...raw, nullable: false }, path, problems),
);
export const dropNotNullFormat = operationFormat(rawDropNotNull, (raw, path: Path, problems: Problems): AlterColumnOperation =>
  buildAlterColumn({ ...raw, nullable: true }, path, problems),
);
export const setUniqueFormat = operationFormat(rawSetUnique, ({ name, ...rest }, path: Path, problems: Problems): AlterColumnOperation =>
  buildAlterColumn({ ...rest, unique: { name } }, path, problems),
);
export const setForeignKeyFormat = operationFormat(rawSetForeignKey, buildAlterColumn);
export const setCheckConstraintFormat = operationFormat(rawSetCheckConstraint, buildAlterColumn);
export const changeTypeFormat = operationFormat(rawChangeType, buildAlterColumn);
