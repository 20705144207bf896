/**
 * ALTER TABLE, one subcommand at a time: which ones rewrite, scan under a strong lock,
 * build an index under the lock, or break the application that is still running.
 */
import type { AlterTableCmd, AlterTableStmt, ColumnDef, Constraint, Node } from "libpg-query";

import { columnsIn, nodeAs, relationName, typeBaseName, typeModifiers } from "../ast.js";
import { volatilityOf } from "../expression.js";
import type { TableRewriteCause } from "../finding.js";
import type { LintContext } from "../lint-context.js";
import { RULES } from "../rules.js";
import { formatTarget, postgresAtLeast } from "../target.js";

const SERIAL_TYPES = new Set(["smallserial", "serial", "bigserial", "serial2", "serial4", "serial8"]);

/**
 * Target types a column can change to without a rewrite when the old type is the right
 * one (varchar(n) -> varchar(m >= n) or text, numeric(p,s) -> numeric(q >= p, s), cidr ->
 * inet, timestamp -> timestamptz with the session in UTC, text -> citext). The old type is
 * not in the SQL, so these are warnings, not errors.
 */
const POSSIBLY_BINARY_COERCIBLE = new Set(["text", "varchar", "numeric", "inet", "timestamptz", "citext", "varbit"]);

function constraintsOf(column: ColumnDef): Constraint[] {
  return (column.constraints ?? []).map((c) => nodeAs(c, "Constraint")).filter((c): c is Constraint => c !== undefined);
}

/** The column a `col IS NOT NULL` expression proves not null, if that is all it says. */
export function notNullCheckColumn(expression: Node | undefined): string | undefined {
  const test = nodeAs(expression, "NullTest");
  if (test === undefined || test.nulltesttype !== "IS_NOT_NULL") return undefined;
  const columns = columnsIn(test.arg);
  return nodeAs(test.arg, "ColumnRef") !== undefined && columns.length === 1 ? columns[0] : undefined;
}

function lockTimeoutWorthy(cmd: AlterTableCmd): boolean {
  // VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE, which reads and writes do not wait for.
  return cmd.subtype !== "AT_ValidateConstraint";
}

export function checkAlterTable(ctx: LintContext, stmt: AlterTableStmt): void {
  const table = relationName(stmt.relation);
  const isNew = ctx.isNewTable(stmt.relation);
  const cmds = (stmt.cmds ?? []).map((c) => nodeAs(c, "AlterTableCmd")).filter((c): c is AlterTableCmd => c !== undefined);
  if (!isNew && cmds.some(lockTimeoutWorthy)) ctx.takesStrongLock(table);
  if (cmds.some((c) => c.subtype !== "AT_ValidateConstraint")) ctx.ddlInTransaction("ALTER TABLE");

  for (const cmd of cmds) {
    switch (cmd.subtype) {
      case "AT_AddColumn":
        addColumn(ctx, table, isNew, nodeAs(cmd.def, "ColumnDef"));
        break;
      case "AT_AlterColumnType":
        if (!isNew) alterColumnType(ctx, table, cmd.name ?? "?", nodeAs(cmd.def, "ColumnDef"));
        break;
      case "AT_SetNotNull":
        if (!isNew) setNotNull(ctx, table, cmd.name ?? "?", undefined);
        break;
      case "AT_AddConstraint": {
        const constraint = nodeAs(cmd.def, "Constraint");
        if (constraint !== undefined) addConstraint(ctx, table, isNew, constraint);
        break;
      }
      case "AT_ValidateConstraint": {
        const { sameTransaction } = ctx.validateConstraint(table, cmd.name);
        if (sameTransaction) {
          ctx.report("validate-in-same-transaction", { table, constraint: cmd.name ?? "?" }, {
            message: `VALIDATE CONSTRAINT ${cmd.name ?? ""} runs in the transaction that added it NOT VALID: ${RULES["validate-in-same-transaction"].lock}`,
            hint: RULES["validate-in-same-transaction"].alternative,
          });
        }
        break;
      }
      case "AT_DropColumn":
        if (!isNew) {
          ctx.report("drop-column", { table, columnName: cmd.name ?? "?" }, {
            message: `dropping column "${cmd.name ?? ""}" of "${table}": ${RULES["drop-column"].lock}`,
            hint: RULES["drop-column"].alternative,
          });
        }
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
        if (!postgresAtLeast(ctx.target, 17) && ctx.target.engine === "postgres") {
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

  if (generated?.generated_kind === "v" && !postgresAtLeast(ctx.target, 18) && ctx.target.engine === "postgres") {
    unsupported(ctx, "VIRTUAL generated columns (PostgreSQL 18+)", "use GENERATED ALWAYS AS (...) STORED, which rewrites the table, or a view", at);
  }
  for (const c of constraints) {
    if (c.nulls_not_distinct && !postgresAtLeast(ctx.target, 15) && ctx.target.engine === "postgres") {
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
    } else if (ctx.target.engine === "postgres" && ctx.target.major < 11) {
      ctx.report("table-rewrite", { table, cause: "column-default" }, {
        message: `before PostgreSQL 11 a column added with any default rewrites "${table}": ${RULES["table-rewrite"].lock}`,
        hint: "add the column without a default, then SET DEFAULT and backfill in batches (underway: add_column with up)",
        location: at,
      });
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

function alterColumnType(ctx: LintContext, table: string, column: string, def: ColumnDef | undefined): void {
  const type = typeBaseName(def?.typeName);
  const modifiers = typeModifiers(def?.typeName);
  const written = `${type}${modifiers && modifiers.length > 0 ? `(${modifiers.join(",")})` : ""}`;
  const using = def?.raw_default !== undefined;
  const maybeFree = !using && POSSIBLY_BINARY_COERCIBLE.has(type.toLowerCase());
  ctx.report("column-type-change", { table, columnName: column, type: written }, {
    message: maybeFree
      ? `changing "${column}" of "${table}" to ${written} rewrites the table under ACCESS EXCLUSIVE unless it only widens the old type (varchar(n) to varchar(m >= n) or text, numeric precision up with the same scale, cidr to inet, timestamp to timestamptz with TimeZone UTC); the old type is not in the file, so check it`
      : `changing "${column}" of "${table}" to ${written}${using ? " with USING" : ""}: ${RULES["column-type-change"].lock}`,
    hint: RULES["column-type-change"].alternative,
    location: def?.location,
    severity: maybeFree ? "warning" : "error",
  });
  if (!maybeFree) {
    ctx.report("rewrite-loses-writes", { table, cause: "column type change" }, {
      message: `changing the type of "${column}" rewrites "${table}": ${RULES["rewrite-loses-writes"].lock}`,
      hint: RULES["rewrite-loses-writes"].alternative,
      location: def?.location,
    });
  }
}

function setNotNull(ctx: LintContext, table: string, column: string, location: number | undefined): void {
  // From PostgreSQL 12 a validated CHECK (col IS NOT NULL) lets SET NOT NULL skip its scan.
  if (ctx.isNotNullProven(table, column) && (ctx.target.engine !== "postgres" || ctx.target.major >= 12)) return;
  const hint = postgresAtLeast(ctx.target, 18)
    ? `ADD CONSTRAINT c NOT NULL ${column} NOT VALID; then VALIDATE CONSTRAINT c in a later transaction (SHARE UPDATE EXCLUSIVE, PostgreSQL 18) (underway: alter_column nullable: false)`
    : ctx.target.engine === "postgres" && ctx.target.major < 12
      ? "before PostgreSQL 12 SET NOT NULL always scans; keep a CHECK (col IS NOT NULL) NOT VALID constraint instead, or use underway alter_column nullable: false"
      : RULES["set-not-null-scan"].alternative;
  ctx.report("set-not-null-scan", { table, columnName: column }, {
    message: `SET NOT NULL on "${table}"."${column}": ${RULES["set-not-null-scan"].lock}`,
    hint,
    location,
  });
}

function addConstraint(ctx: LintContext, table: string, isNew: boolean, c: Constraint): void {
  const name = c.conname;
  const label = name === undefined ? "" : ` ${name}`;
  if (c.nulls_not_distinct && !postgresAtLeast(ctx.target, 15) && ctx.target.engine === "postgres") {
    unsupported(ctx, "UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+)", "use a partial unique index, or raise --target", c.location);
  }
  switch (c.contype) {
    case "CONSTR_FOREIGN": {
      const references = relationName(c.pktable);
      if (c.skip_validation) ctx.addNotValidConstraint(table, name);
      else if (!isNew) {
        ctx.report("foreign-key-without-not-valid", { table, constraint: name, references }, {
          message: `FOREIGN KEY${label} on "${table}" references ${references} and is validated at once: ${RULES["foreign-key-without-not-valid"].lock}`,
          hint: RULES["foreign-key-without-not-valid"].alternative,
          location: c.location,
        });
      }
      break;
    }
    case "CONSTR_CHECK": {
      const column = notNullCheckColumn(c.raw_expr);
      if (c.skip_validation) ctx.addNotValidConstraint(table, name, column);
      else {
        if (column !== undefined) ctx.proveNotNull(table, column);
        if (!isNew) {
          ctx.report("check-without-not-valid", { table, constraint: name }, {
            message: `CHECK${label} on "${table}" is validated at once: ${RULES["check-without-not-valid"].lock}`,
            hint: RULES["check-without-not-valid"].alternative,
            location: c.location,
          });
        }
      }
      break;
    }
    case "CONSTR_NOTNULL": {
      const column = c.keys?.map((k) => nodeAs(k, "String")?.sval).find((k) => k !== undefined);
      if (ctx.target.engine === "postgres" && ctx.target.major < 18) {
        unsupported(ctx, "NOT NULL table constraints (ADD CONSTRAINT ... NOT NULL col, PostgreSQL 18+)", "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then ALTER COLUMN ... SET NOT NULL", c.location);
      }
      if (c.skip_validation) ctx.addNotValidConstraint(table, name, column);
      else if (column !== undefined) {
        if (!isNew) setNotNull(ctx, table, column, c.location);
        ctx.proveNotNull(table, column);
      }
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
      // USING INDEX adopts an index built beforehand (CONCURRENTLY): only a brief lock.
      if (c.indexname !== undefined || isNew) break;
      ctx.report("constraint-builds-index", { table, constraint: name, kind }, {
        message: `${kind.toUpperCase()}${label} on "${table}" builds its index inside ALTER TABLE: ${RULES["constraint-builds-index"].lock}`,
        hint: kind === "exclude" ? "there is no USING INDEX for EXCLUDE: build it in a maintenance window, or enforce the rule another way" : RULES["constraint-builds-index"].alternative,
        location: c.location,
      });
      break;
    }
    default:
      break;
  }
}
