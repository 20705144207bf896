/**
 * How one version of the application sees the physical tables. Stored in the plan;
 * the views are derived from it and the live catalog when the step runs, so tables
 * made by a `sql` operation earlier in the same migration get their views too.
 */
export interface VersionMapping {
  /** Tables whose shape this migration changes, by physical name. */
  tables: Record<string, TableMapping>;
  /** Physical tables this version does not see (dropped at complete). */
  hiddenTables: string[];
}

export interface TableMapping {
  /** The table's logical name in this version. */
  name: string;
  /** Exactly the columns this version sees, in order. */
  columns: ColumnMapping[];
}

export interface ColumnMapping {
  physical: string;
  name: string;
  /** The view's default for the column (an expression); absent or null: none. */
  default?: string | null;
  comment?: string | null;
}

/** Prefix of every physical name underway makes; such columns are never shown to a version unless mapped. */
export const TEMP_PREFIX = "_uw_";
