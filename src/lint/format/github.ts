/**
 * `--format github`: GitHub Actions workflow commands, which the runner turns into
 * annotations on the pull request's diff (`::error file=...,line=...,col=...::message`).
 */
import type { LintReport } from "../lint.js";

/** Data may not hold `%`, CR or LF; property values may not hold `:` or `,` either. */
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

export function formatGithub(report: LintReport): string {
  const lines: string[] = [];
  for (const problem of report.problems) {
    lines.push(`::error file=${escapeProperty(problem.file)},title=${escapeProperty("underway lint")}::${escapeData(problem.message)}`);
  }
  for (const f of report.findings) {
    const level = f.severity === "error" ? "error" : "warning";
    const documented = f.basis === "documented" ? "\n(documented behaviour, not exercised on a live cluster)" : "";
    const properties = `file=${escapeProperty(f.file)},line=${f.line},col=${f.column},title=${escapeProperty(`underway lint: ${f.rule}`)}`;
    lines.push(`::${level} ${properties}::${escapeData(`${f.message}\nHint: ${f.hint}${documented}`)}`);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
