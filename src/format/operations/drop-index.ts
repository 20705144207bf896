/** drop_index: an index dropped (concurrently) at complete. */
import type * as z from "zod";

import { operationFormat } from "../build.js";
import { closed, identifier } from "../raw.js";

export interface DropIndexOperation {
  kind: "drop_index";
  name: string;
}

const rawDropIndex = closed({ name: identifier });

export type DropIndexInput = z.input<typeof rawDropIndex>;

export const dropIndexFormat = operationFormat(rawDropIndex, (raw): DropIndexOperation => ({ kind: "drop_index", name: raw.name }));
