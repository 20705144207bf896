/**
 * Every statement other than ALTER TABLE: indexes, rewrites (VACUUM FULL, CLUSTER),
 * explicit locks, renames and drops, transaction control, settings, and the data changes
 * that hold a DDL lock. `checkStatement` is the entry point for one statement.
 */
import type { AlterDomainStmt, DoStmt, DropStmt, IndexStmt, Node, RangeVar, RenameStmt, TruncateStmt, VariableSetStmt } from "libpg-query";

import { dottedName, functionsCalled, kindOf, nodeAs, relationName, stringValue } from "../ast.js";
import type { LintContext } from "../lint-context.js";
import { doBlockStatements } from "../plpgsql.js";
import { RULES } from "../rules.js";
import { learnStatement } from "../schema-learning.js";
import { parseSql, TextMap } from "../sql-parser.js";
import { postgresLacks } from "../target.js";
import { concurrentIndexRefusal } from "../underway-limits.js";
import { checkAlterTable, unsupported } from "./alter-table.js";

const LOCK_MODES = [
  "",
  "ACCESS SHARE",
  "ROW SHARE",
  "ROW EXCLUSIVE",
  "SHARE UPDATE EXCLUSIVE",
  "SHARE",
  "SHARE ROW EXCLUSIVE",
  "EXCLUSIVE",
  "ACCESS EXCLUSIVE",
];
/** SHARE (5) and stronger conflict with ROW EXCLUSIVE, the lock every write takes. */
const BLOCKS_WRITES = 5;

const ADVISORY_LOCKS = new Set([
  "pg_advisory_lock",
  "pg_advisory_xact_lock",
  "pg_try_advisory_lock",
  "pg_try_advisory_xact_lock",
  "pg_advisory_lock_shared",
  "pg_advisory_xact_lock_shared",
  "pg_try_advisory_lock_shared",
  "pg_try_advisory_xact_lock_shared",
]);

function hasOption(options: Node[] | undefined, name: string): boolean {
  return (options ?? []).some((o) => {
    const def = nodeAs(o, "DefElem");
    if (def?.defname !== name) return false;
    // `(FULL false)` turns it off; a bare option or any other value turns it on.
    const arg = def.arg;
    if (arg === undefined) return true;
    const text = stringValue(arg) ?? nodeAs(arg, "Boolean")?.boolval;
    return !(text === false || text === undefined || text === "false" || text === "off" || text === "0");
  });
}

function createIndex(ctx: LintContext, stmt: IndexStmt): void {
  const table = relationName(stmt.relation);
  if (stmt.nulls_not_distinct && postgresLacks(ctx.target, "uniqueNullsNotDistinct")) {
    unsupported(ctx, "NULLS NOT DISTINCT (PostgreSQL 15+)", "use a partial unique index, or raise --target");
  }
  const partitioned = concurrentIndexRefusal(ctx.table(stmt.relation), stmt.unique === true);
  if (stmt.concurrent && partitioned !== undefined) {
    unsupported(ctx, `CREATE INDEX CONCURRENTLY on partitioned table "${table}"`, partitioned.instead);
    return;
  }
  if (stmt.concurrent) {
    if (ctx.inTransaction) {
      ctx.report("concurrently-in-transaction", { statement: "CREATE INDEX" }, {
        message: `CREATE INDEX CONCURRENTLY${stmt.idxname === undefined ? "" : ` ${stmt.idxname}`} inside a transaction block: ${RULES["concurrently-in-transaction"].lock}`,
        hint: RULES["concurrently-in-transaction"].alternative,
      });
    }
    return;
  }
  if (ctx.isNewTable(stmt.relation)) return;
  ctx.takesStrongLock(table);
  ctx.ddlInTransaction("CREATE INDEX");
  ctx.report("require-concurrent-index-creation", { table, index: stmt.idxname }, {
    message: `CREATE ${stmt.unique ? "UNIQUE " : ""}INDEX ${stmt.idxname === undefined ? "" : `${stmt.idxname} `}on "${table}" without CONCURRENTLY: ${RULES["require-concurrent-index-creation"].lock}`,
    hint: partitioned === undefined ? RULES["require-concurrent-index-creation"].alternative : `${partitioned.instead} (${partitioned.reason})`,
  });
}

/** A relation from a dotted name (`public.users`). */
function relationOf(name: string): Pick<RangeVar, "relname" | "schemaname"> {
  const parts = name.split(".");
  return parts.length > 1 ? { schemaname: parts[parts.length - 2]!, relname: parts[parts.length - 1]! } : { relname: parts[0]! };
}

function drop(ctx: LintContext, stmt: DropStmt): void {
  const names = (stmt.objects ?? []).map((o) => dottedName(nodeAs(o, "List")?.items));
  if (stmt.removeType === "OBJECT_INDEX") {
    if (stmt.concurrent) {
      if (names.length > 1 || stmt.behavior === "DROP_CASCADE") {
        unsupported(ctx, `DROP INDEX CONCURRENTLY with ${names.length > 1 ? "several indexes" : "CASCADE"} (PostgreSQL drops one index at a time concurrently, without CASCADE)`, "one DROP INDEX CONCURRENTLY statement per index");
      }
      if (ctx.inTransaction) {
        ctx.report("concurrently-in-transaction", { statement: "DROP INDEX" }, {
          message: `DROP INDEX CONCURRENTLY inside a transaction block: ${RULES["concurrently-in-transaction"].lock}`,
          hint: RULES["concurrently-in-transaction"].alternative,
        });
      }
      return;
    }
    for (const index of names.filter((n) => !ctx.isNewIndex(n))) {
      ctx.takesStrongLock(`table of ${index}`);
      ctx.report("require-concurrent-index-deletion", { index }, {
        message: `DROP INDEX ${index} without CONCURRENTLY: ${RULES["require-concurrent-index-deletion"].lock}`,
        hint: RULES["require-concurrent-index-deletion"].alternative,
      });
    }
    return;
  }
  if (stmt.removeType === "OBJECT_SCHEMA") {
    // Without CASCADE, DROP SCHEMA fails unless the schema is empty.
    if (stmt.behavior !== "DROP_CASCADE") return;
    ctx.ddlInTransaction("DROP SCHEMA");
    for (const schema of (stmt.objects ?? []).map((o) => stringValue(o) ?? "?")) {
      if (ctx.knowledge.isCreated("schema", schema)) continue;
      ctx.takesStrongLock(`every table of schema ${schema}`);
      ctx.report("drop-schema", { schema }, {
        message: `DROP SCHEMA "${schema}" CASCADE: ${RULES["drop-schema"].lock}`,
        hint: RULES["drop-schema"].alternative,
      });
    }
    return;
  }
  if (stmt.removeType === "OBJECT_TABLE") {
    ctx.ddlInTransaction("DROP TABLE");
    for (const table of names) {
      if (ctx.isNewTable(relationOf(table))) continue;
      ctx.takesStrongLock(table);
      ctx.report("drop-table", { table }, {
        message: `dropping table "${table}": ${RULES["drop-table"].lock}`,
        hint: RULES["drop-table"].alternative,
      });
    }
  }
}

function rename(ctx: LintContext, stmt: RenameStmt): void {
  const table = relationName(stmt.relation);
  const isNew = ctx.isNewTable(stmt.relation);
  if (stmt.renameType === "OBJECT_COLUMN" && (stmt.relationType === "OBJECT_TABLE" || stmt.relationType === undefined)) {
    ctx.ddlInTransaction("ALTER TABLE ... RENAME COLUMN");
    if (isNew) return;
    ctx.takesStrongLock(table);
    ctx.report("rename-column", { table, columnName: stmt.subname ?? "?", to: stmt.newname ?? "?" }, {
      message: `renaming "${table}"."${stmt.subname ?? ""}" to "${stmt.newname ?? ""}": ${RULES["rename-column"].lock}`,
      hint: RULES["rename-column"].alternative,
    });
  } else if (stmt.renameType === "OBJECT_TABLE") {
    ctx.ddlInTransaction("ALTER TABLE ... RENAME TO");
    if (isNew) return;
    ctx.takesStrongLock(table);
    ctx.report("rename-table", { table, to: stmt.newname ?? "?" }, {
      message: `renaming table "${table}" to "${stmt.newname ?? ""}": ${RULES["rename-table"].lock}`,
      hint: RULES["rename-table"].alternative,
    });
  } else if (stmt.renameType === "OBJECT_SCHEMA") {
    const schema = stmt.subname ?? "?";
    if (ctx.knowledge.isCreated("schema", schema)) return;
    ctx.report("rename-schema", { schema, to: stmt.newname ?? "?" }, {
      message: `renaming schema "${schema}" to "${stmt.newname ?? ""}": ${RULES["rename-schema"].lock}`,
      hint: RULES["rename-schema"].alternative,
    });
  }
}

function truncate(ctx: LintContext, stmt: TruncateStmt): void {
  const cascade = stmt.behavior === "DROP_CASCADE";
  ctx.ddlInTransaction("TRUNCATE");
  for (const relation of (stmt.relations ?? []).map((r) => nodeAs(r, "RangeVar"))) {
    if (ctx.isNewTable(relation)) continue;
    const table = relationName(relation);
    ctx.takesStrongLock(table);
    ctx.report("truncate-table", { table, cascade }, {
      message: `TRUNCATE ${relation?.inh === true ? "" : "ONLY "}"${table}"${cascade ? " CASCADE" : ""}: ACCESS EXCLUSIVE on "${table}"${cascade ? " and on every table that references it (emptied with it)" : ""} until the transaction ends, and every row the running application reads is gone at once`,
      hint: RULES["truncate-table"].alternative,
      location: relation?.location,
    });
  }
}

/**
 * ALTER DOMAIN: a constraint added without NOT VALID, and SET NOT NULL, check every column
 * of the domain in every table, holding SHARE on each (validateDomainCheckConstraint);
 * VALIDATE CONSTRAINT does the same scan under the same lock, but at a time of one's choosing.
 */
function alterDomain(ctx: LintContext, stmt: AlterDomainStmt): void {
  const domain = dottedName(stmt.typeName);
  if (ctx.knowledge.isCreated("type", domain.split(".").pop()!)) return;
  const constraint = nodeAs(stmt.def, "Constraint");
  const on = `every table with a column of domain "${domain}"`;
  const report = (message: string, severity: "error" | "warning", name?: string) => {
    ctx.takesStrongLock(on);
    ctx.report("domain-constraint-scan", { domain, ...(name === undefined ? {} : { constraint: name }) }, {
      message: `${message}: ${RULES["domain-constraint-scan"].lock}`,
      hint: RULES["domain-constraint-scan"].alternative,
      severity,
    });
  };
  if (stmt.subtype === "C" && constraint?.contype === "CONSTR_CHECK" && constraint.skip_validation !== true) {
    report(`ADD CONSTRAINT${constraint.conname === undefined ? "" : ` ${constraint.conname}`} on domain "${domain}" without NOT VALID checks ${on}`, "error", constraint.conname);
  } else if ((stmt.subtype === "C" && constraint?.contype === "CONSTR_NOTNULL") || stmt.subtype === "O") {
    report(`NOT NULL on domain "${domain}" (which cannot be NOT VALID; CHECK (VALUE IS NOT NULL) NOT VALID can) checks ${on}`, "error", constraint?.conname);
  } else if (stmt.subtype === "V") {
    report(`VALIDATE CONSTRAINT ${stmt.name ?? ""} of domain "${domain}" scans ${on}; safe to leave for a quiet time, but not free`, "warning", stmt.name);
  }
}

/** `WHERE true`, `WHERE 1 = 1`: a WHERE that keeps every row. */
function alwaysTrue(node: Node | undefined): boolean {
  if (node === undefined) return true;
  if (nodeAs(node, "A_Const")?.boolval?.boolval === true) return true;
  const expr = nodeAs(node, "A_Expr");
  if (expr?.kind !== "AEXPR_OP" || dottedName(expr.name) !== "=") return false;
  const constant = (n: Node | undefined) => {
    const c = nodeAs(n, "A_Const");
    return c === undefined ? undefined : JSON.stringify({ ...c, location: 0 });
  };
  return constant(expr.lexpr) !== undefined && constant(expr.lexpr) === constant(expr.rexpr);
}

/** The tables a statement reads: every relation in it but the one an INSERT writes and what INTO creates. */
function tablesRead(node: unknown, skip: Set<unknown>): RangeVar[] {
  const found: RangeVar[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === "object" && value !== null) {
      if (skip.has(value)) return;
      const relation = (value as { RangeVar?: RangeVar }).RangeVar;
      if (relation !== undefined) {
        if (!skip.has(relation)) found.push(relation);
        return;
      }
      for (const key in value) visit((value as Record<string, unknown>)[key]);
    }
  };
  visit(node);
  return found;
}

/**
 * A query that reads a table this transaction altered holds the ALTER's lock while it
 * reads: a count(*) or a SELECT without WHERE scans the whole table under it.
 */
function scanInDdlTransaction(ctx: LintContext, node: Node): void {
  if (!ctx.inTransaction) return;
  const insert = nodeAs(node, "InsertStmt");
  const select = nodeAs(node, "SelectStmt") ?? nodeAs(insert?.selectStmt, "SelectStmt");
  if (select === undefined) return;
  const skip = new Set<unknown>([insert?.relation, select.intoClause?.rel]);
  const bounded = select.whereClause !== undefined || select.limitCount !== undefined;
  const reported = new Set<string>();
  for (const relation of tablesRead(select, skip)) {
    const table = relationName(relation);
    if (reported.has(table) || ctx.isNewTable(relation) || !ctx.wasAlteredInTransaction(table)) continue;
    reported.add(table);
    ctx.report("scan-in-ddl-transaction", { table }, {
      message: `this query reads "${table}" in the transaction that altered it${bounded ? "; a WHERE or LIMIT may keep it short, but" : ", scanning it, and"} ${RULES["scan-in-ddl-transaction"].lock.replace(/ \(a warning .*\)$/, "")}`,
      hint: RULES["scan-in-ddl-transaction"].alternative,
      location: relation.location,
      severity: bounded ? "warning" : "error",
    });
  }
}

function setVariable(ctx: LintContext, stmt: VariableSetStmt): void {
  const name = stmt.name?.toLowerCase();
  if (stmt.kind === "VAR_RESET_ALL") ctx.setLockTimeout(false, false);
  if (name !== "lock_timeout") return;
  if (stmt.kind === "VAR_SET_VALUE") {
    const value = nodeAs(stmt.args?.[0], "A_Const");
    const text = value?.sval?.sval ?? (value?.ival !== undefined ? String(value.ival.ival ?? 0) : undefined);
    // 0 (or '0') disables the timeout.
    ctx.setLockTimeout(text !== undefined && !/^\s*0+\s*(ms|s|min|h|d)?\s*$/i.test(text), stmt.is_local === true);
  } else if (stmt.kind === "VAR_SET_DEFAULT" || stmt.kind === "VAR_RESET") {
    ctx.setLockTimeout(false, stmt.is_local === true);
  }
}

/** `SELECT set_config('lock_timeout', '2s', false)` sets it too. */
function setConfigCall(ctx: LintContext, node: Node): void {
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === "object" && value !== null) {
      const call = (value as { FuncCall?: { funcname?: Node[]; args?: Node[] } }).FuncCall;
      if (call !== undefined && dottedName(call.funcname).replace(/^pg_catalog\./, "") === "set_config") {
        const [setting, text, local] = (call.args ?? []).map((a) => nodeAs(a, "A_Const"));
        if (setting?.sval?.sval?.toLowerCase() === "lock_timeout") {
          const on = text?.sval?.sval !== undefined && !/^\s*0+\s*(ms|s|min|h|d)?\s*$/i.test(text.sval.sval);
          ctx.setLockTimeout(on, local?.boolval?.boolval === true);
        }
      }
      for (const key in value) visit((value as Record<string, unknown>)[key]);
    }
  };
  visit(node);
}

function advisoryLocks(ctx: LintContext, node: Node): void {
  for (const name of new Set(functionsCalled(node).filter((f) => ADVISORY_LOCKS.has(f)))) {
    ctx.report("advisory-lock-no-op", { function: name }, {
      message: `${name}(): ${RULES["advisory-lock-no-op"].lock}`,
      hint: RULES["advisory-lock-no-op"].alternative,
    });
  }
}

/**
 * A DO block's statements are checked like the file's own (Drizzle Kit, for one, wraps
 * each foreign key in `DO $$ BEGIN ALTER TABLE ... EXCEPTION WHEN duplicate_object ...`).
 * The block runs as one statement, so its statements share one transaction.
 */
function doBlock(ctx: LintContext, stmt: DoStmt): void {
  const outer = ctx.statement;
  const inner = doBlockStatements(stmt, outer.text);
  if (inner === undefined) return;
  const saved = ctx.snapshot();
  const lines = outer.text.split("\n");
  // Outside a transaction block the DO statement is a transaction of its own; inside one (explicit or assumed) it is part of it.
  const wasInTransaction = ctx.inTransaction;
  if (!wasInTransaction) ctx.beginTransaction();
  try {
    for (const { query, lineno } of inner) {
      // PL/pgSQL counts lines from the body, which starts on the DO's first line.
      const lineIndex = Math.min(Math.max(lineno - 1, 0), lines.length - 1);
      const found = lines[lineIndex]!.indexOf(query.split("\n", 1)[0]!.trim());
      const origin = { line: outer.line + lineIndex, column: found === -1 ? 1 : found + 1 + (lineIndex === 0 ? outer.column - 1 : 0) };
      const map = new TextMap(query);
      let statements;
      try {
        statements = parseSql(query, map);
      } catch {
        continue;
      }
      for (const statement of statements) {
        ctx.beginStatement(statement, map, origin);
        checkStatement(ctx, statement.node);
      }
    }
  } finally {
    if (!wasInTransaction) ctx.endTransaction();
    ctx.restore(saved);
  }
}

/** Checks one statement, then learns what it did to the schema. */
export function checkStatement(ctx: LintContext, node: Node): void {
  checkOnly(ctx, node);
  learnStatement(ctx.knowledge, node, ctx.statement.text, { intoDoBlocks: false });
}

function checkOnly(ctx: LintContext, node: Node): void {
  switch (kindOf(node)) {
    case "TransactionStmt": {
      const stmt = nodeAs(node, "TransactionStmt")!;
      const kind = stmt.kind;
      if (kind === "TRANS_STMT_BEGIN" || kind === "TRANS_STMT_START") ctx.beginTransaction();
      else if (kind === "TRANS_STMT_COMMIT" || kind === "TRANS_STMT_ROLLBACK" || kind === "TRANS_STMT_COMMIT_PREPARED" || kind === "TRANS_STMT_PREPARE") {
        ctx.endTransaction({ chain: stmt.chain === true });
      }
      return;
    }
    case "VariableSetStmt":
      setVariable(ctx, nodeAs(node, "VariableSetStmt")!);
      return;
    case "SelectStmt":
      setConfigCall(ctx, node);
      advisoryLocks(ctx, node);
      scanInDdlTransaction(ctx, node);
      return;
    case "InsertStmt":
      scanInDdlTransaction(ctx, node);
      return;
    case "TruncateStmt":
      truncate(ctx, nodeAs(node, "TruncateStmt")!);
      return;
    case "AlterDomainStmt":
      alterDomain(ctx, nodeAs(node, "AlterDomainStmt")!);
      return;
    case "AlterEnumStmt": {
      const stmt = nodeAs(node, "AlterEnumStmt")!;
      const type = dottedName(stmt.typeName);
      if (stmt.oldVal === undefined || ctx.knowledge.isCreated("type", type.split(".").pop()!)) return;
      ctx.report("rename-enum-value", { type, value: stmt.oldVal, to: stmt.newVal ?? "?" }, {
        message: `renaming value '${stmt.oldVal}' of type "${type}" to '${stmt.newVal ?? ""}': ${RULES["rename-enum-value"].lock}`,
        hint: RULES["rename-enum-value"].alternative,
      });
      return;
    }
    case "CreateStmt": {
      const stmt = nodeAs(node, "CreateStmt")!;
      // Constraints written inside CREATE TABLE are checked for the target version only.
      for (const element of stmt.tableElts ?? []) {
        const constraints = [nodeAs(element, "Constraint"), ...(nodeAs(element, "ColumnDef")?.constraints ?? []).map((c) => nodeAs(c, "Constraint"))];
        for (const c of constraints) {
          if (c?.nulls_not_distinct && postgresLacks(ctx.target, "uniqueNullsNotDistinct")) {
            unsupported(ctx, "UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+)", "use a partial unique index, or raise --target", c.location);
          }
          if (c?.contype === "CONSTR_GENERATED" && c.generated_kind === "v" && postgresLacks(ctx.target, "virtualGeneratedColumns")) {
            unsupported(ctx, "VIRTUAL generated columns (PostgreSQL 18+)", "use GENERATED ALWAYS AS (...) STORED", c.location);
          }
        }
      }
      return;
    }
    case "CreateTableAsStmt":
      scanInDdlTransaction(ctx, nodeAs(node, "CreateTableAsStmt")!.query ?? node);
      return;
    case "AlterTableStmt":
      checkAlterTable(ctx, nodeAs(node, "AlterTableStmt")!);
      return;
    case "IndexStmt": {
      const stmt = nodeAs(node, "IndexStmt")!;
      createIndex(ctx, stmt);
      return;
    }
    case "DropStmt":
      drop(ctx, nodeAs(node, "DropStmt")!);
      return;
    case "RenameStmt":
      rename(ctx, nodeAs(node, "RenameStmt")!);
      return;
    case "ReindexStmt": {
      const stmt = nodeAs(node, "ReindexStmt")!;
      const target = stmt.relation !== undefined ? relationName(stmt.relation) : (stmt.name ?? "?");
      if (ctx.target.engine === "cockroachdb") {
        unsupported(ctx, "REINDEX", "CockroachDB maintains its indexes itself; drop the statement");
        return;
      }
      if (hasOption(stmt.params, "concurrently")) {
        if (ctx.inTransaction) {
          ctx.report("concurrently-in-transaction", { statement: "REINDEX" }, {
            message: `REINDEX CONCURRENTLY inside a transaction block: ${RULES["concurrently-in-transaction"].lock}`,
            hint: RULES["concurrently-in-transaction"].alternative,
          });
        }
        return;
      }
      ctx.takesStrongLock(target);
      ctx.report("reindex-without-concurrently", { target }, {
        message: `REINDEX ${target} without CONCURRENTLY: ${RULES["reindex-without-concurrently"].lock}`,
        hint: RULES["reindex-without-concurrently"].alternative,
      });
      return;
    }
    case "VacuumStmt": {
      const stmt = nodeAs(node, "VacuumStmt")!;
      if (stmt.is_vacuumcmd && ctx.inTransaction && ctx.target.engine === "postgres") {
        ctx.report("concurrently-in-transaction", { statement: "VACUUM" }, {
          message: `VACUUM inside a transaction block: ${RULES["concurrently-in-transaction"].lock}`,
          hint: RULES["concurrently-in-transaction"].alternative,
        });
      }
      if (!stmt.is_vacuumcmd || !hasOption(stmt.options, "full")) return;
      if (ctx.target.engine === "cockroachdb") {
        unsupported(ctx, "VACUUM", "CockroachDB garbage-collects old versions itself; drop the statement");
        return;
      }
      const tables = (stmt.rels ?? []).map((r) => nodeAs(r, "VacuumRelation")?.relation).filter((r) => !ctx.isNewTable(r));
      const names = stmt.rels === undefined || stmt.rels.length === 0 ? ["every table of the database"] : tables.map((r) => relationName(r));
      for (const table of names) {
        ctx.takesStrongLock(table);
        ctx.report("table-rewrite", { table, cause: "vacuum-full" }, {
          message: `VACUUM FULL rewrites ${table === "every table of the database" ? table : `"${table}"`}: ${RULES["table-rewrite"].lock}`,
          hint: "pg_repack or pg_squeeze rebuild a bloated table online; plain VACUUM needs no exclusive lock",
        });
      }
      return;
    }
    case "ClusterStmt": {
      const stmt = nodeAs(node, "ClusterStmt")!;
      if (ctx.target.engine !== "postgres") {
        unsupported(ctx, "CLUSTER", "drop the statement: the engine orders rows by primary key itself");
        return;
      }
      if (stmt.relation !== undefined && ctx.isNewTable(stmt.relation)) return;
      const table = stmt.relation === undefined ? "every clustered table" : relationName(stmt.relation);
      ctx.takesStrongLock(table);
      ctx.report("table-rewrite", { table, cause: "cluster" }, {
        message: `CLUSTER rewrites ${stmt.relation === undefined ? table : `"${table}"`} in index order: ${RULES["table-rewrite"].lock}`,
        hint: "pg_repack --order-by reorders a table online",
      });
      return;
    }
    case "LockStmt": {
      const stmt = nodeAs(node, "LockStmt")!;
      const mode = stmt.mode ?? 8;
      if (ctx.target.engine === "cockroachdb") {
        unsupported(ctx, "LOCK TABLE", "use SELECT ... FOR UPDATE on the rows involved");
        return;
      }
      for (const relation of (stmt.relations ?? []).map((r) => nodeAs(r, "RangeVar"))) {
        if (ctx.isNewTable(relation)) continue;
        const table = relationName(relation);
        ctx.takesStrongLock(table);
        ctx.report("lock-table", { table, mode: LOCK_MODES[mode] ?? String(mode) }, {
          message: `LOCK TABLE "${table}" IN ${LOCK_MODES[mode] ?? mode} MODE: ${mode >= BLOCKS_WRITES ? (mode === 8 ? "every read and write waits" : "every write waits") : "conflicts with schema changes and maintenance"} until the transaction ends`,
          hint: RULES["lock-table"].alternative,
          severity: mode >= BLOCKS_WRITES ? "error" : "warning",
          location: relation?.location,
        });
      }
      return;
    }
    case "RefreshMatViewStmt": {
      const stmt = nodeAs(node, "RefreshMatViewStmt")!;
      if (stmt.concurrent || ctx.isNewTable(stmt.relation) || stmt.skipData) return;
      const view = relationName(stmt.relation);
      ctx.report("refresh-matview-without-concurrently", { view }, {
        message: `REFRESH MATERIALIZED VIEW "${view}": ${RULES["refresh-matview-without-concurrently"].lock}`,
        hint: RULES["refresh-matview-without-concurrently"].alternative,
      });
      return;
    }
    case "UpdateStmt":
    case "DeleteStmt": {
      const stmt = (nodeAs(node, "UpdateStmt") ?? nodeAs(node, "DeleteStmt"))!;
      const relation = stmt.relation;
      const table = relationName(relation);
      const statement = kindOf(node) === "UpdateStmt" ? "UPDATE" : "DELETE";
      if (ctx.isNewTable(relation)) return;
      if (ctx.wasAlteredInTransaction(table)) {
        ctx.report("backfill-in-ddl-transaction", { table }, {
          message: `${statement} of "${table}" in the transaction that altered it: ${RULES["backfill-in-ddl-transaction"].lock}`,
          hint: RULES["backfill-in-ddl-transaction"].alternative,
        });
      } else if (alwaysTrue(stmt.whereClause)) {
        ctx.report("data-change-without-where", { table, statement }, {
          message: `${statement} of every row of "${table}" in one statement: ${RULES["data-change-without-where"].lock}`,
          hint: RULES["data-change-without-where"].alternative,
        });
      }
      return;
    }
    case "DoStmt":
      doBlock(ctx, nodeAs(node, "DoStmt")!);
      return;
    case "CreateTrigStmt": {
      const stmt = nodeAs(node, "CreateTrigStmt")!;
      if (!ctx.isNewTable(stmt.relation)) ctx.takesStrongLock(relationName(stmt.relation));
      return;
    }
    default:
      return;
  }
}
