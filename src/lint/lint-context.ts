/**
 * What the linter knows while it walks one SQL text statement by statement: the transaction
 * it is in, whether a lock_timeout is set, which tables the open transaction has locked, and
 * (through the shared SchemaKnowledge) what this and earlier files did to the schema.
 * Checks read it and report findings through it.
 */
import type { RangeVar } from "libpg-query";

import type { Finding, RuleData } from "./finding.js";
import type { RuleId, Severity } from "./rules.js";
import { RULES } from "./rules.js";
import { SchemaKnowledge } from "./schema-knowledge.js";
import type { TableFacts } from "./schema-knowledge.js";
import type { SqlStatement, TextMap, TextPosition } from "./sql-parser.js";
import { targetProfile, type Target } from "./target.js";

export interface LintTextOptions {
  /** Names the file in findings. */
  file: string;
  target: Target;
  /**
   * The whole text runs in one transaction: migration tools that wrap each file in one
   * (Rails, Flyway by default, ...) or a sql operation with several statements. An explicit
   * COMMIT or ROLLBACK in the text ends that transaction; what follows runs outside one.
   */
  assumeInTransaction?: boolean;
  /** Whoever runs the text sets lock_timeout itself (underway does for its sql operations). */
  lockTimeoutProvided?: boolean;
  /** Maps a position in the SQL text to one in the file (for SQL inside a YAML or JSON file). */
  position?: (at: TextPosition) => TextPosition;
  /**
   * What earlier texts did to the schema, shared by the files of a sequence of migrations
   * (and updated by this one); a fresh one when not given.
   */
  knowledge?: SchemaKnowledge;
}

export class LintContext {
  readonly findings: Finding[] = [];
  readonly knowledge: SchemaKnowledge;
  /**
   * Tables locked (more strongly than SHARE UPDATE EXCLUSIVE) by the open transaction, by
   * name without schema (`public.t` and `t` are one table here), each with the name as written.
   */
  private readonly alteredInTransaction = new Map<string, string>();
  /** Constraints (`table\u0000name`) added NOT VALID in the open transaction. */
  private readonly addedInTransaction = new Set<string>();
  private explicitDepth = 0;
  /** The transaction a wrapping tool opens around the text, until an explicit COMMIT or ROLLBACK ends it. */
  private assumed: boolean;
  private lockTimeout: "unset" | "session" | "local" = "unset";
  private lockTimeoutReported = false;
  private ddlInTransactionReported = false;
  private lockHeldReported = false;
  private current: SqlStatement | undefined;

  constructor(
    readonly options: LintTextOptions,
    private map: TextMap,
  ) {
    this.knowledge = options.knowledge ?? new SchemaKnowledge();
    this.assumed = options.assumeInTransaction === true;
  }
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
    return this.explicitDepth > 0 || this.assumed;
  }

  get inExplicitTransaction(): boolean {
    return this.explicitDepth > 0;
  }

  beginTransaction(): void {
    this.explicitDepth = 1;
    this.ddlInTransactionReported = false;
  }

  /**
   * COMMIT or ROLLBACK: ends the open transaction, the assumed one too (the tool's own
   * COMMIT then finds none open). With `chain` (COMMIT AND CHAIN) a new one starts at once.
   */
  endTransaction(options: { chain?: boolean } = {}): void {
    if (options.chain !== true) {
      this.explicitDepth = 0;
      this.assumed = false;
    }
    this.lockHeldReported = false;
    this.alteredInTransaction.clear();
    this.addedInTransaction.clear();
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

  // -- what the schema is known to hold --------------------------------------------------

  /** The table's facts, when anything is known of it. */
  table(relation: RangeVar | undefined): TableFacts | undefined {
    return this.knowledge.table(relation);
  }

  /** True for a table created earlier in this text or an earlier one of the sequence: nobody else can be using it yet. */
  isNewTable(relation: RangeVar | undefined): boolean {
    return this.knowledge.table(relation)?.created === true;
  }

  /** An index on a table nobody uses yet. */
  isNewIndex(name: string): boolean {
    return this.knowledge.index(name)?.table.created === true;
  }

  /** Remembers a constraint added NOT VALID in the open transaction (VALIDATE there would hold the ADD's lock). */
  addedNotValid(table: RangeVar | undefined, name: string | undefined): void {
    if (name === undefined || table?.relname === undefined || !this.inTransaction) return;
    this.addedInTransaction.add(`${table.relname}\u0000${name}`);
  }

  /** Whether the constraint was added NOT VALID in the transaction that is still open. */
  wasAddedInTransaction(table: RangeVar | undefined, name: string | undefined): boolean {
    if (name === undefined || table?.relname === undefined || !this.inTransaction) return false;
    return this.addedInTransaction.has(`${table.relname}\u0000${name}`);
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
    const key = LintContext.tableKey(table);
    const held = this.inExplicitTransaction ? [...this.alteredInTransaction].find(([k]) => k !== key)?.[1] : undefined;
    if (held !== undefined && !this.lockHeldReported) {
      this.lockHeldReported = true;
      this.report("lock-held-across-statements", { table, held }, {
        message: `this statement locks "${table}" while the transaction still holds a strong lock on "${held}": ${RULES["lock-held-across-statements"].lock}`,
        hint: RULES["lock-held-across-statements"].alternative,
        severity: this.lockTimeout === "unset" && this.options.lockTimeoutProvided !== true ? "error" : "warning",
      });
    }
    if (!this.alteredInTransaction.has(key)) this.alteredInTransaction.set(key, table);
    if (this.lockTimeout !== "unset" || this.options.lockTimeoutProvided === true || this.lockTimeoutReported) return;
    this.lockTimeoutReported = true;
    this.report("missing-lock-timeout", { table }, {
      message: `no lock_timeout is set before this statement locks "${table}": ${RULES["missing-lock-timeout"].lock}`,
      hint: RULES["missing-lock-timeout"].alternative,
    });
  }

  wasAlteredInTransaction(table: string): boolean {
    return this.inTransaction && this.alteredInTransaction.has(LintContext.tableKey(table));
  }

  /** A table's name without its schema; other names ("every table of schema s") as they are. */
  private static tableKey(name: string): string {
    return /\s/.test(name) ? name : name.split(".").pop()!;
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
    if (targetProfile(this.target).basis === "documented") finding.basis = "documented";
    this.findings.push(finding);
  }
}
