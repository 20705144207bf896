/**
 * ALTER TABLE, one subcommand at a time: which ones rewrite, scan under a strong lock,
 * build an index under the lock, or break the application that is still running.
 */
import type { AlterTableCmd, AlterTableStmt, ColumnDef, Constraint, RangeVar } from "libpg-query";

import { columnsIn, nodeAs, relationName, typeBaseName, typeText } from "../ast.js";
import { volatilityOf } from "../expression.js";
import type { TableRewriteCause } from "../finding.js";
import type { LintContext } from "../lint-context.js";
import { RULES } from "../rules.js";
import { defaultObjectName, notNullCheckColumn } from "../schema-learning.js";
import { formatTarget, postgresLacks, targetProfile } from "../target.js";
import { typeChangeVerdict, usingIsImplicitCast } from "../type-change.js";
import { concurrentIndexRefusal, copyRefusal, dropColumnRefusal, hintWithout, notValidForeignKeyRefusal } from "../underway-limits.js";

const SERIAL_TYPES = new Set(["smallserial", "serial", "bigserial", "serial2", "serial4", "serial8"]);

function constraintsOf(column: ColumnDef): Constraint[] {
  return (column.constraints ?? []).map((c) => nodeAs(c, "Constraint")).filter((c): c is Constraint => c !== undefined);
}

/**
 * Subcommands whose lock is no stronger than the SHARE UPDATE EXCLUSIVE of VALIDATE
 * CONSTRAINT (ALTER TABLE, Notes: each subcommand's lock level): reads and writes go on.
 */
const WEAK_SUBCOMMANDS = new Set([
  "AT_ValidateConstraint",
  "AT_SetStatistics",
  "AT_SetOptions",
  "AT_ResetOptions",
  "AT_SetRelOptions",
  "AT_ResetRelOptions",
  "AT_ClusterOn",
  "AT_DropCluster",
  "AT_DetachPartitionFinalize",
]);

function takesStrongLock(cmd: AlterTableCmd): boolean {
  if (cmd.subtype === "AT_DetachPartition") return nodeAs(cmd.def, "PartitionCmd")?.concurrent !== true;
  // ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE on the partitioned table (ACCESS EXCLUSIVE on the partition).
  return !WEAK_SUBCOMMANDS.has(cmd.subtype ?? "") && cmd.subtype !== "AT_AttachPartition";
}

export function checkAlterTable(ctx: LintContext, stmt: AlterTableStmt): void {
  const table = relationName(stmt.relation);
  const isNew = ctx.isNewTable(stmt.relation);
  const cmds = (stmt.cmds ?? []).map((c) => nodeAs(c, "AlterTableCmd")).filter((c): c is AlterTableCmd => c !== undefined);
  // Whether the open transaction already holds a strong lock on the table, before this statement takes its own.
  const heldBefore = ctx.wasAlteredInTransaction(table);
  const strong = cmds.filter(takesStrongLock);
  if (!isNew && strong.length > 0) ctx.takesStrongLock(table);
  if (cmds.some((c) => c.subtype !== "AT_ValidateConstraint")) ctx.ddlInTransaction("ALTER TABLE");

  for (const cmd of cmds) {
    switch (cmd.subtype) {
      case "AT_AddColumn":
        addColumn(ctx, table, isNew, nodeAs(cmd.def, "ColumnDef"));
        break;
      case "AT_AlterColumnType":
        if (!isNew) alterColumnType(ctx, stmt.relation, cmd.name ?? "?", nodeAs(cmd.def, "ColumnDef"));
        break;
      case "AT_SetNotNull":
        if (!isNew) setNotNull(ctx, stmt.relation, cmd.name ?? "?", undefined);
        break;
      case "AT_AddConstraint": {
        const constraint = nodeAs(cmd.def, "Constraint");
        if (constraint !== undefined) addConstraint(ctx, stmt.relation, isNew, constraint);
        break;
      }
      case "AT_ValidateConstraint":
        validateConstraint(ctx, stmt.relation, cmd, { heldBefore, otherSubcommands: strong.length > 0 });
        break;
      case "AT_DropColumn":
        if (!isNew) {
          const column = cmd.name ?? "?";
          ctx.report("drop-column", { table, columnName: column }, {
            message: `dropping column "${column}" of "${table}": ${RULES["drop-column"].lock}`,
            hint: refusalHint(RULES["drop-column"].alternative, dropColumnRefusal(ctx.table(stmt.relation), column)),
          });
        }
        break;
      case "AT_DetachPartition":
        if (!isNew) detachPartition(ctx, table, nodeAs(cmd.def, "PartitionCmd")?.name, nodeAs(cmd.def, "PartitionCmd")?.concurrent === true);
        break;
      case "AT_SetTableSpace":
        if (!isNew) rewrite(ctx, table, "set-tablespace", `SET TABLESPACE moves every block of ${stmt.objtype === "OBJECT_INDEX" ? "index" : "table"} "${table}"`);
        break;
      case "AT_SetLogged":
      case "AT_SetUnLogged":
        if (!isNew) rewrite(ctx, table, cmd.subtype === "AT_SetLogged" ? "set-logged" : "set-unlogged", `${cmd.subtype === "AT_SetLogged" ? "SET LOGGED" : "SET UNLOGGED"} rewrites "${table}"`);
        break;
      case "AT_SetAccessMethod":
        if (!isNew) rewrite(ctx, table, "set-access-method", `SET ACCESS METHOD rewrites "${table}"`);
        break;
      case "AT_SetExpression":
        if (postgresLacks(ctx.target, "setExpression")) {
          unsupported(ctx, "ALTER COLUMN ... SET EXPRESSION (PostgreSQL 17+)", "drop the generated column and add it again");
        } else if (!isNew) {
          rewrite(ctx, table, "set-expression", `SET EXPRESSION recomputes stored column "${cmd.name ?? ""}" for every row of "${table}"`);
        }
        break;
      default:
        break;
    }
  }
}

function rewrite(ctx: LintContext, table: string, cause: TableRewriteCause, what: string, location?: number): void {
  ctx.report("table-rewrite", { table, cause }, {
    message: `${what}: ${RULES["table-rewrite"].lock}`,
    hint: RULES["table-rewrite"].alternative,
    location,
  });
  ctx.report("rewrite-loses-writes", { table, cause }, {
    message: `${what}: ${RULES["rewrite-loses-writes"].lock}`,
    hint: RULES["rewrite-loses-writes"].alternative,
    location,
  });
}

export function unsupported(ctx: LintContext, feature: string, instead: string, location?: number): void {
  ctx.report("unsupported-by-target", { target: formatTarget(ctx.target), feature }, {
    message: `${formatTarget(ctx.target)} does not support ${feature}`,
    hint: instead,
    location,
  });
}

function addColumn(ctx: LintContext, table: string, isNew: boolean, column: ColumnDef | undefined): void {
  if (column === undefined) return;
  const name = column.colname ?? "?";
  const constraints = constraintsOf(column);
  const at = column.location;
  const generated = constraints.find((c) => c.contype === "CONSTR_GENERATED");
  const identity = constraints.find((c) => c.contype === "CONSTR_IDENTITY");
  const defaultExpression = constraints.find((c) => c.contype === "CONSTR_DEFAULT")?.raw_expr ?? column.raw_default;
  const serial = SERIAL_TYPES.has(typeBaseName(column.typeName).toLowerCase());

  if (generated?.generated_kind === "v" && postgresLacks(ctx.target, "virtualGeneratedColumns")) {
    unsupported(ctx, "VIRTUAL generated columns (PostgreSQL 18+)", "use GENERATED ALWAYS AS (...) STORED, which rewrites the table, or a view", at);
  }
  for (const c of constraints) {
    if (c.nulls_not_distinct && postgresLacks(ctx.target, "uniqueNullsNotDistinct")) {
      unsupported(ctx, "UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+)", "use a partial unique index, or raise --target", c.location);
    }
  }
  if (isNew) return;

  if (generated !== undefined && generated.generated_kind !== "v") {
    ctx.report("stored-generated-column", { table, columnName: name }, {
      message: `adding stored generated column "${name}" to "${table}": ${RULES["stored-generated-column"].lock}`,
      hint: RULES["stored-generated-column"].alternative,
      location: at,
    });
    ctx.report("rewrite-loses-writes", { table, cause: "stored generated column" }, {
      message: `adding stored generated column "${name}" rewrites "${table}": ${RULES["rewrite-loses-writes"].lock}`,
      hint: RULES["rewrite-loses-writes"].alternative,
      location: at,
    });
  }
  if (serial || identity !== undefined) {
    const what = serial ? `${typeBaseName(column.typeName)} column` : "identity column";
    ctx.report("serial-or-identity-column", { table, columnName: name }, {
      message: `adding ${what} "${name}" to "${table}" fills every existing row from a sequence: ${RULES["serial-or-identity-column"].lock}`,
      hint: RULES["serial-or-identity-column"].alternative,
      location: at,
    });
    ctx.report("rewrite-loses-writes", { table, cause: what }, {
      message: `adding ${what} "${name}" rewrites "${table}": ${RULES["rewrite-loses-writes"].lock}`,
      hint: RULES["rewrite-loses-writes"].alternative,
      location: at,
    });
  }
  if (defaultExpression !== undefined && nodeAs(defaultExpression, "A_Const")?.isnull !== true) {
    const { volatility, functions } = volatilityOf(defaultExpression);
    if (volatility !== "non-volatile") {
      const calls = functions.map((f) => `${f}()`).join(", ");
      ctx.report("volatile-default", { table, columnName: name, functions }, {
        message:
          volatility === "volatile"
            ? `column "${name}" gets a volatile default (${calls}), evaluated for every existing row of "${table}": ${RULES["volatile-default"].lock}`
            : `column "${name}" gets a default calling ${calls}; if that function is VOLATILE every existing row of "${table}" is rewritten under ACCESS EXCLUSIVE (IMMUTABLE and STABLE are fine)`,
        hint: RULES["volatile-default"].alternative,
        location: at,
        severity: volatility === "volatile" ? "error" : "warning",
      });
      if (volatility === "volatile") {
        ctx.report("rewrite-loses-writes", { table, cause: "volatile default" }, {
          message: `a volatile default rewrites "${table}": ${RULES["rewrite-loses-writes"].lock}`,
          hint: RULES["rewrite-loses-writes"].alternative,
          location: at,
        });
      }
    }
  }
  const notNull = column.is_not_null === true || constraints.some((c) => c.contype === "CONSTR_NOTNULL");
  if (notNull && defaultExpression === undefined && !serial && identity === undefined && generated === undefined) {
    ctx.report("not-null-column-without-default", { table, columnName: name }, {
      message: `column "${name}" is added NOT NULL without a default: ${RULES["not-null-column-without-default"].lock}`,
      hint: RULES["not-null-column-without-default"].alternative,
      location: at,
    });
  }
  for (const c of constraints) {
    if (c.contype === "CONSTR_PRIMARY" || c.contype === "CONSTR_UNIQUE") {
      const kind = c.contype === "CONSTR_PRIMARY" ? "primary key" : "unique";
      ctx.report("constraint-builds-index", { table, kind }, {
        message: `${kind.toUpperCase()} on new column "${name}" builds its index inside ALTER TABLE: ${RULES["constraint-builds-index"].lock}`,
        hint: `add the column, then ${RULES["constraint-builds-index"].alternative}`,
        location: c.location,
      });
      if (c.contype === "CONSTR_PRIMARY") {
        ctx.report("rewrite-loses-writes", { table, cause: "primary key change" }, {
          message: `changing the primary key rewrites "${table}" (YugabyteDB stores rows by primary key): ${RULES["rewrite-loses-writes"].lock}`,
          hint: RULES["rewrite-loses-writes"].alternative,
          location: c.location,
        });
      }
    } else if (c.contype === "CONSTR_FOREIGN") {
      const references = relationName(c.pktable);
      ctx.report("foreign-key-without-not-valid", { table, references }, {
        message: `REFERENCES ${references} on new column "${name}" checks every row of "${table}": ${RULES["foreign-key-without-not-valid"].lock}`,
        hint: `add the column without REFERENCES, then ${RULES["foreign-key-without-not-valid"].alternative}`,
        location: c.location,
      });
    } else if (c.contype === "CONSTR_CHECK") {
      ctx.report("check-without-not-valid", { table }, {
        message: `CHECK on new column "${name}" checks every row of "${table}": ${RULES["check-without-not-valid"].lock}`,
        hint: `add the column without CHECK, then ${RULES["check-without-not-valid"].alternative}`,
        location: c.location,
      });
    }
  }
}

/** A hint naming an underway operation start would refuse here: the reason and what to do instead. */
function refusalHint(hint: string, refusal: { reason: string; instead: string } | undefined): string {
  return refusal === undefined ? hint : `${refusal.instead} (${refusal.reason})`;
}

function alterColumnType(ctx: LintContext, relation: RangeVar | undefined, column: string, def: ColumnDef | undefined): void {
  const table = relationName(relation);
  if (def?.typeName === undefined) return;
  const written = typeText(def.typeName);
  const facts = ctx.table(relation);
  const old = facts?.columns.get(column)?.type;
  // A USING that only casts the column to the new type converts as no USING would (Django writes one for every change).
  const plainCast = usingIsImplicitCast(def.raw_default, column, def.typeName);
  const verdict = plainCast ? typeChangeVerdict(old, def.typeName) : "rewrite";
  if (verdict === "no-rewrite") return;
  const from = old === undefined ? "" : ` from ${typeText(old)}`;
  const hint = refusalHint(RULES["column-type-change"].alternative, copyRefusal(ctx.knowledge, facts, column, "alter_column"));
  if (verdict === "maybe-no-rewrite" || verdict === "no-rewrite-in-utc") {
    ctx.report("column-type-change", { table, columnName: column, type: written }, {
      message:
        verdict === "no-rewrite-in-utc"
          ? `changing "${column}" of "${table}"${from} to ${written} rewrites the table under ACCESS EXCLUSIVE unless the session's TimeZone is UTC (PostgreSQL 12+); the running application also sees the new type at once`
          : `changing "${column}" of "${table}" to ${written} rewrites the table under ACCESS EXCLUSIVE unless it only widens the old type (varchar(n) to varchar(m >= n) or text, numeric precision up with the same scale, timestamp, time or interval precision up, cidr to inet, timestamp to timestamptz with TimeZone UTC); the old type is not in the files linted, so check it`,
      hint,
      location: def.location,
      severity: "warning",
    });
    return;
  }
  ctx.report("column-type-change", { table, columnName: column, type: written }, {
    message: `changing "${column}" of "${table}"${from} to ${written}${plainCast ? "" : " with USING"}: ${RULES["column-type-change"].lock}`,
    hint,
    location: def.location,
  });
  ctx.report("rewrite-loses-writes", { table, cause: "column type change" }, {
    message: `changing the type of "${column}" rewrites "${table}": ${RULES["rewrite-loses-writes"].lock}`,
    hint: RULES["rewrite-loses-writes"].alternative,
    location: def.location,
  });
}

/** What makes SET NOT NULL skip its scan, for the hints: the CHECK route, or PostgreSQL 18's NOT NULL NOT VALID. */
function notNullRoute(ctx: LintContext, column: string): string {
  if (targetProfile(ctx.target).notNullConstraints) {
    return `ADD CONSTRAINT c NOT NULL ${column} NOT VALID; then VALIDATE CONSTRAINT c in a later transaction (SHARE UPDATE EXCLUSIVE, PostgreSQL 18) (underway: alter_column nullable: false)`;
  }
  return RULES["set-not-null-scan"].alternative;
}

/** Whether SET NOT NULL of the column would not scan: it is NOT NULL already, or a validated check proves it (PostgreSQL 12+, so every supported target). */
function notNullWithoutScan(ctx: LintContext, relation: RangeVar | undefined, column: string): boolean {
  const facts = ctx.table(relation);
  if (facts?.columns.get(column)?.notNull === true) return true;
  return ctx.knowledge.hasNotNullProof(facts, column);
}

function setNotNull(ctx: LintContext, relation: RangeVar | undefined, column: string, location: number | undefined): void {
  if (notNullWithoutScan(ctx, relation, column)) return;
  const table = relationName(relation);
  ctx.report("set-not-null-scan", { table, columnName: column }, {
    message: `SET NOT NULL on "${table}"."${column}": ${RULES["set-not-null-scan"].lock}`,
    hint: hintWithout(notNullRoute(ctx, column), copyRefusal(ctx.knowledge, ctx.table(relation), column, "alter_column")),
    location,
  });
}

/**
 * PRIMARY KEY USING INDEX sets every key column NOT NULL, and that scans the table under
 * the ACCESS EXCLUSIVE lock unless the column is NOT NULL already or a validated CHECK
 * (col IS NOT NULL) proves it (index_check_primary_key, then SET NOT NULL).
 */
function primaryKeyUsingIndex(ctx: LintContext, relation: RangeVar | undefined, c: Constraint): void {
  const table = relationName(relation);
  const indexName = c.indexname!;
  const index = ctx.knowledge.index(indexName);
  const hint = (column: string) =>
    `first ADD CONSTRAINT c CHECK (${column} IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; SET NOT NULL (no scan), then ADD PRIMARY KEY USING INDEX ${indexName}, which then only takes a brief lock`;
  if (index?.columns === undefined) {
    ctx.report("set-not-null-scan", { table, columnName: "?", index: indexName }, {
      message: `PRIMARY KEY USING INDEX ${indexName} sets each of its columns NOT NULL; index ${indexName} is not created in the files linted, so its columns are not known to be NOT NULL: ${RULES["set-not-null-scan"].lock} for each nullable one`,
      hint: hint("col"),
      location: c.location,
    });
    return;
  }
  for (const column of index.columns) {
    if (notNullWithoutScan(ctx, relation, column)) continue;
    ctx.report("set-not-null-scan", { table, columnName: column, index: indexName }, {
      message: `PRIMARY KEY USING INDEX ${indexName} sets "${table}"."${column}" NOT NULL, and nothing earlier shows it NOT NULL: ${RULES["set-not-null-scan"].lock}`,
      hint: hint(column),
      location: c.location,
    });
  }
}

function validateConstraint(ctx: LintContext, relation: RangeVar | undefined, cmd: AlterTableCmd, held: { heldBefore: boolean; otherSubcommands: boolean }): void {
  if (ctx.isNewTable(relation)) return;
  const table = relationName(relation);
  const name = cmd.name ?? "?";
  const cause = ctx.wasAddedInTransaction(relation, cmd.name)
    ? "added-in-transaction"
    : held.otherSubcommands
      ? "same-statement"
      : held.heldBefore
        ? "altered-in-transaction"
        : undefined;
  if (cause === undefined) return;
  const why = {
    "added-in-transaction": "runs in the transaction that added it NOT VALID",
    "same-statement": "shares its ALTER TABLE with subcommands that take a stronger lock, so it scans under theirs",
    "altered-in-transaction": `runs in a transaction that already holds a strong lock on "${table}" from an earlier statement`,
  }[cause];
  ctx.report("validate-in-same-transaction", { table, constraint: name, cause }, {
    message: `VALIDATE CONSTRAINT ${name} ${why}: ${RULES["validate-in-same-transaction"].lock}`,
    hint: RULES["validate-in-same-transaction"].alternative,
  });
}

function detachPartition(ctx: LintContext, table: string, partition: RangeVar | undefined, concurrent: boolean): void {
  const name = relationName(partition);
  if (concurrent) {
    if (ctx.inTransaction) {
      ctx.report("concurrently-in-transaction", { statement: "DETACH PARTITION" }, {
        message: `DETACH PARTITION ${name} CONCURRENTLY inside a transaction block: ${RULES["concurrently-in-transaction"].lock}`,
        hint: RULES["concurrently-in-transaction"].alternative,
        location: partition?.location,
      });
    }
    return;
  }
  ctx.report("detach-partition-without-concurrently", { table, partition: name }, {
    message: `DETACH PARTITION ${name} from "${table}" without CONCURRENTLY: ${RULES["detach-partition-without-concurrently"].lock}`,
    hint: RULES["detach-partition-without-concurrently"].alternative,
    location: partition?.location,
  });
}

/** The first reason start would refuse to copy one of the columns (create_constraint copies each). */
function firstCopyRefusal(ctx: LintContext, relation: RangeVar | undefined, columns: string[]) {
  const facts = ctx.table(relation);
  for (const column of columns) {
    const refusal = copyRefusal(ctx.knowledge, facts, column, "create_constraint");
    if (refusal !== undefined) return refusal;
  }
  return undefined;
}

function stringsOf(nodes: Constraint["keys"]): string[] {
  return (nodes ?? []).map((k) => nodeAs(k, "String")?.sval).filter((k): k is string => k !== undefined);
}

function addConstraint(ctx: LintContext, relation: RangeVar | undefined, isNew: boolean, c: Constraint): void {
  const table = relationName(relation);
  const name = c.conname;
  const label = name === undefined ? "" : ` ${name}`;
  if (c.nulls_not_distinct && postgresLacks(ctx.target, "uniqueNullsNotDistinct")) {
    unsupported(ctx, "UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+)", "use a partial unique index, or raise --target", c.location);
  }
  const facts = ctx.table(relation);
  switch (c.contype) {
    case "CONSTR_FOREIGN": {
      const references = relationName(c.pktable);
      const columns = stringsOf(c.fk_attrs);
      const partitionedRefusal = isNew ? undefined : notValidForeignKeyRefusal(facts, ctx.target);
      if (c.skip_validation) {
        ctx.addedNotValid(relation, name ?? defaultObjectName(relation?.relname ?? "", columns, "fkey"));
        if (partitionedRefusal !== undefined) {
          unsupported(ctx, "NOT VALID foreign keys on a partitioned table (PostgreSQL 18+)", partitionedRefusal.instead, c.location);
        }
      } else if (!isNew) {
        ctx.report("foreign-key-without-not-valid", { table, constraint: name, references }, {
          message: `FOREIGN KEY${label} on "${table}" references ${references} and is validated at once: ${RULES["foreign-key-without-not-valid"].lock}`,
          hint: partitionedRefusal !== undefined ? refusalHint("", partitionedRefusal) : hintWithout(RULES["foreign-key-without-not-valid"].alternative, firstCopyRefusal(ctx, relation, columns)),
          location: c.location,
        });
      }
      break;
    }
    case "CONSTR_CHECK": {
      const column = notNullCheckColumn(c.raw_expr);
      if (c.skip_validation) ctx.addedNotValid(relation, name ?? defaultObjectName(relation?.relname ?? "", column === undefined ? [] : [column], "check"));
      else if (!isNew) {
        ctx.report("check-without-not-valid", { table, constraint: name }, {
          message: `CHECK${label} on "${table}" is validated at once: ${RULES["check-without-not-valid"].lock}`,
          hint: hintWithout(RULES["check-without-not-valid"].alternative, firstCopyRefusal(ctx, relation, columnsIn(c.raw_expr))),
          location: c.location,
        });
      }
      break;
    }
    case "CONSTR_NOTNULL": {
      const column = stringsOf(c.keys)[0];
      if (postgresLacks(ctx.target, "notNullConstraints")) {
        unsupported(ctx, "NOT NULL table constraints (ADD CONSTRAINT ... NOT NULL col, PostgreSQL 18+)", "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then ALTER COLUMN ... SET NOT NULL", c.location);
      }
      if (c.skip_validation) ctx.addedNotValid(relation, name ?? defaultObjectName(relation?.relname ?? "", column === undefined ? [] : [column], "not_null"));
      else if (column !== undefined && !isNew) setNotNull(ctx, relation, column, c.location);
      break;
    }
    case "CONSTR_PRIMARY":
    case "CONSTR_UNIQUE":
    case "CONSTR_EXCLUSION": {
      const kind = c.contype === "CONSTR_PRIMARY" ? "primary key" : c.contype === "CONSTR_UNIQUE" ? "unique" : "exclude";
      if (c.contype === "CONSTR_PRIMARY" && !isNew) {
        ctx.report("rewrite-loses-writes", { table, cause: "primary key change" }, {
          message: `adding a primary key rewrites "${table}" (YugabyteDB stores rows by primary key): ${RULES["rewrite-loses-writes"].lock}`,
          hint: RULES["rewrite-loses-writes"].alternative,
          location: c.location,
        });
      }
      if (isNew) break;
      // USING INDEX adopts an index built beforehand (CONCURRENTLY): only a brief lock, unless a primary key must first set its columns NOT NULL.
      if (c.indexname !== undefined) {
        if (c.contype === "CONSTR_PRIMARY") primaryKeyUsingIndex(ctx, relation, c);
        break;
      }
      const keys = stringsOf(c.keys);
      let hint: string;
      if (kind === "exclude") hint = "there is no USING INDEX for EXCLUDE: build it in a maintenance window, or enforce the rule another way";
      else {
        const partitioned = concurrentIndexRefusal(facts, true);
        hint = partitioned !== undefined ? refusalHint("", partitioned) : hintWithout(RULES["constraint-builds-index"].alternative, firstCopyRefusal(ctx, relation, keys));
        const nullable = kind === "primary key" ? keys.filter((k) => !notNullWithoutScan(ctx, relation, k)) : [];
        if (nullable.length > 0 && partitioned === undefined) {
          hint = `${hint}; make ${nullable.map((k) => `"${k}"`).join(", ")} NOT NULL first (CHECK (... IS NOT NULL) NOT VALID, VALIDATE, SET NOT NULL), or PRIMARY KEY USING INDEX scans the table to set it`;
        }
      }
      ctx.report("constraint-builds-index", { table, constraint: name, kind }, {
        message: `${kind.toUpperCase()}${label} on "${table}" builds its index inside ALTER TABLE: ${RULES["constraint-builds-index"].lock}`,
        hint,
        location: c.location,
      });
      break;
    }
    default:
      break;
  }
}
