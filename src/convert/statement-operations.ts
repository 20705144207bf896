/**
 * One SQL statement to the underway (pgroll-format) operations that make the same change
 * without long locks, or to a raw `sql` operation when there is no such translation.
 * Operations are objects in the file format (`{ rename_column: { ... } }`), typed with the
 * format's own input types, so a misspelt or missing field does not compile.
 */
import { createRequire } from "node:module";

import type { AlterTableCmd, AlterTableStmt, ColumnDef, Constraint, CreateStmt, IndexElem, IndexStmt, Node, RangeVar } from "libpg-query";

import type {
  AddColumnInput,
  ColumnInput,
  ColumnReferenceInput,
  CreateConstraintInput,
  CreateIndexInput,
  CreateTableInput,
  IndexColumnInput,
  OperationInput,
  TableConstraintInput,
  TableReferenceInput,
} from "../format/schema.js";
import { columnsIn, dottedName, kindOf, nodeAs, stringValue } from "../lint/ast.js";
import type { SchemaKnowledge } from "../lint/schema-knowledge.js";
import type { Target } from "../lint/target.js";
import { concurrentIndexRefusal, copyRefusal, dropColumnRefusal, notValidForeignKeyRefusal, type Refusal } from "../lint/underway-limits.js";

/** An operation as it appears in a migration file: one key, the operation's kind. */
export type FileOperation = OperationInput;

/** What (part of) a statement becomes; an ALTER TABLE can become several parts. */
export type Translation =
  /** Operations underway runs safely; `notes` say what to review. */
  | { kind: "operations"; operations: FileOperation[]; notes: string[] }
  /** Kept as SQL (`reason` says why); `sql` may differ from the input (CONCURRENTLY added). */
  | { kind: "raw"; sql: string; reason: string; transactional: boolean }
  /** Nothing to do in underway (transaction control, lock_timeout: underway manages them). */
  | { kind: "dropped"; reason: string };

/** What the converter knows about the file so far. */
export interface ConvertState {
  /** Tables created earlier in the file. */
  createdTables: Set<string>;
  /** Constraints (table\u0000name) that became create_constraint operations: underway validates them at complete. */
  convertedConstraints: Set<string>;
  /** What the file's statements so far say about the schema, as the linter learns it. */
  knowledge: SchemaKnowledge;
  target: Target;
}

class Untranslatable extends Error {}

const require = createRequire(import.meta.url);
let deparser: typeof import("pgsql-deparser") | undefined;

/** An operation `underway start` would refuse stays SQL, saying why and what to do instead. */
function refuse(refusal: Refusal | undefined): void {
  if (refusal !== undefined) throw new Untranslatable(`${refusal.reason}; ${refusal.instead}`);
}

/** Refuses when start could not copy one of the columns (alter_column and create_constraint copy them). */
function refuseCopy(state: ConvertState, table: string, columns: string[], operation: string): void {
  const facts = state.knowledge.table({ relname: table });
  for (const column of columns) refuse(copyRefusal(state.knowledge, facts, column, operation));
}

function deparse(node: Node): string {
  // Only convert deparses: pgsql-deparser (CommonJS) is required on first use, so importing
  // underway or linting never loads it.
  deparser ??= require("pgsql-deparser") as typeof import("pgsql-deparser");
  return deparser.deparseSync(node, { pretty: false });
}

function expression(node: Node | undefined): string {
  if (node === undefined) throw new Untranslatable("an expression is missing");
  return deparse(node);
}

function typeText(column: ColumnDef): string {
  if (column.typeName === undefined) throw new Untranslatable("a column without a type");
  return deparse({ TypeName: column.typeName });
}

/** A table name for an operation: underway's operations work in `--schema`, so only `public.` (or no schema) is taken. */
function tableName(relation: RangeVar | undefined): string {
  if (relation?.relname === undefined) throw new Untranslatable("no table name");
  if (relation.schemaname !== undefined && relation.schemaname !== "public") {
    throw new Untranslatable(`schema-qualified name ${relation.schemaname}.${relation.relname} (underway operations work in the --schema given at start)`);
  }
  return relation.relname;
}

const FK_ACTIONS: Record<string, string> = { a: "NO ACTION", r: "RESTRICT", c: "CASCADE", n: "SET NULL", d: "SET DEFAULT" };

function strings(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => stringValue(n) ?? "");
}

function constraintsOf(column: ColumnDef): Constraint[] {
  return (column.constraints ?? []).map((c) => nodeAs(c, "Constraint")).filter((c): c is Constraint => c !== undefined);
}

/** PostgreSQL's default index and constraint names: table_columns_suffix, cut to 63 bytes. */
function defaultName(table: string, columns: string[], suffix: string): string {
  const base = [table, ...columns].join("_");
  return `${base.slice(0, 63 - suffix.length - 1)}_${suffix}`;
}

/** A column definition in the file format (create_table columns, add_column column). */
function columnSpec(table: string, column: ColumnDef, where: "create_table" | "add_column"): ColumnInput {
  const name = column.colname;
  if (name === undefined) throw new Untranslatable("a column without a name");
  if (column.collClause !== undefined) throw new Untranslatable(`COLLATE on column "${name}"`);
  const spec: ColumnInput = { name, type: typeText(column) };
  let nullable = column.is_not_null !== true;
  for (const c of constraintsOf(column)) {
    switch (c.contype) {
      case "CONSTR_NOTNULL":
        nullable = false;
        break;
      case "CONSTR_NULL":
        nullable = true;
        break;
      case "CONSTR_DEFAULT":
        spec.default = expression(c.raw_expr);
        break;
      case "CONSTR_PRIMARY":
        if (where === "add_column") throw new Untranslatable(`PRIMARY KEY on added column "${name}" (add the column, then create_constraint type primary_key)`);
        spec.pk = true;
        nullable = false;
        break;
      case "CONSTR_UNIQUE":
        if (c.nulls_not_distinct) throw new Untranslatable("UNIQUE NULLS NOT DISTINCT on a column");
        spec.unique = true;
        break;
      case "CONSTR_CHECK":
        spec.check = { name: c.conname ?? defaultName(table, [name], "check"), constraint: expression(c.raw_expr) };
        break;
      case "CONSTR_FOREIGN": {
        const referenced = strings(c.pk_attrs);
        if (referenced.length !== 1) throw new Untranslatable(`REFERENCES without the referenced column on "${name}"`);
        const reference: ColumnReferenceInput = {
          name: c.conname ?? defaultName(table, [name], "fkey"),
          table: tableName(c.pktable),
          column: referenced[0]!,
        };
        if (c.fk_del_action !== undefined && c.fk_del_action !== "a") reference.on_delete = FK_ACTIONS[c.fk_del_action];
        if (c.fk_upd_action !== undefined && c.fk_upd_action !== "a") reference.on_update = FK_ACTIONS[c.fk_upd_action];
        if (c.fk_matchtype === "f") reference.match_type = "FULL";
        if (c.deferrable) reference.deferrable = true;
        if (c.initdeferred) reference.initially_deferred = true;
        spec.references = reference;
        break;
      }
      case "CONSTR_GENERATED":
        if (where === "add_column") throw new Untranslatable(`generated column "${name}" on an existing table`);
        if (c.generated_kind === "v") throw new Untranslatable(`VIRTUAL generated column "${name}"`);
        spec.generated = { expression: expression(c.raw_expr) };
        break;
      case "CONSTR_IDENTITY":
        if (where === "add_column") throw new Untranslatable(`identity column "${name}" on an existing table`);
        spec.generated = { identity: { user_specified_values: c.generated_when === "a" ? "ALWAYS" : "BY DEFAULT" } };
        break;
      default:
        throw new Untranslatable(`${c.contype ?? "a"} constraint on column "${name}"`);
    }
  }
  if (spec.generated !== undefined && spec.default !== undefined) throw new Untranslatable(`generated column "${name}" with a default`);
  // pgroll columns are NOT NULL unless they say nullable: true.
  spec.nullable = nullable;
  if (spec.pk === true) delete spec.nullable;
  return spec;
}

function referencesSpec(c: Constraint): TableReferenceInput {
  const columns = strings(c.pk_attrs);
  if (columns.length === 0) throw new Untranslatable("FOREIGN KEY without the referenced columns");
  const reference: TableReferenceInput = { table: tableName(c.pktable), columns };
  if (c.fk_del_action !== undefined && c.fk_del_action !== "a") reference.on_delete = FK_ACTIONS[c.fk_del_action];
  if (c.fk_upd_action !== undefined && c.fk_upd_action !== "a") reference.on_update = FK_ACTIONS[c.fk_upd_action];
  if (c.fk_matchtype === "f") reference.match_type = "FULL";
  return reference;
}

function createTable(stmt: CreateStmt, state: ConvertState): FileOperation[] {
  const table = tableName(stmt.relation);
  if (stmt.relation?.relpersistence !== undefined && stmt.relation.relpersistence !== "p") throw new Untranslatable("a TEMPORARY or UNLOGGED table");
  if (stmt.inhRelations !== undefined || stmt.partspec !== undefined || stmt.partbound !== undefined) throw new Untranslatable("inheritance or partitioning");
  if (stmt.options !== undefined || stmt.tablespacename !== undefined || stmt.accessMethod !== undefined || stmt.ofTypename !== undefined) {
    throw new Untranslatable("table options (WITH, TABLESPACE, USING, OF)");
  }
  const columns: ColumnInput[] = [];
  const constraints: TableConstraintInput[] = [];
  for (const element of stmt.tableElts ?? []) {
    const column = nodeAs(element, "ColumnDef");
    if (column !== undefined) {
      columns.push(columnSpec(table, column, "create_table"));
      continue;
    }
    const c = nodeAs(element, "Constraint");
    if (c === undefined) throw new Untranslatable(`${kindOf(element)} in CREATE TABLE`);
    const keys = strings(c.keys);
    switch (c.contype) {
      case "CONSTR_PRIMARY":
        if (c.indexname !== undefined) throw new Untranslatable("PRIMARY KEY USING INDEX");
        constraints.push({ name: c.conname ?? `${table}_pkey`, type: "primary_key", columns: keys });
        break;
      case "CONSTR_UNIQUE": {
        const unique: TableConstraintInput = { name: c.conname ?? defaultName(table, keys, "key"), type: "unique", columns: keys };
        if (c.nulls_not_distinct) unique.nulls_not_distinct = true;
        constraints.push(unique);
        break;
      }
      case "CONSTR_CHECK":
        constraints.push({ name: c.conname ?? defaultName(table, [], "check"), type: "check", check: expression(c.raw_expr) });
        break;
      case "CONSTR_FOREIGN": {
        const fkColumns = strings(c.fk_attrs);
        constraints.push({ name: c.conname ?? defaultName(table, fkColumns, "fkey"), type: "foreign_key", columns: fkColumns, references: referencesSpec(c) });
        break;
      }
      default:
        throw new Untranslatable(`${c.contype ?? "a"} table constraint`);
    }
  }
  if (columns.length === 0) throw new Untranslatable("a table without columns");
  state.createdTables.add(table);
  const operation: CreateTableInput = { name: table, columns };
  if (constraints.length > 0) operation.constraints = constraints;
  return [{ create_table: operation }];
}

function identityMap(columns: string[]): Record<string, string> {
  return Object.fromEntries(columns.map((c) => [c, c]));
}

/** The column a column subcommand (DROP COLUMN, SET NOT NULL, ...) names. */
function columnOf(cmd: AlterTableCmd): string {
  if (cmd.name === undefined) throw new Untranslatable(`ALTER TABLE ${String(cmd.subtype).replace(/^AT_/, "")} without a column`);
  return cmd.name;
}

/** One ALTER TABLE subcommand; `notes` collects what to review. */
function alterTableCommand(table: string, cmd: AlterTableCmd, state: ConvertState, notes: string[]): FileOperation[] {
  const column = cmd.name;
  switch (cmd.subtype) {
    case "AT_AddColumn": {
      const def = nodeAs(cmd.def, "ColumnDef");
      if (def === undefined) throw new Untranslatable("ADD COLUMN without a definition");
      const spec = columnSpec(table, def, "add_column");
      const operation: AddColumnInput = { table, column: spec };
      if (spec.nullable === false && spec.default === undefined && !/serial/i.test(spec.type)) {
        operation.up = "NULL";
        notes.push(`TODO add_column ${table}.${spec.name}: it is NOT NULL without a default; replace up: NULL with the value existing rows get, or complete fails on a non-empty table`);
      }
      return [{ add_column: operation }];
    }
    case "AT_DropColumn": {
      const column = columnOf(cmd);
      refuse(dropColumnRefusal(state.knowledge.table({ relname: table }), column));
      return [{ drop_column: { table, column } }];
    }
    case "AT_AlterColumnType": {
      const def = nodeAs(cmd.def, "ColumnDef");
      if (def === undefined || column === undefined) throw new Untranslatable("ALTER COLUMN TYPE without a type");
      refuseCopy(state, table, [column], "alter_column");
      const up = def.raw_default !== undefined ? expression(def.raw_default) : column;
      notes.push(`review alter_column ${table}.${column}: up converts old values (${up}); down (${column}) converts new values back to the old type, which the SQL does not name`);
      return [{ alter_column: { table, column, type: typeText(def), up, down: column } }];
    }
    case "AT_SetNotNull": {
      const column = columnOf(cmd);
      refuseCopy(state, table, [column], "alter_column");
      notes.push(`TODO alter_column ${table}.${column} nullable: false: rows where ${column} IS NULL need a value; write up as COALESCE(${column}, <value>) or complete fails`);
      return [{ alter_column: { table, column, nullable: false, up: column, down: column } }];
    }
    case "AT_DropNotNull":
      return [{ alter_column: { table, column: columnOf(cmd), nullable: true } }];
    case "AT_ColumnDefault":
      return [{ alter_column: { table, column: columnOf(cmd), default: cmd.def === undefined ? null : expression(cmd.def) } }];
    case "AT_AddConstraint": {
      const c = nodeAs(cmd.def, "Constraint");
      if (c === undefined) throw new Untranslatable("ADD CONSTRAINT without a constraint");
      return addConstraint(table, c, state);
    }
    case "AT_ValidateConstraint":
      if (cmd.name !== undefined && state.convertedConstraints.has(`${table}\u0000${cmd.name}`)) return [];
      throw new Untranslatable("VALIDATE CONSTRAINT of a constraint this file did not add (it takes only SHARE UPDATE EXCLUSIVE)");
    default:
      throw new Untranslatable(`ALTER TABLE ${String(cmd.subtype).replace(/^AT_/, "")}`);
  }
}

function addConstraint(table: string, c: Constraint, state: ConvertState): FileOperation[] {
  const base = (name: string, type: string, columns: string[]): CreateConstraintInput => {
    refuseCopy(state, table, columns, "create_constraint");
    state.convertedConstraints.add(`${table}\u0000${name}`);
    return { table, name, type, columns, up: identityMap(columns), down: identityMap(columns) };
  };
  switch (c.contype) {
    case "CONSTR_CHECK": {
      const columns = columnsIn(c.raw_expr);
      if (columns.length === 0) throw new Untranslatable("a CHECK that reads no column");
      const operation = base(c.conname ?? defaultName(table, [], "check"), "check", columns);
      operation.check = expression(c.raw_expr);
      if (c.is_no_inherit) operation.no_inherit = true;
      return [{ create_constraint: operation }];
    }
    case "CONSTR_FOREIGN": {
      const columns = strings(c.fk_attrs);
      refuse(notValidForeignKeyRefusal(state.knowledge.table({ relname: table }), state.target));
      const operation = base(c.conname ?? defaultName(table, columns, "fkey"), "foreign_key", columns);
      operation.references = referencesSpec(c);
      if (c.deferrable) operation.deferrable = true;
      if (c.initdeferred) operation.initially_deferred = true;
      return [{ create_constraint: operation }];
    }
    case "CONSTR_UNIQUE":
    case "CONSTR_PRIMARY": {
      if (c.indexname !== undefined) throw new Untranslatable(`${c.contype === "CONSTR_UNIQUE" ? "UNIQUE" : "PRIMARY KEY"} USING INDEX (already brief: it adopts an index built beforehand)`);
      const columns = strings(c.keys);
      refuse(concurrentIndexRefusal(state.knowledge.table({ relname: table }), true));
      const type = c.contype === "CONSTR_UNIQUE" ? "unique" : "primary_key";
      const operation = base(c.conname ?? (type === "unique" ? defaultName(table, columns, "key") : `${table}_pkey`), type, columns);
      if (c.nulls_not_distinct) operation.nulls_not_distinct = true;
      if (c.deferrable) operation.deferrable = true;
      if (c.initdeferred) operation.initially_deferred = true;
      return [{ create_constraint: operation }];
    }
    case "CONSTR_NOTNULL": {
      const column = strings(c.keys)[0];
      if (column === undefined) throw new Untranslatable("NOT NULL constraint without a column");
      refuseCopy(state, table, [column], "alter_column");
      return [{ alter_column: { table, column, nullable: false, up: column, down: column } }];
    }
    default:
      throw new Untranslatable(`ADD CONSTRAINT ${c.contype ?? ""}`);
  }
}

function indexColumn(element: IndexElem): IndexColumnInput {
  if (element.name === undefined || element.expr !== undefined) throw new Untranslatable("an expression index");
  const column: IndexColumnInput = { column: element.name };
  if (element.ordering === "SORTBY_DESC") column.sort = "DESC";
  if (element.ordering === "SORTBY_ASC") column.sort = "ASC";
  if (element.nulls_ordering === "SORTBY_NULLS_FIRST") column.nulls = "FIRST";
  if (element.nulls_ordering === "SORTBY_NULLS_LAST") column.nulls = "LAST";
  if (element.collation !== undefined) column.collate = dottedName(element.collation);
  if (element.opclass !== undefined) {
    column.opclass = { name: dottedName(element.opclass), params: [] };
    if (element.opclassopts !== undefined) throw new Untranslatable("operator class parameters");
  }
  return column;
}

function createIndex(stmt: IndexStmt): FileOperation[] {
  const table = tableName(stmt.relation);
  if (stmt.indexIncludingParams !== undefined) throw new Untranslatable("INCLUDE columns");
  if (stmt.tableSpace !== undefined) throw new Untranslatable("TABLESPACE");
  const params = (stmt.indexParams ?? []).map((p) => nodeAs(p, "IndexElem")).filter((p): p is IndexElem => p !== undefined);
  const columns = params.map(indexColumn);
  const operation: CreateIndexInput = {
    name: stmt.idxname ?? defaultName(table, params.map((p) => p.name ?? "expr"), "idx"),
    table,
    columns,
  };
  const method = stmt.accessMethod ?? "btree";
  if (!["btree", "hash", "gist", "spgist", "gin", "brin"].includes(method)) throw new Untranslatable(`index method ${method}`);
  if (method !== "btree") operation.method = method;
  if (stmt.unique) operation.unique = true;
  if (stmt.nulls_not_distinct) operation.nulls_not_distinct = true;
  if (stmt.whereClause !== undefined) operation.predicate = expression(stmt.whereClause);
  if (stmt.options !== undefined) {
    operation.storage_parameters = stmt.options
      .map((o) => nodeAs(o, "DefElem"))
      .map((d) => `${d?.defname ?? ""}=${d?.arg === undefined ? "true" : deparse(d.arg)}`)
      .join(", ");
  }
  return [{ create_index: operation }];
}

/** Statements that PostgreSQL refuses inside a transaction block. */
function needsOwnTransaction(node: Node): boolean {
  const index = nodeAs(node, "IndexStmt");
  if (index?.concurrent) return true;
  if (nodeAs(node, "DropStmt")?.concurrent) return true;
  const reindex = nodeAs(node, "ReindexStmt");
  if (reindex !== undefined) return (reindex.params ?? []).some((p) => nodeAs(p, "DefElem")?.defname === "concurrently");
  return ["VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt"].includes(kindOf(node));
}

/** A name a RENAME statement gives; the parser leaves none out, but its types allow it. */
function nameIn(name: string | undefined): string {
  if (name === undefined) throw new Untranslatable("RENAME without a name");
  return name;
}

function raw(sql: string, reason: string, node: Node): Translation {
  return { kind: "raw", sql, reason, transactional: !needsOwnTransaction(node) };
}

/** ALTER TABLE subcommand by subcommand: what has an operation becomes one, the rest stays SQL. */
function alterTable(stmt: AlterTableStmt, state: ConvertState): Translation[] {
  if (stmt.objtype !== "OBJECT_TABLE") throw new Untranslatable(`ALTER ${String(stmt.objtype).replace(/^OBJECT_/, "")}`);
  const table = tableName(stmt.relation);
  const parts: Translation[] = [];
  for (const cmd of stmt.cmds ?? []) {
    const alter = nodeAs(cmd, "AlterTableCmd");
    if (alter === undefined) continue;
    const notes: string[] = [];
    try {
      const operations = alterTableCommand(table, alter, state, notes);
      const last = parts[parts.length - 1];
      if (last?.kind === "operations") {
        last.operations.push(...operations);
        last.notes.push(...notes);
      } else parts.push({ kind: "operations", operations, notes });
    } catch (error) {
      if (!(error instanceof Untranslatable)) throw error;
      const single: Node = { AlterTableStmt: { ...stmt, cmds: [cmd] } };
      parts.push(raw(deparse(single), error.message, single));
    }
  }
  return parts;
}

/**
 * Translates one statement.
 *
 * @example
 * translateStatement(parsed.node, parsed.text, state);
 * // [{ kind: "operations", operations: [{ rename_column: { table: "users", from: "name", to: "full_name" } }], notes: [] }]
 */
export function translateStatement(node: Node, text: string, state: ConvertState): Translation[] {
  try {
    switch (kindOf(node)) {
      case "TransactionStmt":
        return [{ kind: "dropped", reason: "underway runs each step in its own transaction" }];
      case "VariableSetStmt": {
        const name = nodeAs(node, "VariableSetStmt")!.name?.toLowerCase();
        if (name === "lock_timeout" || name === "statement_timeout") return [{ kind: "dropped", reason: `underway sets ${name} on every step itself (--lock-timeout)` }];
        return [raw(text, "a session setting", node)];
      }
      case "CreateStmt":
        return [{ kind: "operations", operations: createTable(nodeAs(node, "CreateStmt")!, state), notes: [] }];
      case "IndexStmt": {
        const stmt = nodeAs(node, "IndexStmt")!;
        // PostgreSQL builds no index CONCURRENTLY on a partitioned table: neither create_index nor CONCURRENTLY SQL would run.
        const partitioned = concurrentIndexRefusal(state.knowledge.table(stmt.relation), stmt.unique === true);
        if (partitioned !== undefined) return [raw(text, `${partitioned.reason}; ${partitioned.instead}`, node)];
        try {
          return [{ kind: "operations", operations: createIndex(stmt), notes: [] }];
        } catch (error) {
          if (!(error instanceof Untranslatable)) throw error;
          // No create_index form, but it can still be built without blocking writes.
          const concurrent: Node = { IndexStmt: { ...stmt, concurrent: true } };
          return [raw(deparse(concurrent), `${error.message}: kept as SQL, built CONCURRENTLY`, concurrent)];
        }
      }
      case "AlterTableStmt":
        return alterTable(nodeAs(node, "AlterTableStmt")!, state);
      case "RenameStmt": {
        const stmt = nodeAs(node, "RenameStmt")!;
        if (stmt.renameType === "OBJECT_COLUMN" && stmt.relationType === "OBJECT_TABLE") {
          return [{ kind: "operations", operations: [{ rename_column: { table: tableName(stmt.relation), from: nameIn(stmt.subname), to: nameIn(stmt.newname) } }], notes: [] }];
        }
        if (stmt.renameType === "OBJECT_TABLE") {
          const from = tableName(stmt.relation);
          const to = nameIn(stmt.newname);
          if (state.createdTables.has(from)) state.createdTables.add(to);
          return [{ kind: "operations", operations: [{ rename_table: { from, to } }], notes: [] }];
        }
        if (stmt.renameType === "OBJECT_TABCONSTRAINT") {
          return [{ kind: "operations", operations: [{ rename_constraint: { table: tableName(stmt.relation), from: nameIn(stmt.subname), to: nameIn(stmt.newname) } }], notes: [] }];
        }
        throw new Untranslatable(`RENAME of ${String(stmt.renameType).replace(/^OBJECT_/, "").toLowerCase()}`);
      }
      case "DropStmt": {
        const stmt = nodeAs(node, "DropStmt")!;
        if (stmt.behavior === "DROP_CASCADE") throw new Untranslatable("DROP ... CASCADE");
        const names = (stmt.objects ?? []).map((o) => strings(nodeAs(o, "List")?.items));
        const bare = names.map((parts) => {
          if (parts.length > 2 || (parts.length === 2 && parts[0] !== "public")) throw new Untranslatable("a schema-qualified name");
          return parts[parts.length - 1]!;
        });
        if (stmt.removeType === "OBJECT_TABLE") return [{ kind: "operations", operations: bare.map((name) => ({ drop_table: { name } })), notes: [] }];
        if (stmt.removeType === "OBJECT_INDEX") return [{ kind: "operations", operations: bare.map((name) => ({ drop_index: { name } })), notes: [] }];
        throw new Untranslatable(`DROP ${String(stmt.removeType).replace(/^OBJECT_/, "")}`);
      }
      case "CommentStmt": {
        const stmt = nodeAs(node, "CommentStmt")!;
        if (stmt.objtype !== "OBJECT_COLUMN") throw new Untranslatable("COMMENT on something other than a column");
        const parts = strings(nodeAs(stmt.object, "List")?.items);
        if (parts.length !== 2 && !(parts.length === 3 && parts[0] === "public")) throw new Untranslatable("COMMENT ON COLUMN with a schema");
        const [table, column] = parts.slice(-2) as [string, string];
        return [{ kind: "operations", operations: [{ alter_column: { table, column, comment: stmt.comment ?? null } }], notes: [] }];
      }
      default:
        throw new Untranslatable(`${kindOf(node)} has no underway operation`);
    }
  } catch (error) {
    if (error instanceof Untranslatable) return [raw(text, error.message, node)];
    throw error;
  }
}
