/**
 * What `underway plan` shows: per phase, each step's statements with the lock each one
 * takes and whether it is brief, scans, rewrites or builds; which tables are backfilled
 * and, when the database is reachable, about how many rows that touches. The statements
 * are the engine's own, read with the same parser and rules as `underway lint`, so a step
 * that would hold a strong lock for long shows up here before anything runs.
 */
import type { AlterTableCmd, Node } from "libpg-query";

import { connect } from "../db/connection.js";
import type { Action, MigrationPlan, Step } from "../plan/step.js";
import { kindOf, nodeAs } from "./ast.js";
import { checkStatement } from "./checks/statements.js";
import type { Finding } from "./finding.js";
import { LintContext } from "./lint-context.js";
import type { RuleId } from "./rules.js";
import { loadSqlParser, parseSql, TextMap } from "./sql-parser.js";
import { DEFAULT_TARGET } from "./target.js";
import type { Target } from "./target.js";

/** How long a statement holds its lock, in kind. */
export type LockEffect = "none" | "brief" | "scans" | "rewrites" | "may rewrite" | "builds under the lock" | "builds concurrently" | "writes rows";

export interface PlannedStatement {
  sql: string;
  /** The strongest table lock the statement takes (PostgreSQL's lock mode names). */
  lock: string;
  effect: LockEffect;
  /** What the linter says about it, if anything. */
  findings: { rule: RuleId; severity: string; message: string }[];
}

export interface PlannedStep {
  kind: Step["kind"];
  description: string;
  statements: PlannedStatement[];
  /** For a backfill step: the table and its estimated rows (null when unknown). */
  backfill?: { table: string; estimatedRows: number | null };
}

export interface PlanReport {
  phases: Record<Action, PlannedStep[]>;
  backfill: { table: string; estimatedRows: number | null }[];
  /** Objects complete drops and creates again around the column swaps. */
  carried: string[];
  /** The user's triggers on tables the migration dual-writes. */
  userTriggers: NonNullable<MigrationPlan["userTriggers"]>;
  attributes: NonNullable<MigrationPlan["attributes"]>;
  notices: string[];
}

const REWRITES: readonly RuleId[] = ["column-type-change", "volatile-default", "stored-generated-column", "serial-or-identity-column", "table-rewrite"];
const SCANS: readonly RuleId[] = ["set-not-null-scan", "foreign-key-without-not-valid", "check-without-not-valid"];
const BUILDS: readonly RuleId[] = ["constraint-builds-index", "require-concurrent-index-creation", "reindex-without-concurrently"];
const NOT_FOR_PLANS: readonly RuleId[] = ["rename-column", "rename-table", "drop-column", "drop-table", "missing-lock-timeout"];

/** PostgreSQL's lock level of an ALTER TABLE subcommand (tablecmds.c, AlterTableGetLockLevel). */
function alterTableLock(cmd: AlterTableCmd): string {
  switch (cmd.subtype) {
    case "AT_ValidateConstraint":
    case "AT_SetStatistics":
    case "AT_ClusterOn":
    case "AT_DropCluster":
    case "AT_SetRelOptions":
    case "AT_ResetRelOptions":
    case "AT_AttachPartition":
      return "SHARE UPDATE EXCLUSIVE";
    case "AT_EnableTrig":
    case "AT_EnableAlwaysTrig":
    case "AT_EnableReplicaTrig":
    case "AT_EnableTrigAll":
    case "AT_EnableTrigUser":
    case "AT_DisableTrig":
    case "AT_DisableTrigAll":
    case "AT_DisableTrigUser":
      return "SHARE ROW EXCLUSIVE";
    case "AT_AddConstraint":
      return nodeAs(cmd.def, "Constraint")?.contype === "CONSTR_FOREIGN" ? "SHARE ROW EXCLUSIVE" : "ACCESS EXCLUSIVE";
    default:
      return "ACCESS EXCLUSIVE";
  }
}

const LOCK_ORDER = ["none", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "ACCESS EXCLUSIVE"];

function strongest(locks: string[]): string {
  return locks.reduce((a, b) => (LOCK_ORDER.indexOf(b) > LOCK_ORDER.indexOf(a) ? b : a), "none");
}

/** The strongest lock a statement takes on an existing relation. */
export function lockOf(node: Node): string {
  switch (kindOf(node)) {
    case "AlterTableStmt": {
      const cmds = (nodeAs(node, "AlterTableStmt")!.cmds ?? []).map((c) => nodeAs(c, "AlterTableCmd")).filter((c): c is AlterTableCmd => c !== undefined);
      return strongest(cmds.map(alterTableLock));
    }
    case "IndexStmt":
      return nodeAs(node, "IndexStmt")!.concurrent ? "SHARE UPDATE EXCLUSIVE" : "SHARE";
    case "DropStmt": {
      const stmt = nodeAs(node, "DropStmt")!;
      if (stmt.concurrent) return "SHARE UPDATE EXCLUSIVE";
      // Dropping a function, type or sequence locks no table.
      const onRelations = ["OBJECT_TABLE", "OBJECT_INDEX", "OBJECT_TRIGGER", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_SCHEMA", "OBJECT_TABCONSTRAINT"];
      return onRelations.includes(stmt.removeType ?? "") ? "ACCESS EXCLUSIVE" : "none";
    }
    case "CreateTrigStmt":
    case "CommentStmt":
      return kindOf(node) === "CommentStmt" ? "SHARE UPDATE EXCLUSIVE" : "SHARE ROW EXCLUSIVE";
    case "RenameStmt":
    case "LockStmt":
    case "ClusterStmt":
    case "TruncateStmt":
    case "RefreshMatViewStmt":
      return "ACCESS EXCLUSIVE";
    case "UpdateStmt":
    case "DeleteStmt":
    case "InsertStmt":
      return "ROW EXCLUSIVE";
    case "ReindexStmt":
      return "SHARE";
    default:
      return "none";
  }
}

function effectOf(node: Node, lock: string, findings: Finding[]): LockEffect {
  const errors = findings.filter((f) => f.severity === "error").map((f) => f.rule);
  if (errors.some((r) => REWRITES.includes(r))) return "rewrites";
  if (findings.some((f) => f.rule === "column-type-change")) return "may rewrite";
  if (errors.some((r) => BUILDS.includes(r))) return "builds under the lock";
  if (errors.some((r) => SCANS.includes(r))) return "scans";
  if (nodeAs(node, "IndexStmt")?.concurrent) return "builds concurrently";
  if ((nodeAs(node, "AlterTableStmt")?.cmds ?? []).some((c) => nodeAs(c, "AlterTableCmd")?.subtype === "AT_ValidateConstraint")) return "scans";
  if (lock === "ROW EXCLUSIVE") return "writes rows";
  return lock === "none" ? "none" : "brief";
}

/** The SQL a step runs, as text (steps that are not SQL are described instead). */
function stepSql(step: Step): string[] {
  switch (step.kind) {
    case "ddl":
      return step.statements;
    case "concurrent_index":
      return [step.statement];
    case "drop_index":
      return [`DROP INDEX CONCURRENTLY IF EXISTS "${step.schema}"."${step.index}"`];
    case "user_sql":
      return [step.sql];
    case "contract":
      return [...step.before, ...step.tables.flatMap((t) => [...t.pre, ...t.post]), ...step.after];
    default:
      return [];
  }
}

/**
 * Describes a plan: every statement with its lock and effect, and the linter's findings
 * on it. A `ddl` step's statements run in one transaction, and each phase is read as one
 * file, so objects a phase creates are known to its later steps.
 *
 * @example
 * const report = describePlan(await migrator.plan(file), { estimatedRows: new Map([["users", 1_000_000]]) });
 */
export function describePlan(plan: MigrationPlan, options: { target?: Target; estimatedRows?: Map<string, number | null> } = {}): PlanReport {
  const target = options.target ?? DEFAULT_TARGET;
  const newContext = (action: Action) => new LintContext({ file: `plan:${action}`, target, lockTimeoutProvided: true }, new TextMap(""));
  const describe = (context: LintContext, step: Step): PlannedStep => {
    const planned: PlannedStep = { kind: step.kind, description: step.description, statements: [] };
    if (step.kind === "backfill") planned.backfill = { table: step.table, estimatedRows: options.estimatedRows?.get(step.table) ?? null };
    // A ddl or sql step runs its statements in one transaction.
    if (step.kind === "ddl" || step.kind === "user_sql" || step.kind === "contract") context.beginTransaction();
    for (const sql of stepSql(step)) {
      const map = new TextMap(sql);
      let parsed;
      try {
        parsed = parseSql(sql, map);
      } catch {
        planned.statements.push({ sql, lock: "unknown", effect: "brief", findings: [] });
        continue;
      }
      for (const statement of parsed) {
        const before = context.findings.length;
        context.beginStatement(statement, map);
        checkStatement(context, statement.node);
        // Renames and drops at complete are what version schemas exist for: not findings here.
        // The version schemas underway drops (DROP SCHEMA ... CASCADE) hold only its own views.
        const findings = context.findings
          .slice(before)
          .filter((f) => !NOT_FOR_PLANS.includes(f.rule) && !(f.rule === "drop-schema" && step.kind !== "user_sql"));
        const lock = lockOf(statement.node);
        planned.statements.push({
          sql: statement.text,
          lock,
          effect: effectOf(statement.node, lock, findings),
          findings: findings.map((f) => ({ rule: f.rule, severity: f.severity, message: f.message })),
        });
      }
    }
    if (step.kind === "ddl" || step.kind === "user_sql" || step.kind === "contract") context.endTransaction();
    return planned;
  };
  // Complete runs after start, and rollback after (part of) start: each phase is read with
  // what start did known (a NOT VALID check validated at complete, say).
  const forward = newContext("start");
  const start = plan.start.map((step) => describe(forward, step));
  const complete = plan.complete.map((step) => describe(forward, step));
  const back = newContext("rollback");
  for (const step of plan.start) describe(back, step);
  back.findings.length = 0;
  const rollback = plan.rollback.map((step) => describe(back, step));
  const backfill = plan.backfillTables.map((table) => ({ table, estimatedRows: options.estimatedRows?.get(table) ?? null }));
  return { phases: { start, complete, rollback }, backfill, carried: plan.carried ?? [], userTriggers: plan.userTriggers ?? [], attributes: plan.attributes ?? [], notices: plan.notices ?? [] };
}

function shorten(sql: string): string {
  const line = sql.replace(/\s+/g, " ").trim();
  return line.length > 140 ? `${line.slice(0, 137)}...` : line;
}

/** The plan as text: phases, numbered steps, one line per statement with its lock. */
export function formatPlanReport(report: PlanReport): string {
  const lines: string[] = [];
  for (const action of ["start", "complete", "rollback"] as const) {
    lines.push(`${action}:`);
    report.phases[action].forEach((step, i) => {
      const rows = step.backfill === undefined ? "" : step.backfill.estimatedRows === null ? " (rows: unknown)" : ` (~${step.backfill.estimatedRows.toLocaleString("en-US")} rows)`;
      lines.push(`  ${i + 1}. ${step.description}${rows}`);
      for (const statement of step.statements) {
        const lock = statement.lock === "none" ? "no lock on existing tables" : `${statement.lock}, ${statement.effect}`;
        lines.push(`       [${lock}] ${shorten(statement.sql)}`);
        for (const finding of statement.findings) lines.push(`         ${finding.severity} [${finding.rule}] ${finding.message}`);
      }
    });
  }
  for (const t of report.userTriggers) {
    lines.push(`user triggers on ${t.table}: ${t.triggers.join(", ")} (the dual-write trigger fires after them${t.early ? "; a first one before them fills the old columns of new-version writes" : ""})`);
  }
  if (report.carried.length > 0) lines.push(`complete re-creates around the swap: ${report.carried.join(", ")}`);
  for (const notice of report.notices) lines.push(`note: ${notice}`);
  for (const a of report.attributes) {
    lines.push(`attribute numbers: ${a.table} has used ${a.used} of 1600; start adds ${a.adds} (a rollback does not give them back)`);
  }
  lines.push(
    report.backfill.length === 0
      ? "backfill: none"
      : `backfill: ${report.backfill.map((b) => `${b.table} (${b.estimatedRows === null ? "rows unknown" : `~${b.estimatedRows.toLocaleString("en-US")} rows`})`).join(", ")}`,
  );
  return lines.join("\n");
}

/**
 * About how many rows each table holds: the planner's estimate (pg_class.reltuples), or an
 * exact count for a small table that was never analyzed. Null when neither is known.
 */
export async function estimateRows(databaseUrl: string, schema: string, tables: string[]): Promise<Map<string, number | null>> {
  const estimates = new Map<string, number | null>();
  if (tables.length === 0) return estimates;
  const client = await connect(databaseUrl);
  try {
    for (const table of tables) {
      const { rows } = await client.query<{ tuples: number; pages: number }>(
        `SELECT c.reltuples::float8 AS tuples, c.relpages::int AS pages FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [schema, table],
      );
      const row = rows[0];
      if (row === undefined) estimates.set(table, null);
      else if (row.tuples >= 0) estimates.set(table, Math.round(row.tuples));
      else if (row.pages < 10_000) {
        const { rows: counted } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"`);
        estimates.set(table, Number(counted[0]!.n));
      } else estimates.set(table, null);
    }
  } finally {
    await client.end();
  }
  return estimates;
}

/** A plan step as `plan --json` shows it: the engine's step, plus the locks of its statements. */
export type PlanJsonStep = Step & { locks: PlannedStatement[]; estimatedRows?: number | null };

export type PlanJson = Omit<MigrationPlan, Action> & Record<Action, PlanJsonStep[]> & { backfill: PlanReport["backfill"] };

/**
 * What `underway plan` prints for a plan: the text, and the JSON for `--json` (the plan's
 * own shape, each step with a `locks` list added). Row estimates are read when
 * `databaseUrl` is given.
 *
 * @example
 * const plan = await migrator.plan(file);
 * const { text, json } = await renderPlan(plan, { databaseUrl, schema: "public" });
 */
export async function renderPlan(plan: MigrationPlan, options: { databaseUrl?: string; schema: string; target?: Target }): Promise<{ text: string; json: PlanJson }> {
  await loadSqlParser();
  const estimatedRows = options.databaseUrl === undefined ? undefined : await estimateRows(options.databaseUrl, options.schema, plan.backfillTables);
  const report = describePlan(plan, { target: options.target, estimatedRows });
  const phase = (action: Action): PlanJsonStep[] =>
    plan[action].map((step, i) => {
      const planned = report.phases[action][i]!;
      const out: PlanJsonStep = { ...step, locks: planned.statements };
      if (planned.backfill !== undefined) out.estimatedRows = planned.backfill.estimatedRows;
      return out;
    });
  return {
    text: formatPlanReport(report),
    json: { ...plan, start: phase("start"), complete: phase("complete"), rollback: phase("rollback"), backfill: report.backfill },
  };
}
