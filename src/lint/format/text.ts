/**
 * The default output: one `file:line:col: severity [rule] message` line per finding, its
 * hint indented below, then a summary line.
 */
import type { LintReport } from "../lint.js";

const DOCUMENTED = " (documented behaviour, not exercised on a live cluster)";

export function formatText(report: LintReport): string {
  const lines: string[] = [];
  for (const problem of report.problems) lines.push(`${problem.file}: error: ${problem.message}`);
  for (const f of report.findings) {
    lines.push(`${f.file}:${f.line}:${f.column}: ${f.severity} [${f.rule}] ${f.message}${f.basis === "documented" ? DOCUMENTED : ""}`);
    lines.push(`  hint: ${f.hint}`);
  }
  const errors = report.findings.filter((f) => f.severity === "error").length;
  const warnings = report.findings.length - errors;
  const files = report.files.length;
  const unreadable = report.problems.length > 0 ? `, ${report.problems.length} file(s) could not be linted` : "";
  lines.push(`${errors} error(s), ${warnings} warning(s) in ${files} file(s)${unreadable}`);
  return `${lines.join("\n")}\n`;
}
