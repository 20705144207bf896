import type { Client } from "../db/connection.js";
import { ident, identList, literal, qualified } from "../db/ident.js";

/**
 * Objects outside underway's plan that depend on a column complete drops, or on a table it
 * drops. PostgreSQL refuses such a drop ("cannot drop column ... because other objects
 * depend on it"), or, for indexes, statistics and owned sequences, drops them along with
 * the column. Found through pg_depend, so nothing is missed whatever made the object.
 *
 * Where the column has a copy that takes its place, most of them can be carried over in the
 * contract's transaction: read their definitions, drop them, swap the column, and create
 * them again, naming the copy. What cannot be carried (a generated column, a materialized
 * view, a function with a SQL-standard body, anything on a column that is dropped for good)
 * is refused before anything changes, each object named.
 */
export interface Dependent {
  /** As pg_describe_object names it: `view public.v`, `policy p on table public.t`. */
  description: string;
  /** Why it cannot be carried over; null when it can. */
  refusal: string | null;
}

/** What the contract runs around one table's column drops to keep its dependents. */
export interface Carry {
  /** Before the drops: column privileges and sequences moved to the copies, dependents dropped. */
  drop: string[];
  /** After the drops and renames: the dependents created again. */
  recreate: string[];
  /** Foreign keys re-created NOT VALID that were valid, to validate after the contract. */
  validate: { table: string; constraint: string }[];
  dependents: Dependent[];
}

interface DependRow {
  catalog: string;
  objid: number;
  description: string;
  deptype: string;
  column: string | null;
}

/**
 * The objects that depend on `columns` of `table` (all of the table when `columns` is
 * null), apart from the table's own parts and from objects in `ignoreSchemas` (version
 * schemas, which complete drops first).
 */
async function dependRows(client: Client, schema: string, table: string, columns: string[] | null, ignoreSchemas: string[]): Promise<DependRow[]> {
  const { rows } = await client.query<DependRow>(
    `WITH target AS (SELECT $1::regclass AS oid)
     SELECT d.classid::regclass::text AS catalog, d.objid::int AS objid, d.deptype::text AS deptype,
            pg_describe_object(d.classid, d.objid, d.objsubid) AS description,
            (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = d.refobjid AND a.attnum = d.refobjsubid) AS column
       FROM pg_depend d, target
      WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = target.oid AND d.deptype IN ('n', 'a')
        AND (CASE WHEN $2::text[] IS NULL THEN true
                  ELSE d.refobjsubid IN (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = target.oid AND a.attname = ANY($2::text[])) END)
        -- The table's own row type, defaults, and (for a dropped table) its own parts go with it.
        AND NOT (d.classid = 'pg_type'::regclass)
        AND NOT (d.classid = 'pg_attrdef'::regclass AND EXISTS (
              SELECT 1 FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
               WHERE ad.oid = d.objid AND ($2::text[] IS NULL OR (a.attname = ANY($2::text[]) OR a.attgenerated = ''))))
        AND NOT ($2::text[] IS NULL AND (
              (d.classid = 'pg_class'::regclass AND d.objid IN (SELECT indexrelid FROM pg_index WHERE indrelid = target.oid))
           OR (d.classid = 'pg_class'::regclass AND (SELECT relkind FROM pg_class WHERE oid = d.objid) = 'S')
           OR (d.classid = 'pg_constraint'::regclass AND (SELECT conrelid FROM pg_constraint WHERE oid = d.objid) = target.oid)
           OR (d.classid = 'pg_trigger'::regclass) OR (d.classid = 'pg_policy'::regclass)
           OR (d.classid = 'pg_statistic_ext'::regclass) OR (d.classid = 'pg_publication_rel'::regclass)
           OR (d.classid = 'pg_rewrite'::regclass AND (SELECT ev_class FROM pg_rewrite WHERE oid = d.objid) = target.oid)))
        AND NOT (d.classid = 'pg_rewrite'::regclass AND (
              SELECT n.nspname FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE r.oid = d.objid) = ANY($3::text[]))
      ORDER BY 4`,
    [qualified(schema, table), columns, ignoreSchemas],
  );
  // Name what a person would look for: the view, not its _RETURN rule; the generated column, not its default.
  for (const row of rows) {
    if (row.catalog === "pg_rewrite") {
      const { rows: r } = await client.query<{ name: string; view: boolean; kind: string }>(
        `SELECT pg_describe_object('pg_class'::regclass, ev_class, 0) AS name, rulename = '_RETURN' AS view, (SELECT relkind::text FROM pg_class WHERE oid = ev_class) AS kind FROM pg_rewrite WHERE oid = $1`,
        [row.objid],
      );
      if (r[0]?.view) row.description = r[0].name;
    } else if (row.catalog === "pg_attrdef") {
      const { rows: a } = await client.query<{ name: string }>(
        `SELECT 'generated column ' || ad.adrelid::regclass::text || '.' || quote_ident(a.attname) AS name
           FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum WHERE ad.oid = $1`,
        [row.objid],
      );
      if (a[0]) row.description = a[0].name;
    }
  }
  return rows;
}

/** Views that depend on a view (to drop and create again with it), transitively, dependents last. */
async function viewClosure(client: Client, views: number[]): Promise<{ oid: number; kind: string; description: string }[]> {
  if (views.length === 0) return [];
  const { rows } = await client.query<{ oid: number; kind: string; description: string; depth: number }>(
    `WITH RECURSIVE closure(oid, depth) AS (
       SELECT unnest($1::oid[]), 0
       UNION
       SELECT r.ev_class, c.depth + 1
         FROM closure c JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.classid = 'pg_rewrite'::regclass
         JOIN pg_rewrite r ON r.oid = d.objid
        WHERE r.ev_class <> c.oid AND c.depth < 50
     )
     SELECT c.oid::int AS oid, rel.relkind::text AS kind, pg_describe_object('pg_class'::regclass, c.oid, 0) AS description, max(c.depth)::int AS depth
       FROM closure c JOIN pg_class rel ON rel.oid = c.oid
      GROUP BY c.oid, rel.relkind ORDER BY max(c.depth), c.oid`,
    [views],
  );
  return rows;
}

/**
 * Reads what depends on the columns `dropped` of a table and says what the contract must
 * do to keep each (or why it cannot). Run inside the contract's transaction, after its
 * `pre` statements, with `search_path` set to pg_catalog so every definition read is
 * fully qualified. On a plan (`plan: true`) it only classifies.
 */
/** The copy's integer type when it is wider than the sequence's (ALTER SEQUENCE AS then also raises a default maximum). */
async function widerSequenceType(client: Client, sequence: number, table: string, column: string): Promise<string | null> {
  const { rows } = await client.query<{ seq: string; col: string | null }>(
    `SELECT s.seqtypid::regtype::text AS seq,
            (SELECT a.atttypid::regtype::text FROM pg_attribute a WHERE a.attrelid = $2::regclass AND a.attname = $3 AND NOT a.attisdropped) AS col
       FROM pg_sequence s WHERE s.seqrelid = $1`,
    [sequence, table, column],
  );
  const width: Record<string, number> = { smallint: 2, integer: 4, bigint: 8 };
  const seq = width[rows[0]?.seq ?? ""];
  const col = rows[0]?.col ?? "";
  return seq !== undefined && width[col] !== undefined && width[col]! > seq ? col : null;
}

export async function carryDependents(
  client: Client,
  schema: string,
  table: string,
  dropped: { column: string; replacement: string | null }[],
  expected: string[],
  options: { ignoreSchemas?: string[] } = {},
): Promise<Carry> {
  const carry: Carry = { drop: [], recreate: [], validate: [], dependents: [] };
  if (dropped.length === 0) return carry;
  const ref = qualified(schema, table);
  const replacement = new Map(dropped.map((d) => [d.column, d.replacement]));
  const rows = await dependRows(client, schema, table, dropped.map((d) => d.column), options.ignoreSchemas ?? []);
  const refuse = (row: DependRow, reason: string) => carry.dependents.push({ description: row.description, refusal: reason });
  const keep = (row: DependRow) => carry.dependents.push({ description: row.description, refusal: null });
  const views: number[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const key = `${row.catalog}:${row.objid}`;
    const replaced = row.column !== null && replacement.get(row.column) != null;
    const onColumn = row.column === null ? "the table" : `${table}.${row.column}`;
    if (seen.has(key)) {
      // Depends on several dropped columns: carried only if every one of them has a copy.
      if (!replaced && !carry.dependents.some((d) => d.description === row.description && d.refusal !== null)) {
        refuse(row, `it also uses ${onColumn}, which complete drops`);
      }
      continue;
    }
    seen.add(key);
    switch (row.catalog) {
      case "pg_rewrite": {
        const { rows: rule } = await client.query<{ view: number; kind: string; name: string; def: string; on_table: boolean }>(
          `SELECT r.ev_class::int AS view, c.relkind::text AS kind, r.rulename::text AS name, pg_get_ruledef(r.oid) AS def, r.ev_class = $2::regclass AS on_table
             FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class WHERE r.oid = $1`,
          [row.objid, ref],
        );
        const r = rule[0]!;
        if (!replaced) refuse(row, `it uses ${onColumn}, which complete drops`);
        else if (r.name !== "_RETURN") {
          keep(row);
          carry.drop.push(`DROP RULE ${ident(r.name)} ON ${await relationName(client, r.view)}`);
          carry.recreate.push(r.def.replace(/;\s*$/, ""));
        } else if (r.kind === "m") refuse(row, "a materialized view would have to be filled again; drop it before complete and create it after");
        else {
          keep(row);
          views.push(r.view);
        }
        break;
      }
      case "pg_policy": {
        if (!replaced) {
          refuse(row, `it uses ${onColumn}, which complete drops`);
          break;
        }
        keep(row);
        const { rows: p } = await client.query<{ name: string; cmd: string; permissive: boolean; roles: string[]; qual: string | null; check: string | null }>(
          `SELECT p.polname::text AS name, p.polcmd::text AS cmd, p.polpermissive AS permissive,
                  ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END FROM unnest(p.polroles) r) AS roles,
                  pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS check
             FROM pg_policy p WHERE p.oid = $1`,
          [row.objid],
        );
        const policy = p[0]!;
        const cmd = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" }[policy.cmd] ?? "ALL";
        const roles = policy.roles.map((r) => (r === "PUBLIC" ? "PUBLIC" : ident(r))).join(", ");
        carry.drop.push(`DROP POLICY ${ident(policy.name)} ON ${ref}`);
        carry.recreate.push(
          `CREATE POLICY ${ident(policy.name)} ON ${ref} AS ${policy.permissive ? "PERMISSIVE" : "RESTRICTIVE"} FOR ${cmd} TO ${roles}` +
            (policy.qual !== null ? ` USING (${policy.qual})` : "") +
            (policy.check !== null ? ` WITH CHECK (${policy.check})` : ""),
        );
        break;
      }
      case "pg_trigger": {
        if (!replaced) {
          refuse(row, `it uses ${onColumn}, which complete drops`);
          break;
        }
        keep(row);
        const { rows: t } = await client.query<{ name: string; def: string; enabled: string; relation: string }>(
          `SELECT t.tgname::text AS name, pg_get_triggerdef(t.oid) AS def, t.tgenabled::text AS enabled, t.tgrelid::regclass::text AS relation FROM pg_trigger t WHERE t.oid = $1`,
          [row.objid],
        );
        const trigger = t[0]!;
        carry.drop.push(`DROP TRIGGER ${ident(trigger.name)} ON ${trigger.relation}`);
        carry.recreate.push(trigger.def);
        const state = { D: "DISABLE", R: "ENABLE REPLICA", A: "ENABLE ALWAYS" }[trigger.enabled];
        if (state) carry.recreate.push(`ALTER TABLE ${trigger.relation} ${state} TRIGGER ${ident(trigger.name)}`);
        break;
      }
      case "pg_constraint": {
        const { rows: c } = await client.query<{ name: string; type: string; relation: string; own: boolean; def: string; validated: boolean }>(
          `SELECT c.conname::text AS name, c.contype::text AS type, c.conrelid::regclass::text AS relation, c.conrelid = $2::regclass AS own,
                  pg_get_constraintdef(c.oid) AS def, c.convalidated AS validated
             FROM pg_constraint c WHERE c.oid = $1`,
          [row.objid, ref],
        );
        const con = c[0]!;
        // PostgreSQL 18 keeps NOT NULL as a constraint of its column: it goes with it.
        if (con.own && con.type === "n") break;
        if (con.own) {
          // The table's own constraints on a dropped column go with it, and the plan made copies of those it knew.
          if (!expected.includes(con.name)) refuse(row, `it was created after the migration started, so the plan has no copy of it; drop it, or roll back and start again`);
          break;
        }
        if (con.type !== "f" || !replaced) {
          refuse(row, `it references ${onColumn}, which complete drops`);
          break;
        }
        keep(row);
        carry.drop.push(`ALTER TABLE ${con.relation} DROP CONSTRAINT ${ident(con.name)}`);
        const def = con.def.replace(/\s+NOT VALID$/, "");
        carry.recreate.push(`ALTER TABLE ${con.relation} ADD CONSTRAINT ${ident(con.name)} ${def} NOT VALID`);
        if (con.validated) carry.validate.push({ table: con.relation, constraint: con.name });
        break;
      }
      case "pg_class": {
        const { rows: c } = await client.query<{ name: string; kind: string; relation: string }>(
          `SELECT relname::text AS name, relkind::text AS kind, oid::regclass::text AS relation FROM pg_class WHERE oid = $1`,
          [row.objid],
        );
        const rel = c[0]!;
        if (rel.kind === "S") {
          // A serial's sequence: owned by the column, it would go with it while the copy's default still uses it.
          const copy = row.column === null ? null : replacement.get(row.column);
          if (copy) {
            keep(row);
            carry.drop.push(`ALTER SEQUENCE ${rel.relation} OWNED BY ${ref}.${ident(copy)}`);
            // integer to bigint of a serial: the sequence must widen too, or nextval still stops at 2^31 - 1.
            const widen = await widerSequenceType(client, row.objid, ref, copy);
            if (widen) carry.drop.push(`ALTER SEQUENCE ${rel.relation} AS ${widen}`);
          }
        } else if (rel.kind === "i" || rel.kind === "I") {
          if (!expected.includes(rel.name)) {
            refuse(row, "it was created after the migration started, so the plan has no copy of it; drop it, or roll back and start again");
          }
        } else refuse(row, `it depends on ${onColumn}, which complete drops`);
        break;
      }
      case "pg_statistic_ext": {
        if (!replaced) {
          // Extended statistics lose the column; PostgreSQL drops them once one column is left.
          break;
        }
        keep(row);
        const { rows: st } = await client.query<{ def: string; name: string }>(
          `SELECT pg_get_statisticsobjdef(oid) AS def, oid::regnamespace::text AS name FROM pg_statistic_ext WHERE oid = $1`,
          [row.objid],
        );
        const { rows: named } = await client.query<{ name: string }>(
          `SELECT quote_ident(n.nspname) || '.' || quote_ident(s.stxname) AS name FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE s.oid = $1`,
          [row.objid],
        );
        carry.drop.push(`DROP STATISTICS IF EXISTS ${named[0]!.name}`);
        carry.recreate.push(st[0]!.def);
        break;
      }
      case "pg_publication_rel": {
        if (!replaced) {
          refuse(row, `its column list names ${onColumn}, which complete drops`);
          break;
        }
        keep(row);
        const { rows: pr } = await client.query<{ publication: string; columns: string[] | null; qual: string | null }>(
          `SELECT p.pubname::text AS publication,
                  CASE WHEN pr.prattrs IS NULL THEN NULL ELSE ARRAY(SELECT a.attname::text FROM unnest(pr.prattrs) k JOIN pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k) END AS columns,
                  pg_get_expr(pr.prqual, pr.prrelid) AS qual
             FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE pr.oid = $1`,
          [row.objid],
        );
        const pub = pr[0]!;
        // The column list names the dropped column; after the swap the copy has its name.
        carry.drop.push(`ALTER PUBLICATION ${ident(pub.publication)} DROP TABLE ${ref}`);
        carry.recreate.push(
          `ALTER PUBLICATION ${ident(pub.publication)} ADD TABLE ${ref}${pub.columns ? ` (${identList(pub.columns)})` : ""}${pub.qual ? ` WHERE (${pub.qual})` : ""}`,
        );
        break;
      }
      case "pg_attrdef":
        refuse(row, "a generated column cannot be added back without rewriting the table; drop it first or change it in its own migration");
        break;
      case "pg_proc":
        refuse(row, "a function with a SQL-standard body names the column; drop or change it before complete");
        break;
      default:
        refuse(row, `it depends on ${onColumn}, which complete drops`);
    }
  }

  // Views, with every view built on them, dropped dependents first and created in the order they were made.
  const closure = await viewClosure(client, views);
  const viewDrops: string[] = [];
  for (const view of closure) {
    if (view.kind === "m") {
      carry.dependents.push({ description: view.description, refusal: "a materialized view would have to be filled again; drop it before complete and create it after" });
      continue;
    }
    if (!views.includes(view.oid)) carry.dependents.push({ description: view.description, refusal: null });
    const { drop, create } = await viewDefinition(client, view.oid);
    viewDrops.unshift(drop);
    carry.recreate.push(...create);
  }
  carry.drop.push(...viewDrops);

  // Column privileges live on the column: give the copy the same before the original goes.
  for (const { column, replacement: copy } of dropped) {
    if (!copy) continue;
    const { rows: grants } = await client.query<{ grantee: string; privilege: string; grantable: boolean }>(
      `SELECT CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END AS grantee, g.privilege_type AS privilege, g.is_grantable AS grantable
         FROM pg_attribute a, aclexplode(a.attacl) g WHERE a.attrelid = $1::regclass AND a.attname = $2`,
      [ref, column],
    );
    for (const g of grants) {
      carry.drop.unshift(`GRANT ${g.privilege} (${ident(copy)}) ON ${ref} TO ${g.grantee === "PUBLIC" ? "PUBLIC" : ident(g.grantee)}${g.grantable ? " WITH GRANT OPTION" : ""}`);
    }
  }
  return carry;
}

/** The objects that keep a table from being dropped (views on it, foreign keys to it...). */
export async function tableDependents(client: Client, schema: string, table: string, ignoreSchemas: string[] = []): Promise<Dependent[]> {
  const rows = await dependRows(client, schema, table, null, ignoreSchemas);
  return rows.filter((r) => r.deptype === "n").map((r) => ({ description: r.description, refusal: "it depends on the table, which complete drops; drop it or change it first" }));
}

async function relationName(client: Client, oid: number): Promise<string> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`,
    [oid],
  );
  return rows[0]!.name;
}

/** How to drop a view and create it again as it is: options, defaults, comments, grants, owner, triggers and rules. */
async function viewDefinition(client: Client, oid: number): Promise<{ drop: string; create: string[] }> {
  const name = await relationName(client, oid);
  const { rows } = await client.query<{
    def: string;
    options: string[] | null;
    owner: string;
    comment: string | null;
    columns: { name: string; default: string | null; comment: string | null }[];
    grants: { grantee: string; privilege: string; grantable: boolean }[] | null;
    triggers: string[];
    rules: string[];
  }>(
    `SELECT pg_get_viewdef(c.oid) AS def, c.reloptions AS options, pg_get_userbyid(c.relowner)::text AS owner,
            obj_description(c.oid, 'pg_class') AS comment,
            coalesce((SELECT json_agg(json_build_object('name', a.attname, 'default', pg_get_expr(d.adbin, d.adrelid), 'comment', col_description(c.oid, a.attnum)) ORDER BY a.attnum)
               FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'::json) AS columns,
            (SELECT json_agg(json_build_object('grantee', CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END,
                                               'privilege', g.privilege_type, 'grantable', g.is_grantable))
               FROM aclexplode(c.relacl) g WHERE g.grantee <> c.relowner) AS grants,
            ARRAY(SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal) AS triggers,
            ARRAY(SELECT pg_get_ruledef(r.oid) FROM pg_rewrite r WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN') AS rules
       FROM pg_class c WHERE c.oid = $1`,
    [oid],
  );
  const v = rows[0]!;
  const create = [`CREATE VIEW ${name}${v.options?.length ? ` WITH (${v.options.join(", ")})` : ""} AS ${v.def.trim().replace(/;\s*$/, "")}`];
  for (const column of v.columns) {
    if (column.default !== null) create.push(`ALTER VIEW ${name} ALTER COLUMN ${ident(column.name)} SET DEFAULT ${column.default}`);
    if (column.comment !== null) create.push(`COMMENT ON COLUMN ${name}.${ident(column.name)} IS ${literal(column.comment)}`);
  }
  if (v.comment !== null) create.push(`COMMENT ON VIEW ${name} IS ${literal(v.comment)}`);
  for (const g of v.grants ?? []) {
    create.push(`GRANT ${g.privilege} ON ${name} TO ${g.grantee === "PUBLIC" ? "PUBLIC" : ident(g.grantee)}${g.grantable ? " WITH GRANT OPTION" : ""}`);
  }
  create.push(...v.triggers, ...v.rules.map((r) => r.replace(/;\s*$/, "")));
  create.push(`ALTER VIEW ${name} OWNER TO ${ident(v.owner)}`);
  return { drop: `DROP VIEW ${name}`, create };
}

/**
 * The plan's contract checked against the catalog before anything changes: every object
 * that depends on a column or table complete drops is either carried over (listed, for
 * `plan` to show) or the migration is refused, each object named. Version schemas in
 * `ignoreSchemas` go first at complete and do not count.
 */
export async function planDependents(
  client: Client,
  tables: { schema: string; table: string; dropped: { column: string; replacement: string | null; planned?: string }[]; expected: string[] }[],
  droppedTables: { schema: string; table: string }[],
  ignoreSchemas: string[],
): Promise<Dependent[]> {
  const found: Dependent[] = [];
  await client.query("BEGIN");
  try {
    await client.query("SET LOCAL search_path = pg_catalog");
    for (const t of tables) {
      const dropped = t.dropped.map((d) => ({ column: d.planned ?? d.column, replacement: d.replacement }));
      found.push(...(await carryDependents(client, t.schema, t.table, dropped, t.expected, { ignoreSchemas })).dependents);
    }
    for (const t of droppedTables) found.push(...(await tableDependents(client, t.schema, t.table, ignoreSchemas)));
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
  return found;
}
