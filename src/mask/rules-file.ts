/**
 * Reads and checks a masking rules file (`--mask-file`); the format is in `policy.ts`.
 */
import { readFile } from "node:fs/promises";
import * as z from "zod";
import { UnderwayError } from "../errors.js";
import { migrationValue } from "../format/load.js";
import { FAKE_KINDS, MASK_RULES, type MaskPolicy } from "./policy.js";

const rule = z.enum(MASK_RULES);
// `note: null` in YAML is a null, not the string: both mean the null rule.
const columnRule = z.preprocess((value) => (value === null ? "null" : value), rule);
const policySchema = z.strictObject({
  salt: z.string().min(8).optional(),
  flagged: z.union([rule, z.literal("refuse")]).optional(),
  default: rule.optional(),
  tables: z.record(z.string().min(1), z.record(z.string().min(1), columnRule)).optional(),
});

/**
 * Checks a rules object (as read from a file, or given to `rehearse({ mask })`).
 *
 * @throws UnderwayError `INVALID_ARGUMENT` (CLI exit 2) naming `source`, the key, and what it must be.
 */
export function parseMaskPolicy(value: unknown, source: string): MaskPolicy {
  const result = policySchema.safeParse(value ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String);
    const where = path[0] === "tables" && path.length === 3 ? `table ${path[1]}, column ${path[2]}` : path.join(".");
    const message =
      issue.code === "invalid_value" || (issue.code === "invalid_union" && path[0] === "flagged")
        ? `unknown rule (rules are: ${[...MASK_RULES.slice(0, 4), "fake:<kind>"].join(", ")}${path[0] === "flagged" ? ", refuse" : ""}; kinds: ${FAKE_KINDS.join(", ")})`
        : path[0] === "salt" && issue.code === "too_small"
          ? "the salt must be at least 8 characters"
          : issue.message;
    throw new UnderwayError("INVALID_ARGUMENT", `${source}: ${where === "" ? "" : `${where}: `}${message}`);
  }
  return { ...result.data, source };
}

/**
 * Reads a masking rules file (`.json` as JSON, anything else as YAML).
 *
 * @example
 * const policy = await loadMaskFile("masks.yaml");
 */
export async function loadMaskFile(path: string): Promise<MaskPolicy> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UnderwayError("INVALID_ARGUMENT", `${path}: ${code === "ENOENT" ? "no such file" : `cannot read the masking rules (${code ?? String(error)})`}`, { cause: error });
  }
  let value: unknown;
  try {
    value = await migrationValue(raw, path);
  } catch (error) {
    throw new UnderwayError("INVALID_ARGUMENT", error instanceof Error ? error.message : String(error), { cause: error });
  }
  return parseMaskPolicy(value, path);
}
