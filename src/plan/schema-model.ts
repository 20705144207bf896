/**
 * The logical shape of one schema as one version of the application sees it: tables
 * and columns by their logical names, each mapped to the physical object behind it.
 * The old version is read from the catalog; the planner derives the new version by
 * applying each operation to a copy.
 */
export interface ColumnModel {
  /** The name clients of this version use. */
  name: string;
  /** The column in the physical table. Differs from `name` while a change is in flight. */
  physical: string;
  type: string;
  nullable: boolean;
  /** Default expression, or null. */
  default: string | null;
  comment: string | null;
  identity: boolean;
  generated: boolean;
  /**
   * A default that only this version's view carries, so a default-only change needs no
   * duplicate column: `undefined` means "as the table", `null` means "no default".
   */
  viewDefault?: string | null;
  /** A comment that only this version's view carries. */
  viewComment?: string | null;
}

export interface IndexModel {
  name: string;
  /** Physical column names, in order; empty entries for expressions. */
  columns: string[];
  unique: boolean;
  primary: boolean;
  /** pg_get_indexdef(), for recreating the index on a duplicated column. */
  definition: string;
  /** The constraint this index backs (unique or primary key), if any. */
  constraint: string | null;
}

export interface ConstraintModel {
  name: string;
  /** pg_constraint.contype: p, u, c, f, x. */
  type: "p" | "u" | "c" | "f" | "x";
  columns: string[];
  /** pg_get_constraintdef(). */
  definition: string;
  validated: boolean;
}

export interface TableModel {
  name: string;
  physical: string;
  columns: ColumnModel[];
  /** Physical names of the primary key columns. */
  primaryKey: string[];
  indexes: IndexModel[];
  constraints: ConstraintModel[];
  comment: string | null;
  /** NOTHING, DEFAULT, FULL or `INDEX name`. */
  replicaIdentity?: string;
  /** Created by the migration being planned: it has no old version to keep in step. */
  createdHere?: boolean;
  /** The user's triggers on the table (not constraint triggers). */
  triggers?: TriggerModel[];
  /**
   * Attribute numbers the table has used (pg_class.relnatts): every column ever added,
   * dropped ones too, since PostgreSQL never reuses them. A table holds at most 1600.
   */
  attributes?: number;
}

export interface TriggerModel {
  name: string;
  /** BEFORE (or INSTEAD OF) rather than AFTER. */
  before: boolean;
  /** FOR EACH ROW rather than FOR EACH STATEMENT. */
  row: boolean;
  events: ("INSERT" | "UPDATE" | "DELETE" | "TRUNCATE")[];
  enabled: boolean;
}

export interface SchemaModel {
  schema: string;
  /** Keyed by logical table name. */
  tables: Map<string, TableModel>;
  /** Enum types in the schema: name to labels. */
  enums: Map<string, string[]>;
}

export function cloneSchema(model: SchemaModel): SchemaModel {
  return structuredClone(model);
}

export function findColumn(table: TableModel, name: string): ColumnModel | undefined {
  return table.columns.find((c) => c.name === name);
}
