import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type pg from "pg";
import { connect } from "../../src/db/connection.js";
import { LeaseGuard, newGuardOwner } from "../../src/run/migration-guard.js";
import { Migrator } from "../../src/run/migrator.js";
import { freshDatabase, type FreshDatabase } from "../support/database.js";

/**
 * The guard behind a pooler is a lease row. A failover through PgBouncer can take longer
 * than the lease, drop the connection that renews it, and bring up a primary that lacks
 * the last renewals: the holder must get its lease back then, while a holder whose lease
 * was taken over by another process (or cleared by `unlock`) is fenced off.
 */
describe("the lease guard", () => {
  let db: FreshDatabase;
  let admin: pg.Client;
  const held: LeaseGuard[] = [];
  const clients = new Map<LeaseGuard, pg.Client>();
  const guard = async (owner = newGuardOwner(), graceMs = 500, ttlSeconds = 3): Promise<LeaseGuard> => {
    const client = await connect(db.url, { applicationName: "lease test" });
    client.on("error", () => undefined);
    const g = new LeaseGuard(client, db.url, "underway", "public", graceMs, ttlSeconds, owner);
    held.push(g);
    clients.set(g, client);
    const release = g.release.bind(g);
    g.release = async () => {
      await release();
      await client.end();
    };
    return g;
  };
  const fenceHolds = async (g: LeaseGuard) => (await admin.query<{ ok: boolean }>(`SELECT ${g.fence()} AS ok`)).rows[0]!.ok;
  const lease = async () =>
    (await admin.query<{ owner: string; left: number }>(`SELECT owner, extract(epoch FROM expires_at - now())::float8 AS left FROM underway.leases WHERE name = 'guard:public'`)).rows[0];

  beforeAll(async () => {
    db = await freshDatabase("lease");
    await new Migrator({ databaseUrl: db.url }).init();
    admin = await connect(db.adminUrl);
  });
  afterAll(async () => {
    for (const g of held) await g.release().catch(() => undefined);
    await admin?.end();
    await db?.drop();
  });

  it("renews on a new connection once its own is gone, and extends a lease that ran out meanwhile", async () => {
    const owner = newGuardOwner();
    const g = await guard(owner);
    await g.acquire();
    await until(async () => (await renewers()).length === 1);
    const [first] = await renewers();
    // The renewing connection is cut, and the lease runs out before the database answers again.
    await admin.query("SELECT pg_terminate_backend($1)", [first]);
    await until(async () => !(await renewers()).includes(first!));
    await admin.query(`UPDATE underway.leases SET expires_at = now() - interval '1 second' WHERE name = 'guard:public'`);
    // Run out, and nobody took it: still this holder's.
    expect(await fenceHolds(g)).toBe(true);
    // Renewed again, on a connection of its own made after the cut.
    await until(async () => ((await lease())?.left ?? 0) > 1);
    expect((await lease())!.owner).toBe(owner);
    expect(await renewers()).toHaveLength(1);
    await g.release();
    expect(await lease()).toBeUndefined();
  });

  it("takes its own lease back at once after a reconnect, and refuses another holder of the same process", async () => {
    const owner = newGuardOwner();
    const g = await guard(owner);
    await g.acquire();
    // The action's connection is lost (its release could not delete the lease); it connects again.
    const [lost] = await admin.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'lease test'`).then((r) => r.rows);
    await admin.query("SELECT pg_terminate_backend($1)", [lost!.pid]);
    await g.release();
    expect((await lease())?.owner).toBe(owner);
    const again = await guard(owner, 0);
    await again.acquire();
    expect(await fenceHolds(again)).toBe(true);
    const other = await guard(newGuardOwner(), 0);
    await expect(other.acquire()).rejects.toThrow(/another underway process is working on schema "public"/);
    expect(await fenceHolds(other)).toBe(false);
    await again.release();
    expect(await lease()).toBeUndefined();
  });

  it("a lease taken over after it ran out fences its old holder off, and the old holder does not take it back", async () => {
    // Renewed every 2 s: its lease runs out and is taken over before its first renewal.
    const g = await guard(newGuardOwner(), 500, 6);
    const taker = await guard(newGuardOwner(), 2000);
    await g.acquire();
    await admin.query(`UPDATE underway.leases SET expires_at = now() - interval '1 second' WHERE name = 'guard:public'`);
    await taker.acquire();
    expect(await fenceHolds(taker)).toBe(true);
    expect(await fenceHolds(g)).toBe(false);
    // Two renewals of the old holder later, the lease is still the new holder's.
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect(await fenceHolds(g)).toBe(false);
    expect(await fenceHolds(taker)).toBe(true);
    await g.release();
    expect(await fenceHolds(taker)).toBe(true);
    await taker.release();
  });

  async function renewers(): Promise<number[]> {
    const { rows } = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'underway guard'`,
    );
    return rows.map((r) => r.pid);
  }
});

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
