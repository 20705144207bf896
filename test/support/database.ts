import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { connect } from "../../src/db/connection.js";
import { ident } from "../../src/db/ident.js";
import { createDatabase } from "../../src/harness/local-server.js";

export interface FreshDatabase {
  /** Connects as the non-superuser owner role; what the product under test uses. */
  url: string;
  /** Connects as the superuser; only for test setup and inspection. */
  adminUrl: string;
  name: string;
  drop(): Promise<void>;
}

/** The run's server, started by global-setup.ts. */
export function serverInfo(): { adminUrl: string; version: number } {
  return inject("underwayPostgres");
}

/**
 * A new, uniquely named database on the run's server, owned by the non-superuser role "app".
 *
 * @example
 * const db = await freshDatabase("backfill");
 * afterAll(() => db.drop());
 */
export async function freshDatabase(prefix = "test"): Promise<FreshDatabase> {
  const { adminUrl: serverUrl } = serverInfo();
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`.toLowerCase().slice(0, 63);
  const { hostname, port } = new URL(serverUrl);
  const url = await createDatabase({ url: serverUrl, host: hostname, port: Number(port) }, { name });
  const adminUrl = withDatabase(serverUrl, name);
  return {
    url,
    adminUrl,
    name,
    async drop() {
      const client = await connect(serverUrl);
      try {
        await client.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}
