/**
 * Checks the contents of a lint configuration file (`config.ts` finds and reads it).
 */
import * as z from "zod";

import { UnderwayError } from "../errors.js";
import type { LintConfig } from "./config.js";
import { RULE_IDS } from "./rules.js";
import type { RuleId } from "./rules.js";
import { parseTarget } from "./target.js";

const configSchema = z.strictObject({
  $schema: z.string().optional(),
  target: z.string().optional(),
  assumeInTransaction: z.boolean().optional(),
  rules: z.partialRecord(z.enum(RULE_IDS), z.enum(["error", "warning", "warn", "off"])).optional(),
});

/**
 * Parses a configuration object.
 *
 * @throws UnderwayError `INVALID_ARGUMENT` naming the file and the bad key.
 */
export function parseLintConfig(value: unknown, path: string): LintConfig {
  const result = configSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.map(String).join(".");
    const message =
      issue.code === "invalid_key" || (issue.path[0] === "rules" && issue.code === "invalid_value" && issue.path.length === 1)
        ? `unknown rule (rules are: ${RULE_IDS.join(", ")})`
        : issue.message;
    throw new UnderwayError("INVALID_ARGUMENT", `${path}: ${where === "" ? "" : `${where}: `}${message}`);
  }
  const config: LintConfig = { rules: {}, path };
  if (result.data.target !== undefined) config.target = parseTarget(result.data.target);
  if (result.data.assumeInTransaction !== undefined) config.assumeInTransaction = result.data.assumeInTransaction;
  for (const [rule, setting] of Object.entries(result.data.rules ?? {})) {
    config.rules[rule as RuleId] = setting === "warn" ? "warning" : setting;
  }
  return config;
}
