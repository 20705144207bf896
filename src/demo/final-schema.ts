/**
 * What the migration left behind once complete: the table's columns, anything of
 * underway's that should be gone (temporary `_uw_` columns, triggers, the old version
 * schema), and whether the new version schema is in place.
 */
import type { Client } from "../db/connection.js";
import { TEMP_PREFIX } from "../plan/version-mapping.js";
import { DEMO_TABLE } from "./demo-migrations.js";

export interface FinalSchema {
  /** `id bigint, holder text, ...` in column order. */
  columns: string;
  /** Things underway should have removed at complete. */
  leftovers: string[];
  /** Empty when the table has the shape version 2 expects. */
  problems: string[];
}

/**
 * Version 2's columns. Their order is not checked: a type change adds the new column at
 * the end of the table and drops the old one at complete, as pgroll's does.
 */
export const EXPECTED_COLUMNS = ["id bigint", "holder text", "balance bigint", "updated_at timestamp with time zone"];

export async function inspectFinalSchema(
  client: Client,
  schema: string,
  oldVersionSchema: string,
  newVersionSchema: string,
): Promise<FinalSchema> {
  const { rows: columns } = await client.query<{ name: string; type: string }>(
    `SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, DEMO_TABLE],
  );
  const { rows: triggers } = await client.query<{ name: string }>(
    `SELECT t.tgname::text AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND NOT t.tgisinternal`,
    [schema, DEMO_TABLE],
  );
  const { rows: schemas } = await client.query<{ name: string }>(`SELECT nspname::text AS name FROM pg_namespace WHERE nspname = ANY($1::text[])`, [
    [oldVersionSchema, newVersionSchema],
  ]);
  const present = new Set(schemas.map((s) => s.name));
  const leftovers = [
    ...columns.filter((c) => c.name.startsWith(TEMP_PREFIX)).map((c) => `column ${c.name}`),
    ...triggers.map((t) => `trigger ${t.name}`),
    ...(present.has(oldVersionSchema) ? [`old version schema ${oldVersionSchema}`] : []),
  ];
  const actual = columns.map((c) => `${c.name} ${c.type}`);
  const shape = actual.join(", ");
  const sameColumns = [...actual].sort().join(", ") === [...EXPECTED_COLUMNS].sort().join(", ");
  const problems = [
    ...(sameColumns ? [] : [`${DEMO_TABLE} has (${shape}), expected (${EXPECTED_COLUMNS.join(", ")}) in any order`]),
    ...leftovers.map((l) => `${l} is still there after complete`),
    ...(present.has(newVersionSchema) ? [] : [`the new version schema ${newVersionSchema} is missing`]),
  ];
  return { columns: shape, leftovers, problems };
}
