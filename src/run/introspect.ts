import type { Client } from "../db/connection.js";
import type { ColumnModel, ConstraintModel, IndexModel, SchemaModel, TableModel } from "../plan/schema-model.js";

/**
 * Reads the tables of one schema from the catalog. Outside an active migration the
 * physical schema is the logical schema of the latest version: complete renames every
 * temporary column to its real name, so names map one to one.
 */
export async function introspectSchema(client: Client, schema: string): Promise<SchemaModel> {
  // With only pg_catalog on the search path, format_type, pg_get_expr and friends print
  // every user type and relation schema-qualified, so the DDL built from them does not
  // depend on the search path of whoever runs it later.
  await client.query("BEGIN");
  try {
    await client.query("SET LOCAL search_path = pg_catalog");
    const model = await readSchema(client, schema);
    await client.query("COMMIT");
    return model;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

async function readSchema(client: Client, schema: string): Promise<SchemaModel> {
  const tables = new Map<string, TableModel>();
  const { rows: tableRows } = await client.query<{ oid: number; name: string; comment: string | null; identity: string; attributes: number }>(
    `SELECT c.oid::int AS oid, c.relname::text AS name, obj_description(c.oid, 'pg_class') AS comment, c.relnatts::int AS attributes,
            CASE c.relreplident WHEN 'n' THEN 'NOTHING' WHEN 'f' THEN 'FULL' WHEN 'd' THEN 'DEFAULT'
              ELSE 'INDEX ' || coalesce((SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                                          WHERE i.indrelid = c.oid AND i.indisreplident), '') END AS identity
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname`,
    [schema],
  );
  const byOid = new Map<number, TableModel>();
  for (const row of tableRows) {
    const table: TableModel = {
      name: row.name,
      physical: row.name,
      columns: [],
      primaryKey: [],
      indexes: [],
      constraints: [],
      comment: row.comment,
      replicaIdentity: row.identity,
      attributes: row.attributes,
    };
    tables.set(row.name, table);
    byOid.set(row.oid, table);
  }
  if (byOid.size > 0) {
    const oids = [...byOid.keys()];
    const { rows: columnRows } = await client.query<{
      table: number;
      name: string;
      type: string;
      notnull: boolean;
      default: string | null;
      comment: string | null;
      identity: string;
      generated: string;
    }>(
      `SELECT a.attrelid::int AS table, a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type,
              a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default,
              col_description(a.attrelid, a.attnum) AS comment, a.attidentity::text AS identity, a.attgenerated::text AS generated
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attrelid, a.attnum`,
      [oids],
    );
    for (const row of columnRows) {
      const column: ColumnModel = {
        name: row.name,
        physical: row.name,
        type: row.type,
        nullable: !row.notnull,
        default: row.generated ? null : row.default,
        comment: row.comment,
        identity: row.identity !== "",
        generated: row.generated !== "",
      };
      byOid.get(row.table)!.columns.push(column);
    }
    const { rows: indexRows } = await client.query<{
      table: number;
      name: string;
      columns: string[];
      unique: boolean;
      primary: boolean;
      definition: string;
      constraint: string | null;
    }>(
      `SELECT i.indrelid::int AS table, ic.relname::text AS name,
              ARRAY(SELECT coalesce(a.attname::text, '') FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                      LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     ORDER BY k.ord) AS columns,
              i.indisunique AS unique, i.indisprimary AS primary, pg_get_indexdef(i.indexrelid) AS definition,
              con.conname::text AS constraint
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
         LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
        WHERE i.indrelid = ANY($1::oid[])
        ORDER BY ic.relname`,
      [oids],
    );
    for (const row of indexRows) {
      const index: IndexModel = {
        name: row.name,
        columns: row.columns,
        unique: row.unique,
        primary: row.primary,
        definition: row.definition,
        constraint: row.constraint,
      };
      const table = byOid.get(row.table)!;
      table.indexes.push(index);
      if (row.primary) table.primaryKey = row.columns;
    }
    const { rows: constraintRows } = await client.query<{
      table: number;
      name: string;
      type: ConstraintModel["type"];
      columns: string[] | null;
      definition: string;
      validated: boolean;
    }>(
      `SELECT con.conrelid::int AS table, con.conname::text AS name, con.contype::text AS type,
              ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
              pg_get_constraintdef(con.oid) AS definition, con.convalidated AS validated
         FROM pg_constraint con
        WHERE con.conrelid = ANY($1::oid[]) AND con.contype IN ('p', 'u', 'c', 'f', 'x')
        ORDER BY con.conname`,
      [oids],
    );
    for (const row of constraintRows) {
      byOid.get(row.table)!.constraints.push({
        name: row.name,
        type: row.type,
        columns: row.columns ?? [],
        definition: row.definition,
        validated: row.validated,
      });
    }
  }
  if (byOid.size > 0) {
    const { rows: triggerRows } = await client.query<{ table: number; name: string; type: number; enabled: string }>(
      `SELECT t.tgrelid::int AS table, t.tgname::text AS name, t.tgtype::int AS type, t.tgenabled::text AS enabled
         FROM pg_trigger t WHERE t.tgrelid = ANY($1::oid[]) AND NOT t.tgisinternal ORDER BY t.tgname`,
      [[...byOid.keys()]],
    );
    for (const row of triggerRows) {
      // pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h): ROW 1, BEFORE 2, INSERT 4,
      // DELETE 8, UPDATE 16, TRUNCATE 32, INSTEAD 64.
      const table = byOid.get(row.table)!;
      (table.triggers ??= []).push({
        name: row.name,
        before: (row.type & 2) !== 0 || (row.type & 64) !== 0,
        row: (row.type & 1) !== 0,
        events: ([["INSERT", 4], ["UPDATE", 16], ["DELETE", 8], ["TRUNCATE", 32]] as const).filter(([, bit]) => (row.type & bit) !== 0).map(([e]) => e),
        enabled: row.enabled !== "D",
      });
    }
  }
  const enums = new Map<string, string[]>();
  const { rows: enumRows } = await client.query<{ name: string; labels: string[] }>(
    `SELECT t.typname::text AS name, ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 AND t.typtype = 'e'`,
    [schema],
  );
  for (const row of enumRows) enums.set(row.name, row.labels);
  return { schema, tables, enums };
}
