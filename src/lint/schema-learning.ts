/**
 * What a statement tells about the schema once it has run: tables created, renamed and
 * dropped, columns added with their types and nullability, constraints added, validated
 * and dropped, indexes built. The linter learns from each statement after checking it;
 * convert learns from the earlier migrations and from each statement it translates.
 */
import type { AlterTableCmd, ColumnDef, Constraint, CreateStmt, IndexElem, Node, RangeVar, TypeName } from "libpg-query";

import { columnsIn, dottedName, kindOf, nodeAs, stringValue } from "./ast.js";
import { doBlockStatements } from "./plpgsql.js";
import type { ColumnFacts, ConstraintFacts, SchemaKnowledge, TableFacts } from "./schema-knowledge.js";
import { parseSql } from "./sql-parser.js";

/** serial and friends are an integer column with a sequence default, and NOT NULL. */
const SERIAL_BASES: Record<string, string> = {
  smallserial: "int2",
  serial2: "int2",
  serial: "int4",
  serial4: "int4",
  bigserial: "int8",
  serial8: "int8",
};

function constraintsOf(column: ColumnDef): Constraint[] {
  return (column.constraints ?? []).map((c) => nodeAs(c, "Constraint")).filter((c): c is Constraint => c !== undefined);
}

function strings(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => stringValue(n) ?? "");
}

/** The column a `col IS NOT NULL` expression proves not null, if that is all it says. */
export function notNullCheckColumn(expression: Node | undefined): string | undefined {
  const test = nodeAs(expression, "NullTest");
  if (test === undefined || test.nulltesttype !== "IS_NOT_NULL") return undefined;
  const columns = columnsIn(test.arg);
  return nodeAs(test.arg, "ColumnRef") !== undefined && columns.length === 1 ? columns[0] : undefined;
}

/** PostgreSQL's default name for a constraint or index: table_columns_suffix, cut to 63 bytes. */
export function defaultObjectName(table: string, columns: string[], suffix: string): string {
  const base = [table, ...columns].join("_");
  return `${base.slice(0, 63 - suffix.length - 1)}_${suffix}`;
}

/** A serial type as the integer type it stands for; any other type unchanged. */
function declaredType(type: TypeName | undefined): TypeName | undefined {
  const names = strings(type?.names);
  const base = SERIAL_BASES[names[names.length - 1]?.toLowerCase() ?? ""];
  if (type === undefined || base === undefined || names.length > 2) return type;
  return { ...type, names: [{ String: { sval: "pg_catalog" } }, { String: { sval: base } }] };
}

function isSerial(type: TypeName | undefined): boolean {
  const names = strings(type?.names);
  return names.length === 1 && SERIAL_BASES[names[0]!.toLowerCase()] !== undefined;
}

function addConstraintFacts(table: TableFacts, facts: ConstraintFacts): void {
  table.constraints.set(facts.name, facts);
}

/** A column definition (CREATE TABLE or ADD COLUMN): its facts and the constraints written on it. */
function learnColumn(k: SchemaKnowledge, table: TableFacts, def: ColumnDef): void {
  const name = def.colname;
  if (name === undefined) return;
  const constraints = constraintsOf(def);
  const identity = constraints.some((c) => c.contype === "CONSTR_IDENTITY");
  const generated = constraints.find((c) => c.contype === "CONSTR_GENERATED");
  const primary = constraints.find((c) => c.contype === "CONSTR_PRIMARY");
  const notNull =
    def.is_not_null === true || constraints.some((c) => c.contype === "CONSTR_NOTNULL") || primary !== undefined || identity || isSerial(def.typeName);
  const facts: ColumnFacts = {
    ...(def.typeName === undefined ? {} : { type: declaredType(def.typeName)! }),
    // A column the SQL defines is known either way, whatever else is known of its table.
    notNull,
    identity,
    generated: generated !== undefined,
  };
  table.columns.set(name, facts);
  if (generated !== undefined) table.generatedFrom.set(name, columnsIn(generated.raw_expr));
  for (const c of constraints) {
    switch (c.contype) {
      case "CONSTR_PRIMARY":
        table.primaryKey = [name];
        addConstraintFacts(table, { name: c.conname ?? `${table.name}_pkey`, kind: "primary", columns: [name], validated: true });
        k.addIndex(c.conname ?? `${table.name}_pkey`, table, [name], true);
        break;
      case "CONSTR_UNIQUE": {
        const constraint = c.conname ?? defaultObjectName(table.name, [name], "key");
        addConstraintFacts(table, { name: constraint, kind: "unique", columns: [name], validated: true });
        k.addIndex(constraint, table, [name], true);
        break;
      }
      case "CONSTR_CHECK": {
        const column = notNullCheckColumn(c.raw_expr);
        addConstraintFacts(table, {
          name: c.conname ?? defaultObjectName(table.name, [name], "check"),
          kind: "check",
          columns: columnsIn(c.raw_expr),
          ...(column === undefined ? {} : { notNullColumn: column }),
          validated: c.skip_validation !== true,
        });
        break;
      }
      default:
        break;
    }
  }
}

/** A table constraint (CREATE TABLE ... , CONSTRAINT ... or ALTER TABLE ... ADD CONSTRAINT). */
function learnConstraint(k: SchemaKnowledge, table: TableFacts, c: Constraint): void {
  const keys = strings(c.keys);
  switch (c.contype) {
    case "CONSTR_CHECK": {
      const column = notNullCheckColumn(c.raw_expr);
      addConstraintFacts(table, {
        name: c.conname ?? defaultObjectName(table.name, column === undefined ? [] : [column], "check"),
        kind: "check",
        columns: columnsIn(c.raw_expr),
        ...(column === undefined ? {} : { notNullColumn: column }),
        validated: c.skip_validation !== true,
      });
      break;
    }
    case "CONSTR_NOTNULL": {
      const column = keys[0];
      if (column === undefined) break;
      addConstraintFacts(table, { name: c.conname ?? defaultObjectName(table.name, [column], "not_null"), kind: "not-null", columns: [column], notNullColumn: column, validated: c.skip_validation !== true });
      if (c.skip_validation !== true) k.columnFor(table, column).notNull = true;
      break;
    }
    case "CONSTR_PRIMARY":
    case "CONSTR_UNIQUE": {
      const index = c.indexname === undefined ? undefined : k.index(c.indexname);
      const columns = c.indexname === undefined ? keys : index?.columns;
      const name = c.conname ?? c.indexname ?? defaultObjectName(table.name, c.contype === "CONSTR_PRIMARY" ? [] : keys, c.contype === "CONSTR_PRIMARY" ? "pkey" : "key");
      addConstraintFacts(table, { name, kind: c.contype === "CONSTR_PRIMARY" ? "primary" : "unique", columns: columns ?? [], validated: true });
      // USING INDEX renames the index to the constraint's name.
      if (c.indexname !== undefined) k.renameIndex(c.indexname, name);
      else k.addIndex(name, table, columns, true);
      if (c.contype === "CONSTR_PRIMARY") {
        table.primaryKey = columns;
        for (const column of columns ?? []) k.columnFor(table, column).notNull = true;
      }
      break;
    }
    case "CONSTR_EXCLUSION": {
      const columns = (c.exclusions ?? [])
        .map((pair) => nodeAs(nodeAs(pair, "List")?.items?.[0], "IndexElem"))
        .flatMap((element) => (element?.name !== undefined ? [element.name] : columnsIn(element?.expr)));
      addConstraintFacts(table, { name: c.conname ?? defaultObjectName(table.name, columns, "excl"), kind: "exclusion", columns, validated: true });
      break;
    }
    case "CONSTR_FOREIGN": {
      const columns = strings(c.fk_attrs);
      addConstraintFacts(table, { name: c.conname ?? defaultObjectName(table.name, columns, "fkey"), kind: "foreign", columns, validated: c.skip_validation !== true });
      break;
    }
    default:
      break;
  }
}

function learnCreateTable(k: SchemaKnowledge, stmt: CreateStmt): void {
  if (stmt.relation?.relname === undefined) return;
  const parents = (stmt.inhRelations ?? []).map((r) => k.table(nodeAs(r, "RangeVar")));
  const inheritsAll = parents.every((p) => p?.complete === true);
  const table = k.addTable(stmt.relation, { created: true, complete: inheritsAll, partitioned: stmt.partspec !== undefined });
  for (const parent of parents) {
    for (const [name, column] of parent?.columns ?? []) table.columns.set(name, { ...column });
  }
  for (const element of stmt.tableElts ?? []) {
    const column = nodeAs(element, "ColumnDef");
    if (column !== undefined) learnColumn(k, table, column);
    const constraint = nodeAs(element, "Constraint");
    if (constraint !== undefined) learnConstraint(k, table, constraint);
  }
}

function learnAlterTableCmd(k: SchemaKnowledge, table: TableFacts, cmd: AlterTableCmd): void {
  const column = cmd.name;
  switch (cmd.subtype) {
    case "AT_AddColumn": {
      const def = nodeAs(cmd.def, "ColumnDef");
      if (def !== undefined) learnColumn(k, table, def);
      break;
    }
    case "AT_DropColumn":
      if (column !== undefined) k.dropColumn(table, column);
      break;
    case "AT_AlterColumnType": {
      const type = nodeAs(cmd.def, "ColumnDef")?.typeName;
      if (column !== undefined && type !== undefined) k.columnFor(table, column).type = type;
      break;
    }
    case "AT_SetNotNull":
      if (column !== undefined) k.columnFor(table, column).notNull = true;
      break;
    case "AT_DropNotNull":
      if (column !== undefined) k.columnFor(table, column).notNull = false;
      break;
    case "AT_AddIdentity":
      if (column !== undefined) Object.assign(k.columnFor(table, column), { identity: true, notNull: true });
      break;
    case "AT_DropIdentity":
      if (column !== undefined) k.columnFor(table, column).identity = false;
      break;
    case "AT_DropExpression":
      if (column !== undefined) {
        k.columnFor(table, column).generated = false;
        table.generatedFrom.delete(column);
      }
      break;
    case "AT_AddConstraint": {
      const constraint = nodeAs(cmd.def, "Constraint");
      if (constraint !== undefined) learnConstraint(k, table, constraint);
      break;
    }
    case "AT_ValidateConstraint": {
      const constraint = column === undefined ? undefined : table.constraints.get(column);
      if (constraint === undefined) break;
      constraint.validated = true;
      if (constraint.kind === "not-null" && constraint.notNullColumn !== undefined) k.columnFor(table, constraint.notNullColumn).notNull = true;
      break;
    }
    case "AT_DropConstraint": {
      const constraint = column === undefined ? undefined : table.constraints.get(column);
      if (column !== undefined) table.constraints.delete(column);
      if (constraint?.kind === "primary") table.primaryKey = [];
      if (constraint?.kind === "primary" || constraint?.kind === "unique") k.dropIndex(constraint.name);
      break;
    }
    default:
      break;
  }
}

function indexColumns(elements: Node[] | undefined): string[] | undefined {
  const names = (elements ?? []).map((e) => nodeAs(e, "IndexElem")).map((e: IndexElem | undefined) => (e?.expr === undefined ? e?.name : undefined));
  return names.every((n): n is string => n !== undefined) ? names : undefined;
}

function relationOf(items: Node[] | undefined): Pick<RangeVar, "relname" | "schemaname"> {
  const parts = strings(items);
  return parts.length > 1 ? { schemaname: parts[parts.length - 2]!, relname: parts[parts.length - 1]! } : { relname: parts[0] };
}

/**
 * Updates what is known after a statement ran. `text` is the statement's text (for DO
 * blocks); with `intoDoBlocks: false` a DO block is skipped (the linter learns from its
 * statements one by one as it checks them).
 *
 * @example
 * learnStatement(knowledge, statement.node, statement.text);
 */
export function learnStatement(k: SchemaKnowledge, node: Node, text = "", options: { intoDoBlocks?: boolean } = {}): void {
  switch (kindOf(node)) {
    case "CreateStmt":
      learnCreateTable(k, nodeAs(node, "CreateStmt")!);
      return;
    case "CreateTableAsStmt": {
      const relation = nodeAs(node, "CreateTableAsStmt")!.into?.rel;
      if (relation?.relname !== undefined) k.addTable(relation, { created: true, complete: false });
      return;
    }
    case "SelectStmt": {
      const relation = nodeAs(node, "SelectStmt")!.intoClause?.rel;
      if (relation?.relname !== undefined) k.addTable(relation, { created: true, complete: false });
      return;
    }
    case "AlterTableStmt": {
      const stmt = nodeAs(node, "AlterTableStmt")!;
      if (stmt.relation?.relname === undefined || (stmt.objtype !== "OBJECT_TABLE" && stmt.objtype !== undefined)) return;
      const table = k.tableFor(stmt.relation);
      for (const cmd of stmt.cmds ?? []) {
        const alter = nodeAs(cmd, "AlterTableCmd");
        if (alter !== undefined) learnAlterTableCmd(k, table, alter);
      }
      return;
    }
    case "IndexStmt": {
      const stmt = nodeAs(node, "IndexStmt")!;
      if (stmt.relation?.relname === undefined) return;
      const table = k.tableFor(stmt.relation);
      const columns = indexColumns(stmt.indexParams);
      k.addIndex(stmt.idxname ?? defaultObjectName(table.name, columns ?? ["expr"], "idx"), table, columns, stmt.unique === true);
      return;
    }
    case "RenameStmt": {
      const stmt = nodeAs(node, "RenameStmt")!;
      if (stmt.newname === undefined) return;
      switch (stmt.renameType) {
        case "OBJECT_TABLE":
        case "OBJECT_MATVIEW":
          if (stmt.relation !== undefined) k.renameTable(stmt.relation, stmt.newname);
          return;
        case "OBJECT_COLUMN": {
          const table = k.table(stmt.relation);
          if (table !== undefined && stmt.subname !== undefined) k.renameColumn(table, stmt.subname, stmt.newname);
          return;
        }
        case "OBJECT_TABCONSTRAINT": {
          const table = k.table(stmt.relation);
          const constraint = stmt.subname === undefined ? undefined : table?.constraints.get(stmt.subname);
          if (table === undefined || constraint === undefined) return;
          table.constraints.delete(constraint.name);
          if (constraint.kind === "primary" || constraint.kind === "unique") k.renameIndex(constraint.name, stmt.newname);
          constraint.name = stmt.newname;
          table.constraints.set(constraint.name, constraint);
          return;
        }
        case "OBJECT_INDEX":
          if (stmt.relation?.relname !== undefined) k.renameIndex(stmt.relation.relname, stmt.newname);
          return;
        case "OBJECT_SCHEMA":
          if (stmt.subname !== undefined && k.isCreated("schema", stmt.subname)) {
            k.dropObject("schema", stmt.subname);
            k.createObject("schema", stmt.newname);
          }
          return;
        case "OBJECT_TYPE":
        case "OBJECT_DOMAIN": {
          const name = strings(nodeAs(stmt.object, "List")?.items).pop();
          if (name !== undefined && k.isCreated("type", name)) {
            k.dropObject("type", name);
            k.createObject("type", stmt.newname);
          }
          return;
        }
        default:
          return;
      }
    }
    case "DropStmt": {
      const stmt = nodeAs(node, "DropStmt")!;
      for (const object of stmt.objects ?? []) {
        const items = nodeAs(object, "List")?.items;
        switch (stmt.removeType) {
          case "OBJECT_TABLE":
          case "OBJECT_MATVIEW":
            k.dropTable(relationOf(items));
            break;
          case "OBJECT_INDEX":
            k.dropIndex(dottedName(items));
            break;
          case "OBJECT_SCHEMA": {
            const name = stringValue(object);
            if (name === undefined) break;
            k.dropObject("schema", name);
            if (stmt.behavior === "DROP_CASCADE") k.dropSchemaTables(name);
            break;
          }
          case "OBJECT_TYPE":
          case "OBJECT_DOMAIN": {
            const name = strings(nodeAs(object, "TypeName")?.names ?? items).pop();
            if (name !== undefined) k.dropObject("type", name);
            break;
          }
          default:
            break;
        }
      }
      return;
    }
    case "CreateSchemaStmt": {
      const stmt = nodeAs(node, "CreateSchemaStmt")!;
      if (stmt.schemaname !== undefined) k.createObject("schema", stmt.schemaname);
      for (const element of stmt.schemaElts ?? []) learnStatement(k, element, "", options);
      return;
    }
    case "CreateEnumStmt":
    case "CreateDomainStmt":
    case "CompositeTypeStmt":
    case "CreateRangeStmt": {
      const names =
        nodeAs(node, "CreateEnumStmt")?.typeName ??
        nodeAs(node, "CreateDomainStmt")?.domainname ??
        nodeAs(node, "CreateRangeStmt")?.typeName ??
        (nodeAs(node, "CompositeTypeStmt")?.typevar?.relname === undefined ? [] : [{ String: { sval: nodeAs(node, "CompositeTypeStmt")!.typevar!.relname! } }]);
      const name = strings(names).pop();
      if (name !== undefined) k.createObject("type", name);
      return;
    }
    case "DoStmt": {
      if (options.intoDoBlocks === false) return;
      for (const { query } of doBlockStatements(nodeAs(node, "DoStmt")!, text) ?? []) {
        let statements;
        try {
          statements = parseSql(query);
        } catch {
          continue;
        }
        for (const statement of statements) learnStatement(k, statement.node, statement.text, options);
      }
      return;
    }
    default:
      return;
  }
}
