import type { Kysely, Transaction } from "kysely";
import { pinVersionSql, type VersionTarget } from "./pg-version.js";

/**
 * Runs `fn` in a Kysely transaction pinned to one version (`SET LOCAL` semantics, so it
 * is safe behind PgBouncer in transaction mode). Kysely is an optional peer dependency,
 * loaded only when this is called.
 *
 * @example
 * await withKyselyVersion(db, { versionSchema: "public_02_rename_widen" }, (trx) =>
 *   trx.updateTable("accounts").set({ holder: "Ada" }).where("id", "=", 1).execute(),
 * );
 */
export async function withKyselyVersion<DB, T>(
  db: Kysely<DB>,
  target: VersionTarget,
  fn: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  const { CompiledQuery } = await import("kysely");
  const pin = pinVersionSql(target);
  return db.transaction().execute(async (trx) => {
    await trx.executeQuery(CompiledQuery.raw(pin.text, pin.values));
    return fn(trx);
  });
}
