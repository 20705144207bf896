/**
 * From masking rules and a source database's catalog to the select list each table is
 * read with: every column's rule decided (a rule given, else the rule of the key it
 * references, else the policy for flagged or other columns), checked against the
 * column's type and constraints, and turned into SQL that runs on the source. Nothing
 * here is specific to the rehearsal: any copy between clusters that is not a cut-over
 * reads its rows through a `MaskPlan`.
 */
import { randomBytes } from "node:crypto";
import type { Client } from "../db/connection.js";
import { ident } from "../db/ident.js";
import { UnderwayError } from "../errors.js";
import { personalKind, type PersonalKind } from "./detect.js";
import { maskExpression, type MaskColumn, type ResolvedRule } from "./expressions.js";
import type { MaskPolicy, MaskRule } from "./policy.js";

/** How every table of a schema is read: the salt and one select list per table. */
export interface MaskPlan {
  schema: string;
  /** Never written to the copy: a bind parameter of the reading query only. */
  salt: string;
  saltFrom: "policy" | "environment" | "random";
  /** Per table, the columns the copy writes (generated ones left out) with the expression each is read with, and whether it uses the salt. */
  tables: Map<string, { column: string; sql: string; salted: boolean }[]>;
  /** The columns that do not keep their values, with their rule (`hash`, `fake:email`, `null`). */
  masked: { table: string; column: string; rule: string }[];
}

export const SALT_VARIABLE = "UNDERWAY_MASK_SALT";

interface CatalogColumn extends MaskColumn {
  generated: boolean;
}

/**
 * Decides the rule of every column of `schema` on the source and builds the plan. The
 * salt is the environment's `UNDERWAY_MASK_SALT`, else the policy's, else random for this
 * copy only (then hashes differ from one copy to the next).
 *
 * @throws UnderwayError `INVALID_ARGUMENT` (CLI exit 2), one line naming every problem:
 *   unknown tables or columns, rules a column's type or constraints rule out, foreign keys
 *   whose two ends would be masked differently, and flagged columns without a rule.
 *
 * @example
 * const plan = await resolveMasking(source, "public", await loadMaskFile("masks.yaml"));
 * const { sql, params } = selectList(plan, "users");
 * const { rows } = await source.query(`SELECT ${sql} FROM public.users t`, params);
 */
export async function resolveMasking(client: Client, schema: string, policy: MaskPolicy, environment: NodeJS.ProcessEnv = process.env): Promise<MaskPlan> {
  const source = policy.source ?? "masking rules";
  const columns = await catalogColumns(client, schema);
  const references = await foreignKeyPairs(client, schema);
  const byKey = new Map(columns.map((c) => [`${c.table}.${c.column}`, c]));
  const tableNames = new Set(columns.map((c) => c.table));
  const problems: string[] = [];

  // Rules given in the file, by table then column; a table may be named with its schema.
  const given = new Map<string, MaskRule>();
  for (const [tableKey, rules] of Object.entries(policy.tables ?? {})) {
    const table = tableKey.startsWith(`${schema}.`) && !tableNames.has(tableKey) ? tableKey.slice(schema.length + 1) : tableKey;
    if (!tableNames.has(table)) {
      problems.push(`${source}: table ${tableKey}: no such table in schema ${schema}`);
      continue;
    }
    for (const [column, rule] of Object.entries(rules)) {
      const found = byKey.get(`${table}.${column}`);
      if (!found) problems.push(`${source}: table ${tableKey}, column ${column}: no such column`);
      else if (found.generated && rule !== "keep") problems.push(`${source}: table ${tableKey}, column ${column}: a generated column is never read; the copy computes it again from the masked columns`);
      else given.set(`${table}.${column}`, rule);
    }
  }

  const decided = new Map<string, { rule: ResolvedRule; origin: string }>();
  const flaggedUnruled = new Map<string, PersonalKind>();
  const decide = (column: CatalogColumn, visiting: Set<string>): { rule: ResolvedRule; origin: string } => {
    const key = `${column.table}.${column.column}`;
    const known = decided.get(key);
    if (known) return known;
    let result: { rule: ResolvedRule; origin: string } | undefined;
    const rule = given.get(key);
    const kind = personalKind(column.column, column.baseType);
    if (rule) result = { rule: resolve(rule, kind), origin: `${source}: table ${column.table}, column ${column.column}` };
    // A foreign key follows the masking of the key it references, so the two still match.
    const parent = references.find((r) => r.child === key && r.parent !== key && !visiting.has(r.parent));
    if (!result && parent) {
      const parentColumn = byKey.get(parent.parent)!;
      const parentRule = decide(parentColumn, new Set([...visiting, key])).rule;
      if (parentRule.rule === "hash" || parentRule.rule === "fake") result = { rule: parentRule, origin: `${qualifiedColumn(schema, column)} (references ${parent.parent})` };
    }
    if (!result && kind !== null) {
      const flagged = policy.flagged ?? "refuse";
      if (flagged === "refuse") {
        flaggedUnruled.set(key, kind);
        result = { rule: { rule: "keep" }, origin: "" };
      } else {
        result = { rule: resolve(flagged, kind), origin: `${qualifiedColumn(schema, column)} (flagged: ${flagged})` };
      }
    }
    result ??= { rule: resolve(policy.default ?? "keep", kind), origin: `${qualifiedColumn(schema, column)} (default: ${policy.default ?? "keep"})` };
    decided.set(key, result);
    return result;
  };

  const salt = "$1";
  const tables: MaskPlan["tables"] = new Map();
  const masked: MaskPlan["masked"] = [];
  for (const column of columns) {
    if (column.generated) continue;
    const { rule, origin } = decide(column, new Set());
    const expression = maskExpression(column, rule, `t.${ident(column.column)}`, salt);
    if ("error" in expression) {
      problems.push(`${origin}: ${expression.error}`);
      continue;
    }
    const list = tables.get(column.table) ?? [];
    list.push({ column: column.column, sql: expression.sql, salted: rule.rule === "hash" || rule.rule === "fake" });
    tables.set(column.table, list);
    if (rule.rule !== "keep") masked.push({ table: column.table, column: column.column, rule: rule.rule === "fake" && rule.kind ? `fake:${rule.kind}` : rule.rule });
  }
  for (const table of tableNames) if (!tables.has(table)) tables.set(table, []);

  // Both ends of a foreign key must come out equal for equal inputs (a NULL child always matches).
  for (const { child, parent } of references) {
    const c = byKey.get(child)!;
    const p = byKey.get(parent)!;
    const cr = decided.get(child)?.rule;
    const pr = decided.get(parent)?.rule;
    if (!cr || !pr || cr.rule === "null" || c.generated || p.generated) continue;
    const shape = (column: MaskColumn, rule: ResolvedRule) => JSON.stringify(maskExpression({ ...column, type: "T", notNull: false, unique: false }, rule, "v", salt));
    if (shape(c, cr) !== shape(p, pr)) {
      problems.push(`${qualifiedColumn(schema, c)} references ${schema}.${parent} but is masked differently (${describe(cr)} of ${c.type}, against ${describe(pr)} of ${p.type}): give both the same rule so the foreign key still matches`);
    }
  }

  if (flaggedUnruled.size > 0) {
    const listed = columns.filter((c) => flaggedUnruled.has(`${c.table}.${c.column}`)).map((c) => `${qualifiedColumn(schema, c)} (${flaggedUnruled.get(`${c.table}.${c.column}`)})`);
    problems.push(
      `refusing to copy ${listed.length} column(s) that look personal without a rule: ${listed.join(", ")}; give each a rule (hash, fake, null or keep) in --mask-file, or all of them one with --mask-flagged, or copy unmasked with --no-mask`,
    );
  }
  if (problems.length > 0) throw new UnderwayError("INVALID_ARGUMENT", problems.join("; "));

  const fromEnvironment = environment[SALT_VARIABLE] || undefined;
  if (fromEnvironment !== undefined && fromEnvironment.length < 8) throw new UnderwayError("INVALID_ARGUMENT", `${SALT_VARIABLE} must be at least 8 characters`);
  const chosen = fromEnvironment ? { salt: fromEnvironment, saltFrom: "environment" as const } : policy.salt ? { salt: policy.salt, saltFrom: "policy" as const } : { salt: randomBytes(32).toString("hex"), saltFrom: "random" as const };
  return { schema, ...chosen, tables, masked };
}

/**
 * The select list that reads `table` masked, from the alias `t`, and the parameters of
 * the query it goes in: `[plan.salt]` as `$1` when a column is hashed or faked, else none
 * (PostgreSQL refuses a parameter the statement does not use).
 *
 * @throws UnderwayError `INVALID_STATE` for a table the plan was not made with (created
 *   since): copying it unmasked is not an option.
 */
export function selectList(plan: MaskPlan, table: string): { sql: string; params: string[] } {
  const columns = plan.tables.get(table);
  if (!columns) throw new UnderwayError("INVALID_STATE", `${plan.schema}.${table} appeared after the masking rules were checked: run the copy again`);
  return { sql: columns.map((c) => `${c.sql} AS ${ident(c.column)}`).join(", "), params: columns.some((c) => c.salted) ? [plan.salt] : [] };
}

function resolve(rule: MaskRule, kind: PersonalKind | null): ResolvedRule {
  if (rule === "fake") return { rule: "fake", kind };
  if (rule.startsWith("fake:")) return { rule: "fake", kind: rule.slice(5) as PersonalKind };
  return { rule: rule as "keep" | "hash" | "null" };
}

function describe(rule: ResolvedRule): string {
  return rule.rule === "fake" && rule.kind ? `fake:${rule.kind}` : rule.rule;
}

function qualifiedColumn(schema: string, column: MaskColumn): string {
  return `${schema}.${column.table}.${column.column}`;
}

async function catalogColumns(client: Client, schema: string): Promise<CatalogColumn[]> {
  const { rows } = await client.query<{
    table: string;
    column: string;
    type: string;
    base_type: string;
    typmod: number;
    category: string;
    not_null: boolean;
    generated: boolean;
    unique: boolean;
  }>(
    `SELECT c.relname::text AS table, a.attname::text AS column, format_type(a.atttypid, a.atttypmod) AS type,
            format_type(b.oid, NULL) AS base_type, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
            b.typcategory::text AS category, (a.attnotnull OR t.typnotnull) AS not_null, a.attgenerated <> '' AS generated,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND a.attnum = ANY (i.indkey)) AS unique
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
       JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  return rows.map((r) => {
    const modifier = r.typmod > 4 ? r.typmod - 4 : null;
    const sized = r.base_type === "character varying" || r.base_type === "character";
    const numeric = r.base_type === "numeric" && modifier !== null;
    return {
      table: r.table,
      column: r.column,
      type: r.type,
      baseType: r.base_type,
      length: sized ? modifier : null,
      precision: numeric ? (modifier >> 16) & 0xffff : null,
      scale: numeric ? modifier & 0xffff : null,
      category: r.category,
      notNull: r.not_null,
      unique: r.unique,
      generated: r.generated,
    };
  });
}

/** Each column of a foreign key inside the schema with the column it references, as `table.column`. */
async function foreignKeyPairs(client: Client, schema: string): Promise<{ child: string; parent: string }[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(
    `SELECT c.relname || '.' || ca.attname AS child, p.relname || '.' || pa.attname AS parent
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
       CROSS JOIN LATERAL unnest(k.conkey, k.confkey) AS u(child_attnum, parent_attnum)
       JOIN pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = u.child_attnum
       JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = u.parent_attnum
      WHERE k.contype = 'f' AND cn.nspname = $1 AND pn.nspname = $1
      ORDER BY k.conname`,
    [schema],
  );
  return rows;
}
