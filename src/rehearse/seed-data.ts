/**
 * What the rehearsal's throwaway database starts from: the schema of a real database
 * (pg_dump --schema-only) and a sample of its rows, or, without one, the migration
 * history applied from scratch and generated rows.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { connect, passwordOf, redactUrl, withoutPassword, type Client } from "../db/connection.js";
import { ident, qualified } from "../db/ident.js";
import { UnderwayError } from "../errors.js";
import { selectList, type MaskPlan } from "../mask/masking-plan.js";
import { copyCompletedMigrations } from "../state/migration-store.js";

/** Tables smaller than this are copied whole (lookup tables would otherwise come out empty). */
const COPY_WHOLE_BELOW = 10_000;
const INSERT_BATCH = 2000;

export interface CopyOptions {
  /** Read every table through this plan's select lists (see `resolveMasking`); without it, rows are copied as they are. */
  mask?: MaskPlan | null;
}

export interface SeedResult {
  tables: { table: string; rows: number }[];
  warnings: string[];
}

/**
 * Copies the schema of `from` into `target` with pg_dump and psql from `binDir`, without
 * owners or grants (the target's owner role owns everything). Statements that fail (an
 * extension this machine lacks, say) become warnings, not a stop.
 */
export async function copySchema(binDir: string, from: string, targetUrl: string): Promise<string[]> {
  for (const program of ["pg_dump", "psql"]) {
    if (!existsSync(join(binDir, program))) throw new UnderwayError("INVALID_STATE", `${binDir} holds no ${program}: apt-get install postgresql-client`);
  }
  const dump = await run(join(binDir, "pg_dump"), [
    "--schema-only",
    "--no-owner",
    "--no-privileges",
    "--no-publications",
    "--no-subscriptions",
    "--no-tablespaces",
    "--dbname",
    withoutPassword(from),
  ], undefined, sourceEnv(from));
  if (dump.code !== 0) {
    throw new UnderwayError("CONNECTION", `pg_dump --schema-only of ${redactUrl(from)} failed: ${dump.stderr.trim().split("\n").pop()}`, { detail: dump.stderr });
  }
  const restore = await run(join(binDir, "psql"), ["--quiet", "--no-psqlrc", "--set", "ON_ERROR_STOP=0", "--dbname", targetUrl], dump.stdout);
  return restore.stderr
    .split("\n")
    .filter((line) => /ERROR:/.test(line))
    .map((line) => `schema copy: ${line.replace(/^psql:[^E]*/, "")}`);
}

/**
 * Copies a sample of every table of `schema` from `from` (`fraction` of the rows; small
 * tables whole), as the target's superuser with triggers and foreign keys off, then
 * deletes the rows whose foreign keys point at rows the sample left out, so the
 * constraints hold again, and moves sequences past the copied keys.
 *
 * The sample is by a hash of one key, so parents and children agree: a table is sampled
 * by the hash of its first single-column foreign key to a sampled table of the schema,
 * else of its single-column primary key, which keeps an order with its customer (one
 * level deep; a grandchild is kept only when its own parent was). Tables with neither are
 * sampled row by row (Bernoulli).
 *
 * With `options.mask`, each table is read through the plan's select list, so masked
 * columns are hashed, faked or nulled by the source as it reads them; generated columns
 * are not read at all (the target computes them again).
 */
export async function copySample(from: string, adminTargetUrl: string, schema: string, fraction: number, stateSchema: string, options: CopyOptions = {}): Promise<SeedResult> {
  const mask = options.mask ?? null;
  if (mask && mask.schema !== schema) throw new UnderwayError("INVALID_STATE", `the masking plan is for schema ${mask.schema}, not ${schema}`);
  const source = await connect(from, { applicationName: "underway rehearse (sampling)" });
  const target = await connect(adminTargetUrl, { applicationName: "underway rehearse" });
  const warnings: string[] = [];
  const tables: { table: string; rows: number }[] = [];
  try {
    await target.query("SET session_replication_role = replica");
    const copiedWhole = new Set<string>();
    for (const table of await tablesOf(target, schema)) {
      const name = qualified(schema, table);
      const { rows: sizes } = await source.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
      const whole = Number(sizes[0]!.n) < COPY_WHOLE_BELOW;
      if (whole) copiedWhole.add(table);
      const by = whole ? null : await samplingColumn(target, schema, table, copiedWhole);
      const scale = 1_000_000;
      const rows = whole
        ? `FROM ${name} t`
        : by
          ? `FROM ${name} t WHERE abs(hashtext(t.${ident(by)}::text)::bigint) % ${scale} < ${Math.round(fraction * scale)}`
          : `FROM ${name} t TABLESAMPLE BERNOULLI (${fraction * 100})`;
      // Masked, the values are computed on the source (the sample is still drawn by the original key, so parents and children agree): no original leaves it.
      const masked = mask ? selectList(mask, table) : null;
      const select = masked ? `SELECT row_to_json(m)::text AS j FROM (SELECT ${masked.sql} ${rows}) m` : `SELECT row_to_json(t)::text AS j ${rows}`;
      const copied = await copyRows(source, target, name, select, masked?.params ?? []).catch((error: unknown) => {
        warnings.push(`sample of ${table}: ${error instanceof Error ? error.message : String(error)}`);
        return 0;
      });
      tables.push({ table, rows: copied });
    }
    // The migration history, whole: which version is the old one, and what is completed.
    if (await copyCompletedMigrations(source, target, stateSchema)) {
      // The copied rows keep their ids: the rehearsed migration's own row must come after them.
      await resetSequences(target, stateSchema);
    }
    await target.query("RESET session_replication_role");
    const orphans = await deleteOrphans(target, schema);
    if (orphans > 0) warnings.push(`deleted ${orphans} sampled row(s) whose foreign keys pointed outside the sample`);
    await resetSequences(target, schema);
    await target.query("ANALYZE");
    for (const entry of tables) entry.rows = await countRows(target, qualified(schema, entry.table));
  } finally {
    await source.end().catch(() => undefined);
    await target.end().catch(() => undefined);
  }
  return { tables, warnings };
}

/**
 * Fills every table of `schema` with `rows` generated rows, parents before children:
 * each column that needs a value gets one from its type (numbers and text from the row
 * number, so unique columns stay unique), foreign keys pick existing parent keys. A
 * table it cannot fill is left empty with a warning.
 */
export async function generateRows(adminTargetUrl: string, schema: string, rows: number): Promise<SeedResult> {
  const client = await connect(adminTargetUrl, { applicationName: "underway rehearse" });
  const warnings: string[] = [];
  const tables: { table: string; rows: number }[] = [];
  try {
    for (const table of await tablesOf(client, schema)) {
      const name = qualified(schema, table);
      try {
        const { columns, values, from } = await generatedSelect(client, schema, table);
        if (columns.length > 0) {
          await client.query(`INSERT INTO ${name} (${columns.join(", ")}) OVERRIDING SYSTEM VALUE SELECT ${values.join(", ")} FROM generate_series(1, ${rows}) g${from}`);
        } else {
          await client.query(`INSERT INTO ${name} SELECT FROM generate_series(1, ${rows}) g`);
        }
      } catch (error) {
        warnings.push(`generating rows for ${table}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    await resetSequences(client, schema);
    await client.query("ANALYZE");
    for (const table of await tablesOf(client, schema)) tables.push({ table, rows: await countRows(client, qualified(schema, table)) });
  } finally {
    await client.end().catch(() => undefined);
  }
  return { tables, warnings };
}

/** The column whose hash samples a table (see `copySample`), or null for Bernoulli sampling. */
async function samplingColumn(client: Client, schema: string, table: string, copiedWhole: Set<string>): Promise<string | null> {
  const { rows } = await client.query<{ column: string; parent: string | null }>(
    `SELECT a.attname::text AS column, CASE WHEN k.contype = 'f' THEN p.relname::text END AS parent
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
       LEFT JOIN pg_class p ON p.oid = k.confrelid AND p.relnamespace = n.oid
      WHERE n.nspname = $1 AND c.relname = $2 AND cardinality(k.conkey) = 1
        AND (k.contype = 'p' OR (k.contype = 'f' AND p.oid IS NOT NULL AND p.oid <> c.oid))
      ORDER BY k.contype = 'p', k.conname`,
    [schema, table],
  );
  const fk = rows.find((r) => r.parent !== null && !copiedWhole.has(r.parent));
  return fk?.column ?? rows.find((r) => r.parent === null)?.column ?? null;
}

/** Tables of a schema, parents before the children whose foreign keys point at them. */
async function tablesOf(client: Client, schema: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string; parents: string[] }>(
    `SELECT c.relname::text AS name,
            coalesce(array_agg(DISTINCT p.relname::text) FILTER (WHERE p.oid IS NOT NULL AND p.oid <> c.oid), '{}') AS parents
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'
       LEFT JOIN pg_class p ON p.oid = k.confrelid AND p.relnamespace = n.oid
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      GROUP BY c.relname ORDER BY c.relname`,
    [schema],
  );
  const ordered: string[] = [];
  const pending = new Map(rows.map((r) => [r.name, new Set(r.parents)]));
  while (pending.size > 0) {
    const ready = [...pending].filter(([, parents]) => [...parents].every((p) => !pending.has(p))).map(([name]) => name);
    // A cycle of foreign keys: take the rest in name order.
    const next = ready.length > 0 ? ready : [...pending.keys()];
    for (const name of next) {
      ordered.push(name);
      pending.delete(name);
    }
  }
  return ordered;
}

async function copyRows(source: Client, target: Client, name: string, select: string, params: string[] = []): Promise<number> {
  const { rows } = await source.query<{ j: string }>(select, params);
  const { rows: cols } = await target.query<{ name: string }>(
    `SELECT attname::text AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
    [name],
  );
  const columns = cols.map((c) => ident(c.name)).join(", ");
  for (let i = 0; i < rows.length; i += INSERT_BATCH) {
    const batch = `[${rows.slice(i, i + INSERT_BATCH).map((r) => r.j).join(",")}]`;
    await target.query(`INSERT INTO ${name} (${columns}) OVERRIDING SYSTEM VALUE SELECT ${columns} FROM json_populate_recordset(NULL::${name}, $1::json)`, [batch]);
  }
  return rows.length;
}

/** Deletes rows whose foreign keys find no parent, until none is left (a deletion can orphan grandchildren). */
async function deleteOrphans(client: Client, schema: string): Promise<number> {
  const { rows: keys } = await client.query<{ child: string; parent: string; columns: string[]; refs: string[] }>(
    `SELECT format('%I.%I', cn.nspname, c.relname) AS child, format('%I.%I', pn.nspname, p.relname) AS parent,
            ARRAY(SELECT attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.i) AS columns,
            ARRAY(SELECT attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, i) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.i) AS refs
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
       JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE k.contype = 'f' AND cn.nspname = $1`,
    [schema],
  );
  let total = 0;
  for (let pass = 0; pass < 20; pass++) {
    let deleted = 0;
    for (const key of keys) {
      const notNull = key.columns.map((c) => `c.${ident(c)} IS NOT NULL`).join(" AND ");
      const match = key.columns.map((c, i) => `p.${ident(key.refs[i]!)} = c.${ident(c)}`).join(" AND ");
      const result = await client.query(`DELETE FROM ${key.child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${key.parent} p WHERE ${match})`);
      deleted += result.rowCount ?? 0;
    }
    total += deleted;
    if (deleted === 0) break;
  }
  return total;
}

/** Moves every sequence owned by a column of the schema past the largest value in it. */
async function resetSequences(client: Client, schema: string): Promise<void> {
  const { rows } = await client.query<{ seq: string; tbl: string; col: string }>(
    `SELECT format('%I.%I', sn.nspname, s.relname) AS seq, format('%I.%I', tn.nspname, t.relname) AS tbl, a.attname::text AS col
       FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
      WHERE d.deptype IN ('a', 'i') AND tn.nspname = $1`,
    [schema],
  );
  for (const r of rows) {
    await client.query(`SELECT setval($1::regclass, greatest((SELECT max(${ident(r.col)}) FROM ${r.tbl})::bigint, 1))`, [r.seq]).catch(() => undefined);
  }
}

async function countRows(client: Client, name: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
  return Number(rows[0]!.n);
}

/** The select list that generates a table's rows, over the row number `g`. */
async function generatedSelect(client: Client, schema: string, table: string): Promise<{ columns: string[]; values: string[]; from: string }> {
  const { rows } = await client.query<{
    name: string;
    type: string;
    base: string;
    typmod: number;
    enum_labels: string[] | null;
    skip: boolean;
    parent: string | null;
    ref: string | null;
    self: boolean;
  }>(
    `SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, format_type(a.atttypid, NULL) AS base, a.atttypmod AS typmod,
            (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid) AS enum_labels,
            (a.attgenerated <> '' OR (a.atthasdef AND NOT a.attnotnull) OR a.attidentity <> '' OR (a.atthasdef AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%')) AS skip,
            (SELECT format('%I.%I', pn.nspname, p.relname) FROM pg_constraint k JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
              WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.conkey = ARRAY[a.attnum] LIMIT 1) AS parent,
            (SELECT pa.attname::text FROM pg_constraint k JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
              WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.conkey = ARRAY[a.attnum] LIMIT 1) AS ref,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid = c.oid AND a.attnum = ANY (k.conkey)) AS self
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
  );
  const columns: string[] = [];
  const values: string[] = [];
  const joins: string[] = [];
  for (const [i, column] of rows.entries()) {
    if (column.skip || column.self) continue;
    let value: string | null;
    if (column.parent && column.ref) {
      const alias = `p${i}`;
      joins.push(`(SELECT array_agg(${ident(column.ref)}) AS keys FROM ${column.parent}) ${alias}`);
      value = `${alias}.keys[1 + (g % greatest(cardinality(${alias}.keys), 1))]`;
    } else {
      value = valueFor(column.base, column.type, column.enum_labels);
    }
    if (value === null) continue;
    columns.push(ident(column.name));
    values.push(`(${value})::${column.type}`);
  }
  return { columns, values, from: joins.length > 0 ? `, ${joins.join(", ")}` : "" };
}

/** A value of a type for row `g`; null when the type is unknown here (the column gets its default or NULL). */
function valueFor(base: string, type: string, enumLabels: string[] | null): string | null {
  if (enumLabels && enumLabels.length > 0) return `(ARRAY[${enumLabels.map((l) => `'${l.replaceAll("'", "''")}'`).join(", ")}])[1 + g % ${enumLabels.length}]`;
  switch (base) {
    case "smallint":
      return "g % 32000";
    case "integer":
    case "bigint":
    case "numeric":
    case "real":
    case "double precision":
      return "g";
    case "text":
    case "character varying":
    case "character":
    case "citext":
      return "'r' || g";
    case "boolean":
      return "g % 2 = 0";
    case "date":
      return "current_date - (g % 3650)";
    case "timestamp without time zone":
    case "timestamp with time zone":
      return "now() - g * interval '1 minute'";
    case "uuid":
      return "md5(g::text)::uuid";
    case "json":
    case "jsonb":
      return `json_build_object('n', g)`;
    case "bytea":
      return "decode(md5(g::text), 'hex')";
    case "inet":
      return "'127.0.0.1'";
    default:
      return type.endsWith("[]") ? "'{}'" : null;
  }
}

/**
 * What pg_dump needs to reach the source as connect() does: the TLS and password variables
 * libpq reads (and connect() with it), and the URL's password as PGPASSWORD, so that it is
 * not on pg_dump's command line, where the process list shows it.
 */
function sourceEnv(from: string): NodeJS.ProcessEnv {
  const names = ["PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "PGPASSWORD", "PGPASSFILE"];
  const env: NodeJS.ProcessEnv = Object.fromEntries(names.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
  const password = passwordOf(from);
  if (password !== undefined) env.PGPASSWORD = password;
  return env;
}

function run(program: string, args: string[], input?: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("PG")));
    const child = spawn(program, args, { env: { ...env, ...extraEnv, LC_ALL: "C" }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolvePromise({ code, stdout: Buffer.concat(out).toString(), stderr }));
    child.stdin.end(input ?? "");
  });
}
