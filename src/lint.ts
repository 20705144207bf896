/**
 * `underway/lint`: the SQL linter (the rules `underway lint` applies) and the plan report
 * `underway plan` prints. The SQL parser is WebAssembly: it loads with `loadSqlParser`,
 * which `lintSql` needs first and the file functions call themselves.
 *
 * @example
 * import { lintSql, loadSqlParser, parseTarget } from "underway/lint";
 * await loadSqlParser();
 * const findings = lintSql("CREATE INDEX i ON users (email);", { file: "m.sql", target: parseTarget("postgres@14") });
 */
export { lintSql, lintFile, lintPaths, lintExitCode } from "./lint/lint.js";
export type { LintOptions, LintReport } from "./lint/lint.js";
export { renderPlan } from "./lint/plan-report.js";
export { loadSqlParser } from "./lint/sql-parser.js";
export { parseTarget } from "./lint/target.js";
export type { Target } from "./lint/target.js";
export type { Finding } from "./lint/finding.js";
export type { RuleId } from "./lint/rules.js";
