import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../src/db/connection.js";
import { createDatabase } from "../../src/harness/local-server.js";
import { Migrator } from "../../src/run/migrator.js";
import { startDashboard } from "../../src/dashboard/dashboard.js";
import type { DashboardSnapshot } from "../../src/dashboard/snapshot.js";
import { pauseReplay, resumeReplay, startCluster, waitForReplay, type Cluster } from "../support/cluster.js";
import { sample } from "../observe/prometheus-text.js";
import { launchChromium, until, widenBalance } from "./fixture.js";

const MB = 1024 * 1024;
const ROWS = 200_000;
/** Replicas are made with the system packages' pg_basebackup, so this runs on the system PostgreSQL 15. */
const VERSION = 15;

/**
 * A replica stops replaying while a backfill with --max-lag runs: the dashboard, which only
 * reads the state schema and pg_stat_replication, shows the lag, the job held by it, and
 * counts the time held in /metrics; the page (in Chromium, where there is one) shows it too.
 */
describe("the dashboard watching a backfill held by replica lag", () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ version: VERSION, replicas: 1, settings: { autovacuum: "off" } });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("shows the lag and the hold, and counts the time held by replica-lag", async () => {
    const url = await createDatabase(cluster.primary, { name: "lagging", owner: "lagging_owner" });
    // Replay positions are visible to pg_monitor members only; the dashboard's role needs it to show lag.
    const admin = await connect(cluster.primary.url);
    await admin.query("GRANT pg_monitor TO lagging_owner");
    await admin.end();
    const owner = await connect(url);
    await owner.query(`CREATE TABLE accounts (id bigint PRIMARY KEY, balance integer NOT NULL, note text NOT NULL)`);
    await owner.query(`INSERT INTO accounts SELECT g, g % 1000, rpad(md5(g::text), 200, 'x') FROM generate_series(1, ${ROWS}) g`);
    await owner.query("ANALYZE accounts");
    await owner.end();
    await waitForReplay(cluster.primary, cluster.replicas[0]!);

    const dashboard = await startDashboard({ databaseUrl: url, port: 0 });
    const unfollow = dashboard.poller.subscribe(() => undefined);
    const browser = await launchChromium();
    const migrator = new Migrator({ databaseUrl: url });
    let running: Promise<unknown> | undefined;
    try {
      await pauseReplay(cluster.replicas[0]!);
      running = migrator.start(await widenBalance("01_widen"), { settings: { maxLagBytes: 8 * MB } });
      const state = async () => ((await (await fetch(new URL("/api/state", dashboard.url))).json()) as { snapshot: DashboardSnapshot }).snapshot;
      const held = await until("the dashboard to show the job held by replica lag", async () => {
        const snapshot = await state();
        return snapshot.jobs[0]?.throttledBy === "replica-lag" ? snapshot : undefined;
      }, 60_000);
      expect(held.replicas).toBe(1);
      // The job holds once the lag is within half a second of WAL (at most a quarter of the limit) of it.
      expect(held.replicaLagBytes).toBeGreaterThan(6 * MB);
      expect(held.jobs[0]).toMatchObject({ state: "throttled", settings: { maxLagBytes: 8 * MB } });

      const scrape = async () => (await fetch(new URL("/metrics", dashboard.url))).text();
      const job = { migration: "01_widen", table: "accounts", reason: "replica-lag" };
      const text = await until("three seconds held in /metrics", async () => {
        const t = await scrape();
        return (sample(t, "underway_backfill_throttled_seconds_total", job) ?? 0) >= 3 ? t : undefined;
      }, 30_000);
      expect(sample(text, "underway_replica_lag_bytes")).toBeGreaterThan(6 * MB);
      expect(sample(text, "underway_replicas")).toBe(1);
      expect(sample(text, "underway_backfill_throttled", job)).toBe(1);
      expect(sample(text, "underway_backfill_job_state", { migration: "01_widen", table: "accounts", state: "throttled" })).toBe(1);

      if (browser) {
        const page = await browser.context.newPage();
        await page.goto(dashboard.urlWithToken);
        await expect.poll(() => page.getByTestId("held-by-accounts").textContent(), { timeout: 10_000 }).toBe("replica-lag");
        await expect.poll(() => page.locator("#lag-now").textContent(), { timeout: 10_000 }).toMatch(/MB now, 1 replica/);
        // A few looks, so the lag chart has a line.
        await new Promise((r) => setTimeout(r, 3000));
        const screenshots = join(import.meta.dirname, "__screenshots__");
        await mkdir(screenshots, { recursive: true });
        await page.screenshot({ path: join(screenshots, "dashboard-replica-lag.png"), fullPage: true });
        await page.close();
      }

      await resumeReplay(cluster.replicas[0]!);
      expect((await running as { phase: string }).phase).toBe("ready");
    } finally {
      await resumeReplay(cluster.replicas[0]!).catch(() => undefined);
      if (running) await migrator.cancel().catch(() => undefined);
      await running?.catch(() => undefined);
      unfollow();
      await browser?.close();
      await dashboard.close();
    }
  });
});
