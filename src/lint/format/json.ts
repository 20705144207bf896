/** `--format json`: `{ "findings": [...] }`, plus the files that could not be linted. */
import type { LintReport } from "../lint.js";

export function formatJson(report: LintReport): string {
  const body: Record<string, unknown> = { findings: report.findings };
  if (report.problems.length > 0) body.problems = report.problems;
  return `${JSON.stringify(body, null, 2)}\n`;
}
