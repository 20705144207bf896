/**
 * What the linter knows while it walks one SQL text statement by statement: the tables
 * the text itself created (exempt from lock rules), the transaction it is in, whether a
 * lock_timeout is set, and which NOT NULL checks have been validated. Checks read it and
 * report findings through it.
 */
import type { RangeVar } from "libpg-query";

import type { Finding, RuleData } from "./finding.js";
import type { RuleId, Severity } from "./rules.js";
import { RULES } from "./rules.js";
import type { SqlStatement, TextMap, TextPosition } from "./sql-parser.js";
import type { Target } from "./target.js";

export interface LintTextOptions {
  /** Names the file in findings. */
  file: string;
  target: Target;
  /**
   * The whole text runs in one transaction: migration tools that wrap each file in one
   * (Rails, Flyway by default, ...) or a sql operation with several statements.
   */
  assumeInTransaction?: boolean;
  /** Whoever runs the text sets lock_timeout itself (underway does for its sql operations). */
  lockTimeoutProvided?: boolean;
  /** Maps a position in the SQL text to one in the file (for SQL inside a YAML or JSON file). */
  position?: (at: TextPosition) => TextPosition;
}

/** A constraint added NOT VALID, remembered until it is validated. */
interface PendingConstraint {
  /** The column it proves NOT NULL, when it is `CHECK (col IS NOT NULL)` or a NOT NULL constraint. */
  notNullColumn?: string;
  /** Added inside the transaction block that is still open. */
  inOpenTransaction: boolean;
}

export class LintContext {
  readonly findings: Finding[] = [];
  private readonly createdTables = new Set<string>();
  private readonly createdIndexes = new Set<string>();
  private readonly notNullProven = new Set<string>();
  private readonly pending = new Map<string, PendingConstraint>();
  private readonly alteredInTransaction = new Set<string>();
  private explicitDepth = 0;
  private lockTimeout: "unset" | "session" | "local" = "unset";
  private lockTimeoutReported = false;
  private ddlInTransactionReported = false;
  private lockHeldReported = false;
  private current: SqlStatement | undefined;

  constructor(
    readonly options: LintTextOptions,
    private map: TextMap,
  ) {}

  get target(): Target {
    return this.options.target;
  }

  get statement(): SqlStatement {
    if (this.current === undefined) throw new Error("no statement is being checked");
    return this.current;
  }

  private origin: TextPosition | undefined;

  /**
   * Starts checking a statement; `map` when it comes from another text than the last one,
   * and `origin` when that text sits inside the file at a position (a DO block's body).
   */
  beginStatement(statement: SqlStatement, map?: TextMap, origin?: TextPosition): void {
    this.current = statement;
    if (map !== undefined) this.map = map;
    this.origin = origin;
  }

  /** What `beginStatement` was last given, to return to it after a nested text. */
  snapshot(): { statement: SqlStatement | undefined; map: TextMap; origin: TextPosition | undefined } {
    return { statement: this.current, map: this.map, origin: this.origin };
  }

  restore(saved: ReturnType<LintContext["snapshot"]>): void {
    this.current = saved.statement;
    this.map = saved.map;
    this.origin = saved.origin;
  }

  // -- transactions ----------------------------------------------------------------------

  /** In a transaction block, explicit or assumed. */
  get inTransaction(): boolean {
    return this.explicitDepth > 0 || this.options.assumeInTransaction === true;
  }

  get inExplicitTransaction(): boolean {
    return this.explicitDepth > 0;
  }

  beginTransaction(): void {
    this.explicitDepth = 1;
    this.ddlInTransactionReported = false;
  }

  endTransaction(): void {
    this.explicitDepth = 0;
    this.lockHeldReported = false;
    this.alteredInTransaction.clear();
    for (const constraint of this.pending.values()) constraint.inOpenTransaction = false;
    if (this.lockTimeout === "local") this.lockTimeout = "unset";
  }

  /** Reports DDL inside an explicit transaction once per block (distributed engines). */
  ddlInTransaction(statement: string): void {
    if (!this.inExplicitTransaction || this.ddlInTransactionReported) return;
    this.ddlInTransactionReported = true;
    this.report("ddl-in-transaction", { statement }, {
      message: `${statement} inside an explicit transaction: ${RULES["ddl-in-transaction"].lock}`,
      hint: RULES["ddl-in-transaction"].alternative,
    });
  }

  // -- objects the text created ----------------------------------------------------------

  createTable(relation: RangeVar | undefined): void {
    if (relation?.relname !== undefined) this.createdTables.add(relation.relname);
  }

  renameTable(from: RangeVar | undefined, to: string | undefined): void {
    if (from?.relname !== undefined && to !== undefined && this.createdTables.has(from.relname)) this.createdTables.add(to);
  }

  /** True for a table created earlier in the same text: nobody else can be using it yet. */
  isNewTable(relation: RangeVar | undefined): boolean {
    return relation?.relname !== undefined && this.createdTables.has(relation.relname);
  }

  createIndex(name: string | undefined): void {
    if (name !== undefined) this.createdIndexes.add(name);
  }

  isNewIndex(name: string): boolean {
    return this.createdIndexes.has(name.split(".").pop()!);
  }

  // -- constraints -----------------------------------------------------------------------

  private static key(table: string, name: string): string {
    return `${table}\u0000${name}`;
  }

  /** A constraint added NOT VALID (so VALIDATE CONSTRAINT can be checked against it). */
  addNotValidConstraint(table: string, name: string | undefined, notNullColumn?: string): void {
    if (name === undefined) return;
    this.pending.set(LintContext.key(table, name), { notNullColumn, inOpenTransaction: this.inTransaction });
  }

  /** Marks a NOT VALID constraint validated; returns whether it was added in the open transaction. */
  validateConstraint(table: string, name: string | undefined): { sameTransaction: boolean } {
    if (name === undefined) return { sameTransaction: false };
    const constraint = this.pending.get(LintContext.key(table, name));
    if (constraint === undefined) return { sameTransaction: false };
    if (constraint.notNullColumn !== undefined) this.proveNotNull(table, constraint.notNullColumn);
    return { sameTransaction: constraint.inOpenTransaction && this.inTransaction };
  }

  /** A validated CHECK (col IS NOT NULL) exists: SET NOT NULL can skip its scan (PostgreSQL 12+). */
  proveNotNull(table: string, column: string): void {
    this.notNullProven.add(LintContext.key(table, column));
  }

  isNotNullProven(table: string, column: string): boolean {
    return this.notNullProven.has(LintContext.key(table, column));
  }

  // -- lock timeout ----------------------------------------------------------------------

  setLockTimeout(on: boolean, local: boolean): void {
    if (!on) this.lockTimeout = "unset";
    else if (!local) this.lockTimeout = "session";
    // SET LOCAL outside a transaction block does nothing (PostgreSQL only warns).
    else if (this.inTransaction) this.lockTimeout = this.lockTimeout === "session" ? "session" : "local";
  }

  /**
   * Called for every statement that takes a lock stronger than SHARE UPDATE EXCLUSIVE on
   * an existing table: reports the first one that runs without a lock_timeout.
   */
  takesStrongLock(table: string): void {
    const held = this.inExplicitTransaction ? [...this.alteredInTransaction].find((t) => t !== table) : undefined;
    if (held !== undefined && !this.lockHeldReported) {
      this.lockHeldReported = true;
      this.report("lock-held-across-statements", { table, held }, {
        message: `this statement locks "${table}" while the transaction still holds a strong lock on "${held}": ${RULES["lock-held-across-statements"].lock}`,
        hint: RULES["lock-held-across-statements"].alternative,
        severity: this.lockTimeout === "unset" && this.options.lockTimeoutProvided !== true ? "error" : "warning",
      });
    }
    this.alteredInTransaction.add(table);
    if (this.lockTimeout !== "unset" || this.options.lockTimeoutProvided === true || this.lockTimeoutReported) return;
    this.lockTimeoutReported = true;
    this.report("missing-lock-timeout", { table }, {
      message: `no lock_timeout is set before this statement locks "${table}": ${RULES["missing-lock-timeout"].lock}`,
      hint: RULES["missing-lock-timeout"].alternative,
    });
  }

  wasAlteredInTransaction(table: string): boolean {
    return this.inTransaction && this.alteredInTransaction.has(table);
  }

  // -- findings --------------------------------------------------------------------------

  /** Where a parse tree location (a byte offset into the text) is in the file; the statement's start without one. */
  positionOf(location: number | undefined): TextPosition {
    const statement = this.statement;
    let at: TextPosition;
    if (location === undefined || location < 0) at = { line: statement.line, column: statement.column };
    else at = this.map.positionOfByte(location);
    const origin = this.origin;
    if (origin !== undefined) {
      at = at.line === 1 ? { line: origin.line, column: origin.column + at.column - 1 } : { line: origin.line + at.line - 1, column: at.column };
    }
    return this.options.position ? this.options.position(at) : at;
  }

  report<R extends RuleId>(
    rule: R,
    data: RuleData[R],
    details: { message: string; hint: string; location?: number | undefined; severity?: Severity },
  ): void {
    const description = RULES[rule];
    if (!description.engines.includes(this.target.engine)) return;
    const { line, column } = this.positionOf(details.location);
    const finding = {
      rule,
      severity: details.severity ?? description.severity,
      file: this.options.file,
      line,
      column,
      message: details.message,
      hint: details.hint,
      ...data,
    } as Finding;
    if (this.target.engine !== "postgres") finding.basis = "documented";
    this.findings.push(finding);
  }
}
