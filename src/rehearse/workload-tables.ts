/**
 * Which tables the rehearsal's workload writes, and how each version of the application
 * names them. A table qualifies when it has a primary key and a "witness" column the
 * migration does not rewrite or drop (no key, unique index, foreign key or check
 * constraint on it either): a number the clients add deltas to, or else text they set.
 */
import type { Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";
import type { MigrationPlan } from "../plan/step.js";
import type { VersionMapping } from "../plan/version-mapping.js";
import type { TableView, WitnessKind } from "../harness/ledger.js";

export interface WorkloadTable {
  schema: string;
  table: string;
  /** Physical primary key columns. */
  key: string[];
  /** Physical witness column. */
  witness: string;
  witnessKind: WitnessKind;
  /** Physical columns an insert copies from a template row; empty when the table takes no inserts. */
  insertColumns: string[];
  /** Every physical column when the workload began. */
  columns: string[];
}

/** One version of the application: the schema it reads and writes through. */
export interface AppVersion {
  label: "old" | "new";
  /** Its version schema, or null for the base schema itself (no migration made one yet). */
  versionSchema: string | null;
  /** How the version renames tables and columns (the new version's, from the plan). */
  mapping?: VersionMapping;
}

export interface SkippedTable {
  table: string;
  reason: string;
}

const NUMERIC_TYPES = new Set(["smallint", "integer", "bigint", "numeric"]);
const TEXT_TYPES = new Set(["text", "character varying"]);

/**
 * The tables of `schema` the workload can audit, given the migration about to run.
 *
 * @example
 * const { tables, skipped } = await chooseWorkloadTables(client, "public", await migrator.plan(file));
 */
export async function chooseWorkloadTables(
  client: Client,
  schema: string,
  plan: MigrationPlan | null,
): Promise<{ tables: WorkloadTable[]; skipped: SkippedTable[] }> {
  const { rows } = await client.query<{
    table: string;
    key: string[] | null;
    columns: { name: string; type: string; generated: boolean; constrained: boolean; has_default: boolean; not_null: boolean }[];
    other_unique: boolean;
  }>(
    `SELECT c.relname::text AS table,
            (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i
               CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
              WHERE i.indrelid = c.oid AND i.indisprimary) AS key,
            (SELECT json_agg(json_build_object(
                      'name', a.attname, 'type', format_type(a.atttypid, NULL),
                      'generated', a.attgenerated <> '' OR a.attidentity = 'a',
                      'constrained', EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND a.attnum = ANY (k.conkey))
                                  OR EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND a.attnum = ANY (i.indkey)),
                      'has_default', a.atthasdef OR a.attidentity <> '',
                      'not_null', a.attnotnull) ORDER BY a.attnum)
               FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND NOT i.indisprimary) AS other_unique
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE '\\_uw\\_%'
      ORDER BY c.relname`,
    [schema],
  );
  const newVersion = plan ? newVersionMapping(plan) : undefined;
  const tables: WorkloadTable[] = [];
  const skipped: SkippedTable[] = [];
  for (const row of rows) {
    if (!row.key) {
      skipped.push({ table: row.table, reason: "no primary key" });
      continue;
    }
    const touched = touchedColumns(plan, newVersion, row.table, row.columns.map((c) => c.name));
    if (touched === "hidden") {
      skipped.push({ table: row.table, reason: "the migration drops it" });
      continue;
    }
    const candidates = row.columns.filter((c) => !c.generated && !c.constrained && !touched.has(c.name) && !c.name.startsWith("_uw_"));
    const witness = candidates.find((c) => NUMERIC_TYPES.has(c.type)) ?? candidates.find((c) => TEXT_TYPES.has(c.type));
    if (!witness) {
      skipped.push({ table: row.table, reason: "no integer or text column (free of constraints) that the migration neither rewrites nor drops, to audit writes with" });
      continue;
    }
    // Inserts copy a template row with a new key, so the key must fill itself and nothing else may be unique.
    const keyColumn = row.key.length === 1 ? row.columns.find((c) => c.name === row.key![0]) : undefined;
    const insertable = keyColumn?.has_default === true && !row.other_unique;
    tables.push({
      schema,
      table: row.table,
      key: row.key,
      witness: witness.name,
      witnessKind: NUMERIC_TYPES.has(witness.type) ? "delta" : "token",
      insertColumns: insertable
        ? row.columns.filter((c) => !c.generated && !row.key!.includes(c.name) && !c.name.startsWith("_uw_")).map((c) => c.name)
        : [],
      columns: row.columns.map((c) => c.name),
    });
  }
  return { tables, skipped };
}

/** The mapping of the version schema the plan's start creates. */
export function newVersionMapping(plan: MigrationPlan): { versionSchema: string; mapping: VersionMapping } | undefined {
  for (const step of plan.start) {
    if (step.kind === "version_schema") return { versionSchema: step.versionSchema, mapping: step.mapping };
  }
  return undefined;
}

/**
 * Columns the migration rewrites or drops; "hidden" when the new version does not see the
 * table. A renamed column stays a good witness: each version reaches it by its own name.
 */
function touchedColumns(
  plan: MigrationPlan | null,
  newVersion: { mapping: VersionMapping } | undefined,
  table: string,
  columns: string[],
): Set<string> | "hidden" {
  const touched = new Set<string>();
  if (!plan) return touched;
  for (const dual of plan.dualWrite) {
    if (dual.table !== table) continue;
    for (const pair of dual.pairs) touched.add(pair.old).add(pair.new);
  }
  if (newVersion) {
    if (newVersion.mapping.hiddenTables.includes(table)) return "hidden";
    const mapped = newVersion.mapping.tables[table];
    if (mapped) {
      const seen = new Set(mapped.columns.map((c) => c.physical));
      for (const column of columns) {
        if (!seen.has(column)) touched.add(column);
      }
    }
  }
  return touched;
}

/**
 * How `version` names a workload table: its view (or the table, for the base schema),
 * key and witness under the version's names. Null when the version does not see the table
 * or one of those columns.
 */
export function tableView(t: WorkloadTable, version: AppVersion): TableView | null {
  const relationSchema = version.versionSchema ?? t.schema;
  const mapped = version.mapping?.tables[t.table];
  if (version.mapping?.hiddenTables.includes(t.table)) return null;
  const names = new Map<string, string>(mapped ? mapped.columns.map((c) => [c.physical, c.name]) : []);
  const nameOf = (physical: string): string | undefined => (mapped ? names.get(physical) : physical);
  const key = t.key.map(nameOf);
  const witness = nameOf(t.witness);
  if (key.some((k) => k === undefined) || witness === undefined) return null;
  // A new version also fills the columns its migration adds, as its application would.
  const insertPhysical =
    mapped && t.insertColumns.length > 0
      ? mapped.columns.map((c) => c.physical).filter((p) => !t.key.includes(p) && (t.insertColumns.includes(p) || !t.columns.includes(p)))
      : t.insertColumns;
  const insertColumns = insertPhysical.map(nameOf);
  return {
    table: t.table,
    relation: qualified(relationSchema, mapped?.name ?? t.table),
    key: key as string[],
    witness,
    witnessKind: t.witnessKind,
    insertColumns: insertColumns.some((c) => c === undefined) ? [] : (insertColumns as string[]),
  };
}

/** Whether a relation exists (a version schema's view may not yet, or no longer). */
export async function relationExists(client: Client, relation: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [relation]);
  return rows[0]!.ok;
}
