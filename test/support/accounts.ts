import pg from "pg";
import { Migrator } from "../../src/run/migrator.js";
import type { FreshDatabase } from "./database.js";
import { migrationFile } from "./migrations.js";

/** A connected client that ignores the errors of a connection killed under it (a dropped test database). */
export async function connectedClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/**
 * `accounts(id, owner, balance integer)` created through underway as migration
 * `01_accounts` (so version schema `public_01_accounts` is the old version), filled with
 * `rows` rows and analysed. Returns a client on the database for the test's checks.
 *
 * @param balance SQL for each row's balance, over `g`, the row number.
 */
export async function accountsTable(db: FreshDatabase, rows: number, balance = "g % 1000"): Promise<pg.Client> {
  await new Migrator({ databaseUrl: db.url }).start(
    await migrationFile("01_accounts", [
      {
        create_table: {
          name: "accounts",
          columns: [
            { name: "id", type: "bigserial", pk: true },
            { name: "owner", type: "text" },
            { name: "balance", type: "integer" },
          ],
        },
      },
    ]),
    { complete: true },
  );
  const client = await connectedClient(db.url);
  await client.query(`INSERT INTO accounts (owner, balance) SELECT 'owner ' || g, ${balance} FROM generate_series(1, ${rows}) g`);
  await client.query(`ANALYZE accounts`);
  return client;
}
