/**
 * What `underway check --privileges` reports: for each planned step, the privileges it
 * needs and whether the connected role has them, read from the catalog with PostgreSQL's
 * own privilege functions. It only reads: no statement of the plan runs.
 *
 * PostgreSQL's rules behind the needs (docs: "Privileges", ALTER TABLE, CREATE TRIGGER,
 * CREATE INDEX, CREATE SCHEMA): ALTER TABLE, CREATE INDEX, CREATE TRIGGER and DROP need
 * ownership of the table, which a member of the owning role has too (`pg_has_role(...,
 * 'USAGE')`, the same test PostgreSQL makes); CREATE SCHEMA needs CREATE on the database;
 * a function or a table in a schema needs CREATE on it; the backfill's UPDATE needs SELECT
 * and UPDATE on the table. `lock_timeout` is a user setting anyone may SET.
 */
import type { Client } from "pg";
import { displayIdent, ident, qualified } from "../db/ident.js";
import { profileForServer } from "../dialect/server-profile.js";
import type { Action, MigrationPlan, Step } from "../plan/step.js";

/** One privilege a step needs, and whether the connected role has it. */
export interface PrivilegeNeed {
  /** What is needed, e.g. `owner of table public.items`. */
  privilege: string;
  granted: boolean;
  /** The statement an owner or a superuser runs to give it (when not granted). */
  fix?: string;
}

export interface StepPrivileges {
  phase: Action | "setup";
  /** The step's description, as `underway plan` shows it. */
  step: string;
  needs: string[];
  missing: string[];
  /** Each need with its fix. */
  details: PrivilegeNeed[];
  /** What the check cannot see (SQL from the migration file). */
  note?: string;
}

export interface PrivilegeReport {
  role: string;
  database: string;
  ok: boolean;
  steps: StepPrivileges[];
  /** What a blue/green move would need of this role: reported, never a failure of a migration. */
  move: { needs: string[]; missing: string[]; details: PrivilegeNeed[] };
}

type Need =
  | { kind: "owner"; schema: string; name: string }
  | { kind: "owner_schema"; schema: string }
  | { kind: "create_database" }
  | { kind: "create_schema"; schema: string }
  | { kind: "table"; schema: string; name: string; privileges: ("SELECT" | "UPDATE")[] }
  | { kind: "setting"; name: string };

// An identifier as the engine writes it: quoted (with "" inside) or a plain lower-case name.
const NAME = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QNAME = `(${NAME}(?:\\.${NAME})?)`;
const PATTERNS: { re: RegExp; need: (schema: string, name: string) => Need | null }[] = [
  { re: new RegExp(`^\\s*ALTER\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?(?:ONLY\\s+)?${QNAME}`, "i"), need: (schema, name) => ({ kind: "owner", schema, name }) },
  { re: new RegExp(`^\\s*(?:CREATE|DROP)\\s+TRIGGER\\s+(?:IF\\s+EXISTS\\s+)?${NAME}[\\s\\S]*?\\sON\\s+${QNAME}`, "i"), need: (schema, name) => ({ kind: "owner", schema, name }) },
  { re: new RegExp(`^\\s*CREATE\\s+(?:UNIQUE\\s+)?INDEX[\\s\\S]*?\\sON\\s+(?:ONLY\\s+)?${QNAME}`, "i"), need: (schema, name) => ({ kind: "owner", schema, name }) },
  { re: new RegExp(`^\\s*DROP\\s+TABLE\\s+(?:IF\\s+EXISTS\\s+)?${QNAME}`, "i"), need: (schema, name) => ({ kind: "owner", schema, name }) },
  { re: new RegExp(`^\\s*COMMENT\\s+ON\\s+(?:TABLE|COLUMN)\\s+${QNAME}`, "i"), need: () => null },
  { re: new RegExp(`^\\s*CREATE\\s+(?:UNLOGGED\\s+)?TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${QNAME}`, "i"), need: (schema) => ({ kind: "create_schema", schema }) },
  { re: new RegExp(`^\\s*CREATE\\s+(?:OR\\s+REPLACE\\s+)?FUNCTION\\s+${QNAME}`, "i"), need: (schema) => ({ kind: "create_schema", schema }) },
  { re: /^\s*CREATE\s+SCHEMA\b/i, need: () => ({ kind: "create_database" }) },
  { re: new RegExp(`^\\s*DROP\\s+SCHEMA\\s+(?:IF\\s+EXISTS\\s+)?(${NAME})`, "i"), need: (_schema, name) => ({ kind: "owner_schema", schema: name }) },
];

function unquote(name: string): string {
  return name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name.toLowerCase();
}

/** Splits `a.b` / `"a"."b"` / `b` into schema and name, the schema defaulting to `schema`. */
function splitName(text: string, schema: string): { schema: string; name: string } {
  const parts = text.match(new RegExp(NAME, "g")) ?? [text];
  return parts.length > 1 ? { schema: unquote(parts[0]!), name: unquote(parts[1]!) } : { schema, name: unquote(parts[0]!) };
}

function needsOfStatement(sql: string, schema: string): Need[] {
  for (const { re, need } of PATTERNS) {
    const match = re.exec(sql);
    if (!match) continue;
    if (match[1] === undefined) return [need(schema, "")].filter((n): n is Need => n !== null);
    const target = splitName(match[1], schema);
    const result = need(target.schema, target.name);
    return result ? [result] : [];
  }
  return [];
}

/** The privileges a step needs, before looking at the catalog. */
function needsOfStep(step: Step, schema: string): { needs: Need[]; note?: string } {
  switch (step.kind) {
    case "ddl": {
      const needs = step.statements.flatMap((sql) => needsOfStatement(sql, schema));
      if (step.table && needs.length === 0) needs.push({ kind: "owner", ...splitName(step.table, schema) });
      return { needs };
    }
    case "concurrent_index":
      return { needs: [{ kind: "owner", schema: step.schema, name: step.table }] };
    case "drop_index":
      return { needs: [{ kind: "owner", schema: step.schema, name: step.index }] };
    case "backfill":
      return { needs: [{ kind: "table", schema: step.schema, name: step.table, privileges: ["SELECT", "UPDATE"] }] };
    case "user_sql":
      return { needs: [], note: "SQL from the migration file: its privileges are not checked" };
    case "undo_sql":
      return { needs: [], note: "drops what the file's SQL created: the role owns those objects" };
    case "version_schema":
      return { needs: step.refresh ? [{ kind: "owner_schema", schema: step.versionSchema }] : [{ kind: "create_database" }] };
    case "contract":
      return {
        needs: [
          ...step.before.flatMap((sql) => needsOfStatement(sql, step.schema)),
          ...step.tables.map((t): Need => ({ kind: "owner", schema: step.schema, name: t.table })),
          ...step.droppedTables.map((name): Need => ({ kind: "owner", schema: step.schema, name })),
          ...step.after.flatMap((sql) => needsOfStatement(sql, step.schema)),
        ],
      };
    case "validate_carried":
      return { needs: [] };
  }
}

interface Catalog {
  role: string;
  database: string;
  client: Client;
}

/** Whether the role has a need, and the fix when it has not; null when the object does not exist yet (the migration creates it, so the role owns it). */
async function judge(need: Need, { role, database, client }: Catalog): Promise<PrivilegeNeed | null> {
  const grantee = ident(role);
  switch (need.kind) {
    case "owner": {
      const { rows } = await client.query<{ owner: string; ok: boolean; kind: string; table: string | null }>(
        `SELECT pg_get_userbyid(c.relowner)::text AS owner, pg_has_role(current_user, c.relowner, 'USAGE') AS ok, c.relkind::text AS kind,
                (SELECT t.relname::text FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE i.indexrelid = c.oid) AS table
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [need.schema, need.name],
      );
      const row = rows[0];
      if (!row) return null;
      const table = row.table ?? need.name;
      const what = row.table ? `owner of table ${displayName(need.schema, table)} (for its index ${displayIdent(need.name)})` : `owner of table ${displayName(need.schema, need.name)}`;
      return {
        privilege: what,
        granted: row.ok,
        ...(row.ok ? {} : { fix: `ALTER TABLE ${qualified(need.schema, table)} OWNER TO ${grantee}, or GRANT ${ident(row.owner)} TO ${grantee}` }),
      };
    }
    case "owner_schema": {
      const { rows } = await client.query<{ owner: string; ok: boolean }>(
        `SELECT pg_get_userbyid(nspowner)::text AS owner, pg_has_role(current_user, nspowner, 'USAGE') AS ok FROM pg_namespace WHERE nspname = $1`,
        [need.schema],
      );
      const row = rows[0];
      if (!row) return null;
      return {
        privilege: `owner of schema ${displayIdent(need.schema)}`,
        granted: row.ok,
        ...(row.ok ? {} : { fix: `ALTER SCHEMA ${ident(need.schema)} OWNER TO ${grantee}, or GRANT ${ident(row.owner)} TO ${grantee}` }),
      };
    }
    case "create_database": {
      const { rows } = await client.query<{ ok: boolean }>(`SELECT has_database_privilege(current_database(), 'CREATE') AS ok`);
      const ok = rows[0]!.ok;
      return { privilege: `CREATE on database ${displayIdent(database)}`, granted: ok, ...(ok ? {} : { fix: `GRANT CREATE ON DATABASE ${ident(database)} TO ${grantee}` }) };
    }
    case "create_schema": {
      const { rows } = await client.query<{ ok: boolean }>(`SELECT has_schema_privilege(oid, 'CREATE') AS ok FROM pg_namespace WHERE nspname = $1`, [need.schema]);
      const row = rows[0];
      if (!row) return null;
      return {
        privilege: `CREATE on schema ${displayIdent(need.schema)}`,
        granted: row.ok,
        ...(row.ok ? {} : { fix: `GRANT CREATE ON SCHEMA ${ident(need.schema)} TO ${grantee}` }),
      };
    }
    case "table": {
      const { rows } = await client.query<{ ok: boolean }>(
        `SELECT has_table_privilege(c.oid, $3) AS ok FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [need.schema, need.name, need.privileges.join(", ")],
      );
      const row = rows[0];
      if (!row) return null;
      const list = need.privileges.join(", ");
      return {
        privilege: `${list} on table ${displayName(need.schema, need.name)}`,
        granted: row.ok,
        ...(row.ok ? {} : { fix: `GRANT ${list} ON TABLE ${qualified(need.schema, need.name)} TO ${grantee}` }),
      };
    }
    case "setting": {
      // user-context settings are open to every role; has_parameter_privilege (PG 15+) covers the rest.
      const { rows } = await client.query<{ context: string }>(`SELECT context FROM pg_settings WHERE name = $1`, [need.name]);
      const ok = rows[0]?.context === "user";
      return { privilege: `SET ${need.name}`, granted: ok, ...(ok ? {} : { fix: `GRANT SET ON PARAMETER ${need.name} TO ${grantee}` }) };
    }
  }
}

function displayName(schema: string, name: string): string {
  return `${displayIdent(schema)}.${displayIdent(name)}`;
}

function summarize(phase: StepPrivileges["phase"], step: string, details: PrivilegeNeed[], note?: string): StepPrivileges {
  return {
    phase,
    step,
    needs: details.map((d) => d.privilege),
    missing: details.filter((d) => !d.granted).map((d) => d.privilege),
    details,
    ...(note ? { note } : {}),
  };
}

/** What a blue/green move would ask of the role: the REPLICATION attribute for a publication's slot, and pg_create_subscription (16+) on the target. */
async function moveNeeds({ role, database, client }: Catalog): Promise<PrivilegeNeed[]> {
  const { rows } = await client.query<{ replication: boolean; superuser: boolean; version: number; subscribe: boolean | null; create: boolean }>(
    `SELECT r.rolreplication AS replication, r.rolsuper AS superuser, current_setting('server_version_num')::int AS version,
            CASE WHEN to_regrole('pg_create_subscription') IS NULL THEN NULL ELSE pg_has_role(current_user, 'pg_create_subscription', 'USAGE') END AS subscribe,
            has_database_privilege(current_database(), 'CREATE') AS create
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const row = rows[0]!;
  const grantee = ident(role);
  const replication = row.replication || row.superuser;
  const subscribe = row.superuser || row.subscribe === true;
  const subscriptionRole = profileForServer(row.version).subscriptionRole;
  return [
    { privilege: "REPLICATION attribute (a replication slot and the initial copy's snapshot)", granted: replication, ...(replication ? {} : { fix: `ALTER ROLE ${grantee} REPLICATION` }) },
    { privilege: `CREATE on database ${displayIdent(database)} (CREATE PUBLICATION)`, granted: row.create, ...(row.create ? {} : { fix: `GRANT CREATE ON DATABASE ${ident(database)} TO ${grantee}` }) },
    {
      privilege: subscriptionRole ? "pg_create_subscription on the target (CREATE SUBSCRIPTION)" : "superuser on the target (CREATE SUBSCRIPTION before PostgreSQL 16)",
      granted: subscribe,
      ...(subscribe ? {} : { fix: subscriptionRole ? `GRANT pg_create_subscription TO ${grantee}` : "a superuser, or PostgreSQL 16+ with pg_create_subscription" }),
    },
  ];
}

/**
 * Checks a plan's privileges for the role `client` is connected as. Reads the catalog
 * only. `stateSchema` is where underway keeps its state: when it exists the role must own
 * it (init replaces its functions and grants USAGE on it), else it needs CREATE on the
 * database to make it.
 *
 * @example
 * const report = await checkPrivileges(client, await migrator.plan(file), { schema: "public", stateSchema: "underway" });
 * if (!report.ok) console.error(report.steps.find((s) => s.missing.length > 0));
 */
export async function checkPrivileges(client: Client, plan: MigrationPlan, options: { schema: string; stateSchema: string; lockTimeout?: boolean }): Promise<PrivilegeReport> {
  const { rows } = await client.query<{ role: string; database: string }>(`SELECT current_user::text AS role, current_database()::text AS database`);
  const catalog: Catalog = { role: rows[0]!.role, database: rows[0]!.database, client };
  const judged = async (needs: Need[]) => {
    const details: PrivilegeNeed[] = [];
    for (const need of needs) {
      const result = await judge(need, catalog);
      if (result && !details.some((d) => d.privilege === result.privilege)) details.push(result);
    }
    return details;
  };
  const steps: StepPrivileges[] = [];
  const stateSetup = (await judge({ kind: "owner_schema", schema: options.stateSchema }, catalog)) ?? (await judge({ kind: "create_database" }, catalog))!;
  const setting = (await judge({ kind: "setting", name: "lock_timeout" }, catalog))!;
  steps.push(summarize("setup", `state schema ${displayIdent(options.stateSchema)}`, [stateSetup]));
  steps.push(summarize("setup", "lock_timeout on every DDL connection", [setting]));
  for (const phase of ["start", "complete", "rollback"] as const) {
    for (const step of plan[phase]) {
      const { needs, note } = needsOfStep(step, options.schema);
      steps.push(summarize(phase, step.description, await judged(needs), note));
    }
  }
  const move = await moveNeeds(catalog);
  return {
    role: catalog.role,
    database: catalog.database,
    ok: steps.every((s) => s.missing.length === 0),
    steps,
    move: { needs: move.map((d) => d.privilege), missing: move.filter((d) => !d.granted).map((d) => d.privilege), details: move },
  };
}

/** The report as text: one line per need, grouped by phase, then what a move would need. */
export function formatPrivilegeReport(report: PrivilegeReport): string {
  const lines = [`privileges of role ${displayIdent(report.role)} on database ${displayIdent(report.database)}:`];
  let phase: string | undefined;
  let index = 0;
  for (const step of report.steps) {
    if (step.phase !== phase) {
      phase = step.phase;
      index = 0;
      lines.push(`${phase}:`);
    }
    index += 1;
    lines.push(`  ${index}. ${step.step}`);
    for (const need of step.details) lines.push(`       ${need.granted ? "ok     " : "MISSING"}  ${need.privilege}${need.fix ? `  (fix: ${need.fix})` : ""}`);
    if (step.details.length === 0) lines.push(`       -        ${step.note ?? "nothing to check: what it touches is the migration's own (the role owns it) or checked above"}`);
    else if (step.note) lines.push(`       -        ${step.note}`);
  }
  lines.push("move (what a blue/green move would need; not needed for a migration):");
  for (const need of report.move.details) lines.push(`       ${need.granted ? "ok     " : "lacks  "}  ${need.privilege}${need.fix ? `  (${need.fix})` : ""}`);
  const missing = report.steps.reduce((n, s) => n + s.missing.length, 0);
  lines.push(report.ok ? "every planned step is allowed" : `${missing} privilege${missing === 1 ? "" : "s"} missing`);
  return lines.join("\n");
}
