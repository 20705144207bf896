/**
 * `--format sarif`: a SARIF 2.1.0 log (OASIS Static Analysis Results Interchange Format),
 * the input of GitHub code scanning and most CI dashboards. One run, the linter as its
 * tool with every rule described, one result per finding; files that could not be linted
 * become tool execution notifications.
 */
import { RULE_IDS, RULES } from "../rules.js";
import type { LintReport } from "../lint.js";

const SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/** A relative path as a URI reference: forward slashes, each segment percent-encoded. */
function artifactUri(path: string): string {
  return path
    .replace(/\\/g, "/")
    .split("/")
    .map((segment) => encodeURIComponent(segment))
    .join("/");
}

export function formatSarif(report: LintReport, toolVersion: string): string {
  const rules = RULE_IDS.map((id) => {
    const rule = RULES[id];
    return {
      id,
      name: id.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase()),
      shortDescription: { text: rule.summary },
      fullDescription: { text: `${rule.summary}. Lock: ${rule.lock}.` },
      help: { text: `Instead: ${rule.alternative}`, markdown: `**Lock:** ${rule.lock}\n\n**Instead:** ${rule.alternative}` },
      defaultConfiguration: { level: rule.severity },
      properties: { engines: [...rule.engines], tags: ["postgresql", "migration"] },
    };
  });
  const results = report.findings.map((f) => {
    const { rule, severity, file, line, column, message, hint, basis, ...data } = f;
    const properties: Record<string, unknown> = { hint, ...data };
    if (basis !== undefined) properties.basis = "documented behaviour, not exercised on a live cluster";
    return {
      ruleId: rule,
      ruleIndex: RULE_IDS.indexOf(rule),
      level: severity,
      message: { text: `${message}\nHint: ${hint}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: artifactUri(file) },
            region: { startLine: line, startColumn: column },
          },
        },
      ],
      properties,
    };
  });
  const log = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "underway-lint", version: toolVersion, semanticVersion: toolVersion, rules } },
        invocations: [
          {
            executionSuccessful: report.problems.length === 0,
            toolExecutionNotifications: report.problems.map((p) => ({
              level: "error",
              message: { text: p.message },
              locations: [{ physicalLocation: { artifactLocation: { uri: artifactUri(p.file) } } }],
            })),
          },
        ],
        artifacts: report.files.map((file) => ({ location: { uri: artifactUri(file) }, mimeType: file.endsWith(".sql") ? "application/sql" : "text/plain" })),
        columnKind: "utf16CodeUnits",
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
