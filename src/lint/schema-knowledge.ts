/**
 * What the SQL read so far says about the schema: the tables it created (nobody uses them
 * yet), the columns it knows NOT NULL or nullable, identity or generated, with their
 * declared types, the indexes and the constraints it added and validated. One instance
 * is shared by every file of a sequence of migrations, so each file sees what the earlier
 * ones did, and `underway convert` keeps one for the file it converts. Transactions and session
 * settings are not here: they end with each file (see LintContext).
 */
import type { RangeVar, TypeName } from "libpg-query";

export interface ColumnFacts {
  /** The declared type, when the SQL says it. */
  type?: TypeName;
  /** true: NOT NULL; false: nullable; undefined: not known. */
  notNull?: boolean;
  identity: boolean;
  generated: boolean;
}

/** A constraint the SQL added, remembered until it is dropped. */
export interface ConstraintFacts {
  name: string;
  kind: "check" | "not-null" | "primary" | "unique" | "exclusion" | "foreign";
  columns: string[];
  /** The column it proves NOT NULL: `CHECK (col IS NOT NULL)` or a NOT NULL constraint. */
  notNullColumn?: string;
  validated: boolean;
}

export interface TableFacts {
  name: string;
  /** The schema it was named with, if any. */
  schema?: string;
  /** Created by the SQL read (this file or an earlier one of the sequence): nobody uses it yet. */
  created: boolean;
  /** Every column is known: the SQL created the table. */
  complete: boolean;
  partitioned: boolean;
  columns: Map<string, ColumnFacts>;
  /** Primary key columns; undefined when not known, [] when known to have none. */
  primaryKey?: string[];
  /** Each generated column and the columns it is computed from. */
  generatedFrom: Map<string, string[]>;
  constraints: Map<string, ConstraintFacts>;
}

export interface IndexFacts {
  name: string;
  table: TableFacts;
  /** Column names in order, undefined when an entry is an expression. */
  columns?: string[];
  unique: boolean;
}

/** Names of other objects the SQL created (schemas, types and domains), without schema. */
type CreatedKind = "schema" | "type";

export class SchemaKnowledge {
  private readonly tables = new Map<string, TableFacts[]>();
  private readonly indexes = new Map<string, IndexFacts>();
  private readonly created = new Map<CreatedKind, Set<string>>([
    ["schema", new Set()],
    ["type", new Set()],
  ]);

  /**
   * The table a name refers to. An unqualified name matches a table of any schema (the
   * search path is not known), a qualified one a table of that schema or named without one.
   */
  table(relation: Pick<RangeVar, "relname" | "schemaname"> | undefined): TableFacts | undefined {
    if (relation?.relname === undefined) return undefined;
    const candidates = this.tables.get(relation.relname) ?? [];
    return candidates.find((t) => relation.schemaname === undefined || t.schema === undefined || t.schema === relation.schemaname);
  }

  /**
   * From here on the tables created so far are existing ones, whose columns stay known:
   * `underway convert` splits a file into several migrations, and a table an earlier one
   * created is, to underway, a table like any other.
   */
  treatCreatedAsExisting(): void {
    for (const tables of this.tables.values()) for (const table of tables) table.created = false;
  }

  /** The table's facts, made (as an existing table nothing is known about) when missing. */
  tableFor(relation: Pick<RangeVar, "relname" | "schemaname">): TableFacts {
    const known = this.table(relation);
    if (known !== undefined) return known;
    return this.addTable(relation, { created: false, complete: false });
  }

  /** Records a table, replacing one of the same name and schema. */
  addTable(relation: Pick<RangeVar, "relname" | "schemaname">, how: { created: boolean; complete: boolean; partitioned?: boolean }): TableFacts {
    const name = relation.relname!;
    this.dropTable(relation);
    const table: TableFacts = {
      name,
      ...(relation.schemaname === undefined ? {} : { schema: relation.schemaname }),
      created: how.created,
      complete: how.complete,
      partitioned: how.partitioned ?? false,
      columns: new Map(),
      generatedFrom: new Map(),
      constraints: new Map(),
      ...(how.complete ? { primaryKey: [] } : {}),
    };
    this.tables.set(name, [...(this.tables.get(name) ?? []), table]);
    return table;
  }

  dropTable(relation: Pick<RangeVar, "relname" | "schemaname">): void {
    const table = this.table(relation);
    if (table === undefined) return;
    this.tables.set(table.name, (this.tables.get(table.name) ?? []).filter((t) => t !== table));
    for (const [name, index] of this.indexes) if (index.table === table) this.indexes.delete(name);
  }

  renameTable(relation: Pick<RangeVar, "relname" | "schemaname">, to: string): void {
    const table = this.table(relation);
    if (table === undefined) return;
    this.tables.set(table.name, (this.tables.get(table.name) ?? []).filter((t) => t !== table));
    table.name = to;
    this.tables.set(to, [...(this.tables.get(to) ?? []), table]);
  }

  /** Forgets every table named with this schema (DROP SCHEMA ... CASCADE). */
  dropSchemaTables(schema: string): void {
    for (const [name, list] of this.tables) this.tables.set(name, list.filter((t) => t.schema !== schema));
  }

  // -- columns ---------------------------------------------------------------------------

  column(table: TableFacts | undefined, name: string): ColumnFacts | undefined {
    return table?.columns.get(name);
  }

  /** The column's facts, made (nothing known) when missing. */
  columnFor(table: TableFacts, name: string): ColumnFacts {
    let column = table.columns.get(name);
    if (column === undefined) {
      column = { identity: false, generated: false };
      table.columns.set(name, column);
    }
    return column;
  }

  /** Known NOT NULL, or proven so by a validated CHECK (col IS NOT NULL) or NOT NULL constraint. */
  isNotNull(table: TableFacts | undefined, column: string): boolean {
    if (table === undefined) return false;
    if (table.columns.get(column)?.notNull === true) return true;
    return [...table.constraints.values()].some((c) => c.validated && c.notNullColumn === column);
  }

  /** Proven NOT NULL by a validated constraint (what lets SET NOT NULL skip its scan from PostgreSQL 12). */
  hasNotNullProof(table: TableFacts | undefined, column: string): boolean {
    return table !== undefined && [...table.constraints.values()].some((c) => c.validated && c.notNullColumn === column);
  }

  renameColumn(table: TableFacts, from: string, to: string): void {
    const column = table.columns.get(from);
    if (column !== undefined) {
      table.columns.delete(from);
      table.columns.set(to, column);
    }
    const rename = (names: string[]) => names.map((n) => (n === from ? to : n));
    if (table.primaryKey !== undefined) table.primaryKey = rename(table.primaryKey);
    for (const [generated, sources] of table.generatedFrom) table.generatedFrom.set(generated === from ? to : generated, rename(sources));
    if (table.generatedFrom.has(from)) table.generatedFrom.delete(from);
    for (const constraint of table.constraints.values()) {
      constraint.columns = rename(constraint.columns);
      if (constraint.notNullColumn === from) constraint.notNullColumn = to;
    }
    for (const index of this.indexes.values()) if (index.table === table && index.columns !== undefined) index.columns = rename(index.columns);
  }

  dropColumn(table: TableFacts, name: string): void {
    table.columns.delete(name);
    table.generatedFrom.delete(name);
    if (table.primaryKey?.includes(name)) table.primaryKey = [];
    for (const [key, constraint] of table.constraints) if (constraint.columns.includes(name) || constraint.notNullColumn === name) table.constraints.delete(key);
    // PostgreSQL drops the indexes on a dropped column with it.
    for (const [key, index] of this.indexes) if (index.table === table && index.columns?.includes(name)) this.indexes.delete(key);
  }

  /** The exclusion constraint covering a column, if any. */
  exclusionOn(table: TableFacts | undefined, column: string): ConstraintFacts | undefined {
    return table === undefined ? undefined : [...table.constraints.values()].find((c) => c.kind === "exclusion" && c.columns.includes(column));
  }

  /** The generated columns computed from a column. */
  generatedFromColumn(table: TableFacts | undefined, column: string): string[] {
    if (table === undefined) return [];
    return [...table.generatedFrom].filter(([, sources]) => sources.includes(column)).map(([generated]) => generated);
  }

  // -- indexes ---------------------------------------------------------------------------

  private static indexKey(name: string): string {
    return name.split(".").pop()!;
  }

  addIndex(name: string, table: TableFacts, columns: string[] | undefined, unique: boolean): void {
    this.indexes.set(SchemaKnowledge.indexKey(name), { name: SchemaKnowledge.indexKey(name), table, ...(columns === undefined ? {} : { columns }), unique });
  }

  index(name: string): IndexFacts | undefined {
    return this.indexes.get(SchemaKnowledge.indexKey(name));
  }

  dropIndex(name: string): void {
    this.indexes.delete(SchemaKnowledge.indexKey(name));
  }

  renameIndex(name: string, to: string): void {
    const index = this.index(name);
    if (index === undefined) return;
    this.indexes.delete(SchemaKnowledge.indexKey(name));
    index.name = to;
    this.indexes.set(to, index);
  }

  /** Whether any index known on the table covers the column. */
  isIndexed(table: TableFacts, column: string): boolean {
    if (table.primaryKey?.includes(column)) return true;
    return [...this.indexes.values()].some((i) => i.table === table && (i.columns === undefined || i.columns.includes(column)));
  }

  // -- other objects ---------------------------------------------------------------------

  createObject(kind: CreatedKind, name: string): void {
    this.created.get(kind)!.add(name);
  }

  dropObject(kind: CreatedKind, name: string): void {
    this.created.get(kind)!.delete(name);
  }

  /** Created by the SQL read: a schema, or a type or domain (by its name without schema). */
  isCreated(kind: CreatedKind, name: string): boolean {
    return this.created.get(kind)!.has(name);
  }
}
