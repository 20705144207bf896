/**
 * What `underway start` refuses, or cannot run, among the operations the linter's hints and
 * `underway convert` recommend, so that neither recommends one that start would refuse.
 * Each check reads what the SQL shows of the table; when nothing is known
 * the operation is taken to be accepted. Kept in step with the engine:
 * - a column underway must copy (a type change, SET NOT NULL, and every column of a
 *   create_constraint) cannot be an identity or generated column, nor one a generated column
 *   is computed from, nor one an exclusion constraint covers (plan/operations/duplicate-columns.ts,
 *   and the dependents check that refuses to drop a generated column at complete);
 * - the copy's indexes are built with CREATE INDEX CONCURRENTLY, which PostgreSQL refuses on
 *   a partitioned table ("cannot create index on partitioned table concurrently"), as it
 *   refuses a NOT VALID foreign key on one before PostgreSQL 18;
 * - drop_column refuses a primary-key column (plan/operations/drop-column.ts).
 */
import type { SchemaKnowledge, TableFacts } from "./schema-knowledge.js";
import { postgresLacks, type Target } from "./target.js";

/** Why start would refuse an operation, and what to run instead. */
export interface Refusal {
  reason: string;
  instead: string;
}

function quoted(name: string): string {
  return `"${name}"`;
}

/**
 * Why underway cannot copy a column (alter_column with a type change, SET NOT NULL, a check,
 * a unique or a foreign key; create_constraint on it), if it cannot.
 */
export function copyRefusal(k: SchemaKnowledge, table: TableFacts | undefined, column: string, operation: string): Refusal | undefined {
  if (table === undefined || table.created) return undefined;
  const facts = table.columns.get(column);
  if (facts?.identity) {
    return {
      reason: `${quoted(column)} is an identity column, which underway cannot copy yet (start refuses ${operation} on it)`,
      instead: `change it in a maintenance window, or first make it a plain column with a sequence default (in one transaction: ALTER COLUMN ${column} DROP IDENTITY, CREATE SEQUENCE, setval() past max(${column}), ALTER COLUMN ${column} SET DEFAULT nextval(...)), which ${operation} then copies`,
    };
  }
  if (facts?.generated) {
    return {
      reason: `${quoted(column)} is a generated column, which underway cannot copy yet (start refuses ${operation} on it)`,
      instead: "drop it and add it back changed in a maintenance window (adding a stored generated column rewrites the table), or add a plain column filled by underway add_column with up and move the application to it",
    };
  }
  const generated = k.generatedFromColumn(table, column);
  if (generated.length > 0) {
    return {
      reason: `generated column ${generated.map(quoted).join(", ")} is computed from ${quoted(column)}, and underway cannot carry a generated column over to the copy (start refuses ${operation})`,
      instead: `drop ${generated.map(quoted).join(", ")} first (brief) and add it back afterwards (a rewrite), or make the change in a maintenance window`,
    };
  }
  const exclusion = k.exclusionOn(table, column);
  if (exclusion !== undefined) {
    return {
      reason: `exclusion constraint ${quoted(exclusion.name)} covers ${quoted(column)}, and underway cannot copy it yet (start refuses ${operation})`,
      instead: "drop the constraint, make the change, and add the constraint back (EXCLUDE has no USING INDEX form: its index is built under ACCESS EXCLUSIVE, so in a maintenance window)",
    };
  }
  if (table.partitioned && k.isIndexed(table, column)) {
    return {
      reason: `${quoted(table.name)} is partitioned and ${quoted(column)} is indexed: underway copies the column's indexes with CREATE INDEX CONCURRENTLY, which PostgreSQL refuses on a partitioned table`,
      instead: "make the change in a maintenance window, or build a new partitioned table and move the rows over in batches",
    };
  }
  return undefined;
}

/** Why CREATE INDEX CONCURRENTLY (underway create_index, or a unique create_constraint) fails on the table, if it does. */
export function concurrentIndexRefusal(table: TableFacts | undefined, unique: boolean): Refusal | undefined {
  if (table === undefined || table.created || !table.partitioned) return undefined;
  const name = table.name;
  return {
    reason: `${quoted(name)} is partitioned: PostgreSQL cannot build an index on it CONCURRENTLY (underway's create_index does)`,
    instead: unique
      ? `build it partition by partition: CREATE UNIQUE INDEX CONCURRENTLY on each partition and ALTER TABLE partition ADD CONSTRAINT ... UNIQUE USING INDEX there, then ALTER TABLE ${name} ADD CONSTRAINT ... UNIQUE (...), which attaches them without building`
      : `CREATE INDEX i ON ONLY ${name} (...) (brief; the index is invalid until every partition has one), then for each partition CREATE INDEX CONCURRENTLY and ALTER INDEX i ATTACH PARTITION`,
  };
}

/** Why a NOT VALID foreign key on the table (underway create_constraint type foreign_key) fails, if it does. */
export function notValidForeignKeyRefusal(table: TableFacts | undefined, target: Target): Refusal | undefined {
  if (table === undefined || table.created || !table.partitioned) return undefined;
  if (!postgresLacks(target, "notValidForeignKeyOnPartitioned")) return undefined;
  return {
    reason: `${quoted(table.name)} is partitioned: before PostgreSQL 18 a foreign key cannot be added to it NOT VALID (underway's create_constraint does)`,
    instead: `add the foreign key NOT VALID to each partition and VALIDATE it there, then ALTER TABLE ${table.name} ADD FOREIGN KEY (...), which attaches them without checking the rows again`,
  };
}

/** Why underway's drop_column refuses the column, if it does. */
export function dropColumnRefusal(table: TableFacts | undefined, column: string): Refusal | undefined {
  if (table === undefined || table.created || table.primaryKey?.includes(column) !== true) return undefined;
  return {
    reason: `${quoted(column)} is part of the primary key of ${quoted(table.name)}, which underway's drop_column refuses (dropping the key needs a rebuild of the table)`,
    instead: "stop using the column first, then drop it in plain SQL (brief ACCESS EXCLUSIVE; the primary key goes with it, and so does logical replication's default replica identity)",
  };
}

/** A hint whose `(underway: ...)` part names an operation start would refuse here: the SQL route stays, the reason is added. */
export function hintWithout(hint: string, refusal: Refusal | undefined): string {
  if (refusal === undefined) return hint;
  const sql = hint.replace(/\s*\(underway: [^)]*\)\s*$/, "");
  return `${sql} (not with underway here: ${refusal.reason}; ${refusal.instead})`;
}
