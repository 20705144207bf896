import { connect } from "../../src/db/connection.js";

/**
 * A comparable description of one schema from the catalog: tables, columns (in order,
 * without attnums, which dropped columns shift), constraints, indexes, triggers,
 * comments, replica identity; plus the names of all non-system schemas and of the
 * functions in the state schema. Two snapshots are equal when a person would call the
 * schemas identical.
 */
export async function schemaSnapshot(url: string, schema = "public", stateSchema = "underway"): Promise<unknown> {
  const client = await connect(url);
  try {
    const { rows: tables } = await client.query(
      `SELECT c.relname::text AS name, c.relkind::text AS kind, c.relreplident::text AS identity,
              obj_description(c.oid, 'pg_class') AS comment,
              ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                            || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '') || coalesce(' -- ' || col_description(c.oid, a.attnum), '')
                      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
              ARRAY(SELECT con.conname || ' ' || pg_get_constraintdef(con.oid) FROM pg_constraint con
                     WHERE con.conrelid = c.oid AND con.contype <> 'n' ORDER BY con.conname) AS constraints,
              ARRAY(SELECT pg_get_indexdef(i.indexrelid) || CASE WHEN i.indisvalid THEN '' ELSE ' INVALID' END
                      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid ORDER BY ic.relname) AS indexes,
              ARRAY(SELECT t.tgname::text FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal ORDER BY t.tgname) AS triggers
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'S')
        ORDER BY c.relname`,
      [schema],
    );
    const { rows: schemas } = await client.query(
      `SELECT nspname::text AS name FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`,
    );
    const { rows: functions } = await client.query(
      `SELECT p.proname::text AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1`,
      [stateSchema],
    );
    const { rows: types } = await client.query(
      `SELECT t.typname::text AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0 ORDER BY 1`,
      [schema],
    );
    return { tables, schemas: schemas.map((r) => r.name), functions: functions.map((r) => r.name), types: types.map((r) => r.name) };
  } finally {
    await client.end();
  }
}
