import type { Client } from "../db/connection.js";
import { ident, literal, qualified } from "../db/ident.js";
import { serverProfile } from "../dialect/server-profile.js";
import { TEMP_PREFIX, type VersionMapping, type ColumnMapping } from "../plan/version-mapping.js";

/**
 * The statements that (re)create a version schema: drop it if a crashed run left it
 * half made, create it, one view per table, and grants that mirror the tables' grants
 * so every role that can use a table can use its view.
 */
export async function versionSchemaStatements(
  client: Client,
  schema: string,
  versionSchema: string,
  mapping: VersionMapping,
  options: { refresh?: boolean } = {},
): Promise<string[]> {
  // security_invoker makes a view check the querying role's rights on the table, as a
  // direct query would, instead of the view owner's.
  const securityInvoker = (await serverProfile(client)).securityInvokerViews;
  const { rows: tables } = await client.query<{
    name: string;
    columns: string[];
    defaults: Record<string, string> | null;
    grants: { grantee: string; privilege: string }[];
  }>(
    `SELECT c.relname::text AS name,
            ARRAY(SELECT a.attname::text FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
            (SELECT json_object_agg(a.attname, pg_get_expr(d.adbin, d.adrelid)) FROM pg_attribute a
               JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '') AS defaults,
            coalesce((SELECT json_agg(json_build_object(
                        'grantee', CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END,
                        'privilege', g.privilege_type))
                        FROM aclexplode(c.relacl) g WHERE g.grantee <> c.relowner), '[]'::json) AS grants
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname`,
    [schema],
  );
  const hidden = new Set(mapping.hiddenTables);
  // A refresh (after complete's on_complete SQL) keeps the views clients use and only adds or
  // replaces those the tables no longer match.
  const existing = new Map<string, string[]>();
  if (options.refresh) {
    const { rows } = await client.query<{ name: string; columns: string[] }>(
      `SELECT c.relname::text AS name, ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 ORDER BY a.attnum) AS columns
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'v'`,
      [versionSchema],
    );
    for (const row of rows) existing.set(row.name, row.columns);
  }
  const statements = options.refresh ? [] : [`DROP SCHEMA IF EXISTS ${ident(versionSchema)} CASCADE`, `CREATE SCHEMA ${ident(versionSchema)}`];
  const grantees = new Set<string>();
  const wanted = new Set<string>();
  for (const table of tables) {
    if (hidden.has(table.name)) continue;
    const mapped = mapping.tables[table.name];
    // A table this migration does not change: its columns, with the table's defaults,
    // which a view does not inherit for `UPDATE ... SET c = DEFAULT`.
    const columns: ColumnMapping[] =
      mapped?.columns ??
      table.columns
        .filter((c) => !c.startsWith(TEMP_PREFIX))
        .map((c) => ({ physical: c, name: c, ...(table.defaults?.[c] !== undefined ? { default: table.defaults[c] } : {}) }));
    const viewName = mapped?.name ?? table.name;
    const view = qualified(versionSchema, viewName);
    wanted.add(viewName);
    const select = columns.map((c) => `${ident(c.physical)} AS ${ident(c.name)}`).join(", ");
    if (options.refresh && existing.has(viewName)) {
      const has = existing.get(viewName)!;
      const want = columns.map((c) => c.name);
      if (has.join("\u0000") === want.join("\u0000")) continue;
      // CREATE OR REPLACE VIEW may only add columns at the end; anything else is made again.
      if (!has.every((name, i) => want[i] === name)) statements.push(`DROP VIEW ${view}`);
      statements.push(`CREATE OR REPLACE VIEW ${view}${securityInvoker ? " WITH (security_invoker = true)" : ""} AS SELECT ${select || "NULL AS \"?\""} FROM ${qualified(schema, table.name)}`);
    } else {
      statements.push(
        `CREATE VIEW ${view}${securityInvoker ? " WITH (security_invoker = true)" : ""} AS SELECT ${select || "NULL AS \"?\""} FROM ${qualified(schema, table.name)}`,
      );
    }
    for (const column of columns) {
      // null (plans stored by earlier releases: "no default") sets nothing, as SET DEFAULT NULL would.
      if (column.default !== undefined && column.default !== null) {
        statements.push(`ALTER VIEW ${view} ALTER COLUMN ${ident(column.name)} SET DEFAULT ${column.default}`);
      }
      if (column.comment !== undefined) {
        statements.push(
          `COMMENT ON COLUMN ${view}.${ident(column.name)} IS ${column.comment === null ? "NULL" : literal(column.comment)}`,
        );
      }
    }
    const byGrantee = new Map<string, string[]>();
    for (const grant of table.grants) {
      byGrantee.set(grant.grantee, [...(byGrantee.get(grant.grantee) ?? []), grant.privilege]);
    }
    for (const [grantee, privileges] of byGrantee) {
      grantees.add(grantee);
      statements.push(`GRANT ${privileges.join(", ")} ON ${view} TO ${grantee === "PUBLIC" ? "PUBLIC" : ident(grantee)}`);
    }
  }
  for (const grantee of grantees) {
    statements.push(`GRANT USAGE ON SCHEMA ${ident(versionSchema)} TO ${grantee === "PUBLIC" ? "PUBLIC" : ident(grantee)}`);
  }
  // Views of tables the on_complete SQL dropped.
  for (const name of existing.keys()) if (!wanted.has(name)) statements.push(`DROP VIEW IF EXISTS ${qualified(versionSchema, name)}`);
  return statements;
}
