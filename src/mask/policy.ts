/**
 * Masking rules: what a copy does with each column. Plain data, loaded by nothing heavy
 * (the CLI's flag parsing reads these names); `rules-file.ts` reads and checks a file of
 * them (`--mask-file`), YAML or JSON:
 *
 * ```yaml
 * salt: "a long random string"     # or UNDERWAY_MASK_SALT; else a random salt per run
 * flagged: refuse                  # flagged columns without a rule: refuse (default) or a rule
 * default: keep                    # other columns without a rule (default keep)
 * tables:
 *   users: { email: hash, name: fake, note: null, id: keep }
 *   billing.invoices: { address: "fake:address" }
 * ```
 */
import type { PersonalKind } from "./detect.js";

export const FAKE_KINDS = ["email", "phone", "name", "first_name", "last_name", "username", "address", "city", "postal", "ip", "birth", "identifier"] as const satisfies readonly PersonalKind[];

/** What happens to one column's values on the way out of the source. */
export type MaskRule = "keep" | "hash" | "null" | "fake" | `fake:${PersonalKind}`;

export const MASK_RULES = ["keep", "hash", "null", "fake", ...FAKE_KINDS.map((k) => `fake:${k}` as const)] as const;

/** What the copy does with columns no rule names. */
export interface MaskPolicy {
  /** For the hash and fake rules; see `resolveMasking` for where else it can come from. */
  salt?: string;
  /** Columns the detection flags and no rule names: `refuse` (default) stops the copy listing them. */
  flagged?: MaskRule | "refuse";
  /** Columns nothing flags and no rule names (default `keep`). */
  default?: MaskRule;
  /** Rules by table (`users` in the copied schema, or `schema.users`), then column. */
  tables?: Record<string, Record<string, MaskRule>>;
  /** Where the rules came from, for messages. */
  source?: string;
}

