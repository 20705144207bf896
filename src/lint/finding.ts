/**
 * What the linter reports. Like zod's issues, a finding is one member of a union keyed
 * by its rule; each rule adds the fields that say what it is about (the table, the
 * column, the lock mode ...) to the ones every finding has.
 */
import type { RuleId, Severity } from "./rules.js";

export type TableRewriteCause =
  | "set-tablespace"
  | "vacuum-full"
  | "cluster"
  | "set-logged"
  | "set-unlogged"
  | "set-access-method"
  | "set-expression"
  | "column-default";

/** The fields each rule adds. */
export interface RuleData {
  "require-concurrent-index-creation": { table: string; index?: string };
  "require-concurrent-index-deletion": { index: string };
  "reindex-without-concurrently": { target: string };
  "concurrently-in-transaction": { statement: "CREATE INDEX" | "DROP INDEX" | "REINDEX" | "VACUUM" | "DETACH PARTITION" };
  "volatile-default": { table: string; columnName: string; functions: string[] };
  "column-type-change": { table: string; columnName: string; type: string };
  "stored-generated-column": { table: string; columnName: string };
  "serial-or-identity-column": { table: string; columnName: string };
  "table-rewrite": { table: string; cause: TableRewriteCause };
  "set-not-null-scan": { table: string; columnName: string; index?: string };
  "foreign-key-without-not-valid": { table: string; constraint?: string; references: string };
  "check-without-not-valid": { table: string; constraint?: string };
  "validate-in-same-transaction": { table: string; constraint: string; cause: "added-in-transaction" | "altered-in-transaction" | "same-statement" };
  "constraint-builds-index": { table: string; constraint?: string; kind: "unique" | "primary key" | "exclude" };
  "not-null-column-without-default": { table: string; columnName: string };
  "lock-table": { table: string; mode: string };
  "refresh-matview-without-concurrently": { view: string };
  "rename-column": { table: string; columnName: string; to: string };
  "rename-table": { table: string; to: string };
  "drop-column": { table: string; columnName: string };
  "drop-table": { table: string };
  "truncate-table": { table: string; cascade: boolean };
  "drop-schema": { schema: string };
  "rename-schema": { schema: string; to: string };
  "rename-enum-value": { type: string; value: string; to: string };
  "data-change-without-where": { table: string; statement: "UPDATE" | "DELETE" };
  "backfill-in-ddl-transaction": { table: string };
  "scan-in-ddl-transaction": { table: string };
  "domain-constraint-scan": { domain: string; constraint?: string };
  "detach-partition-without-concurrently": { table: string; partition: string };
  "lock-held-across-statements": { table: string; held: string };
  "missing-lock-timeout": { table: string };
  "unsupported-by-target": { target: string; feature: string };
  "advisory-lock-no-op": { function: string };
  "ddl-in-transaction": { statement: string };
  "rewrite-loses-writes": { table: string; cause: string };
  "untranslated-statement": { statement: string };
}

export interface FindingBase {
  severity: Severity;
  /** The file as given on the command line (or as the caller named it). */
  file: string;
  /** 1-based line and column of the statement, or of the clause the finding is about. */
  line: number;
  column: number;
  /** What lock is taken, what it blocks, or what breaks. */
  message: string;
  /** A concrete safe alternative, naming the underway operation that does it. */
  hint: string;
  /**
   * Set for distributed-engine profiles: the finding follows the engine's documentation
   * and has not been exercised on a live cluster.
   */
  basis?: "documented";
}

export type FindingOf<R extends RuleId> = FindingBase & { rule: R } & RuleData[R];

export type Finding = { [R in RuleId]: FindingOf<R> }[RuleId];

/** Sorts findings by file, line, column, then rule: the order every format prints. */
export function compareFindings(a: Finding, b: Finding): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);
}
