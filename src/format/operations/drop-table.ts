/** drop_table: a table the new version no longer has; it is hidden at start and dropped at complete. */
import type * as z from "zod";

import { operationFormat } from "../build.js";
import { closed, identifier } from "../raw.js";

export interface DropTableOperation {
  kind: "drop_table";
  name: string;
}

const rawDropTable = closed({ name: identifier });

export type DropTableInput = z.input<typeof rawDropTable>;

export const dropTableFormat = operationFormat(rawDropTable, (raw): DropTableOperation => ({ kind: "drop_table", name: raw.name }));
