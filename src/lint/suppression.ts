/**
 * In-file suppression: a comment line
 *
 *     -- underway-lint-disable-next-line drop-column, rename-column
 *
 * silences those rules (every rule when none is named) for the statement that starts on
 * the next line holding code. Blank lines and other comment lines in between are skipped,
 * so the directive can sit above a comment that explains the statement.
 */
import { RULE_IDS } from "./rules.js";
import type { RuleId } from "./rules.js";

const DIRECTIVE = /^\s*--\s*underway-lint-disable-next-line\b(.*)$/;

export interface Suppressions {
  /** Rules silenced for the statement starting on a line; `"all"` for every rule. */
  byLine: Map<number, Set<RuleId> | "all">;
  /** Rule names in directives that are not rules (reported as warnings by the caller). */
  unknown: { line: number; name: string }[];
}

/**
 * Reads the directives of a SQL text.
 *
 * @example
 * const { byLine } = readSuppressions("-- underway-lint-disable-next-line drop-column\nALTER TABLE t DROP COLUMN c;");
 * byLine.get(2); // Set { "drop-column" }
 */
export function readSuppressions(text: string): Suppressions {
  const byLine = new Map<number, Set<RuleId> | "all">();
  const unknown: { line: number; name: string }[] = [];
  if (!text.includes("underway-lint-disable")) return { byLine, unknown };
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const match = DIRECTIVE.exec(line);
    if (match === null) return;
    // A `--` after the rule names starts a free-text reason.
    const body = match[1]!;
    const reasonAt = body.indexOf("--");
    const listed = (reasonAt === -1 ? body : body.slice(0, reasonAt)).split(/[\s,]+/).filter((n) => n !== "");
    let target = i + 1;
    while (target < lines.length && (lines[target]!.trim() === "" || lines[target]!.trim().startsWith("--"))) target++;
    const lineNumber = target + 1;
    if (listed.length === 0) {
      byLine.set(lineNumber, "all");
      return;
    }
    const rules = byLine.get(lineNumber);
    if (rules === "all") return;
    const set = rules ?? new Set<RuleId>();
    for (const name of listed) {
      if ((RULE_IDS as readonly string[]).includes(name)) set.add(name as RuleId);
      else unknown.push({ line: i + 1, name });
    }
    byLine.set(lineNumber, set);
  });
  return { byLine, unknown };
}

/** Whether a rule is silenced for a statement starting on `line`. */
export function isSuppressed(suppressions: Suppressions, line: number, rule: RuleId): boolean {
  const rules = suppressions.byLine.get(line);
  return rules === "all" || (rules !== undefined && rules.has(rule));
}
