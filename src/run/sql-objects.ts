import type { Client } from "../db/connection.js";
import { qualified } from "../db/ident.js";

/** An object a `sql` operation created, as recorded for rollback. */
export interface CreatedObject {
  kind: "table" | "view" | "materialized view" | "sequence" | "foreign table" | "type" | "function" | "procedure";
  /** The name; for functions and procedures the signature, as regprocedure prints it. */
  name: string;
}

/**
 * The objects of a schema a raw `sql` operation can create and rollback can drop:
 * relations (indexes and constraints go with their tables), standalone types and
 * routines. Compared before and after the operation runs, in its transaction.
 */
export async function schemaObjects(client: Client, schema: string): Promise<CreatedObject[]> {
  const { rows } = await client.query<CreatedObject>(
    `SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence'
                           WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind, c.relname::text AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
     UNION ALL
     SELECT 'type', t.typname::text
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1 AND t.typtype IN ('e', 'd', 'r', 'm', 'c')
        AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
     UNION ALL
     SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, p.oid::regprocedure::text
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND p.prokind IN ('f', 'p')`,
    [schema],
  );
  return rows;
}

export function createdBetween(before: CreatedObject[], after: CreatedObject[]): CreatedObject[] {
  const seen = new Set(before.map((o) => `${o.kind}:${o.name}`));
  return after.filter((o) => !seen.has(`${o.kind}:${o.name}`));
}

/**
 * DROP statements for recorded objects: dependents first (views, then tables and
 * sequences, then routines, then types), each IF EXISTS so a re-run is harmless.
 */
export function dropCreatedStatements(schema: string, objects: CreatedObject[]): string[] {
  const order: CreatedObject["kind"][] = ["view", "materialized view", "foreign table", "table", "sequence", "function", "procedure", "type"];
  const sorted = [...objects].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  return sorted.map((o) => {
    const keyword = o.kind.toUpperCase();
    // regprocedure prints a schema-qualified signature only when the schema is not on the search path.
    const target = o.kind === "function" || o.kind === "procedure" ? qualifySignature(schema, o.name) : qualified(schema, o.name);
    return `DROP ${keyword} IF EXISTS ${target}`;
  });
}

function qualifySignature(schema: string, signature: string): string {
  return signature.includes(".") && !signature.startsWith('"') && signature.indexOf(".") < signature.indexOf("(")
    ? signature
    : `${qualified(schema, signature.slice(0, signature.indexOf("(")).replace(/^"|"$/g, ""))}${signature.slice(signature.indexOf("("))}`;
}
